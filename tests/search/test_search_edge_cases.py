"""Edge cases of search, Camios and uploads found by a review against the reference: a Camio
shares the camera it names, backing videos are searchable, dates at the calendar's ends are a
400 and a viewer's text cannot confirm unshared zone names."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cameras.models import Zone
from cameras.services import camera_for_upload
from search.analysis import content_analyze
from search.models import Camio
from tests.search.conftest import scene_jpeg, scene_mp4
from tests.search.test_search_factories import T0, event
from tests.search.test_search_factories import camera as make_camera
from uploads.models import Content

pytestmark = pytest.mark.django_db

RED = (0.40, 0.35, 0.10, 0.30, "red")
BLUE = (0.10, 0.10, 0.10, 0.20, "blue")


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def share(owner, **query) -> Camio:
    base = {"cameras": [], "labels": [], "events": [], "start_date": None, "end_date": None, "sort": "desc"}
    return Camio.objects.create(owner=owner, name="shared", type="public", query=base | query)


def bucket_ids(response):
    assert response.status_code == 200, response.content
    return [b["bucket_id"] for b in response.json()["result"]["buckets"]]


# --- a Camio of camera "Front" shares "Front", not the account's other camera "front" --------------


def test_camio_shares_the_camera_it_names_not_a_case_twin(api, anon, user):
    upper, lower = make_camera(user, "Front"), make_camera(user, "front")
    upper_event = event(upper, T0, items=1)
    lower_event = event(lower, T0 + timedelta(minutes=1), items=1)
    for name, own_event in (("Front", upper_event), ("front", lower_event)):
        response = api.post("/api/users/me/camios", {"query": {"cameras": [name]}}, format="json")
        assert response.status_code == 201, response.content
        body = response.json()
        # The camera asked for, not whichever of the two a case-folded dict kept last.
        assert body["query"]["cameras"] == [name]
        assert bucket_ids(anon.get("/api/search", {"view_tokens": body["view_token"]})) == [own_event.public_id]


# --- content_type=video finds the videos that back image-mode events ------------------------------


def test_video_search_finds_the_video_backing_an_image_event(api, user, store_content, settings):
    settings.EVENT_GAP_SECONDS = 30
    cam = camera_for_upload(owner=user, name="front")
    content_analyze(content_id=store_content(cam, scene_jpeg([]), at=0).pk)
    still = content_analyze(content_id=store_content(cam, scene_jpeg([RED]), at=1).pk)
    clip = scene_mp4([[RED], [RED], [BLUE], [BLUE]])
    # upload_mode defaults to image: the reference's "secondary backing for Events created by image snapshots".
    video = store_content(cam, clip, at=-2, kind="video", content_type="video/mp4", duration=40.0)
    backing = content_analyze(content_id=video.pk)
    assert backing.event_id == still.event_id  # the pipeline did attach it to the image event

    response = api.get("/api/search", {"content_type": "video", "motion_type": "all"})
    assert response.status_code == 200, response.content
    buckets = response.json()["result"]["buckets"]
    found = [image["id"] for b in buckets for image in b["images"]]
    assert video.public_id in found, "the event's video is reachable through no search at all"


# --- dates at the calendar's ends in text are a 400, not a 500 --------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        {"text": "9999-12-31"},
        {"text": "dec 31 9999"},
        {"text": "since 9999-12-31"},
        {"text": "9999-12-31", "object_type": "hours"},
        {"text": "after 9999-12-30", "object_type": "hours", "sort": "asc"},
        {"text": "0001-01-01", "object_type": "hours"},
        {"text": "before 0001-01-02", "object_type": "hours"},
    ],
)
def test_text_dates_at_the_calendar_ends_are_not_a_500(api, user, params):
    event(make_camera(user, "front"), T0, items=1)
    response = api.get("/api/search", params)
    assert response.status_code in (200, 400), (response.status_code, response.content)
    if response.status_code == 400:
        assert "text" in response.json()["message"]


# --- a viewer's text cannot confirm zone names of cameras the Camio does not share ------------------


def test_viewer_text_does_not_reveal_zones_of_unshared_cameras(anon, user):
    front, back = make_camera(user, "front"), make_camera(user, "back")
    Zone.objects.create(camera=back, name="Bedroom Window", polygons=[[[0, 0], [1, 0], [1, 1]]])
    event(front, T0, items=1)
    token = share(user, cameras=["front"]).view_token
    response = anon.get("/api/search", {"view_tokens": token, "text": "bedroom window"})
    assert response.status_code == 200, response.content
    parsed = response.json()["query"]["parsed"]
    # As for camera names: a word naming something outside the slice is just a label.
    assert parsed["zones"] == [], parsed
    assert "Bedroom Window" not in str(response.json())


def test_camio_naming_a_camera_that_matches_two_only_by_case_is_a_400(api, user):
    make_camera(user, "Front"), make_camera(user, "front")
    response = api.post("/api/users/me/camios", {"query": {"cameras": ["FRONT"]}}, format="json")
    assert response.status_code == 400
    assert "Front, front" in response.json()["message"]
    assert not Camio.objects.exists()


def test_camio_camera_names_still_match_regardless_of_case_when_unique(api, user):
    make_camera(user, "Front")
    response = api.post("/api/users/me/camios", {"query": {"cameras": ["front"]}}, format="json")
    assert response.status_code == 201
    assert response.json()["query"]["cameras"] == ["Front"]


def test_image_search_still_shows_the_image_event_without_its_backing_video(api, user, store_content, settings):
    settings.EVENT_GAP_SECONDS = 30
    cam = camera_for_upload(owner=user, name="front")
    still = content_analyze(content_id=store_content(cam, scene_jpeg([RED]), at=1).pk)
    video = store_content(cam, scene_mp4([[RED], [RED]]), at=-2, kind="video", content_type="video/mp4", duration=4.0)
    content_analyze(content_id=video.pk)
    response = api.get("/api/search", {"motion_type": "all"})
    images = [image["id"] for b in response.json()["result"]["buckets"] for image in b["images"]]
    assert Content.objects.get(pk=still.pk).public_id in images
    assert video.public_id not in images
