"""Hostile request bodies and headers get a clear 4xx JSON answer, never a 500 or a bypass."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts.selectors import account_settings_get
from cameras.models import Camera, Device

pytestmark = pytest.mark.django_db

MAC = "12:34:56:78:90:12"
HOME = "203.0.113.7"
ELSEWHERE = "198.51.100.66"
# Nesting deeper than Python's recursion limit, yet small (4 kB fits a poll's body limit).
DEEP_JSON = "[" * 2000 + "]" * 2000
# Parses, but deeper than any body of the API (config.api.parsers.MAX_JSON_DEPTH).
NESTED_JSON = '{"name": "door", "points": ' + "[" * 40 + "]" * 40 + "}"


def _assert_json_4xx(response, status: int = 400) -> None:
    assert response.status_code == status, (response.status_code, response.content[:200])
    assert "message" in response.json()


DEEP_BODIES = pytest.mark.parametrize("body", [DEEP_JSON, NESTED_JSON], ids=["past-recursion-limit", "40-levels"])


@DEEP_BODIES
@pytest.mark.parametrize(
    "path",
    ["/api/users/me/settings", "/api/users/me/cameras/front/zones/door"],
    ids=["settings", "zone"],
)
def test_deeply_nested_json_body_is_400_on_api_views(api, user, path, body):
    Camera.objects.create(owner=user, name="front")
    response = api.generic("POST", path, body, content_type="application/json")
    _assert_json_4xx(response)
    assert "nested" in response.json()["message"]
    assert not user.cameras.get().zones.exists()


@DEEP_BODIES
@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_deeply_nested_json_poll_body_is_400(db, method, body):
    camera = APIClient(REMOTE_ADDR=HOME)
    _assert_json_4xx(camera.generic(method, f"/api/cameras/{MAC}", body, content_type="application/json"))
    assert not Device.objects.exists()


@DEEP_BODIES
def test_deeply_nested_json_token_request_is_400(anon, db, body):
    response = anon.generic("POST", "/api/login/oauth/access_token", body, content_type="application/json")
    _assert_json_4xx(response)


def test_poll_with_malformed_multipart_body_is_400(db):
    camera = APIClient(REMOTE_ADDR=HOME)
    response = camera.generic(
        "POST", f"/api/cameras/{MAC}", b"maker=Sharx&model=SCNC3904", content_type="multipart/form-data"
    )
    _assert_json_4xx(response)
    assert not Device.objects.exists()


def test_anonymous_throttle_cannot_be_dodged_with_x_forwarded_for(anon, user, settings, throttle_clock):
    settings.API_RATE_LIMIT = "3/minute"
    token = account_settings_get(user=user).upload_token
    statuses = [
        anon.get(f"/api/tokens/{token}/hint", REMOTE_ADDR=ELSEWHERE, HTTP_X_FORWARDED_FOR=f"10.0.0.{i}").status_code
        for i in range(6)
    ]
    assert statuses[:3] == [200, 200, 200]
    assert statuses[3:] == [429, 429, 429], statuses


def test_behind_our_proxy_the_throttle_counts_the_address_the_proxy_saw(anon, user, settings, throttle_clock):
    """With USE_X_FORWARDED_FOR, the last hop (the one our proxy appended) is the caller; the
    earlier hops are the client's word and change nothing."""
    settings.API_RATE_LIMIT = "3/minute"
    settings.USE_X_FORWARDED_FOR = True
    token = account_settings_get(user=user).upload_token
    path = f"/api/tokens/{token}/hint"
    statuses = [
        anon.get(path, REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=f"10.9.9.{i}, {ELSEWHERE}").status_code
        for i in range(4)
    ]
    assert statuses == [200, 200, 200, 429], statuses
    # Another caller behind the same proxy has its own count.
    assert anon.get(path, REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=HOME).status_code == 200


# ApiErrorMiddleware maps PostgreSQL's refusal of a NUL to a 400; DRF views reach the handler instead.
def test_nul_in_a_json_string_is_400_on_postgresql(postgresql, api):
    body = {"notifications": {"motion_alerts": {"options": "mute street\u0000"}}}
    _assert_json_4xx(api.post("/api/users/me/settings", body, format="json"))
    _assert_json_4xx(api.post("/api/users/me/guests", {"email": "bob\u0000@example.com"}, format="json"))


def test_database_refusing_a_nul_is_400_in_drf_views_too(api, monkeypatch):
    """The same on any database: the error PostgreSQL's driver raises for a NUL, from a DRF view."""
    from django.db import DataError

    from accounts import services

    def refuse(**kwargs):
        raise DataError("PostgreSQL text fields cannot contain NUL (0x00) bytes")

    monkeypatch.setattr(services, "guest_add", refuse)
    _assert_json_4xx(api.post("/api/users/me/guests", {"email": "bob\u0000@example.com"}, format="json"))
