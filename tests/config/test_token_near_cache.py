"""Tokens held in the web process (config.api.token_near_cache): a steady client costs no Redis
round trip, a change made anywhere applies to the very next request, and the rate limit is never
exceeded, whichever process the requests reach.

Each test runs on a real Redis. "Another process" is what another process would be to this one:
another Redis connection writing (a tombstone, a flush), or another cache client with a near
cache of its own.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import time

import pytest
import redis
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.db import connection as db_connection
from oauth2_provider.models import AccessToken
from redis.connection import AbstractConnection

from config.api import authentication, token_near_cache
from config.api.throttling import cache_redis_client
from config.api.token_cache import token_entry_key
from tests.factories import make_token

pytestmark = pytest.mark.django_db

PATH = "/api/users/me/cameras"


@pytest.fixture
def on_redis(redis_cache):
    settings = redis_cache
    settings.API_TOKEN_CACHE_SECONDS = 60
    settings.API_RATE_LIMIT = "6400/minute"  # blocks of 100 hits
    return settings


@pytest.fixture
def sent(monkeypatch):
    """Every command any Redis connection of this process sends."""
    commands: list[bytes] = []
    original = AbstractConnection.send_packed_command

    def recording(self, command, check_health=True):
        packed = command if isinstance(command, bytes | str) else b"".join(command)
        commands.append(packed if isinstance(packed, bytes) else packed.encode())
        return original(self, command, check_health)

    monkeypatch.setattr(AbstractConnection, "send_packed_command", recording)
    return commands


def _but_pings(sent: list[bytes]) -> list[bytes]:
    """The commands sent, but the tracking connection's PING (every half second of use)."""
    return [c for c in sent if b"PING" not in c.upper()]


def _near(backend) -> token_near_cache.TokenNearCache:
    return token_near_cache.token_near_cache(cache_redis_client(backend), prefix=token_entry_key(backend, ""))


def _get(client, token: str) -> int:
    return client.get(PATH, HTTP_AUTHORIZATION=f"token {token}").status_code


def _held(anon, token: str) -> None:
    """Requests until the process holds the token: the first reads the database and writes the
    Redis entry, the next reads the entry on Redis and holds it."""
    for _ in range(3):
        assert _get(anon, token) == 200


