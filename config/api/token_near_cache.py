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
- A row is held only from a Redis read made while the connection was tracking (``epoch``), and
  no longer than the Redis entry had left to live (its ``PTTL``), so a ``QuerySet.update()``
  still reaches it within ``API_TOKEN_CACHE_SECONDS``.
- The connection lost (Redis restarted, the client killed, its output buffer over the limit), the
  process drops everything it holds and connects again on a later request (at most once a
  second); meanwhile each request makes its one Redis command as before. A Redis that refuses
  ``CLIENT TRACKING`` (older than 6, or the command disabled) leaves the module off.
- **Hits counted in blocks.** A process counts a block of hits in the token's window at once
  (``INCRBY``) and hands the block's counts out, one per request, each compared with the limit as
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

from redis import Redis
from redis.connection import Connection
from redis.exceptions import ResponseError

logger = logging.getLogger(__name__)

# A block is this share of what is left of the window, capped.
HITS_BLOCK_SHARE = 64
HITS_BLOCK_MAX = 100
# Rows and blocks held per process at most (each a few hundred bytes); past it, the oldest go.
MAX_HELD = 10_000
# A lost tracking connection is made again at most this often.
RECONNECT_AFTER_SECONDS = 1.0
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
    last: int  # the block's last count


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


class TokenNearCache:
    """One process's held token rows and hit blocks for one Redis cache (see the module's doc)."""

    def __init__(self, connection_class: type[Connection], connection_kwargs: dict[str, Any], prefix: str) -> None:
        # RESP2: the invalidations come as messages of a subscribed channel, read in order.
        self._connection_class = connection_class
        self._connection_kwargs = {**connection_kwargs, "protocol": 2, "client_name": TRACKING_CLIENT_NAME}
        self._prefix = prefix.encode()
        self._lock = threading.Lock()
        self._rows: dict[str, _HeldRow] = {}
        self._blocks: dict[str, _HitsBlock] = {}
        self._listener: Connection | None = None
        self._pid = 0
        self._retry_at = 0.0
        # Moves on every invalidation read and every (re)connection: a row read on Redis before
        # a move may be one a message has already dropped, so it is not held.
        self._epoch = 0
        self.refused = False  # Redis refused CLIENT TRACKING: nothing is ever held
        self.tracking_client_id: int | None = None  # (CLIENT LIST's id of the tracking connection)

    # --- what a request asks ----------------------------------------------------------------------
    def read(self, checksum: str, window_key: str, limit: int) -> NearRead:
        """This process's row and hit for the token. With no tracking connection nothing is
        held: one hit and the entry on Redis, as without this module."""
        with self._lock:
            if not self._sync():
                return NearRead(values=None, count=None, hits=1, epoch=None)
            row = self._rows.get(checksum)
            if row is not None and row.until <= time.monotonic():
                del self._rows[checksum]
                row = None
            block = self._blocks.get(checksum)
            if block is not None and block.window_key != window_key:
                block = None
            values = row.values if row is not None else None
            if block is not None and block.next <= block.last:
                block.next += 1
                return NearRead(values=values, count=block.next - 1, hits=0, epoch=self._epoch)
            known = block.last if block is not None else 0
            hits = max(1, min(HITS_BLOCK_MAX, (limit - known) // HITS_BLOCK_SHARE))
            return NearRead(values=values, count=None, hits=hits, epoch=self._epoch)

    def counted(self, checksum: str, window_key: str, *, hits: int, count: int) -> None:
        """Redis counted ``hits`` hits for this process, up to ``count``: the request took the
        first, the rest wait for the next requests."""
        if hits <= 1:
            return
        with self._lock:
            if len(self._blocks) >= MAX_HELD:
                self._blocks.pop(next(iter(self._blocks)))
            self._blocks[checksum] = _HitsBlock(window_key=window_key, next=count - hits + 2, last=count)

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
    def _sync(self) -> bool:
        """Apply the invalidations waiting; False when there is no tracking connection."""
        pid = os.getpid()
        if self._pid != pid:
            # A forked child: the parent's socket and rows are the parent's (redis-py shuts a
            # socket down only in the process that opened it).
            self._listener, self._pid = None, pid
            self._forget()
        listener = self._listener
        if listener is None:
            if self.refused or time.monotonic() < self._retry_at:
                return False
            listener = self._connect()
            if listener is None:
                return False
        try:
            # (can_read would connect a dropped connection again, without tracking.)
            while listener.is_connected and listener.can_read(timeout=0):
                self._apply(listener.read_response())
            if listener.is_connected:
                return True
        except Exception:
            logger.warning("token tracking connection lost; held tokens dropped", exc_info=True)
        self._drop_listener()
        return False

    def _connect(self) -> Connection | None:
        listener = self._connection_class(**self._connection_kwargs)
        try:
            listener.connect()
            listener.send_command("CLIENT", "ID")
            client_id = listener.read_response()
            listener.send_command("CLIENT", "TRACKING", "ON", "REDIRECT", client_id, "BCAST", "PREFIX", self._prefix)
            listener.read_response()
            listener.send_command("SUBSCRIBE", INVALIDATION_CHANNEL)
            listener.read_response()
        except ResponseError:
            logger.warning("Redis refused CLIENT TRACKING: API tokens are not held in the process", exc_info=True)
            self.refused = True
            listener.disconnect()
            return None
        except Exception:
            logger.warning("no token tracking connection to Redis; retrying later", exc_info=True)
            listener.disconnect()
            self._retry_at = time.monotonic() + RECONNECT_AFTER_SECONDS
            return None
        self._forget()
        self._listener, self.tracking_client_id = listener, int(client_id)
        return listener

    def _drop_listener(self) -> None:
        if self._listener is not None:
            self._listener.disconnect()
        self._listener = None
        self._retry_at = time.monotonic() + RECONNECT_AFTER_SECONDS
        self._forget()

    def _forget(self) -> None:
        self._rows.clear()
        self._blocks.clear()
        self._epoch += 1

    def _apply(self, message: Any) -> None:
        # [b"message", channel, [key, …]], or a None list for a flush; the subscription's own
        # confirmation comes first and is not an invalidation.
        if not isinstance(message, list) or len(message) != 3 or message[0] != b"message":
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


def token_near_cache(client: Redis, *, prefix: str) -> TokenNearCache:
    """The process's near cache for the token entries (keys ``prefix`` + checksum) on the Redis
    server ``client`` talks to: one per process and server, shared by its threads (Django gives
    each thread a cache client of its own)."""
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
