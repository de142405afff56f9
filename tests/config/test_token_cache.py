"""Access tokens cached on Redis (config.api.token_cache): at most one round trip per API call
(none once the process holds the token, config.api.token_near_cache), and a token revoked,
refreshed or whose user is deactivated or deleted gets 401 on the very next request."""

from __future__ import annotations

import hashlib
import time
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from oauth2_provider.models import AccessToken

from config.api.token_cache import token_entries_bury
from tests.factories import make_token, make_user

pytestmark = pytest.mark.django_db

PATH = "/api/users/me/cameras"


@pytest.fixture
def on_redis(redis_cache):
    settings = redis_cache
    settings.API_TOKEN_CACHE_SECONDS = 60
    return settings


def _get(client, token: str) -> int:
    return client.get(PATH, HTTP_AUTHORIZATION=f"token {token}").status_code


def _token_queries(captured) -> list[str]:
    return [q["sql"] for q in captured if "token_checksum" in q["sql"]]


def test_a_cached_token_costs_no_query(on_redis, anon, token, django_assert_num_queries):
    assert _get(anon, token) == 200  # read from the database, then cached
    with django_assert_num_queries(1) as captured:  # the camera list only
        assert _get(anon, token) == 200
    assert not _token_queries(captured.captured_queries)


def test_revocation_applies_to_the_very_next_request(on_redis, anon, token):
    assert _get(anon, token) == 200
    assert _get(anon, token) == 200  # served from the cache
    AccessToken.objects.get().revoke()
    assert _get(anon, token) == 401


def test_deleting_tokens_in_bulk_applies_at_once(on_redis, anon, user, token):
    assert _get(anon, token) == 200
    AccessToken.objects.filter(user=user).delete()
    assert _get(anon, token) == 401


def test_deactivating_the_user_applies_at_once(on_redis, anon, user, token):
    assert _get(anon, token) == 200
    user.is_active = False
    user.save()
    assert _get(anon, token) == 401


def test_deleting_the_user_applies_at_once(on_redis, anon, user, token):
    assert _get(anon, token) == 200
    get_user_model().objects.filter(pk=user.pk).delete()
    assert _get(anon, token) == 401


def test_signing_in_keeps_the_cache(on_redis, anon, user, token, django_assert_num_queries):
    from django.contrib.auth.models import update_last_login

    assert _get(anon, token) == 200
    update_last_login(None, user)
    with django_assert_num_queries(1):
        assert _get(anon, token) == 200


def test_a_token_rewritten_in_place_drops_the_old_value(on_redis, anon, token):
    # A refresh may give the same row a new value; the old one must stop working at once.
    assert _get(anon, token) == 200
    row = AccessToken.objects.get()
    row.token = "renewed-" + token
    row.save()
    assert _get(anon, token) == 401
    assert _get(anon, "renewed-" + token) == 200


def test_a_changed_expiry_applies_at_once(on_redis, anon, token):
    assert _get(anon, token) == 200
    row = AccessToken.objects.get()
    row.expires = timezone.now() - timedelta(seconds=1)
    row.save()
    assert _get(anon, token) == 401


def test_expiry_is_checked_on_every_request(on_redis, anon, user):
    token = make_token(user)
    AccessToken.objects.filter(user=user).update(expires=timezone.now() + timedelta(seconds=1.5))
    assert _get(anon, token) == 200  # cached for the token's remaining second at most
    time.sleep(1.6)
    assert _get(anon, token) == 401


def test_a_bulk_update_applies_within_the_cache_time(on_redis, anon, user, token):
    on_redis.API_TOKEN_CACHE_SECONDS = 1
    assert _get(anon, token) == 200
    # QuerySet.update() sends no signal: the cached entry lives out its time.
    get_user_model().objects.filter(pk=user.pk).update(is_active=False)
    time.sleep(1.1)
    assert _get(anon, token) == 401


def test_a_tombstone_keeps_a_stale_read_out(on_redis, anon, token, django_assert_num_queries):
    # Buried (the token changed) before any request cached it: requests read the database and
    # write nothing back, so a read taken before the change cannot be cached after it.
    token_entries_bury([hashlib.sha256(token.encode()).hexdigest()])
    for _ in range(2):
        with django_assert_num_queries(2) as captured:  # the token, then the camera list
            assert _get(anon, token) == 200
        assert len(_token_queries(captured.captured_queries)) == 1


def test_unknown_tokens_are_refused_and_not_cached(on_redis, anon):
    assert _get(anon, "no-such-token") == 401
    assert _get(anon, "no-such-token") == 401


def test_tokens_are_each_users_own(on_redis, anon, user, token):
    from cameras.models import Camera

    other = make_user()
    other_token = make_token(other)
    Camera.objects.create(owner=user, name="mine")
    Camera.objects.create(owner=other, name="theirs")

    def names(t: str) -> list[str]:
        return [c["name"] for c in anon.get(PATH, HTTP_AUTHORIZATION=f"token {t}").json()]

    for _ in range(2):  # read from the database, then from the cache
        assert names(token) == ["mine"]
        assert names(other_token) == ["theirs"]


def test_the_rate_limit_counts_each_request_once(on_redis, anon, token, throttle_clock):
    on_redis.API_RATE_LIMIT = "3/minute"
    assert [_get(anon, token) for _ in range(4)] == [200, 200, 200, 429]


def test_the_cache_can_be_turned_off(on_redis, anon, token, django_assert_num_queries):
    on_redis.API_TOKEN_CACHE_SECONDS = 0
    assert _get(anon, token) == 200
    with django_assert_num_queries(2):
        assert _get(anon, token) == 200


def test_a_token_not_held_in_the_process_costs_one_redis_command(on_redis, anon, token, monkeypatch):
    # (Once the process holds it, config.api.token_near_cache: none; tests/config/test_token_near_cache.py.)
    from redis.connection import AbstractConnection

    sent: list = []
    original = AbstractConnection.send_packed_command

    def counting(self, command, check_health=True):
        sent.append(command)
        return original(self, command, check_health)

    assert _get(anon, token) == 200  # read from the database, then cached on Redis
    monkeypatch.setattr(AbstractConnection, "send_packed_command", counting)
    assert _get(anon, token) == 200  # the entry read on Redis with the hits
    # One command (a pipeline would pack several into one send): the token's entry and the hit.
    packed = b"".join(b"".join(part) if isinstance(part, list | tuple) else part for part in sent)
    assert packed.startswith(b"*") and packed.count(b"\r\n*") == 0, packed
    assert b"EVALSHA" in packed.upper()


def test_the_one_command_survives_redis_forgetting_its_script(on_redis, anon, token, redis_url):
    import redis

    assert _get(anon, token) == 200
    redis.Redis.from_url(redis_url).script_flush()  # as a Redis restart does
    assert _get(anon, token) == 200
    assert _get(anon, token) == 200
