"""The reads every API request makes (token, throttle, camera list): cheap, and never stale."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.utils import timezone

from cameras.models import Camera
from cameras.selectors import camera_list
from config.api.authentication import access_token_get
from config.api.throttling import window_hit
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def _checksum(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def test_token_lookup_is_one_query_with_the_user(user, token, django_assert_num_queries):
    with django_assert_num_queries(1):
        found = access_token_get(checksum=_checksum(token))
        assert found.user == user
        assert found.user.email == "alice@example.com"
        assert found.user.is_active
        assert not found.is_expired()
    # Columns the lookup skips still load on demand.
    assert found.application_id is None or found.application_id > 0
    assert found.expires > timezone.now()


def test_token_lookup_of_an_unknown_checksum_is_none():
    assert access_token_get(checksum=_checksum("nope")) is None


def _get(client, token: str) -> int:
    return client.get("/api/users/me/cameras", HTTP_AUTHORIZATION=f"token {token}").status_code


def test_revocation_applies_to_the_very_next_request(anon, token):
    from oauth2_provider.models import AccessToken

    assert _get(anon, token) == 200
    AccessToken.objects.get().revoke()
    assert _get(anon, token) == 401


def test_expiry_set_behind_the_models_back_applies_at_once(anon, token):
    from oauth2_provider.models import AccessToken

    assert _get(anon, token) == 200
    # A bulk update sends no signal: nothing may have cached the token.
    AccessToken.objects.update(expires=timezone.now() - timedelta(seconds=1))
    assert _get(anon, token) == 401


def test_deactivating_the_user_applies_at_once(anon, user, token):
    from django.contrib.auth import get_user_model

    assert _get(anon, token) == 200
    get_user_model().objects.filter(pk=user.pk).update(is_active=False)
    assert _get(anon, token) == 401


def test_window_hit_counts_on_the_fallback_cache():
    from django.core.cache import caches

    backend = caches["default"]
    assert [window_hit(backend, "throttle:t:1", 61) for _ in range(3)] == [1, 2, 3]
    assert window_hit(backend, "throttle:t:2", 61) == 1


def test_window_hit_on_redis_is_one_round_trip_and_expires(settings, redis_url):
    import redis
    from django.core.cache import caches

    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_url}}
    backend = caches["default"]
    assert [window_hit(backend, "throttle:t:1", 61) for _ in range(3)] == [1, 2, 3]
    raw = redis.Redis.from_url(redis_url)
    key = backend.make_key("throttle:t:1")
    assert 0 < raw.ttl(key) <= 61
    # Later hits do not push the window's end back.
    raw.expire(key, 5)
    window_hit(backend, "throttle:t:1", 61)
    assert raw.ttl(key) <= 5
    # The Django cache reads the same counter.
    assert backend.get("throttle:t:1") == 4


def test_rate_limit_on_redis_answers_429(api, settings, redis_url, throttle_clock):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_url}}
    settings.API_RATE_LIMIT = "2/minute"
    assert api.get("/api/users/me/cameras").status_code == 200
    assert api.get("/api/users/me/cameras").status_code == 200
    response = api.get("/api/users/me/cameras")
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60


def test_camera_list_is_the_owners_cameras_by_name(user, django_assert_num_queries):
    other = make_user()
    for name in ("zeta", "alpha", "mid"):
        Camera.objects.create(owner=user, name=name)
    Camera.objects.create(owner=other, name="theirs")
    with django_assert_num_queries(1):
        cameras = list(camera_list(owner=user))
    assert [c.name for c in cameras] == ["alpha", "mid", "zeta"]
    assert all(c.owner_id == user.pk for c in cameras)
    assert cameras[0].attribution == {} and cameras[0].tags == []


def _freed_with_gc_off(path: str, token: str) -> bool:
    """Whether the answer to ``GET path``, served as a WSGI server serves it, is freed as soon as
    the server drops it, with the cyclic garbage collector off (as between its runs in a worker).

    Through the test client's handler (a WSGI handler that keeps the test database open), not
    the client: that ties each response to itself (``response.json``)."""
    import gc
    import weakref

    from django.test import RequestFactory
    from django.test.client import ClientHandler

    environ = RequestFactory().get(path, HTTP_AUTHORIZATION=f"token {token}").environ
    gc.collect()
    gc.disable()
    try:
        response = ClientHandler()(environ)
        assert response.status_code == 200 and response.content.startswith((b"[", b"{"))
        gone = weakref.ref(response)
        del response
        return gone() is None
    finally:
        gc.enable()


def test_an_api_answer_is_freed_without_waiting_for_the_garbage_collector(user, token):
    """DRF ties a response to itself and to its view; left so, every answer (a search page is
    ~1,000 dicts and lists) waits for the cyclic collector, which walks it during later requests."""
    Camera.objects.create(owner=user, name="front")
    assert _freed_with_gc_off("/api/users/me/cameras", token)


def test_a_released_answer_still_reads_as_data_and_json(api, user):
    Camera.objects.create(owner=user, name="front")
    response = api.get("/api/users/me/cameras")
    assert response.data[0]["name"] == "front"
    assert response.json()[0]["name"] == "front"
    assert response.renderer_context is None
