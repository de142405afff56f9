"""The OAuth authorization-code flow at Camio's paths, end to end."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from accounts.services import oauth_application_create

pytestmark = pytest.mark.django_db
REDIRECT = "https://partner.example.com/camio/oauth"


@pytest.fixture
def partner_app():
    return oauth_application_create(name="Partner", redirect_uris=[REDIRECT, "https://partner.example.com/alt"])


@pytest.fixture
def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def authorize(browser: Client, app, **params) -> dict:
    """Run the consent page as a user would: GET it, then POST its form with "allow"."""
    query = {"client_id": app.client_id, **params}
    page = browser.get("/api/login/oauth/authorize", query)
    assert page.status_code == 200, page.content
    form = page.context["form"]
    data = {name: form[name].value() or "" for name in form.fields}
    data["allow"] = "Authorize"
    answer = browser.post("/api/login/oauth/authorize", data)
    assert answer.status_code == 302, answer.content
    location = urlsplit(answer["Location"])
    return {
        "base": f"{location.scheme}://{location.netloc}{location.path}",
        **{k: v[0] for k, v in parse_qs(location.query).items()},
    }


def test_full_flow_with_only_the_documented_parameters(browser, partner_app):
    app, secret = partner_app
    redirect = authorize(browser, app, redirect_uri=REDIRECT, state="xyz-987")
    assert redirect["base"] == REDIRECT
    assert redirect["state"] == "xyz-987"
    response = Client().post(
        "/api/login/oauth/access_token",
        {"client_id": app.client_id, "client_secret": secret, "code": redirect["code"], "redirect_uri": REDIRECT},
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/x-www-form-urlencoded"
    body = response.content.decode()
    assert body.startswith("access_token=")
    fields = parse_qs(body)
    assert fields["token_type"] == ["bearer"]
    assert "refresh_token" in fields
    api = Client().get("/api/users/me/cameras", HTTP_AUTHORIZATION=f"token {fields['access_token'][0]}")
    assert api.status_code == 200


def test_json_answer_when_accept_says_so_and_redirect_uri_omitted(browser, partner_app):
    app, secret = partner_app
    redirect = authorize(browser, app)  # no redirect_uri, no state: the default URI is used
    assert redirect["base"] == REDIRECT
    response = Client().post(
        "/api/login/oauth/access_token",
        {"client_id": app.client_id, "client_secret": secret, "code": redirect["code"]},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 200
    data = response.json()
    assert data["token_type"] == "bearer"
    assert data["access_token"]
    assert list(data)[:2] == ["access_token", "token_type"]


def test_parameters_in_the_query_string_are_accepted(browser, partner_app):
    app, secret = partner_app
    redirect = authorize(browser, app, redirect_uri=REDIRECT)
    response = Client().post(
        f"/api/login/oauth/access_token?client_id={app.client_id}&client_secret={secret}"
        f"&code={redirect['code']}&redirect_uri={REDIRECT}",
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 200, response.content


def test_token_request_as_a_json_body(browser, partner_app):
    app, secret = partner_app
    redirect = authorize(browser, app, redirect_uri=REDIRECT)
    params = {"client_id": app.client_id, "client_secret": secret, "code": redirect["code"]}
    response = Client().post(
        "/api/login/oauth/access_token", params, content_type="application/json", HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 200, response.content
    token = response.json()["access_token"]
    assert Client().get("/api/users/me/cameras", HTTP_AUTHORIZATION=f"token {token}").status_code == 200
    # The code was used: the same JSON again is the flow's own error, as JSON.
    again = Client().post("/api/login/oauth/access_token", params, content_type="application/json")
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


@pytest.mark.parametrize(
    "body, message",
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        ('{"client_id": {"a": 1}}', "client_id must be a string"),
        ('{"code": true}', "code must be a string"),
    ],
)
def test_a_malformed_json_token_request_is_a_clear_400(partner_app, body, message):
    response = Client().post("/api/login/oauth/access_token", body, content_type="application/json")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert message in response.json()["message"]
    assert response.json()["error"] == "invalid_request"


def test_comma_separated_scope(browser, partner_app):
    app, _ = partner_app
    redirect = authorize(browser, app, scope="user,")
    assert "code" in redirect


@pytest.mark.parametrize("scope", ["", "   ", ","])
def test_empty_scope_gets_the_default_user_scope(browser, partner_app, scope):
    # The reference: "Default scope is user"; a blank scope= is no scope chosen, not an invalid one.
    app, secret = partner_app
    redirect = authorize(browser, app, scope=scope, state="z")
    assert redirect["base"] == REDIRECT and redirect["state"] == "z" and "error" not in redirect
    response = Client().post(
        "/api/login/oauth/access_token",
        {"client_id": app.client_id, "client_secret": secret, "code": redirect["code"]},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["scope"] == "user"


def test_wrong_client_secret_is_refused(browser, partner_app):
    app, _ = partner_app
    redirect = authorize(browser, app, redirect_uri=REDIRECT)
    response = Client().post(
        "/api/login/oauth/access_token",
        {"client_id": app.client_id, "client_secret": "wrong", "code": redirect["code"]},
    )
    assert response.status_code == 401
    assert response.json()["message"]
    assert response.json()["error"] == "invalid_client"


def test_code_is_single_use(browser, partner_app):
    app, secret = partner_app
    redirect = authorize(browser, app)
    params = {"client_id": app.client_id, "client_secret": secret, "code": redirect["code"]}
    assert Client().post("/api/login/oauth/access_token", params).status_code == 200
    again = Client().post("/api/login/oauth/access_token", params)
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"


def test_refresh_token_gives_a_new_access_token(browser, partner_app):
    app, secret = partner_app
    redirect = authorize(browser, app)
    first = (
        Client()
        .post(
            "/api/login/oauth/access_token",
            {"client_id": app.client_id, "client_secret": secret, "code": redirect["code"]},
            HTTP_ACCEPT="application/json",
        )
        .json()
    )
    refreshed = Client().post(
        "/api/login/oauth/access_token",
        {"client_id": app.client_id, "client_secret": secret, "refresh_token": first["refresh_token"]},
        HTTP_ACCEPT="application/json",
    )
    assert refreshed.status_code == 200, refreshed.content
    new = refreshed.json()["access_token"]
    assert new != first["access_token"]
    assert Client().get("/api/users/me/cameras", HTTP_AUTHORIZATION=f"token {new}").status_code == 200


def test_a_rotated_refresh_token_used_again_revokes_its_family(browser, partner_app):
    """A refresh token is good once: replayed after the rotation (a thief, or a copy), it is
    refused and what was issued from it is revoked, the legitimate client's new token too."""
    app, secret = partner_app
    redirect = authorize(browser, app)
    token_url = "/api/login/oauth/access_token"
    first = (
        Client()
        .post(token_url, {"client_id": app.client_id, "client_secret": secret, "code": redirect["code"]},
              HTTP_ACCEPT="application/json")
        .json()
    )  # fmt: skip
    refresh = {"client_id": app.client_id, "client_secret": secret, "refresh_token": first["refresh_token"]}
    second = Client().post(token_url, refresh, HTTP_ACCEPT="application/json").json()
    new = second["access_token"]
    assert Client().get("/api/users/me/cameras", HTTP_AUTHORIZATION=f"token {new}").status_code == 200
    replayed = Client().post(token_url, refresh, HTTP_ACCEPT="application/json")
    assert replayed.status_code == 400 and replayed.json()["error"] == "invalid_grant"
    assert Client().get("/api/users/me/cameras", HTTP_AUTHORIZATION=f"token {new}").status_code == 401
    again = {**refresh, "refresh_token": second["refresh_token"]}
    assert Client().post(token_url, again, HTTP_ACCEPT="application/json").status_code == 400


