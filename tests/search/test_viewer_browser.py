"""The viewer in a real headless browser (Debian's chromium driven by Playwright) on a live server.

Skipped loudly when Playwright or /usr/bin/chromium is missing (``CAMHUB_REQUIRE_SERVERS=1``
makes it fail instead).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.services import oauth_application_create
from tests.conftest import wait_for
from tests.search.test_share_helpers import jpeg_bytes, make_camera, make_camio, make_content, make_event

CHROMIUM = "/usr/bin/chromium"


def _require_browser():
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        reason = "NEEDS: playwright (pip install playwright)"
    else:
        if shutil.which(CHROMIUM):
            return
        reason = f"NEEDS: chromium at {CHROMIUM} (apt-get install chromium)"
    if os.environ.get("CAMHUB_REQUIRE_SERVERS") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


def mp4_bytes(seconds: float = 1.0) -> bytes:
    """A small H.264 MP4 (moov first) made with PyAV."""
    import av
    import numpy as np

    # faststart rewrites the file at the end, so it needs a real file, not a BytesIO.
    with (
        tempfile.NamedTemporaryFile(suffix=".mp4") as out,
        av.open(out.name, "w", options={"movflags": "+faststart"}) as container,
    ):
        stream = container.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        for i in range(int(seconds * 10)):
            pixels = np.full((120, 160, 3), (i * 20) % 255, dtype=np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
        container.close()
        return open(out.name, "rb").read()


@pytest.fixture
def page(live_server, monkeypatch):
    _require_browser()
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls of the test itself are
    # still plain synchronous code.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--autoplay-policy=no-user-gesture-required"]
        )
        try:
            yield browser.new_page()
        finally:
            browser.close()


@pytest.fixture
def shared(transactional_db, user):
    front = make_camera(user, "front")
    start = timezone.now() - timedelta(hours=2)
    images = [
        make_content(user, front, at=start + timedelta(seconds=i), data=jpeg_bytes(color=(60 * i, 80, 200)))
        for i in range(4)
    ]
    make_event(user, front, images, labels=("walkway", "people"))
    clip = mp4_bytes()
    video = make_content(
        user,
        front,
        at=start + timedelta(minutes=30),
        data=clip,
        content_type="video/mp4",
        kind="video",
        size=(160, 120),
    )
    make_event(user, front, [video], labels=("driveway",))
    camio = make_camio(user, cameras=["front"], name="Kody the dog")
    app, _ = oauth_application_create(name="Partner", redirect_uris=["https://partner.example.com/cb"])
    return camio, app.client_id


def test_viewer_shows_events_plays_a_sequence_and_a_video(page, live_server, shared):
    camio, key = shared
    page.goto(f"{live_server.url}/?v={camio.short_token}&key={key}")
    page.wait_for_selector("#viewer[data-state=loaded]", timeout=15000)
    events = page.locator("#timeline li[data-event-id]")
    assert events.count() == 2
    # Newest first: the video event, then the image event; covers are real thumbnails.
    assert [events.nth(i).get_attribute("data-kind") for i in range(2)] == ["video", "image"]
    for i in range(2):
        src = events.nth(i).locator("img").get_attribute("src")
        assert src and src.startswith("data:image/jpeg;base64,")
    assert "walkway" in events.nth(1).inner_text()

    # The image event plays as a sequence of frames fetched with the per-item access tokens.
    events.nth(1).locator("button").click()
    page.wait_for_selector("#player[data-state=playing]", timeout=10000)
    first = page.locator("#frame").get_attribute("src")
    # Polled from Python: the page's CSP (no eval) forbids Playwright's wait_for_function.
    wait_for(lambda: page.locator("#position").inner_text().startswith("2 /"), timeout=5)
    assert page.locator("#frame").get_attribute("src") != first
    assert page.locator("#position").inner_text().endswith("/ 4")

    # The video event plays the MP4 through its access-token URL.
    events.nth(0).locator("button").click()
    video = page.locator("#video")
    wait_for(lambda: video.is_visible() and video.evaluate("v => v.currentTime") > 0, timeout=15)
    assert page.evaluate("document.getElementById('video').error") is None


def test_an_image_event_a_video_backs_shows_once_and_plays_its_video(page, live_server, transactional_db, user):
    front = make_camera(user, "front")
    start = timezone.now() - timedelta(hours=1)
    stills = [
        make_content(user, front, at=start + timedelta(seconds=i), data=jpeg_bytes(color=(90, 60 * i, 40)))
        for i in range(3)
    ]
    backing = make_content(
        user, front, at=start, data=mp4_bytes(), content_type="video/mp4", kind="video", size=(160, 120)
    )
    make_event(user, front, [*stills, backing], labels=("porch",))  # an image event, backed by the video
    camio = make_camio(user, cameras=["front"], name="Porch")
    app, _ = oauth_application_create(name="Partner", redirect_uris=["https://partner.example.com/cb"])

    page.goto(f"{live_server.url}/?v={camio.short_token}&key={app.client_id}")
    page.wait_for_selector("#viewer[data-state=loaded]", timeout=15000)
    events = page.locator("#timeline li[data-event-id]")
    # Both the image and the video search answer it: one entry on the timeline, an image event.
    assert events.count() == 1
    assert events.nth(0).get_attribute("data-kind") == "image"
    events.nth(0).locator("button").click()
    video = page.locator("#video")
    wait_for(lambda: video.is_visible() and video.evaluate("v => v.currentTime") > 0, timeout=15)


def test_viewer_says_clearly_when_the_token_is_invalid(page, live_server, shared):
    _camio, key = shared
    page.goto(f"{live_server.url}/?v=not-a-token&key={key}")
    assert "invalid, has expired or was revoked" in page.locator("[role=alert]").inner_text()


def test_viewer_pages_back_and_reports_a_camio_revoked_after_the_page_loaded(page, live_server, transactional_db, user):
    back = make_camera(user, "back")
    start = timezone.now() - timedelta(days=1)
    for i in range(30):  # more than one page (24) of events
        item = make_content(user, back, at=start + timedelta(minutes=i), data=jpeg_bytes(size=(32, 24)), size=(32, 24))
        make_event(user, back, [item])
    camio = make_camio(user, cameras=["back"])
    app, _ = oauth_application_create(name="Partner", redirect_uris=["https://partner.example.com/cb"])
    page.goto(f"{live_server.url}/?v={camio.view_token}&key={app.client_id}")
    page.wait_for_selector("#viewer[data-state=loaded]", timeout=15000)
    events = page.locator("#timeline li[data-event-id]")
    assert events.count() == 24
    page.locator("#more").click()
    wait_for(lambda: events.count() == 30, timeout=10)
    ids = [events.nth(i).get_attribute("data-event-id") for i in range(30)]
    assert len(set(ids)) == 30  # no repeats across the page boundary

    page.goto(f"{live_server.url}/?v={camio.view_token}&key={app.client_id}")
    page.wait_for_selector("#viewer[data-state=loaded]", timeout=15000)
    camio.delete()
    page.locator("#more").click()
    page.wait_for_selector("#viewer[data-state=error]", timeout=10000)
    assert "invalid, has expired or was revoked" in page.locator("#status").inner_text()
