"""Defects a review found in the viewer page and Camio downloads, fixed.

- The viewer's timeline showed older image events while newer video events were not yet loaded.
- The emailed zip link ignored ``Range``: a broken download of a large zip could not resume.
- ``HEAD`` on the emailed zip link answered 405.
- ``HEAD`` on the viewer page answered 405.
- A download's status said "ready" with no link and no reason after its Camio expired, and still
  told its size to a requester who could no longer see the Camio.
- Zip entry names kept characters and names Windows refuses, and a camera named
  ``manifest.json`` collided with the zip's manifest.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import zipfile
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from accounts.models import Guest
from accounts.services import oauth_application_create
from search.models import Camio
from tests.search.test_share_helpers import (
    hours_ago,
    jpeg_bytes,
    make_camera,
    make_camio,
    make_content,
    make_event,
    make_guest,
)

LINK = re.compile(r"http://testserver(/downloads/\S+)")


@pytest.fixture
def ready_download(db, user, other_api, settings, django_capture_on_commit_callbacks):
    """A public Camio of alice's, downloaded by bob: (camio, status location, emailed link path)."""
    settings.PUBLIC_BASE_URL = "http://testserver"
    front = make_camera(user, "front")
    for i in range(6):
        make_content(user, front, at=hours_ago(5 - i / 2), data=jpeg_bytes(color=(i * 30, 90, 10), size=(640, 480)))
    camio = make_camio(user, cameras=["front"], start=hours_ago(24), name="Front door")
    with django_capture_on_commit_callbacks(execute=True):
        resp = other_api.post(f"/api/camios/{camio.short_token}/downloads")
    assert resp.status_code == 200
    assert other_api.get(resp["Location"]).json()["status"] == "ready"
    link = LINK.search(mail.outbox[0].body).group(1)
    return camio, resp["Location"], link


@pytest.mark.django_db
def test_download_link_serves_a_byte_range_so_a_broken_download_can_resume(ready_download):
    """A viewer downloading a large Camio zip over a flaky connection resumes it (browsers,
    ``curl -C -`` and download managers send ``Range: bytes=N-``). The link used to ignore Range
    and answer 200 with the whole zip and no ``Accept-Ranges``, so a multi-GB zip started over
    after every drop. Now it answers 206 with ``Content-Range`` and only the bytes asked for (as
    ``/api/content/:id`` does), with an ``ETag`` a browser resumes under (``If-Range``: another
    version gets the whole zip), and 416 for a range past the end."""
    _camio, _location, link = ready_download
    browser = Client()
    whole = browser.get(link)
    assert whole.status_code == 200
    assert whole["Accept-Ranges"] == "bytes"
    data = b"".join(whole.streaming_content)
    assert whole["Content-Length"] == str(len(data))
    assert "attachment" in whole["Content-Disposition"]

    part = browser.get(link, HTTP_RANGE="bytes=100-")
    assert part.status_code == 206, part.status_code
    assert part["Content-Range"] == f"bytes 100-{len(data) - 1}/{len(data)}"
    assert b"".join(part.streaming_content) == data[100:]

    resumed = browser.get(link, HTTP_RANGE="bytes=100-199", HTTP_IF_RANGE=whole["ETag"])
    assert resumed.status_code == 206
    assert b"".join(resumed.streaming_content) == data[100:200]
    changed = browser.get(link, HTTP_RANGE="bytes=100-", HTTP_IF_RANGE='"another-version"')
    assert changed.status_code == 200
    assert b"".join(changed.streaming_content) == data

    past_end = browser.get(link, HTTP_RANGE=f"bytes={len(data)}-")
    assert past_end.status_code == 416
    assert past_end["Content-Range"] == f"bytes */{len(data)}"


