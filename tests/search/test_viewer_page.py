"""The embeddable viewer page (``/?v=<view token>&key=<api key>``) and its static assets."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.services import oauth_application_create
from search.viewer_usage import viewer_usage
from tests.search.test_share_helpers import make_camio

pytestmark = pytest.mark.django_db


@pytest.fixture
def api_key() -> str:
    app, _secret = oauth_application_create(name="Partner site", redirect_uris=["https://partner.example.com/cb"])
    return app.client_id


@pytest.fixture
def browser() -> Client:
    return Client()


def test_page_renders_for_a_public_camio_without_sign_in(browser, user, api_key):
    camio = make_camio(user, name="Kody the dog")
    resp = browser.get(f"/?v={camio.short_token}&key={api_key}")
    assert resp.status_code == 200
    html = resp.content.decode()
    assert "Kody the dog" in html
    assert f'data-view-token="{camio.short_token}"' in html
    assert 'src="/static/search/viewer.js"' in html
    assert 'href="/static/search/viewer.css"' in html
    # Everything comes from this site: no CDN, no absolute asset URLs.
    assert not re.search(r"""(src|href)=["'](https?:)?//""", html)


def test_page_may_be_framed_by_any_site_but_other_pages_may_not(browser, user, api_key):
    camio = make_camio(user)
    resp = browser.get(f"/?v={camio.view_token}&key={api_key}")
    assert "X-Frame-Options" not in resp
    csp = resp["Content-Security-Policy"]
    assert "frame-ancestors *" in csp and "script-src 'self'" in csp
    assert resp["Referrer-Policy"] == "no-referrer"
    assert browser.get("/login/")["X-Frame-Options"] == "DENY"


def test_static_script_calls_the_search_api_with_the_view_token(browser):
    script = b"".join(browser.get("/static/search/viewer.js").streaming_content).decode()
    assert "/search?" in script
    assert "view_tokens: token" in script
    assert "fetch_access_tokens" in script and "fetch_cover_thumbnails" in script
    assert '"/content"' in script  # items by access token
    assert "https://" not in script and "http://" not in script
    css = browser.get("/static/search/viewer.css")
    assert css.status_code == 200


@pytest.mark.parametrize(
    ("query", "status", "message"),
    [
        ("v=nonsense&key={key}", 404, "invalid, has expired or was revoked"),
        ("v={token}", 400, "no API key"),
        ("v={token}&key=unknown", 403, "API key is not valid"),
    ],
)
def test_bad_links_show_a_clear_message(browser, user, api_key, query, status, message):
    camio = make_camio(user)
    resp = browser.get("/?" + query.format(key=api_key, token=camio.view_token))
    assert resp.status_code == status
    html = resp.content.decode()
    assert message in html and 'role="alert"' in html
    assert "viewer.js" not in html
    assert "frame-ancestors *" in resp["Content-Security-Policy"]


def test_expired_and_private_camios_are_refused(browser, user, api_key):
    expired = make_camio(user, expires_at=timezone.now() - timedelta(seconds=1))
    assert browser.get(f"/?v={expired.view_token}&key={api_key}").status_code == 404
    private = make_camio(user, type="private")
    resp = browser.get(f"/?v={private.view_token}&key={api_key}")
    assert resp.status_code == 403
    assert "private" in resp.content.decode()


def test_root_without_a_token_is_a_landing_page(browser):
    resp = browser.get("/")
    assert resp.status_code == 200
    assert "viewer" in resp.content.decode()


def test_usage_is_counted_per_api_key(browser, user, api_key):
    camio = make_camio(user)
    for _ in range(3):
        browser.get(f"/?v={camio.view_token}&key={api_key}")
    browser.get(f"/?v=nonsense&key={api_key}")  # a failed load is not counted
    assert viewer_usage(api_key=api_key, day=timezone.now().date()) == 3


def test_post_is_not_allowed(browser):
    assert browser.post("/").status_code == 405
