"""GET /api/search with plain-word dates in ``text``, and image parameters that cannot apply."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.search.test_search_factories import camera, event

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def ids(body):
    return [b["bucket_id"] for b in body["result"]["buckets"]]


def search(client, **params):
    response = client.get("/api/search", params)
    assert response.status_code == 200, response.content
    return response.json()


def test_last_night_and_days_ago_find_their_events_and_are_echoed(api, user):
    front = camera(user, "front")
    today = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    yesterday = today - timedelta(days=1)
    # 23:00 yesterday is inside "last night" whether it is now before or after 06:00.
    night = event(front, yesterday + timedelta(hours=23), items=1)
    morning = event(front, yesterday + timedelta(hours=11), items=1)
    older = event(front, today - timedelta(days=2, hours=-10), items=1)

    body = search(api, text="front last night")
    assert ids(body) == [night.public_id]
    parsed = body["query"]["parsed"]
    assert parsed["sources"] == ["front"] and parsed["labels"] == []
    assert parsed["start_date"] == (yesterday + timedelta(hours=18)).isoformat()
    assert parsed["end_date"] == (today + timedelta(hours=6)).isoformat()

    assert ids(search(api, text="yesterday afternoon")) == []
    assert ids(search(api, text="yesterday morning")) == [morning.public_id]
    assert ids(search(api, text="yesterday before 1pm")) == [morning.public_id]
    assert ids(search(api, text="2 days ago")) == [older.public_id]


def test_hours_ago_and_future_windows(api, user):
    front = camera(user, "front")
    now = timezone.now()
    earlier = event(front, now - timedelta(hours=2, minutes=30), items=1)
    assert ids(search(api, text="3 hours ago")) == [earlier.public_id]
    assert ids(search(api, text="since 3 hours ago")) == [earlier.public_id]
    # The future is understood (echoed) and simply finds nothing.
    body = search(api, text="tomorrow")
    assert ids(body) == [] and body["query"]["parsed"]["start_date"] is not None
    assert body["query"]["parsed"]["labels"] == []


@pytest.mark.parametrize(
    "text, words",
    [
        ("front feb 30", "'feb 30' is not a date"),
        ("people 11/31", "'11/31' is not a date"),
        ("13pm to 2pm", "'13pm' is not a time"),
        ("people 3 hours", "'3 hours' is not a window"),
        ("a few hours ago", "'ago' needs a number"),
        ("yesterday 7pm today", "one date or range"),
    ],
)
def test_date_like_words_that_are_not_understood_are_400(api, user, text, words):
    camera(user, "front")
    response = api.get("/api/search", {"text": text})
    assert response.status_code == 400, response.content
    assert words in response.json()["message"]
    assert response.json()["message"].startswith("text: ")


def test_season_and_ordinary_words_stay_labels(api, user):
    camera(user, "front")
    body = search(api, text="slip and fall may the sun spring")
    assert body["query"]["parsed"]["labels"] == ["slip", "fall", "may", "sun", "spring"]
    assert body["query"]["parsed"]["start_date"] is None


# --- image parameters with object types that have no images ----------------------------------------


@pytest.mark.parametrize("object_type", ["seconds", "hours", "camios"])
@pytest.mark.parametrize(
    "param, value",
    [
        ("fetch_motion_boxes", "true"),
        ("fetch_cover_thumbnails", "true"),
        ("fetch_all_thumbnails", "1"),
        ("fetch_access_tokens", "yes"),
    ],
)
def test_image_flags_with_timelines_and_camios_are_400(api, user, object_type, param, value):
    camera(user, "front")
    response = api.get("/api/search", {"object_type": object_type, param: value})
    assert response.status_code == 400, response.content
    message = response.json()["message"]
    assert message.startswith(param) and object_type in message


@pytest.mark.parametrize("object_type", ["seconds", "hours", "camios"])
def test_thumbnail_sizes_are_checked_and_accepted_with_timelines_and_camios(api, user, object_type):
    """The reference: w and h are "Only used if thumbnails are being fetched"; clients send the
    defaults on every call, as events accept them without thumbnails."""
    camera(user, "front")
    sizes = {"w": "320", "h": "240", "quality": "50"}
    assert api.get("/api/search", {"object_type": object_type, **sizes}).status_code == 200
    assert api.get("/api/search", {"object_type": object_type, "quality": "101"}).status_code == 400


@pytest.mark.parametrize("object_type", ["seconds", "hours", "camios"])
def test_flags_set_to_false_ask_for_nothing_and_pass(api, user, object_type):
    camera(user, "front")
    params = {"object_type": object_type, "fetch_cover_thumbnails": "false", "fetch_motion_boxes": "0", "w": ""}
    assert api.get("/api/search", params).status_code == 200


def test_image_parameters_apply_to_events(api, user):
    front = camera(user, "front")
    event(front, timezone.now() - timedelta(minutes=5), items=1, stored=True)
    params = {"fetch_cover_thumbnails": "true", "fetch_motion_boxes": "true", "w": "64", "h": "48", "quality": "50"}
    body = search(api, **params)
    assert body["result"]["buckets"][0]["images"][0]["image_bytes"]
    # Sizes without thumbnails are documented as unused for events (the reference's words): fine.
    assert api.get("/api/search", {"w": "64"}).status_code == 200