@pytest.mark.django_db
def test_download_link_answers_head(ready_download):
    """A download manager (or ``curl -I``) asks ``HEAD`` on the emailed link to learn the zip's size
    and name before fetching it. It used to get ``405 Method Not Allowed``; now it gets what GET
    gets (RFC 9110 9.1): 200 with ``Content-Length`` and ``Content-Disposition``, and no body."""
    _camio, _location, link = ready_download
    browser = Client()
    size = len(b"".join(browser.get(link).streaming_content))
    head = browser.head(link)
    assert head.status_code == 200, head.status_code
    assert "attachment" in head["Content-Disposition"]
    assert head["Content-Length"] == str(size)
    assert b"".join(head.streaming_content) == b""


@pytest.mark.django_db
def test_viewer_page_answers_head(user):
    """A partner's uptime monitor or link checker sends ``HEAD /?v=<token>&key=<key>`` on the
    embed URL of the reference's iframe example. It used to get 405, as if the page were broken;
    now it gets GET's status (RFC 9110 9.1) and no body."""
    camio = make_camio(user, name="Kody")
    app, _secret = oauth_application_create(name="Partner", redirect_uris=["https://partner.example.com/cb"])
    url = f"/?v={camio.short_token}&key={app.client_id}"
    browser = Client()
    assert browser.get(url).status_code == 200
    head = browser.head(url)
    assert head.status_code == 200
    assert head.content == b""
    assert browser.head(f"/?v=unknown-token&key={app.client_id}").status_code == 404


@pytest.mark.django_db
def test_download_status_after_the_camio_expired_answers_as_the_camio_does(user, other_api, ready_download):
    """Bob asked for a zip of alice's public Camio; the Camio then expired (the viewer, ``POST
    …/downloads`` and the emailed link all say it expired or is unknown). Polling the status used
    to answer 200 ``{"status": "ready", "url": null, "error": ""}``: ready, with no link and no
    reason, so his client waited for a link that never came. Now it answers 404 with a message,
    as ``POST …/downloads`` and a deleted Camio's status do."""
    camio, location, _link = ready_download
    camio.expires_at = timezone.now() - timedelta(seconds=1)
    camio.save(update_fields=["expires_at"])
    assert other_api.post(f"/api/camios/{camio.short_token}/downloads").status_code == 404
    resp = other_api.get(location)
    assert resp.status_code == 404
    assert resp.json()["message"]


@pytest.mark.django_db
def test_download_status_is_404_to_a_requester_who_can_no_longer_see_the_camio(
    user, other_user, other_api, ready_download
):
    """Once alice made her Camio private, bob (no guest of hers) could still poll his download's
    status and read ``items_total`` and ``size``: 200 to someone the Camio is hidden from. Now the
    status answers 404 as the Camio does; it answers again when alice makes him her guest, and
    404 once more when she removes him."""
    camio, location, _link = ready_download
    camio.type = Camio.Type.PRIVATE
    camio.save(update_fields=["type"])
    resp = other_api.get(location)
    assert resp.status_code == 404
    assert "items_total" not in resp.json()

    make_guest(user, other_user)
    assert other_api.get(location).status_code == 200
    Guest.objects.filter(host=user, guest=other_user).delete()
    assert other_api.get(location).status_code == 404


@pytest.mark.django_db
def test_zip_entry_names_extract_on_windows_and_keep_the_manifest_apart(
    user, other_api, settings, django_capture_on_commit_callbacks
):
    """Camera names went into the zip as folder names verbatim: ``Gate: east?`` made entries
    Windows cannot extract (``:*?"<>|`` are refused there), and a camera named ``manifest.json``
    made a folder of the name of the root manifest file, so extraction failed. Now such
    characters become ``_``, and a folder that would be a device name (``CON``…) or the manifest
    gets a leading ``_``; the manifest still gives each camera's real name."""
    settings.PUBLIC_BASE_URL = "http://testserver"
    names = ["Gate: east?", "manifest.json", "con", 'a<b>|"*']
    for i, name in enumerate(names):
        make_content(user, make_camera(user, name), at=hours_ago(4 - i), data=jpeg_bytes(size=(32, 24)))
    camio = make_camio(user, cameras=names, start=hours_ago(24), name="All")
    with django_capture_on_commit_callbacks(execute=True):
        assert other_api.post(f"/api/camios/{camio.short_token}/downloads").status_code == 200
    link = LINK.search(mail.outbox[0].body).group(1)
    archive = zipfile.ZipFile(io.BytesIO(b"".join(Client().get(link).streaming_content)))
    entries = archive.namelist()
    folders = [entry.split("/")[0] for entry in entries if "/" in entry]
    assert folders == ["Gate_ east_", "_manifest.json", "_con", "a_b____"]
    assert not any(set(entry) & set(':*?"<>|\\') for entry in entries)
    assert entries[-1] == "manifest.json"
    manifest = json.loads(archive.read("manifest.json"))
    assert [item["camera"] for item in manifest["items"]] == names