def test_pkce_is_supported(browser, partner_app):
    import base64
    import hashlib

    app, secret = partner_app
    verifier = "v" * 64
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    redirect = authorize(browser, app, code_challenge=challenge, code_challenge_method="S256")
    base = {"client_id": app.client_id, "client_secret": secret, "code": redirect["code"]}
    assert Client().post("/api/login/oauth/access_token", {**base, "code_verifier": "wrong" * 10}).status_code == 400
    redirect = authorize(browser, app, code_challenge=challenge, code_challenge_method="S256")
    ok = Client().post("/api/login/oauth/access_token", {**base, "code": redirect["code"], "code_verifier": verifier})
    assert ok.status_code == 200


def test_authorize_requires_sign_in(partner_app):
    app, _ = partner_app
    response = Client().get("/api/login/oauth/authorize", {"client_id": app.client_id})
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_unknown_client_on_authorize_is_an_error_page(browser):
    response = browser.get("/api/login/oauth/authorize", {"client_id": "nope"})
    assert response.status_code == 400


def test_tokens_are_not_stored_in_clear(browser, partner_app):
    from oauth2_provider.models import AccessToken

    app, secret = partner_app
    redirect = authorize(browser, app)
    data = (
        Client()
        .post(
            "/api/login/oauth/access_token",
            {"client_id": app.client_id, "client_secret": secret, "code": redirect["code"]},
            HTTP_ACCEPT="application/json",
        )
        .json()
    )
    assert not AccessToken.objects.filter(token=data["access_token"]).exists()
