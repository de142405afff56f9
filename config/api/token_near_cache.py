"""Access tokens held in each web process, kept true by Redis's client tracking, and the throttle's
hits counted ahead in blocks: a client calling the API steadily costs no Redis round trip.

Every API call has to know its token and count a hit in the token's window. With the Redis cache
alone (``config.api.token_cache``) that is one round trip per call, and on the development VM
that round trip (the send, the wait, the wake-up, Redis's own work) cost more CPU than DRF's
whole dispatch. What this module adds, per process:

- **The token's row, held.** The process keeps one extra Redis connection on which Redis tells
  it of every write to a token entry's key (``CLIENT TRACKING … BCAST PREFIX``, Redis >= 6): a
  tombstone (a token revoked or changed, its user changed), a new entry, an entry expiring, a
  flush. Before a request looks at the held rows, the process reads what is waiting on that
  connection (a poll of the socket, no round trip) and drops the rows it names. Redis writes the
  message to that socket before it answers the command that made the change, so the very next
  request, in any process, sees a revocation, as with the Redis entries alone.
- **Held rows are trusted only while the connection is heard from.** A connection can die
  without a word (a NAT or a balancer forgetting it, a partition): the process sends a ``PING``
  on it every half second of use, and uses its rows only while the last answer is to a ping sent
  less than a second ago (an answer comes after every message sent before it, on the same
  connection). Silence beyond that, and requests read Redis as without this module; no answer
  for five seconds, and the connection is dropped and made again. So a change reaches a process
  whose connection silently died within a second, and the very next request otherwise.
- A row is held only from a Redis read made while the connection was tracking (``epoch``), and
  no longer than the Redis entry had left to live (its ``PTTL``), so a ``QuerySet.update()``
  still reaches it within ``API_TOKEN_CACHE_SECONDS``.
- The connection lost (Redis restarted, the client killed, its output buffer over the limit), the
  process drops everything it holds and connects again on a later request (at most once a
  second); meanwhile each request makes its one Redis command as before. A Redis that refuses
  ``CLIENT TRACKING`` (older than 6, or the command disabled) is asked again a minute later.
- **Hits counted in blocks.** For a token whose row it holds, a process counts a block of hits in
  the token's window at once (``INCRBY``; one thread at a time, the others meanwhile count their
  own hit) and hands the block's counts out, one per request, each compared with the limit as
  before. A block is 1/64 of what the process last saw left of the window (at most 100, at least
  1), so near the limit every request counts on Redis: a token never gets more than its limit.
  Hits a process took and was not asked to use (a client whose requests all reach another
  process) make the token refused early by at most ~1/64 of its limit per other process.

Model instances are never shared between requests: a request builds its own from the held row.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

from redis import Redis
from redis.connection import Connection
from redis.exceptions import ResponseError

logger = logging.getLogger(__name__)

# A block is this share of what is left of the window, capped.
HITS_BLOCK_SHARE = 64
HITS_BLOCK_MAX = 100
# A thread counting a block on Redis is waited for this long before another may.
BLOCK_FETCH_SECONDS = 1.0
# Rows and blocks held per process at most (each a few hundred bytes); past it, the oldest go.
MAX_HELD = 10_000
# A lost tracking connection is made again at most this often; a refused one, this often.
RECONNECT_AFTER_SECONDS = 1.0
REFUSED_RETRY_SECONDS = 60.0
# The tracking connection's liveness: a PING this often while in use; held rows trusted while the
# last answer is to a ping this recent; the connection dropped when a ping goes unanswered this long.
PING_EVERY_SECONDS = 0.5
TRUST_SECONDS = 1.0
DEAD_AFTER_SECONDS = 5.0
INVALIDATION_CHANNEL = "__redis__:invalidate"
# The tracking connections' name in Redis's CLIENT LIST.
TRACKING_CLIENT_NAME = "camhub-token-tracking"


@dataclass
class _HeldRow:
    values: list[Any]
    until: float  # time.monotonic()


@dataclass
class _HitsBlock:
    window_key: str
    next: int  # the count the next request takes
    last: int  # the block's last count (the window's count as this process last saw it)
    fetching_until: float = 0.0  # a thread is counting the next block on Redis


@dataclass(frozen=True)
class NearRead:
    """What the process holds for one token.

    ``values``: the token's row (None: read it on Redis). ``count``: this request's hit, from the
    process's block (None: count ``hits`` of them on Redis at once, the first for this request).
    ``epoch``: hand it back to ``hold`` with a row read on Redis after this.
    """

    values: list[Any] | None
    count: int | None
    hits: int
    epoch: int | None  # None: nothing may be held


NOTHING_HELD = NearRead(values=None, count=None, hits=1, epoch=None)


class TokenNearCache:
    """One process's held token rows and hit blocks for one Redis server (see the module's doc)."""

    def __init__(self, connection_class: type[Connection], connection_kwargs: dict[str, Any], prefix: str) -> None:
        # RESP2: the invalidations come as messages of a subscribed channel, read in order; as
        # bytes, whatever the cache's options say (``_apply`` compares bytes).
        self._connection_class = connection_class
        self._connection_kwargs = {
            **connection_kwargs,
            "protocol": 2,
            "client_name": TRACKING_CLIENT_NAME,
            "decode_responses": False,
        }
        self.prefix = prefix
        self._prefix = prefix.encode()
        self._lock = threading.Lock()
        self._rows: dict[str, _HeldRow] = {}
        self._blocks: dict[str, _HitsBlock] = {}
        self._listener: Connection | None = None
        self._pid = 0
        self._retry_at = 0.0
        self._connecting = False  # a thread is opening the tracking connection
        self._ping_sent_at: float | None = None  # the unanswered ping's time
        self._last_ping_at = 0.0
        self._trusted_until = 0.0
        # Moves on every invalidation read and every (re)connection: a row read on Redis before
        # a move may be one a message has already dropped, so it is not held.
        self._epoch = 0
        self.tracking_client_id: int | None = None  # (CLIENT LIST's id of the tracking connection)

    @property
    def tracking(self) -> bool:
        """Whether the process has its tracking connection (and so may hold rows)."""
        return self._listener is not None

    # --- what a request asks ----------------------------------------------------------------------
    def read(self, checksum: str, window_key: str, limit: int) -> NearRead:
        """This process's row and hit for the token. With no tracking connection nothing is
        held: one hit and the entry on Redis, as without this module."""
        now = time.monotonic()
        with self._lock:
            if self._sync(now):
                return self._read_held(checksum, window_key, limit, now)
            connect = self._listener is None and not self._connecting and now >= self._retry_at
            if connect:
                self._connecting = True
        if connect:  # (outside the lock: a Redis slow to answer holds up this request only)
            self._connect(now)
        return NOTHING_HELD

    def _read_held(self, checksum: str, window_key: str, limit: int, now: float) -> NearRead:
        # (Called with the lock held.)
        row = self._rows.get(checksum)
        if row is not None and row.until <= now:
            del self._rows[checksum]
            row = None
        # (Rows stay held while the connection is not heard from; they are not used.)
        values = row.values if row is not None and now < self._trusted_until else None
        block = self._blocks.get(checksum)
        if block is not None and block.window_key != window_key:
            block = None
        if block is not None and block.next <= block.last:
            block.next += 1
            return NearRead(values=values, count=block.next - 1, hits=0, epoch=self._epoch)
        hits = 1
        # Blocks only for a token the process holds (an unknown token gets none), and one
        # thread at a time counts the next one.
        if values is not None and (block is None or block.fetching_until <= now):
            known = block.last if block is not None else 0
            hits = max(1, min(HITS_BLOCK_MAX, (limit - known) // HITS_BLOCK_SHARE))
            if hits > 1:
                if block is None:
                    if len(self._blocks) >= MAX_HELD:
                        self._blocks.pop(next(iter(self._blocks)))
                    block = self._blocks[checksum] = _HitsBlock(window_key=window_key, next=1, last=0)
                block.fetching_until = now + BLOCK_FETCH_SECONDS
        return NearRead(values=values, count=None, hits=hits, epoch=self._epoch)

    def counted(self, checksum: str, window_key: str, *, hits: int, count: int) -> None:
        """Redis counted ``hits`` hits for this process, up to ``count``: the request took the
        first, the rest wait for the next requests."""
        if hits <= 1:
            return
        with self._lock:
            block = self._blocks.get(checksum)
            if block is not None and block.window_key == window_key:
                block.next, block.last, block.fetching_until = count - hits + 2, count, 0.0

    def hold(self, checksum: str, values: list[Any], *, ttl_ms: int, epoch: int | None) -> None:
        """Hold a row read on Redis (with its entry's remaining time), unless an invalidation or a
        new connection came in since ``epoch``."""
        if ttl_ms <= 0 or epoch is None:
            return
        with self._lock:
            if epoch != self._epoch or self._listener is None:
                return
            if len(self._rows) >= MAX_HELD:
                self._rows.pop(next(iter(self._rows)))
            self._rows[checksum] = _HeldRow(values=values, until=time.monotonic() + ttl_ms / 1000)

    # --- the tracking connection ------------------------------------------------------------------
    def _sync(self, now: float) -> bool:
        """Apply the invalidations waiting, and ping; False when there is no tracking connection."""
        pid = os.getpid()
        if self._pid != pid:
            # A forked child: the parent's socket and rows are the parent's (redis-py shuts a
            # socket down only in the process that opened it).
            self._listener, self._pid, self._connecting = None, pid, False
            self._forget()
        listener = self._listener
        if listener is None:
            return False
        try:
            # (can_read would connect a dropped connection again, without tracking.)
            while listener.is_connected and listener.can_read(timeout=0):
                self._apply(listener.read_response())
            if listener.is_connected:
                if self._ping_sent_at is None:
                    if now - self._last_ping_at >= PING_EVERY_SECONDS:
                        listener.send_command("PING")
                        self._ping_sent_at = self._last_ping_at = now
                    return True
                if now - self._ping_sent_at < DEAD_AFTER_SECONDS:
                    return True
                logger.warning("token tracking connection silent for %.0f s; dropped", DEAD_AFTER_SECONDS)
        except Exception:
            logger.warning("token tracking connection lost; held tokens dropped", exc_info=True)
        self._drop_listener()
        return False

    def _connect(self, now: float) -> None:
        """Open the tracking connection (called without the lock, by one thread at a time)."""
        listener = self._connection_class(**self._connection_kwargs)
        retry_after = None
        try:
            listener.connect()
            listener.send_command("CLIENT", "ID")
            client_id = listener.read_response()
            listener.send_command("CLIENT", "TRACKING", "ON", "REDIRECT", client_id, "BCAST", "PREFIX", self._prefix)
            listener.read_response()
            listener.send_command("SUBSCRIBE", INVALIDATION_CHANNEL)
            listener.read_response()
        except ResponseError:
            logger.warning(
                "Redis refused CLIENT TRACKING: API tokens are not held in the process (asking again in %.0f s)",
                REFUSED_RETRY_SECONDS,
                exc_info=True,
            )
            retry_after = REFUSED_RETRY_SECONDS
        except Exception:
            logger.warning("no token tracking connection to Redis; retrying later", exc_info=True)
            retry_after = RECONNECT_AFTER_SECONDS
        with self._lock:
            self._connecting = False
            if retry_after is not None or self._pid != os.getpid():
                listener.disconnect()
                self._retry_at = now + (retry_after or 0.0)
                return
            self._forget()
            self._listener, self.tracking_client_id = listener, int(client_id)
            # The subscription's answer: everything sent before it has arrived.
            self._ping_sent_at, self._last_ping_at, self._trusted_until = None, now, now + TRUST_SECONDS

    def _drop_listener(self) -> None:
        if self._listener is not None:
            self._listener.disconnect()
        self._listener = None
        self._retry_at = time.monotonic() + RECONNECT_AFTER_SECONDS
        self._trusted_until = 0.0
        self._forget()

    def _forget(self) -> None:
        self._rows.clear()
        self._blocks.clear()
        self._epoch += 1

    def _apply(self, message: Any) -> None:
        # [b"message", channel, [key, …]], or a None list for a flush; [b"pong", b""] answers a
        # ping; the subscription's own confirmation comes first and is neither.
        if not isinstance(message, list):
            return
        if message and message[0] == b"pong":
            if self._ping_sent_at is not None:
                self._trusted_until = self._ping_sent_at + TRUST_SECONDS
                self._ping_sent_at = None
            return
        if len(message) != 3 or message[0] != b"message":
            return
        self._epoch += 1
        keys = message[2]
        if keys is None:  # a flush: the windows' counts went with it
            self._rows.clear()
            self._blocks.clear()
            return
        start = len(self._prefix)
        for key in keys:
            if key.startswith(self._prefix):
                self._rows.pop(key[start:].decode(), None)


_near_caches: dict[tuple, TokenNearCache] = {}
_near_caches_lock = threading.Lock()
# Each client's, found once: the server's key below is built from the connection settings.
_near_cache_of_client: WeakKeyDictionary[Redis, TokenNearCache] = WeakKeyDictionary()


def token_near_cache(client: Redis, *, prefix: str) -> TokenNearCache:
    """The process's near cache for the token entries (keys ``prefix`` + checksum) on the Redis
    server ``client`` talks to: one per process and server, shared by its threads (Django gives
    each thread a cache client of its own)."""
    near = _near_cache_of_client.get(client)
    if near is None or near.prefix != prefix:
        near = _near_cache_of_client[client] = _server_near_cache(client, prefix)
    return near


def _server_near_cache(client: Redis, prefix: str) -> TokenNearCache:
    pool = client.connection_pool
    kwargs = pool.connection_kwargs
    key = (
        pool.connection_class,
        prefix,
        tuple(sorted((k, v) for k, v in kwargs.items() if isinstance(v, str | int | float | bool | None))),
    )
    near = _near_caches.get(key)
    if near is None:
        with _near_caches_lock:
            near = _near_caches.get(key)
            if near is None:
                near = _near_caches[key] = TokenNearCache(pool.connection_class, kwargs, prefix)
    return near


def _after_fork_in_child() -> None:
    # A lock another thread held at the fork would stay held in the child forever. (What the
    # parent held, the child drops on its first read: ``_sync``.)
    global _near_caches_lock
    _near_caches_lock = threading.Lock()
    for near in _near_caches.values():
        near._lock = threading.Lock()


os.register_at_fork(after_in_child=_after_fork_in_child)
