"""The token-and-throttle command goes on a connection each thread keeps
(``config.api.throttling._evalsha_on_held_connection``): counts stay exact, and a killed
connection, a flushed script, a new cache, a thread or a forked child each still get the right
answer on their very next call, with no connection left behind."""

from __future__ import annotations

import multiprocessing
import os
import threading

import pytest
import redis
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache

from config.api import throttling
from config.api.throttling import cache_redis_client, window_hit_and_get


@pytest.fixture
def on_redis(settings, redis_url):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_url}}
    backend = caches["default"]
    backend.clear()
    yield backend
    backend.clear()


def _hit(backend, key="throttle:t:1", entry="entry"):
    return window_hit_and_get(backend, key, 61, full_key=backend.make_key(entry))


def _held_id(backend) -> int:
    connection = throttling._held.connection
    assert connection is not None and throttling._held.pool is cache_redis_client(backend).connection_pool
    return id(connection)


def _clients(redis_url: str) -> int:
    return len(redis.Redis.from_url(redis_url).client_list())


def test_counts_and_values_are_exact_on_the_held_connection(on_redis):
    backend = on_redis
    backend.set("entry", b"row")
    assert [_hit(backend)[0] for _ in range(5)] == [1, 2, 3, 4, 5]
    first = _held_id(backend)
    count, value, ttl_ms = _hit(backend)
    assert count == 6 and backend._cache._serializer.loads(value) == b"row"
    assert 0 < ttl_ms <= 300_000  # the entry's remaining time (the cache's default timeout)
    assert _held_id(backend) == first  # one connection, kept
    assert _hit(backend, entry="missing") == (7, None, -2)
    # A block of hits counts at once; without a value asked for, none comes back.
    assert window_hit_and_get(backend, "throttle:t:1", 61, full_key=None, hits=10) == (17, None, None)
    assert redis.Redis.from_url(backend._cache._servers[0]).ttl(backend.make_key("throttle:t:1")) in (60, 61)


def test_a_killed_connection_costs_no_count_and_no_error(on_redis, redis_url):
    backend = on_redis
    _hit(backend)
    connection = throttling._held.connection
    admin = redis.Redis.from_url(redis_url)
    mine = [c for c in admin.client_list() if int(c["id"]) == _client_id(connection)]
    assert mine
    admin.client_kill_filter(_id=mine[0]["id"])
    assert _hit(backend)[0] == 2  # answered (redis-py's way), counted once
    assert _hit(backend)[0] == 3 and throttling._held.connection is not None


def test_a_flushed_script_is_loaded_again(on_redis, redis_url):
    backend = on_redis
    _hit(backend)
    redis.Redis.from_url(redis_url).script_flush()
    assert _hit(backend)[0] == 2
    assert _hit(backend)[0] == 3


def test_a_new_cache_closes_the_old_connection(settings, redis_url):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_url}}
    before = _clients(redis_url)
    for _ in range(4):
        # Each override makes a new cache, pool and client: a held connection must not pile up.
        settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_url}}
        _hit(caches["default"], key="throttle:new:1")
    assert _clients(redis_url) <= before + 2


def test_each_thread_counts_on_its_own_connection(on_redis):
    backend = on_redis
    counts: list[int] = []
    connections: list[int] = []

    def work():
        for _ in range(50):
            counts.append(_hit(backend)[0])
        connections.append(id(throttling._held.connection))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(counts) == list(range(1, 201))
    assert len(set(connections)) == 4


def _child_hits(queue) -> None:
    backend = caches["default"]
    try:
        queue.put([_hit(backend)[0] for _ in range(3)] + [throttling._held.pid == os.getpid()])
    except Exception as exc:  # pragma: no cover - reported to the parent
        queue.put(repr(exc))


def test_a_forked_child_uses_a_connection_of_its_own(on_redis):
    backend = on_redis
    _hit(backend)
    parent_connection = throttling._held.connection
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_child_hits, args=(queue,))
    child.start()
    result = queue.get(timeout=30)
    child.join(30)
    assert result == [2, 3, 4, True]
    # The parent's connection was not touched by the child: it goes on counting.
    assert _hit(backend)[0] == 5 and throttling._held.connection is parent_connection


def _client_id(connection) -> int:
    connection.send_command("CLIENT", "ID")
    return int(connection.read_response())


def test_a_hit_without_a_value_counts_on_the_same_connection(on_redis, redis_url):
    from config.api.throttling import window_hit

    backend = on_redis
    assert [window_hit(backend, "throttle:addr:1", 61) for _ in range(3)] == [1, 2, 3]
    held = throttling._held.connection
    assert _hit(backend, key="throttle:addr:1")[0] == 4 and throttling._held.connection is held
    assert redis.Redis.from_url(redis_url).ttl(backend.make_key("throttle:addr:1")) in (60, 61)


def test_dropped_connections_go_back_to_their_pool(on_redis, redis_url, settings):
    # Every drop (an error, another pool) returns the connection: the pool's count of connections
    # it made must not creep towards max_connections (redis-py 8: 100), or the cache stops working.
    backend = on_redis
    pool = cache_redis_client(backend).connection_pool
    other = RedisCache(redis_url, {})
    for _ in range(150):  # alternate two pools: each call drops the other's held connection
        _hit(backend)
        window_hit_and_get(other, "throttle:t:2", 61, full_key=None)
    assert _hit(backend)[0] == 151
    assert pool._created_connections <= 3