# --- the viewer in a real browser -------------------------------------------------------------

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture
def page(live_server, monkeypatch):
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("NEEDS: playwright")
    if not shutil.which(CHROMIUM):
        pytest.skip(f"NEEDS: chromium at {CHROMIUM}")
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield browser.new_page()
        finally:
            browser.close()


def test_viewer_timeline_does_not_skip_newer_events_to_show_older_ones(page, live_server, transactional_db, user):
    """A Camio of a yard camera holds 30 video events from the last half hour and 5 image events
    from two days ago. The viewer's first page showed the 24 newest video events and, right below
    them, the image events from two days ago: the 6 video events from 25-30 minutes ago were
    missing (they appeared, in the middle of the timeline, only after "Older events"), so a viewer
    scrolling back believed nothing happened then. Now the merged timeline is shown only down to
    the newer of the image and video streams' paging dates: no event older than one not yet
    loaded; "Older events" pages the stream holding it back, and then shows the rest in order."""
    from tests.search.test_viewer_browser import mp4_bytes, wait_for

    yard = make_camera(user, "yard")
    now = timezone.now()
    clip = mp4_bytes(0.3)
    video_ids = []
    for i in range(30):
        video = make_content(
            user,
            yard,
            at=now - timedelta(minutes=i + 1),
            data=clip,
            content_type="video/mp4",
            kind="video",
            size=(160, 120),
        )
        event = make_event(user, yard, [video], labels=("driveway",))
        video_ids.append(event.public_id)
    for i in range(5):
        still = make_content(user, yard, at=now - timedelta(days=2, minutes=i), data=jpeg_bytes(size=(32, 24)))
        make_event(user, yard, [still])
    camio = make_camio(user, cameras=["yard"], name="Yard")
    app, _ = oauth_application_create(name="Partner", redirect_uris=["https://partner.example.com/cb"])

    page.goto(f"{live_server.url}/?v={camio.short_token}&key={app.client_id}")
    page.wait_for_selector("#viewer[data-state=loaded]", timeout=15000)
    rows = page.locator("#timeline li[data-event-id]")
    shown = [rows.nth(i).get_attribute("data-event-id") for i in range(rows.count())]
    kinds = [rows.nth(i).get_attribute("data-kind") for i in range(rows.count())]
    # The newest events, in order and without a hole: if any image event (two days old) is shown,
    # every video event of the last half hour must be shown above it.
    if "image" in kinds:
        missing = [pid for pid in video_ids if pid not in shown]
        assert not missing, f"{len(missing)} newer video events left out while two-day-old image events are shown"
    assert shown == video_ids[: len(shown)]  # the newest first, without a hole

    page.locator("#more").click()
    wait_for(lambda: rows.count() == 35, timeout=10)
    shown = [rows.nth(i).get_attribute("data-event-id") for i in range(rows.count())]
    kinds = [rows.nth(i).get_attribute("data-kind") for i in range(rows.count())]
    assert shown[:30] == video_ids
    assert kinds[30:] == ["image"] * 5
    assert page.locator("#more").is_hidden()
