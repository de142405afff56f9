"""Defects a review found in the accounts, search and OAuth endpoints' leftovers, fixed.

- Reads of an account's private data (settings, Upload Token, guests, notifications, Camios, hooks,
  devices) with ``user=<host email>`` answered with the caller's own data; now a 403.
- Adding a guest who already was one answered 201 again; now 200 with the same body.
- The OAuth token answer matched ``Accept`` case-sensitively and ignored ``q=0``; now by media type.
- Integer parameters of search (``num_results``, ``w``, ``h``, ``quality``) took any script's digits.
- A view-token search of ``object_type=camios`` handed a short-token holder the long view token.
- An account deactivated after consent (or before a refresh) still got an access token.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import Notification
from accounts.selectors import account_settings_get
from accounts.services import oauth_application_create
from hooks.models import Hook
from tests.factories import make_token, make_user
from tests.search.test_share_helpers import make_camera, make_camio, make_guest

pytestmark = pytest.mark.django_db
REDIRECT = "https://partner.example.com/camio/oauth"


@pytest.fixture
def host(user):
    """alice, with a camera, a Camio, a hook, a notification and a guest (gina) of her own."""
    make_camera(user, "alice-front")
    account_settings_get(user=user)
    Notification.objects.create(user=user, kind="motion_alerts", title="alice-notice")
    Hook.objects.create(owner=user, callback_url="https://alice-hooks.example.com/cb", query="alice-front people")
    make_guest(user, make_user("gina", email="gina@example.com"))
    return user


@pytest.fixture
def guest_api(host, other_user) -> APIClient:
    """bob, a guest of alice, with data of his own."""
    make_guest(host, other_user)
    make_camera(other_user, "bob-front")
    make_camio(other_user, cameras=["bob-front"], name="bob-camio")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"token {make_token(other_user)}")
    return client


def _private_reads(host) -> list[str]:
    camio = make_camio(host, cameras=["alice-front"], name="alice-camio")
    hook = Hook.objects.get(owner=host)
    return [
        "/api/users/me/settings",
        "/api/users/me/tokens/upload",
        "/api/users/me/guests",
        "/api/users/me/notifications",
        "/api/users/me/camios",
        f"/api/users/me/camios/{camio.view_token}",
        "/api/users/me/hooks",
        f"/api/users/me/hooks/{hook.pk}",
        f"/api/users/me/hooks/{hook.pk}/deliveries",
        "/api/users/me/devices",
    ]


def test_a_guests_read_of_the_hosts_private_data_is_refused_not_answered_with_its_own(host, guest_api, other_user):
    """Settings, the Upload Token, guests, notifications, Camios, hooks and devices with
    ``user=<host email>`` used to answer 200 with the *caller's* own data (bob's settings and Upload
    Token as if they were alice's); they are the host's private business, so now a 403 with a
    message, naming nothing of either account."""
    mine = account_settings_get(user=other_user).upload_token
    for path in _private_reads(host):
        got = guest_api.get(path, {"user": "ALICE@example.com"})
        assert got.status_code == 403, (path, got.status_code, got.content[:200])
        assert got.json()["message"]
        text = got.content.decode()
        assert mine not in text and "bob-camio" not in text and "alice" not in text.lower(), (path, text)
        # The caller's own address is the caller's own data, as without user=.
        own = guest_api.get(path, {"user": other_user.email})
        assert own.status_code in (200, 404), (path, own.status_code)


def test_a_stranger_naming_an_account_in_user_is_refused_on_private_reads(host, api, other_api):
    """Not a guest at all: the same 403 (it used to be the stranger's own data)."""
    for path in ("/api/users/me/settings", "/api/users/me/tokens/upload", "/api/users/me/camios"):
        got = other_api.get(path, {"user": host.email})
        assert got.status_code == 403, (path, got.content)


def test_guests_still_read_the_hosts_cameras_with_user(host, guest_api):
    """Positive control: the reads a guest may make answer with the host's data."""
    cameras = guest_api.get("/api/users/me/cameras", {"user": host.email})
    assert cameras.status_code == 200
    assert [c["name"] for c in cameras.json()] == ["alice-front"]
    assert guest_api.get("/api/users/me/cameras/alice-front/zones", {"user": host.email}).status_code == 200


def test_adding_an_existing_guest_again_is_200_with_the_same_body(api, other_user):
    """A repeated ``POST …/guests`` (a retry) used to answer 201 Created again; now 201 only when
    the guest is added, and 200 with the same body when it already was one."""
    first = api.post("/api/users/me/guests", {"email": other_user.email}, format="json")
    again = api.post("/api/users/me/guests", {"email": other_user.email.upper()}, format="json")
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json() == first.json()


# --- the OAuth token endpoint --------------------------------------------------------------------


@pytest.fixture
def partner_app():
    return oauth_application_create(name="Partner", redirect_uris=[REDIRECT])


def _code(user, app) -> str:
    browser = Client()
    browser.force_login(user)
    page = browser.get("/api/login/oauth/authorize", {"client_id": app.client_id})
    form = page.context["form"]
    data = {name: form[name].value() or "" for name in form.fields}
    data["allow"] = "Authorize"
    answer = browser.post("/api/login/oauth/authorize", data)
    assert answer.status_code == 302, answer.content
    return parse_qs(urlsplit(answer["Location"]).query)["code"][0]


def _exchange(app, secret, code, **headers):
    body = {"client_id": app.client_id, "client_secret": secret, "code": code}
    return Client().post("/api/login/oauth/access_token", body, **headers)


@pytest.mark.parametrize(
    "accept, json_answer",
    [
        ("Application/JSON", True),
        ("application/json; charset=utf-8", True),
        ("text/html, application/json;q=0.9, */*;q=0.1", True),
        ("application/json;q=0, */*", False),
        ("*/*", False),
        ("application/x-www-form-urlencoded, application/json;q=0.5", False),
    ],
)
def test_the_token_answer_follows_accept_as_media_types(user, partner_app, accept, json_answer):
    """``Accept`` was searched for the text "application/json": ``Application/JSON`` got the form
    encoding and ``application/json;q=0`` (refused) got JSON. Now it is matched as media types:
    case-insensitive, by preference, ``q=0`` refused; anything else keeps the form encoding."""
    app, secret = partner_app
    got = _exchange(app, secret, _code(user, app), HTTP_ACCEPT=accept)
    assert got.status_code == 200, got.content
    if json_answer:
        assert got["Content-Type"] == "application/json"
        assert got.json()["access_token"]
    else:
        assert got["Content-Type"] == "application/x-www-form-urlencoded"
        assert parse_qs(got.content.decode())["access_token"]


def test_an_account_deactivated_after_consent_gets_no_token(user, partner_app):
    """A code granted before the account was deactivated used to be exchanged for an access token
    (that then got 401 everywhere); now the exchange is refused as ``invalid_grant``."""
    app, secret = partner_app
    code = _code(user, app)
    type(user).objects.filter(pk=user.pk).update(is_active=False)
    got = _exchange(app, secret, code, HTTP_ACCEPT="application/json")
    assert got.status_code == 400
    assert got.json()["error"] == "invalid_grant" and got.json()["message"]
    assert "access_token" not in got.json()


def test_an_account_deactivated_before_a_refresh_gets_no_token(user, partner_app):
    """The same for a refresh token: it used to be turned into a fresh access token."""
    app, secret = partner_app
    first = _exchange(app, secret, _code(user, app), HTTP_ACCEPT="application/json").json()
    type(user).objects.filter(pk=user.pk).update(is_active=False)
    got = Client().post(
        "/api/login/oauth/access_token",
        {"client_id": app.client_id, "client_secret": secret, "refresh_token": first["refresh_token"]},
        HTTP_ACCEPT="application/json",
    )
    assert got.status_code == 400
    assert got.json()["error"] == "invalid_grant"
    # Reactivated, the account's partner may refresh again: the refusal revoked nothing by itself.
    type(user).objects.filter(pk=user.pk).update(is_active=True)
    again = Client().post(
        "/api/login/oauth/access_token",
        {"client_id": app.client_id, "client_secret": secret, "refresh_token": first["refresh_token"]},
        HTTP_ACCEPT="application/json",
    )
    assert again.status_code == 200, again.content


# --- search ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["num_results", "w", "h", "quality"])
@pytest.mark.parametrize(
    "value", ["\u0663", "\uff13", "1_0", "+3", "9" * 5000], ids=["arabic-indic", "full-width", "1_0", "+3", "long"]
)
def test_search_integers_are_ascii_digits_only(api, name, value):
    """``num_results=٣`` (an Arabic-Indic three), full-width digits, ``1_0`` or ``+3`` were taken
    as numbers (Python's int() reads them); now anything but ASCII digits is a 400 naming it."""
    got = api.get("/api/search", {name: value})
    assert got.status_code == 400, (name, value, got.content)
    assert name in got.json()["message"]
    assert api.get("/api/search", {name: " 3 "}).status_code == 200  # surrounding spaces are fine


def test_a_short_token_holder_is_not_handed_the_long_view_token(user, anon):
    """A viewer holding only a Camio's short token used to get its long view token back from
    ``object_type=camios``; each Camio is now named by the token the viewer sent, and no other."""
    make_camera(user, "front")
    camio = make_camio(user, cameras=["front"], name="shared")
    short = anon.get("/api/search", {"view_tokens": camio.short_token, "object_type": "camios"})
    assert short.status_code == 200
    [bucket] = short.json()["result"]["buckets"]
    assert camio.view_token not in short.content.decode()
    assert bucket["bucket_id"] == bucket["view_token"] == bucket["short_token"] == camio.short_token
    long = anon.get("/api/search", {"view_tokens": camio.view_token, "object_type": "camios"})
    [bucket] = long.json()["result"]["buckets"]
    assert bucket["bucket_id"] == bucket["view_token"] == camio.view_token
    assert bucket["short_token"] is None and camio.short_token not in long.content.decode()
