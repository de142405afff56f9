"""Every /api/ answer, errors included, is JSON with a message; auth, throttling, docs, health."""

import json

import pytest
from django.test import override_settings

pytestmark = pytest.mark.django_db


def test_missing_token_is_401_json(anon):
    response = anon.get("/api/users/me/cameras")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert response.json()["message"]
    assert response["WWW-Authenticate"].startswith("token")


@pytest.mark.parametrize("header", ["token nope", "Bearer nope", "token"])
def test_unknown_or_malformed_token_is_401(anon, header):
    response = anon.get("/api/users/me/cameras", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert "message" in response.json()


def test_token_header_and_bearer_both_work(anon, token):
    assert anon.get("/api/users/me/cameras", HTTP_AUTHORIZATION=f"token {token}").status_code == 200
    assert anon.get("/api/users/me/cameras", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200


def test_access_token_query_parameter_works_on_reads_only(anon, api, token, user):
    assert anon.get(f"/api/users/me/cameras?access_token={token}").json() == []
    # POST/PUT/PATCH must carry the header, as the reference says ("for HTTP GET commands, you can
    # supply &access_token="); DELETE too: a URL that deletes must not be replayable from a log.
    zone = {"polygons": [{"points": [{"x": 0.1, "y": 0.1}, {"x": 0.5, "y": 0.1}, {"x": 0.5, "y": 0.5}]}]}
    from cameras.services import camera_for_upload

    camera_for_upload(owner=user, name="front")
    assert api.post("/api/users/me/cameras/front/zones/door", zone, format="json").status_code == 201
    assert (
        anon.post(f"/api/users/me/cameras/front/zones/gate?access_token={token}", zone, format="json").status_code
        == 401
    )
    assert anon.delete(f"/api/users/me/cameras/front/zones/door?access_token={token}").status_code == 401
    assert api.delete("/api/users/me/cameras/front/zones/door").status_code == 204
    # A header of another scheme (a proxy's Basic credentials) leaves the query's token in force.
    basic = {"HTTP_AUTHORIZATION": "Basic dXNlcjpwYXNz"}
    assert anon.get(f"/api/users/me/cameras?access_token={token}", **basic).status_code == 200
    assert anon.get("/api/users/me/cameras", **basic).status_code == 401


@pytest.mark.parametrize(
    "path",
    [
        "/api/users/me/cameras/a%00b",
        "/api/users/me/cameras?user=a%00b",
        "/api/users/me/cameras/front/zones/a%00b",
        "/api/users/me/cameras/front/content/a%00b",
        "/api/tokens/a%00b/hint",
        "/api/search?text=a%00b",
        "/api/search?sources=a%00b",
        "/api/search?labels=a%00b",
        "/api/content/live/a%00b",
        "/api/users/me/hooks/a%00b",
        "/api/cameras/a%00b/?maker=x&model=y",
    ],
)
def test_a_nul_character_in_a_path_or_query_is_a_4xx_not_a_500(api, path):
    """PostgreSQL refuses NUL in text; a request carrying one must still get a clear answer."""
    response = api.get(path)
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:300])
    assert response.json()["message"]


def test_expired_token_is_401(anon, token):
    from datetime import timedelta

    from django.utils import timezone
    from oauth2_provider.models import AccessToken

    AccessToken.objects.update(expires=timezone.now() - timedelta(seconds=1))
    assert anon.get("/api/users/me/cameras", HTTP_AUTHORIZATION=f"token {token}").status_code == 401


def test_revoked_token_is_401(anon, token):
    from oauth2_provider.models import AccessToken

    for row in AccessToken.objects.all():
        row.revoke()
    assert anon.get("/api/users/me/cameras", HTTP_AUTHORIZATION=f"token {token}").status_code == 401


def test_inactive_user_token_is_401(anon, user, token):
    user.is_active = False
    user.save()
    assert anon.get("/api/users/me/cameras", HTTP_AUTHORIZATION=f"token {token}").status_code == 401


def test_unknown_api_route_is_json_404(api):
    for path in ("/api/nothing/here", "/api/", "/api/users/me/cameras/front/nope/deeper/still"):
        response = api.get(path)
        assert response.status_code == 404, path
        assert response.json() == {"message": "Not found"}


