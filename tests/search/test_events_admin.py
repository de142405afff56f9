"""The events admin: list with covers and label chips, an event's items with boxes, re-analysis."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from cameras.models import Zone
from search.analysis import content_analyze
from search.models import Event, ItemAnalysis
from tests.search.conftest import RED_RECT, scene_jpeg

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_(db) -> Client:
    admin_user = get_user_model().objects.create_superuser("root", "root@example.com", "pw-12345-secret")
    client = Client()
    client.force_login(admin_user)
    return client


def assert_thumbnails(client, html: str, *, at_least: int) -> None:
    """The page's thumbnails are loaded lazily from the content admin, and are JPEGs."""
    urls = re.findall(r'<img src="(/admin/uploads/content/\d+/thumbnail/[^"]*)"[^>]*loading="lazy"', html)
    assert len(urls) >= at_least, html
    for url in set(urls):
        response = client.get(url.replace("&amp;", "&"))
        assert response.status_code == 200 and response.content[:2] == b"\xff\xd8"


@pytest.fixture
def event(store_content, camera) -> Event:
    for seconds, rects in ((0, []), (3, [RED_RECT])):
        content_analyze(content_id=store_content(camera, scene_jpeg(rects), at=seconds).pk)
    return Event.objects.get(camera=camera)


def test_event_list_shows_cover_and_label_chips(admin_client_, event):
    page = admin_client_.get("/admin/search/event/")
    assert page.status_code == 200
    html = page.content.decode()
    assert_thumbnails(admin_client_, html, at_least=1)
    assert "_color_red" in html
    found = admin_client_.get("/admin/search/event/", {"q": "_color_red"})
    assert event.camera.name in found.content.decode()
    assert "0 events" in admin_client_.get("/admin/search/event/", {"q": "_color_blue"}).content.decode()


def test_event_page_shows_items_with_motion_boxes(admin_client_, event):
    page = admin_client_.get(f"/admin/search/event/{event.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert_thumbnails(admin_client_, html, at_least=3)  # the cover and both items
    assert "border:2px solid #f30" in html  # the red object's box


def test_reanalyse_action_relabels_from_current_zones(admin_client_, event, camera):
    Zone.objects.create(
        camera=camera,
        name="driveway",
        polygons=[{"points": [{"x": 0.3, "y": 0.3}, {"x": 0.6, "y": 0.3}, {"x": 0.6, "y": 0.7}, {"x": 0.3, "y": 0.7}]}],
    )
    response = admin_client_.post(
        "/admin/search/event/", {"action": "reanalyse", "_selected_action": [event.pk]}, follow=True
    )
    assert response.status_code == 200
    assert "Re-analysed 2 items." in response.content.decode()
    event.refresh_from_db()
    assert "driveway" in event.labels


def test_failed_items_can_be_reanalysed(admin_client_, store_content, camera):
    item = store_content(camera, scene_jpeg(), at=0)
    ItemAnalysis.objects.create(content=item, status=ItemAnalysis.Status.FAILED, error="storage down")
    response = admin_client_.post(
        "/admin/search/itemanalysis/", {"action": "reanalyse", "_selected_action": [item.pk]}, follow=True
    )
    assert "Re-analysed 1 items, 0 failed." in response.content.decode()
    analysis = ItemAnalysis.objects.get(pk=item.pk)
    assert analysis.status == ItemAnalysis.Status.DONE and analysis.event is not None
