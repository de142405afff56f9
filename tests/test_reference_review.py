"""Deviations from the Camio API reference (shared/seeds/004_c1a8024931c42393.txt) a review found,
now fixed: colour labels by the reference's names, thumbnail sizes sent with timelines, the live
image of a Camio with no dates at all. Each docstring quotes the reference and says what the
service did before. Nothing here repeats tests/test_reference_conformance.py.
"""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts.selectors import account_settings_get
from tests.search.test_search_factories import T0, event
from tests.search.test_search_factories import camera as make_camera
from tests.uploads.samples import jpeg_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _private_media(settings, tmp_path):
    # Stored bytes go to a folder of this test.
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}},
    }
    settings.MEDIA_ROOT = tmp_path


def _bucket_ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [b["bucket_id"] for b in response.json()["result"]["buckets"]]


# --- Hooks / Search: colour labels -----------------------------------------------------------------


def test_search_labels_take_the_references_colour_names(api, user):
    """Hooks: "The labels include zone name, direction of movment (approaching or departing), and
    color (red, pink, brown, orange, yellow, green, cyan, blue, purple, magenta, white, gray,
    black)"; the callback example says the event carries "the additional label blue" (sent as
    "_color_blue"). Search: "Search through content by camera, date, zone, color, direction of
    movement, and other labels", with ``labels`` a "Comma seperated list of labels".

    Before: ``GET /api/search?labels=blue`` (and ``labels=mailbox,blue``) finds nothing: the filter
    compares the word with the stored label ``_color_blue`` as written. Hook queries and search's
    ``text=blue`` do map colour words to ``_color_<colour>``; the ``labels`` parameter does not, so
    a partner filtering by colour gets an empty result and no error.
    """
    front = make_camera(user, "front")
    ev = event(front, T0, labels=["mailbox", "_color_blue", "people", "approaching"], level=3, items=1)
    assert _bucket_ids(api.get("/api/search", {"labels": "_color_blue"})) == [ev.public_id]  # stored form
    assert _bucket_ids(api.get("/api/search", {"labels": "blue"})) == [ev.public_id]
    assert _bucket_ids(api.get("/api/search", {"labels": "mailbox,blue"})) == [ev.public_id]


def test_camio_query_labels_take_the_references_colour_names(api, anon, user):
    """Create Camio: the body's ``query`` has ``"labels": []``, labels as Hooks and Search name
    them ("color (red, pink, …, blue, …)"; the hook payload's "additional label blue").

    Before: a Camio created with ``"query": {"labels": ["blue"]}`` is stored with the label ``blue``
    and shares nothing: a search with its view token finds no event, although the account's event
    is labelled blue (``_color_blue``). Only ``["_color_blue"]`` works.
    """
    front = make_camera(user, "front")
    ev = event(front, T0, labels=["_color_blue", "people"], level=3, items=1)
    created = api.post("/api/users/me/camios", {"name": "blue things", "query": {"labels": ["blue"]}}, format="json")
    assert created.status_code in (200, 201), created.content
    view_token = created.json()["view_token"]
    assert _bucket_ids(anon.get("/api/search", {"view_tokens": view_token})) == [ev.public_id]


# --- Search: parameters the reference says are unused are refused ---------------------------------


@pytest.mark.parametrize("object_type", ["hours", "seconds"])
def test_search_thumbnail_sizes_are_ignored_when_no_thumbnails_are_fetched(api, user, object_type):
    """Search: ``w`` / ``h`` — "Only used if thumbnails are being fetched. | int, optional,
    default: 150" / "default: 112"; ``quality`` — "int, optional, min: 1, max: 100, default: 85";
    ``object_type`` — "supported values: (events, seconds, hours, camios)".

    Before: ``GET /api/search?object_type=hours&w=150&h=112&quality=85`` (the documented defaults,
    which a client may send on every call) is a 400 "w sizes thumbnails of object_type events
    only". With ``object_type=events`` and no thumbnails the same values are accepted and unused,
    as the reference says; only the other object types refuse them.
    """
    front = make_camera(user, "front")
    event(front, T0, level=2, items=2)
    response = api.get("/api/search", {"object_type": object_type, "w": "150", "h": "112", "quality": "85"})
    assert response.status_code == 200, response.content
    assert response.json()["result"]["buckets"]


# --- Get Latest Live Image: a Camio shared without any end date -----------------------------------


def test_live_image_with_a_camio_shared_without_any_end_date(anon, user):
    """Get Latest Live Image: ``view_tokens`` — "The comma-separated list of view_tokens associated
    with Camio(s) that were shared without any end date (so that they extend to all FUTURE dates
    and are therefore permitted to server the latest live images."

    Before: a one-camera Camio with neither ``start_date`` nor ``end_date`` (it shares the camera's
    content of all time, future included) does not open the live image: 404 "No live image of this
    camera is shared with these view tokens". Only a Camio that also has a ``start_date`` does.
    """
    upload_token = account_settings_get(user=user).upload_token
    uploaded = anon.generic(
        "PUT",
        f"/api/users/{upload_token}/cameras/east/content/2026-12-01T10:00:00.000-00:00.jpeg?camera_id=1",
        jpeg_bytes(640, 360),
        content_type="image/jpeg",
    )
    assert uploaded.status_code in (200, 201), uploaded.content
    owner_api = APIClient()
    owner_api.force_authenticate(user)
    created = owner_api.post("/api/users/me/camios", {"name": "east", "query": {"cameras": ["east"]}}, format="json")
    assert created.status_code in (200, 201), created.content
    assert created.json()["query"]["end_date"] is None
    view_token = created.json()["view_token"]
    response = anon.get(f"/api/content/live/east?view_tokens={view_token}&output=jpeg&w=320&h=180")
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "image/jpeg"