def _checksum(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _revoke_elsewhere(redis_url: str, token: str) -> None:
    """What another process's revocation does: the row deleted, a tombstone over the entry (the
    row goes with raw SQL, so no signal of this process writes the tombstone instead)."""
    with db_connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {AccessToken._meta.db_table} WHERE token_checksum = %s", [_checksum(token)])  # noqa: S608
    backend = caches["default"]
    redis.Redis.from_url(redis_url).set(token_entry_key(backend, _checksum(token)), b"-", ex=60)


def _tracking_ids(redis_url: str) -> set[int]:
    """The ids of the tracking connections Redis has (any process's)."""
    clients = redis.Redis.from_url(redis_url).client_list()
    return {int(c["id"]) for c in clients if c["name"] == token_near_cache.TRACKING_CLIENT_NAME}


def test_a_steady_client_costs_no_redis_command_and_no_query(on_redis, anon, token, sent, django_assert_num_queries):
    _held(anon, token)
    sent.clear()
    with django_assert_num_queries(20):  # the camera list's, one per request
        for _ in range(20):
            assert _get(anon, token) == 200
    assert _but_pings(sent) == []


def test_a_block_spent_costs_one_command_for_the_next_block(on_redis, anon, token, sent, throttle_clock, redis_url):
    on_redis.API_RATE_LIMIT = "640/minute"  # blocks of 10 at first, smaller as the window fills
    _held(anon, token)
    sent.clear()
    for _ in range(30):
        assert _get(anon, token) == 200
    evalshas = [c for c in sent if b"EVALSHA" in c.upper()]
    # (and the tracking connection's PING every half second, if the requests took that long)
    assert 2 <= len(evalshas) <= 4 and all(b"PING" in c.upper() for c in sent if c not in evalshas)
    # Each one counts hits only: the row is held, its entry is not read again.
    assert all(c.count(b"auth:token:") == 0 for c in evalshas)
    # Redis counted the 33 requests, and at most one block more that waits for the next ones.
    server = redis.Redis.from_url(redis_url)
    [window] = server.keys("*throttle:token:*")
    assert 33 <= int(server.get(window)) <= 33 + 10


def test_revocation_in_another_process_applies_to_the_very_next_request(on_redis, anon, token, redis_url):
    _held(anon, token)
    _revoke_elsewhere(redis_url, token)
    assert _get(anon, token) == 401


def test_revocation_here_applies_to_the_very_next_request(on_redis, anon, user, token):
    _held(anon, token)
    AccessToken.objects.get().revoke()
    assert _get(anon, token) == 401
    other = make_token(user)
    _held(anon, other)
    user.is_active = False
    user.save()
    assert _get(anon, other) == 401


def test_a_flush_drops_what_the_process_holds(on_redis, anon, token, redis_url, sent):
    _held(anon, token)
    redis.Redis.from_url(redis_url).flushdb()
    sent.clear()
    assert _get(anon, token) == 200  # read again: the database, as the entry went with the flush
    assert any(b"EVALSHA" in c.upper() for c in sent)


def test_a_killed_tracking_connection_holds_nothing_until_it_is_back(
    on_redis, anon, user, token, redis_url, sent, monkeypatch
):
    _held(anon, token)
    near = _near(caches["default"])
    killed = near.tracking_client_id
    redis.Redis.from_url(redis_url).client_kill_filter(_id=killed)
    # While the process has no tracking connection, a change elsewhere applies at once too:
    # every request asks Redis.
    _revoke_elsewhere(redis_url, token)
    assert _get(anon, token) == 401
    other = make_token(user)
    sent.clear()
    assert [_get(anon, other) for _ in range(3)] == [200, 200, 200]
    assert sum(b"EVALSHA" in c.upper() for c in sent) == 3
    # A second later the connection is made again and the process holds tokens again.
    monkeypatch.setattr(token_near_cache, "RECONNECT_AFTER_SECONDS", 0.0)
    near._retry_at = 0.0
    _held(anon, other)
    assert near.tracking_client_id != killed and near.tracking_client_id in _tracking_ids(redis_url)
    sent.clear()
    assert _get(anon, other) == 200
    assert _but_pings(sent) == []


def test_a_redis_refusing_tracking_costs_one_command_per_request(settings, redis_url, anon, token, sent):
    admin = redis.Redis.from_url(redis_url)
    admin.acl_setuser(
        "camhub-no-tracking",
        enabled=True,
        nopass=True,
        keys=["*"],
        channels=["*"],
        commands=["+@all", "-client|tracking"],
    )
    try:
        location = redis_url.replace("redis://", "redis://camhub-no-tracking:@", 1)
        settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": location}}
        settings.API_TOKEN_CACHE_SECONDS = 60
        for _ in range(3):
            assert _get(anon, token) == 200
        sent.clear()
        assert [_get(anon, token) for _ in range(3)] == [200, 200, 200]
        assert sum(b"EVALSHA" in c.upper() for c in sent) == 3 and len(sent) == 3
        assert not _near(caches["default"]).tracking
        AccessToken.objects.get().revoke()
        assert _get(anon, token) == 401
    finally:
        admin.acl_deluser("camhub-no-tracking")


def _as_processes(monkeypatch, redis_url: str, count: int):
    """``count`` cache clients, each with a near cache of its own, as ``count`` web processes
    would have; returns a function choosing which one the next request reaches."""
    backends = [RedisCache(redis_url, {}) for _ in range(count)]
    nears = {}
    for backend in backends:
        client = cache_redis_client(backend)
        pool = client.connection_pool
        nears[client] = token_near_cache.TokenNearCache(
            pool.connection_class, pool.connection_kwargs, token_entry_key(backend, "")
        )
    current = {"backend": backends[0]}
    monkeypatch.setattr(authentication, "token_cache_backend", lambda: current["backend"])
    monkeypatch.setattr(authentication, "token_near_cache", lambda client, prefix: nears[client])

    def reach(index: int) -> None:
        current["backend"] = backends[index]

    return reach, list(nears.values())


@pytest.mark.parametrize("spread", ["round robin", "one process"])
def test_never_more_than_the_limit_across_processes(
    on_redis, anon, user, redis_url, throttle_clock, monkeypatch, spread
):
    on_redis.API_RATE_LIMIT = "640/minute"
    reach, nears = _as_processes(monkeypatch, redis_url, 4)
    # A flush of the Redis server (another test run's, any database) drops every block, so the
    # hits they held are lost: a run that saw one is made again with a new token.
    flushes: list = []
    apply = token_near_cache.TokenNearCache._apply

    def recording(self, message):
        if isinstance(message, list) and len(message) == 3 and message[0] == b"message" and message[2] is None:
            flushes.append(message)
        return apply(self, message)

    monkeypatch.setattr(token_near_cache.TokenNearCache, "_apply", recording)
    try:
        for _ in range(3):
            token, seen = make_token(user), len(flushes)
            # Every process holds the token and a block of hits first.
            for index in range(4):
                reach(index)
                _held(anon, token)
            order = itertools.cycle(range(4)) if spread == "round robin" else itertools.repeat(0)
            answers = []
            for index in itertools.islice(order, 700):
                reach(index)
                answers.append(_get(anon, token))
            if len(flushes) == seen:
                break
        allowed = answers.count(200) + 12  # the requests that made every process hold the token
        assert set(answers) == {200, 429}
        assert allowed <= 640
        assert answers.index(429) == answers.count(200) or spread == "round robin"
        if len(flushes) == seen:  # (flushed in every run: the blocks lost are the flush's doing)
            # Hits other processes took and were not asked to use: at most a block each.
            assert allowed >= 640 - (3 * 10 if spread == "one process" else 4)
    finally:
        for near in nears:
            near._drop_listener()


def test_a_row_read_before_an_invalidation_is_not_held(on_redis, anon, token, redis_url):
    # Threads: one reads the entry on Redis; meanwhile another applies an invalidation. The row
    # read before it must not be held.
    _held(anon, token)
    backend = caches["default"]
    near = _near(backend)
    checksum = _checksum(token)
    before = near.read(checksum, "window", 6400)
    redis.Redis.from_url(redis_url).set(token_entry_key(backend, checksum), b"-", ex=60)
    time.sleep(0.05)
    assert near.read(checksum, "window", 6400).values is None  # dropped
    near.hold(checksum, before.values, ttl_ms=60_000, epoch=before.epoch)
    assert near.read(checksum, "window", 6400).values is None


def test_a_held_row_lives_no_longer_than_its_redis_entry(on_redis, anon, token, redis_url):
    _held(anon, token)
    backend = caches["default"]
    near, checksum = _near(backend), _checksum(token)
    epoch = near.read(checksum, "window", 6400).epoch
    near.hold(checksum, ["row"], ttl_ms=50, epoch=epoch)
    assert near.read(checksum, "window", 6400).values == ["row"]
    time.sleep(0.06)
    assert near.read(checksum, "window", 6400).values is None


def test_a_forked_child_holds_nothing_of_its_parent(on_redis, anon, token, redis_url):
    _held(anon, token)
    near, checksum = _near(caches["default"]), _checksum(token)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its own tracking connection, nothing held
        try:
            first = near.read(checksum, "window", 6400)  # (connects its own)
            then = near.read(checksum, "window", 6400)
            fine = first.values is None and then.values is None and then.epoch is not None and near.tracking
            os.write(write, b"ok" if fine else b"held")
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    assert os.read(read, 10) == b"ok"
    # The parent's tracking connection survived the child.
    assert near.tracking_client_id in _tracking_ids(redis_url)
    _revoke_elsewhere(redis_url, token)
    assert _get(anon, token) == 401


def test_a_process_not_heard_from_reads_redis_until_its_ping_is_answered(on_redis, anon, token, sent):
    _held(anon, token)
    near = _near(caches["default"])
    near._trusted_until = 0.0  # as if its last ping's answer were older than a second
    near._last_ping_at = 0.0
    sent.clear()
    assert _get(anon, token) == 200
    assert any(b"PING" in c.upper() for c in sent)  # asked on the tracking connection
    assert sum(b"EVALSHA" in c.upper() for c in sent) == 1  # and the entry read on Redis
    time.sleep(0.05)  # the answer arrives; the process trusts its rows again
    sent.clear()
    assert _get(anon, token) == 200
    assert _but_pings(sent) == []


def test_one_thread_at_a_time_counts_a_block(on_redis, anon, token):
    _held(anon, token)
    near, checksum = _near(caches["default"]), _checksum(token)
    first = near.read(checksum, "window", 6400)
    assert first.count is None and first.hits == 100  # this thread counts the next block…
    second = near.read(checksum, "window", 6400)
    assert second.count is None and second.hits == 1  # …another meanwhile counts its own hit
    near.counted(checksum, "window", hits=100, count=100)
    assert near.read(checksum, "window", 6400).count == 2


def test_an_unknown_token_counts_one_hit_per_request(on_redis, anon, redis_url, throttle_clock):
    for _ in range(5):
        assert _get(anon, "no-such-token") == 401
    server = redis.Redis.from_url(redis_url)
    [window] = server.keys("*throttle:token:*")
    assert int(server.get(window)) == 5  # no block parked for a token nobody holds


def test_a_redis_slow_to_answer_the_tracking_connection_holds_up_no_other_request():
    import socket
    import threading

    from redis.connection import Connection

    silent = socket.create_server(("127.0.0.1", 0))  # accepts, never answers
    try:
        port = silent.getsockname()[1]
        near = token_near_cache.TokenNearCache(
            Connection, {"host": "127.0.0.1", "port": port, "socket_timeout": 1.5}, ":1:auth:token:"
        )
        connecting = threading.Thread(target=near.read, args=("a" * 64, "window", 6400))
        connecting.start()
        time.sleep(0.2)  # that thread now waits on the silent server
        started = time.monotonic()
        assert near.read("b" * 64, "window", 6400) is token_near_cache.NOTHING_HELD
        assert time.monotonic() - started < 0.5
        connecting.join(5)
        assert not near.tracking  # the attempt failed; another is made a second later
    finally:
        silent.close()


def test_invalidations_are_read_whatever_the_cache_decodes(redis_url):
    from redis.connection import Connection

    kwargs = redis.Redis.from_url(redis_url, decode_responses=True).connection_pool.connection_kwargs
    near = token_near_cache.TokenNearCache(Connection, kwargs, ":1:auth:token:")
    checksum = "c" * 64
    assert near.read(checksum, "window", 6400) is token_near_cache.NOTHING_HELD  # connects
    epoch = near.read(checksum, "window", 6400).epoch
    near.hold(checksum, ["row"], ttl_ms=60_000, epoch=epoch)
    assert near.read(checksum, "window", 6400).values == ["row"]
    redis.Redis.from_url(redis_url).set(":1:auth:token:" + checksum, b"-")
    time.sleep(0.05)
    assert near.read(checksum, "window", 6400).values is None
    near._drop_listener()
