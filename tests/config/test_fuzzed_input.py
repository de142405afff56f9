"""Inputs found by fuzzing the HTTP API (schemathesis plus hand-made hostile inputs), 2026-12-05.

Bad input gets a clear 4xx JSON ``{"message": …}``, never a 500, a non-JSON error under /api/, or
stored data that breaks later requests. Each test was a defect when found (all fixed): its
docstring says what the client sends, and what it got before the fix ("now" in the docstrings).
"""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from cameras.models import Camera, Device
from uploads.models import Content

pytestmark = pytest.mark.django_db

MAC = "12:34:56:78:90:12"


def _assert_json_4xx(response, status: int | None = None) -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:300])
    if status is not None:
        assert response.status_code == status, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json"), (response["Content-Type"], response.content[:200])
    assert "message" in response.json()


# --- lone UTF-16 surrogates in JSON bodies ------------------------------------------------------


def test_settings_options_with_lone_surrogate_is_400_and_does_not_break_settings(api):
    """A client POSTs ``/api/users/me/settings`` with a JSON body whose motion_alerts ``options`` is
    ``"mute \\ud800"`` (valid JSON: a lone surrogate escape). It should get a 400 and its settings
    should stay readable. Now the value is saved, the POST answers 500, and from then on every
    ``GET /api/users/me/settings`` answers 500 too (the stored string cannot be encoded as UTF-8)."""
    body = '{"notifications": {"motion_alerts": {"options": "mute \\ud800"}}}'
    response = api.generic("POST", "/api/users/me/settings", body, content_type="application/json")
    after = api.get("/api/users/me/settings")
    assert after.status_code == 200, (after.status_code, after.content[:200])
    _assert_json_4xx(response, 400)


def test_guest_email_with_lone_surrogate_is_400(api):
    """``POST /api/users/me/guests`` with ``{"email": "a\\ud800@example.com"}`` should be a 400 JSON
    error; now the email reaches the database query, which cannot encode it: a 500."""
    body = '{"email": "a\\ud800@example.com"}'
    response = api.generic("POST", "/api/users/me/guests", body, content_type="application/json")
    _assert_json_4xx(response, 400)


@pytest.mark.parametrize(
    "body",
    ['{"client_id": "\\ud800", "client_secret": "s", "code": "c"}', '{"\\ud800": "x"}'],
    ids=["value", "key"],
)
def test_oauth_token_json_body_with_lone_surrogate_is_400(anon, body):
    """A partner POSTs ``/api/login/oauth/access_token`` with a JSON body holding a lone surrogate
    (in a value or a key). It should get a 400 JSON error; now oauthlib fails to UTF-8-encode the
    parameters and the answer is a 500."""
    response = anon.generic("POST", "/api/login/oauth/access_token", body, content_type="application/json")
    _assert_json_4xx(response, 400)


# --- form bodies the plain (non-DRF) views cannot parse ----------------------------------------


@pytest.mark.parametrize(
    "content_type",
    ["multipart/form-data", "multipart/form-data; boundary=", 'multipart/form-data; boundary=""'],
    ids=["no-boundary", "empty-boundary", "quoted-empty-boundary"],
)
def test_oauth_token_request_with_malformed_multipart_is_400(anon, content_type):
    """``POST /api/login/oauth/access_token`` with ``Content-Type: multipart/form-data`` and no
    (or an empty) boundary should be a 400 JSON error, as the camera poll answers the same body.
    Now ``request.POST`` raises MultiPartParserError inside CamioTokenView.post: a 500."""
    body = b"client_id=a&client_secret=b&code=c"
    response = anon.generic("POST", "/api/login/oauth/access_token", body, content_type=content_type)
    _assert_json_4xx(response, 400)


