"""A backing service that cannot be reached gives 503 with Retry-After, never a 500, and what the
request started is not half done: a token revocation that cannot bury the token's cache entry is
refused (the token stays valid, and says so) rather than leaving a revoked token cached.

The cache here is a real Redis client pointed at a port where nothing listens (the outage); the
database outage is simulated at the one place that queries (nothing real can take the test
database away from under the test process)."""

from __future__ import annotations

import pytest
from django.db import OperationalError, transaction
from oauth2_provider.models import AccessToken

from tests.factories import make_token, make_user

pytestmark = pytest.mark.django_db

NOWHERE = "redis://127.0.0.1:1/0"  # nothing listens on port 1


@pytest.fixture
def cache_down(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": NOWHERE,
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    settings.API_TOKEN_CACHE_SECONDS = 60
    return settings


def test_an_api_call_while_the_cache_is_down_is_a_503_with_retry_after(cache_down, anon, token):
    response = anon.get("/api/users/me/cameras", HTTP_AUTHORIZATION=f"token {token}")
    assert response.status_code == 503
    assert response.json() == {"message": "Service temporarily unavailable, try again later"}
    assert int(response["Retry-After"]) > 0


def test_an_api_call_while_the_database_is_down_is_a_503(monkeypatch, api):
    import psycopg

    from cameras import selectors

    def unreachable(*args, **kwargs):
        try:
            raise psycopg.OperationalError("connection to server at 127.0.0.1, port 5432 failed: Connection refused")
        except psycopg.OperationalError as exc:
            raise OperationalError(str(exc)) from exc  # what Django's wrapper raises

    monkeypatch.setattr(selectors, "camera_list", unreachable)
    response = api.get("/api/users/me/cameras")
    assert response.status_code == 503 and response.json()["message"].startswith("Service temporarily unavailable")


def test_a_bug_is_still_a_500_not_an_outage(monkeypatch, api):
    from cameras import selectors

    def broken(*args, **kwargs):
        raise OperationalError("no such table: cameras_camera")  # a missing migration: a bug

    monkeypatch.setattr(selectors, "camera_list", broken)
    response = api.get("/api/users/me/cameras")
    assert response.status_code == 500 and response.json() == {"message": "Internal server error"}


def test_revoking_while_the_cache_is_down_is_refused_and_the_token_stays(cache_down):
    import redis

    user = make_user("revokee")
    make_token(user)
    token = AccessToken.objects.get(user=user)
    with pytest.raises(redis.exceptions.ConnectionError), transaction.atomic():
        token.revoke()
    assert AccessToken.objects.filter(pk=token.pk).exists()  # rolled back: not revoked behind the cache's back


@pytest.mark.django_db(transaction=True)  # as in production: no test transaction around the request
def test_the_admin_says_unavailable_and_changes_nothing_when_the_cache_is_down(cache_down, admin_client):
    user = make_user("revokee")
    make_token(user)
    token = AccessToken.objects.get(user=user)
    response = admin_client.post(
        "/admin/oauth2_provider/accesstoken/", {"action": "revoke_tokens", "_selected_action": [token.pk]}
    )
    assert response.status_code == 503
    assert "Nothing was changed" in response.content.decode() and response["Retry-After"]
    assert AccessToken.objects.filter(pk=token.pk).exists()
