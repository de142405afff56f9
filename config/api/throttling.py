"""Per-token rate limiting on the shared cache (Redis in production)."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from weakref import WeakKeyDictionary

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis import Redis
from redis.commands.core import Script
from redis.connection import Connection, ConnectionPool
from rest_framework.throttling import BaseThrottle

from config.client_address import client_ip

_PERIODS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    count, _, period = rate.partition("/")
    return int(count), _PERIODS[period]


# One redis.Redis per cache client: Django's RedisCache builds a new one on every call, which
# costs more CPU than the round trip it makes. Weak keys: a cache rebuilt (settings change in
# tests) takes its client with it.
_redis_clients: WeakKeyDictionary[RedisCacheClient, Redis] = WeakKeyDictionary()


def cache_redis_client(backend: RedisCache) -> Redis:
    """The Redis client behind a Redis cache, kept for reuse."""
    raw = backend._cache
    client = _redis_clients.get(raw)
    if client is None:
        client = _redis_clients[raw] = raw.get_client(write=True)
    return client


def window_hit(backend: BaseCache, key: str, timeout: int) -> int:
    """Count one hit in the window ``key``; returns the count so far, the key expiring after ``timeout``.

    On Redis: INCR and EXPIRE NX (Redis >= 7) in one script (``_HIT``), one round trip, atomic,
    so concurrent first hits cannot reset each other's count. Elsewhere: add then incr.
    """
    if isinstance(backend, RedisCache):
        count, _, _ = _run_hit(backend, [backend.make_key(key)], timeout)
        return count
    backend.add(key, 0, timeout=timeout)
    try:
        return backend.incr(key)
    except ValueError:  # evicted between add and incr
        backend.set(key, 1, timeout=timeout)
        return 1


# ``ARGV[2]`` hits (default 1; 0 counts none) in a window and, when a second key is given, that
# key's value and its remaining time in ms, in one command: API calls make it (authenticated ones
# read their token's entry with it, ``config.api.authentication``). ``false``: a missing value (a
# nil would end the Lua table).
_HIT = """
local hits = tonumber(ARGV[2] or 1)
local count = 0
if hits > 0 then
  count = redis.call('INCRBY', KEYS[1], hits)
  redis.call('EXPIRE', KEYS[1], ARGV[1], 'NX')
end
if KEYS[2] then
  return {count, redis.call('GET', KEYS[2]) or false, redis.call('PTTL', KEYS[2])}
end
return {count, false, false}
"""
_hit_scripts: WeakKeyDictionary[Redis, Script] = WeakKeyDictionary()


def window_hit_and_get(
    backend: RedisCache, key: str, timeout: int, *, full_key: str | None, hits: int = 1
) -> tuple[int, bytes | None, int | None]:
    """``hits`` hits in the window ``key`` on Redis (atomic, as ``window_hit``) and, unless
    ``full_key`` (a key already made by the backend) is None, its value and remaining time in ms,
    in one round trip and one command: (the count so far, the value or None, the time or None).
    With ``hits=0`` nothing is counted and the count is 0."""
    keys = [backend.make_key(key)] if full_key is None else [backend.make_key(key), full_key]
    return _run_hit(backend, keys, timeout, hits)


def _run_hit(backend: RedisCache, keys: list[str], timeout: int, hits: int = 1) -> tuple[int, bytes | None, int | None]:
    client = cache_redis_client(backend)
    script = _hit_scripts.get(client)
    if script is None:
        # register_script: EVALSHA, and the script loaded again if Redis lost it (a restart).
        script = _hit_scripts[client] = client.register_script(_HIT)
    count, value, ttl_ms = _evalsha_on_held_connection(client, script, keys, [timeout, hits])
    # (Lua's false arrives as None.)
    return int(count), value, None if ttl_ms is None else int(ttl_ms)


class _HeldConnection(threading.local):
    """The connection this thread's throttle commands go on (``_run_hit``)."""

    connection: Connection | None = None
    pool: ConnectionPool | None = None
    pid = 0


