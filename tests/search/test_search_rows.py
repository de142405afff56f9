"""The search page read as rows: the owner's hand-written images query and the ORM's Camio-slice
query give the same items, JSON columns decoded in one call, page-wide access-token signing."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from search.access_tokens import item_access_check, item_access_signer, item_access_token
from search.models import Camio
from search.selectors import decode_json_texts
from tests.search.test_search_factories import T0, camera, event

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _share_all(owner) -> Camio:
    query = {"cameras": [], "labels": [], "events": [], "start_date": None, "end_date": None, "sort": "desc"}
    return Camio.objects.create(owner=owner, name="all", query=query)


def _without_tokens(body: dict) -> list[dict]:
    buckets = body["result"]["buckets"]
    for bucket in buckets:
        for image in bucket["images"]:
            image.pop("access_token", None)
    return buckets


@pytest.mark.parametrize(
    "extra",
    [{}, {"fetch_motion_boxes": "true"}, {"fetch_all_thumbnails": "true", "w": 32, "h": 32}],
    ids=["plain", "boxes", "thumbnails"],
)
def test_owner_and_view_token_reads_give_the_same_items(api, anon, user, extra):
    front, back = camera(user, "front"), camera(user, "back")
    event(front, T0, labels=["people", "_color_red"], items=3, stored=True)
    event(back, T0 + timedelta(minutes=1), labels=[], items=2, stored=True)
    event(front, T0 + timedelta(minutes=2), labels=["car"], items=1, stored=True, level=3)
    owner = api.get("/api/search", {"fetch_access_tokens": "true", **extra})
    viewer = anon.get("/api/search", {"view_tokens": _share_all(user).view_token, **extra})
    assert owner.status_code == viewer.status_code == 200
    assert _without_tokens(owner.json()) == _without_tokens(viewer.json())
    images = owner.json()["result"]["buckets"][2]["images"]
    assert [i["labels"] for i in images] == [["_color_red", "people"]] * 3
    assert [i["interest_score"] for i in images] == [0.25, 0.35, 0.45]
    assert [i["date_created"] for i in images] == [
        "2026-11-20T12:00:00.000-0000",
        "2026-11-20T12:00:01.000-0000",
        "2026-11-20T12:00:02.000-0000",
    ]


def test_json_texts_decode_in_one_call():
    assert decode_json_texts([]) == []
    assert decode_json_texts(['["a", "b"]', None, "[]", "[0.5, 1]"]) == [["a", "b"], None, [], [0.5, 1]]


def test_page_signer_makes_the_tokens_item_access_token_makes(monkeypatch, user):
    monkeypatch.setattr(time, "time", lambda: 1_795_000_000.5)
    viewer = (user.pk, user.pk)
    sign = item_access_signer(viewer=viewer)
    for public_id in ("abc", "rNz9wpoKvMWiw3PUtIFBxw", "x-_y"):
        assert sign(public_id) == item_access_token(public_id, viewer=viewer)
        assert sign(public_id, 12345) == item_access_token(public_id, camio_id=12345) != sign(public_id)
        assert item_access_check(public_id, sign(public_id))
    assert not item_access_check("other", sign("abc"))


def test_every_item_token_names_its_camio_or_its_viewer():
    """Tokens naming neither (the owner's own searches before viewers were named) are retired:
    nothing could revoke them."""
    with pytest.raises(ValueError):
        item_access_token("abc")
    with pytest.raises(ValueError):
        item_access_signer()("abc")
    assert item_access_signer()("abc", 12345) == item_access_token("abc", camio_id=12345)


def test_page_signer_tokens_open_their_items(settings, user):
    sign = item_access_signer(viewer=(user.pk, user.pk))
    assert item_access_check("abc", sign("abc"))
    settings.SECRET_KEY = "another-" + "k" * 50  # a rotated key revokes them
    assert not item_access_check("abc", sign("abc"))


def test_a_stored_camio_date_without_a_zone_reads_as_utc():
    from datetime import UTC, datetime

    from search.selectors import read_stored_date

    assert read_stored_date("2026-11-30T10:00:00") == datetime(2026, 11, 30, 10, tzinfo=UTC)
    assert read_stored_date("2026-11-30T10:00:00-05:00") == datetime(2026, 11, 30, 15, tzinfo=UTC)
    assert read_stored_date("") is None


def test_on_postgresql_an_accounts_own_page_reads_events_and_items_in_one_statement(api, user):
    """One round trip for a page of events with their items (SQLite: two)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    front = camera(user, "front")
    for k in range(3):
        event(front, T0 + timedelta(minutes=k), labels=["people"], items=2)
    with CaptureQueriesContext(connection) as queries:
        response = api.get("/api/search", {"labels": "people", "num_results": 2})
    assert response.status_code == 200
    body = response.json()
    assert [len(b["images"]) for b in body["result"]["buckets"]] == [2, 2]
    assert body["result"]["more_results"] is True
    reads = [q["sql"] for q in queries.captured_queries if "uploads_content" in q["sql"] or "search_event" in q["sql"]]
    assert len(reads) == (1 if connection.vendor == "postgresql" else 2), reads


def test_a_page_that_is_all_one_millisecond_still_carries_its_items(api, user):
    """The page then comes from a second read (every row of that millisecond), not the first's."""
    front = camera(user, "front")
    for _ in range(3):
        event(front, T0, labels=["people"], items=2)
    body = api.get("/api/search", {"labels": "people", "num_results": 2}).json()
    assert [len(b["images"]) for b in body["result"]["buckets"]] == [2, 2, 2]