def test_wrong_method_is_json_405(api):
    response = api.put("/api/users/me/cameras", {}, format="json")
    assert response.status_code == 405
    assert "PUT" in response.json()["message"]


def test_plain_django_405_under_api_is_json(anon):
    # The OAuth token endpoint is django-oauth-toolkit's view, not DRF's: POST only.
    response = anon.get("/api/login/oauth/access_token")
    assert response.status_code == 405
    assert response["Content-Type"] == "application/json"
    assert "GET" in response.json()["message"]
    assert "POST" in response["Allow"]


@pytest.mark.parametrize("method", ["put", "delete", "patch"])
def test_wrong_method_on_authorize_is_json_405_not_a_sign_in_redirect(anon, method):
    response = getattr(anon, method)("/api/login/oauth/authorize?client_id=x")
    assert response.status_code == 405
    assert response["Content-Type"] == "application/json"
    assert method.upper() in response.json()["message"]
    assert response["Allow"] == "GET, POST"


def test_token_other_than_me_is_404(api):
    response = api.get("/api/users/someone/cameras")
    assert response.status_code == 404
    assert "me" in response.json()["message"]


def test_unhandled_exception_is_json_500_without_traceback(api, monkeypatch):
    from cameras import selectors

    def boom(**kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(selectors, "camera_list", boom)
    response = api.get("/api/users/me/cameras")
    assert response.status_code == 500
    assert response.json() == {"message": "Internal server error"}
    assert b"secret internals" not in response.content
    assert b"Traceback" not in response.content


@override_settings(API_RATE_LIMIT="3/minute")
def test_rate_limit_is_per_token_and_answers_429_with_retry_after(api, other_api, throttle_clock):
    for _ in range(3):
        assert api.get("/api/users/me/cameras").status_code == 200
    response = api.get("/api/users/me/cameras")
    assert response.status_code == 429
    assert response.json()["message"]
    assert 1 <= int(response["Retry-After"]) <= 60
    # Another token has its own budget.
    assert other_api.get("/api/users/me/cameras").status_code == 200


def test_request_id_is_returned_and_logged(api, caplog):
    import logging

    with caplog.at_level(logging.INFO, logger="camhub.request"):
        response = api.get("/api/users/me/cameras", HTTP_X_REQUEST_ID="abc-123")
    assert response["X-Request-ID"] == "abc-123"
    lines = [r for r in caplog.records if r.name == "camhub.request"]
    assert len(lines) == 1
    assert "GET /api/users/me/cameras 200" in lines[0].getMessage()
    assert lines[0].request_id == "abc-123"


def test_access_token_never_reaches_the_log(anon, token, caplog):
    import logging

    with caplog.at_level(logging.INFO):
        anon.get(f"/api/users/me/cameras?access_token={token}")
    assert token not in caplog.text


def test_insane_request_id_is_replaced(api):
    response = api.get("/api/users/me/cameras", HTTP_X_REQUEST_ID="x" * 200)
    assert len(response["X-Request-ID"]) == 32


def test_schema_and_offline_docs(anon, client):
    schema = anon.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    doc = json.loads(schema.content)
    assert doc["openapi"].startswith("3.")
    assert any("/cameras" in path for path in doc["paths"])
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    page = docs.content.decode()
    assert "swagger-ui" in page
    assert "cdn" not in page.lower() and "unpkg" not in page.lower()
    assert "/static/drf_spectacular_sidecar/" in page


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_readyz_reports_every_dependency(client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.json()
    assert set(response.json()["checks"]) == {"database", "cache", "broker", "storage"}


def test_a_nul_character_in_a_json_string_is_a_4xx_not_a_500(api):
    body = {"name": "a\u0000b", "type": "public", "query": {"labels": ["x\u0000y"]}}
    response = api.post("/api/users/me/camios", body, format="json")
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:300])
    assert response.json()["message"]


def test_the_docs_page_answers_options_with_a_json_405(client):
    response = client.options("/api/docs/")
    assert response.status_code == 405 and "message" in response.json()