_held = _HeldConnection()


def _evalsha_on_held_connection(client: Redis, script: Script, keys: list[str], args: list) -> list:
    """``script(keys=keys, args=args)`` on a connection this thread keeps out of the client's pool.

    Every API call makes this command, and redis-py's way to it (the script's call, the command's
    retry wrapper, the pool's checkout with its checks and metrics, the release) cost ~60 µs of
    CPU a call, more than the round trip. The connection is redis-py's own (its settings, auth,
    TLS, reconnection); it is dropped on any error, in a forked child and when the cache's pool
    changes, and that call, like the first one, goes redis-py's whole way (retries, and the
    script loaded again after ``NOSCRIPT``).
    """
    held, pid, pool = _held, os.getpid(), client.connection_pool
    connection = held.connection
    if connection is not None and held.pool is pool and held.pid == pid:
        try:
            connection.send_command("EVALSHA", script.sha, len(keys), *keys, *args)
            return connection.read_response()
        except Exception:  # any failure: drop the connection, go redis-py's way
            _give_back(connection, pool)
            held.connection = None
    elif connection is not None:
        if held.pid == pid:  # (a parent's socket is the parent's to close)
            _give_back(connection, held.pool)
        held.connection = None
    result = script(keys=keys, args=args)
    try:
        held.connection, held.pool, held.pid = pool.get_connection(), pool, pid
    except Exception:  # Redis gone since: the next call tries again
        held.connection = None
    return result


def _give_back(connection: Connection, pool: ConnectionPool | None) -> None:
    """Close a held connection and return it to its pool: the pool counts every connection it
    made, and one never returned would count against its ``max_connections`` for ever."""
    connection.disconnect()
    if pool is not None:
        pool.release(connection)  # (redis-py ignores a connection the pool does not know)


@dataclass(frozen=True)
class ThrottleWindow:
    """The current fixed window of one throttled identity."""

    key: str
    timeout: int
    limit: int
    ends_at: float


def throttle_window(ident: str, *, now: float | None = None) -> ThrottleWindow:
    limit, period = parse_rate(settings.API_RATE_LIMIT)
    window = int((time.time() if now is None else now) // period)
    return ThrottleWindow(
        key=f"throttle:{ident}:{window}", timeout=period + 1, limit=limit, ends_at=(window + 1) * period
    )


def token_throttle_ident(checksum: str) -> str:
    """A token's identity for the throttle: known before the token is looked up, so that the count
    can ride in the same Redis round trip as the token (``config.api.authentication``)."""
    return f"token:{checksum[:32]}"


class TokenRateThrottle(BaseThrottle):
    """A fixed-window counter per access token (per client address for anonymous calls).

    One O(1) cache round trip per request on Redis (two elsewhere), unlike DRF's history list,
    which grows with the limit. The limit is read on each request so ``API_RATE_LIMIT`` changes
    apply.
    """

    def allow_request(self, request, view) -> bool:
        now = time.time()
        window = throttle_window(self._ident(request), now=now)
        # Authentication may have counted this request already, in its own round trip.
        counted = getattr(request, "throttle_hit", None)
        if counted is not None and counted[0] == window.key:
            count = counted[1]
        else:
            count = window_hit(caches["default"], window.key, window.timeout)
        if count <= window.limit:
            return True
        self._wait = window.ends_at - now
        return False

    def wait(self) -> float:
        return getattr(self, "_wait", 1.0)

    def _ident(self, request) -> str:
        auth = request.auth
        checksum = getattr(auth, "token_checksum", None)
        if checksum:
            return token_throttle_ident(checksum)
        if auth is not None and getattr(auth, "pk", None) is not None:
            return f"token:{auth.pk}"
        if request.user and request.user.is_authenticated:
            return f"user:{request.user.pk}"
        # Not DRF's get_ident, which believes any X-Forwarded-For a client sends: a new made-up
        # address per request would never be throttled.
        return f"addr:{client_ip(request) or '-'}"