@pytest.mark.parametrize(
    "path", [f"/api/cameras/{MAC}", "/api/login/oauth/access_token"], ids=["camera-poll", "oauth-token"]
)
def test_form_body_declaring_a_non_utf8_charset_is_400(db, path):
    """A camera (or partner) POSTs a form body with
    ``Content-Type: application/x-www-form-urlencoded; charset=utf-16``. Django refuses such a form
    with ``django.core.exceptions.BadRequest``; the client should get a 400 JSON error. Now nothing
    maps that exception under /api/ (ApiErrorMiddleware knows SuspiciousOperation, not BadRequest),
    so the answer is a 500."""
    client = APIClient(REMOTE_ADDR="203.0.113.7")
    response = client.generic(
        "POST", path, b"maker=Sharx&model=SCNC3904", content_type="application/x-www-form-urlencoded; charset=utf-16"
    )
    _assert_json_4xx(response, 400)
    assert not Device.objects.exists()


# --- non-JSON error bodies under /api/ ----------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/foo%0Abar", "/api/users/me/cameras%0A", "/api/search%0A"])
def test_unknown_api_path_with_a_newline_is_json_404(api, path):
    """``GET /api/search%0A`` (any /api/ path holding an encoded newline that no route takes)
    should be the JSON 404 every unknown /api/ path gets. The catch-all route ``^.*$`` cannot
    match across a newline (``.`` excludes it), so Django's HTML 404 page is answered instead."""
    response = api.get(path)
    _assert_json_4xx(response, 404)


@pytest.mark.parametrize("method", ["put", "delete", "patch"])
def test_wrong_method_on_authorize_is_json_405_for_a_real_client(method):
    """A real HTTP client (which, unlike the test client, gets CSRF checks) sends
    ``PUT /api/login/oauth/authorize?client_id=x``. It should get the JSON 405 the view's dispatch
    builds; CsrfViewMiddleware answers first with Django's HTML "403 Forbidden - CSRF" page."""
    client = APIClient(enforce_csrf_checks=True)
    response = getattr(client, method)("/api/login/oauth/authorize?client_id=x")
    assert response["Content-Type"].startswith("application/json"), (response.status_code, response.content[:200])
    assert response.status_code == 405


def test_post_to_authorize_without_csrf_token_is_json_error(user):
    """A partner's server (no browser, no CSRF cookie) POSTs ``/api/login/oauth/authorize``. Any
    error it gets under /api/ should be JSON ``{"message"}``; now it is Django's HTML CSRF page."""
    client = APIClient(enforce_csrf_checks=True)
    response = client.post("/api/login/oauth/authorize?client_id=x", {"allow": "Authorize"})
    _assert_json_4xx(response)


def test_request_with_a_disallowed_host_header_is_json_400_under_api(api):
    """``GET /api/search`` with a ``Host`` not in ALLOWED_HOSTS should be refused with a JSON 400
    like every other /api/ error; CommonMiddleware raises DisallowedHost outside
    ApiErrorMiddleware's reach, so Django's HTML "Bad Request (400)" page is answered."""
    response = api.get("/api/search", HTTP_HOST="evil.example")
    _assert_json_4xx(response, 400)


def test_unsatisfiable_range_on_content_is_json_416(api, user):
    """A video player asks ``GET /api/users/me/cameras/front/content/:id`` with ``Range: bytes=5-2``
    (or past the end). 416 is right, but the body should be JSON ``{"message"}`` as for every
    /api/ error; now it is an empty ``text/html`` response (uploads.views.ranged_response)."""
    from io import BytesIO

    from PIL import Image

    from accounts.selectors import account_settings_get

    upload_token = account_settings_get(user=user).upload_token
    buffer = BytesIO()
    Image.new("RGB", (32, 24), (200, 10, 10)).save(buffer, "JPEG")
    uploaded = APIClient().generic(
        "PUT",
        f"/api/users/{upload_token}/cameras/front/content/a.jpg?camera_id=cam1",
        buffer.getvalue(),
        content_type="image/jpeg",
    )
    assert uploaded.status_code == 201, uploaded.content
    content = Content.objects.get()
    assert Camera.objects.filter(owner=user, name="front").exists()
    response = api.get(f"/api/users/me/cameras/front/content/{content.public_id}", HTTP_RANGE="bytes=5-2")
    _assert_json_4xx(response, 416)
    assert response["Content-Range"] == f"bytes */{content.size}"
