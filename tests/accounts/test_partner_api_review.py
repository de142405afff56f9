"""Defects a review found in the partner REST API outside search and hooks (OAuth, settings,
guests, cameras, zones, device claiming, Upload Tokens), fixed.

- A camera claimed while it polled was reported offline (it took the coalesced row's sight).
- The device list's ``date_last_seen`` was the coalesced row's, minutes old.
- An over-long PKCE ``code_challenge`` was a 500 at consent on PostgreSQL.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from accounts.services import oauth_application_create
from cameras.polling import Poll, poll_record

pytestmark = pytest.mark.django_db

REDIRECT = "https://partner.example.com/camio/oauth"
MAC = "123456789012"
PUBLIC_IP = "203.0.113.7"


def _poll_every_30_seconds_for(seconds: int) -> None:
    """An IP camera on the user's network that has polled every 30 s for ``seconds``, up to now."""
    poll = Poll(MAC, "Sharx", "SCNC3904", "192.168.1.51", PUBLIC_IP, "Wget")
    now = time.time()
    for ago in range(seconds, -1, -30):
        poll_record(poll, now=now - ago)


def test_a_camera_claimed_while_it_polls_is_reported_online(api):
    """The user plugs in a camera, which polls every 30 s; three and a half minutes later they
    find it in ``GET /api/users/me/devices`` and claim it. The claim answer, and a GET of the new
    camera right after, say ``"is_online": false`` although the camera polled a moment ago: the
    camera is given the device row's sight, which the coalesced heartbeat writes only every
    ``CAMERA_HEARTBEAT_WRITE_SECONDS`` (300 s), and the claim drops the cached entry that held the
    latest poll. Reference: "The server's determination of online status takes into account state
    polls as well as recent uploads." Both answers now say ``true``: the claim takes the cached
    latest poll."""
    api.defaults["REMOTE_ADDR"] = PUBLIC_IP
    _poll_every_30_seconds_for(210)
    assert [d["mac_address"] for d in api.get("/api/users/me/devices").json()] == [MAC]

    claimed = api.post(f"/api/users/me/devices/{MAC}/claim", {"name": "front"}, format="json")
    assert claimed.status_code == 201, claimed.content
    assert claimed.json()["is_online"] is True, "the claim answer calls a camera polling right now offline"
    assert api.get("/api/users/me/cameras/front").json()["is_online"] is True


def test_device_list_shows_the_latest_poll_as_date_last_seen(api):
    """A camera polls every 30 s; the user lists ``GET /api/users/me/devices`` to find it. Its
    ``date_last_seen`` is three and a half minutes old (the last coalesced database write), not
    the poll of a moment ago, so a camera that is alive looked stale or gone. The list now merges
    the cached polls in (``devices_polled_at``), as the admin's did."""
    api.defaults["REMOTE_ADDR"] = PUBLIC_IP
    _poll_every_30_seconds_for(210)
    devices = api.get("/api/users/me/devices").json()
    assert len(devices) == 1
    seen = datetime.strptime(devices[0]["date_last_seen"], "%Y-%m-%dT%H:%M:%S.%f-0000").replace(tzinfo=UTC)
    age = time.time() - seen.timestamp()
    assert age < 35, f"date_last_seen is {age:.0f} s old for a device that polled just now"


def test_an_over_long_pkce_code_challenge_is_refused_not_a_500(user):
    """A partner starts the flow with a PKCE ``code_challenge`` longer than RFC 7636 allows
    (43-128 characters; here 200, method ``plain``). The consent page is shown and, when the user
    clicks "Authorize", django-oauth-toolkit stores the challenge in a ``varchar(128)``: on
    PostgreSQL (production) that is ``DataError: value too long`` and a 500 (the user's consent is
    lost, the partner gets nothing back); on SQLite a code is issued for a challenge no compliant
    verifier can match. It is now refused as ``invalid_request`` (a redirect to the partner with
    ``error=invalid_request``, or a 400), never a 500 and never a code."""
    app, _ = oauth_application_create(name="Partner", redirect_uris=[REDIRECT])
    browser = Client()
    browser.force_login(user)
    params = {"client_id": app.client_id, "code_challenge": "c" * 200, "code_challenge_method": "plain"}
    page = browser.get("/api/login/oauth/authorize", params)
    if page.status_code == 200:
        form = page.context["form"]
        data = {name: form[name].value() or "" for name in form.fields}
        data["allow"] = "Authorize"
        page = browser.post("/api/login/oauth/authorize", data)
    assert page.status_code != 500, page.content
    if page.status_code == 302:
        query = parse_qs(urlsplit(page["Location"]).query)
        assert "code" not in query, "a code was issued for a code_challenge of 200 characters"
        assert query.get("error") == ["invalid_request"]
    else:
        assert page.status_code == 400
