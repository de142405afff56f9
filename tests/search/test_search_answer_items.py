"""An account's own search on PostgreSQL has its items written by the database as the answer's
text (``search.selectors.AnswerItems``): what a client reads must be what Python writes for the
same items, to the type of each value, on every path that uses it and next to those that don't.
"""

from __future__ import annotations

import json
import math
from datetime import timedelta

import pytest
from django.db import connection

from search import selectors
from search.models import ItemAnalysis
from tests.search.test_search_api import search
from tests.search.test_search_factories import T0, camera, event

pytestmark = pytest.mark.django_db

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the database writes the items on PostgreSQL only"
)


@pytest.fixture
def python_items(monkeypatch):
    """Turns the database-written items off: the page's items are read as rows and written by Python."""

    def off():
        monkeypatch.setattr(selectors, "_answer_items_wanted", lambda *args: False)

    return off


def typed(value) -> str:
    """The JSON a client parses, written again: ``1`` and ``1.0`` differ here, as they do to Python."""
    return json.dumps(value, sort_keys=False)


def awkward_event(cam, at):
    """An event whose items carry every value the two writers could spell differently."""
    ev = event(cam, at, labels=["people"], items=6)
    scores = [0.0, 1.0, 0.9996, 0.123456, 0.0004, float("nan")]
    labels = [[], ["people", 'say "hi"'], ["café", "back\\slash"], ["\u2028line"], ["people"], ["_color_red"]]
    boxes = [[], [{"x": 0.1, "y": 0.2, "w": 0.3, "h": 0.4}], [{"x": 1e-7, "y": 0, "w": 1, "h": 0.5}], [], [], []]
    for analysis, score, label, box in zip(
        ItemAnalysis.objects.filter(event=ev).order_by("content__captured_at"), scores, labels, boxes, strict=True
    ):
        analysis.interest_score, analysis.labels, analysis.motion_boxes = score, label, box
        analysis.interest_level = 3 if score > 0.5 else 1
        analysis.save()
    first = ev.items.order_by("content__captured_at").first().content
    first.content_type = 'image/jpeg; name="a\\b"'
    first.save(update_fields=["content_type"])
    ev.labels = ["people", 'say "hi"', "café", "\u2028"]  # the bucket's labels are written as stored
    ev.save(update_fields=["labels"])
    return ev


QUERIES = [
    {},
    {"sources": "front"},
    {"labels": "people"},
    {"text": "front people"},
    {"fetch_motion_boxes": "true"},
    {"num_results": 1},
    {"sort": "asc", "num_results": 2},
    {"content_type": "video"},
    {"motion_type": "all"},
]


@postgresql_only
@pytest.mark.parametrize("query", QUERIES, ids=lambda q: ",".join(q) or "plain")
def test_database_written_items_read_as_pythons(api, user, python_items, query):
    front, back = camera(user, "front"), camera(user, "back")
    awkward_event(front, T0)
    event(front, T0 + timedelta(minutes=1), labels=["people"], items=3)
    event(back, T0 + timedelta(minutes=2), labels=["people"], items=1, basis="video")
    event(front, T0 + timedelta(minutes=3), labels=["people"], items=0)
    # One event without a cover: the bucket names its first item.
    no_cover = event(front, T0 + timedelta(minutes=4), labels=["people"], items=2)
    no_cover.cover = None
    no_cover.save(update_fields=["cover"])

    written = search(api, **query)
    python_items()
    python = search(api, **query)
    # (The dates considered end at the moment of each call.)
    same = ("buckets", "count", "more_results")
    assert typed([written["result"][k] for k in same]) == typed([python["result"][k] for k in same])
    assert written["result"]["count"] >= (0 if query.get("content_type") == "video" else 1)


@postgresql_only
def test_values_of_the_database_written_items(api, user):
    front = camera(user, "front")
    ev = awkward_event(front, T0)
    no_cover = event(front, T0 + timedelta(minutes=4), labels=["people"], items=2)
    no_cover.cover = None
    no_cover.save(update_fields=["cover"])
    page = selectors.search_run(
        auth=selectors.search_authorize(user=user, host_email=None, view_tokens=[]),
        params=_params({"motion_type": "all"}),
    )
    assert page.answer_items is not None and set(page.answer_items) == {ev.pk, no_cover.pk}

    buckets = {
        b["bucket_id"]: b for b in search(api, motion_type="all", fetch_motion_boxes="true")["result"]["buckets"]
    }
    items = buckets[ev.public_id]["images"]
    assert buckets[ev.public_id]["count"] == len(items) == 6
    assert [i["interest_score"] for i in items[:5]] == [0.0, 1.0, 1.0, 0.123, 0.0]
    assert all(type(i["interest_score"]) is float for i in items[:5])
    assert items[5]["interest_score"] is None  # NaN: JSON has none, orjson writes null
    assert items[1]["labels"] == ["people", 'say "hi"'] and items[2]["labels"] == ["café", "back\\slash"]
    assert items[3]["labels"] == ["\u2028line"]
    assert items[0]["content_type"] == 'image/jpeg; name="a\\b"'
    assert items[2]["motion_boxes"] == [{"x": 1e-7, "y": 0, "w": 1, "h": 0.5}]
    assert buckets[ev.public_id]["labels"] == ["people", 'say "hi"', "café", "\u2028"]
    assert [list(i) for i in items[:1]] == [
        ["id", "content_type", "date_created", "labels", "interest_level", "interest_score", "motion_boxes"]
    ]
    first = no_cover.items.order_by("content__captured_at").first().content
    assert buckets[no_cover.public_id]["cover_image_id"] == first.public_id


@postgresql_only
def test_an_item_id_json_escapes_still_names_the_cover(api, user):
    front = camera(user, "front")
    ev = event(front, T0, items=2)
    ev.cover = None
    ev.save(update_fields=["cover"])
    first = ev.items.order_by("content__captured_at").first().content
    first.public_id = 'odd"id\\1'
    first.save(update_fields=["public_id"])
    bucket = search(api)["result"]["buckets"][0]
    assert bucket["cover_image_id"] == 'odd"id\\1' == bucket["images"][0]["id"]


@postgresql_only
def test_paths_that_need_python_keep_it(api, user):
    """Thumbnails and access tokens are Python's work: those pages read their items as rows."""
    front = camera(user, "front")
    event(front, T0, items=2, stored=True)
    auth = selectors.search_authorize(user=user, host_email=None, view_tokens=[])
    for query in (
        {"fetch_access_tokens": "true"},
        {"fetch_cover_thumbnails": "true"},
        {"fetch_all_thumbnails": "true"},
    ):
        page = selectors.search_run(auth=auth, params=_params(query))
        assert page.answer_items is None and page.images, query
        items = search(api, **query)["result"]["buckets"][0]["images"]
        assert len(items) == 2 and any(("access_token" in i) or ("image_bytes" in i) for i in items), query


def test_an_indented_answer_writes_the_items_too(api, user):
    front = camera(user, "front")
    event(front, T0, items=3)
    plain = search(api)
    response = api.get("/api/search", HTTP_ACCEPT="application/json; indent=2")
    assert response.status_code == 200
    assert b'\n  "result"' in response.content
    indented = json.loads(response.content)
    assert indented["result"]["buckets"] == plain["result"]["buckets"]
    assert len(indented["result"]["buckets"][0]["images"]) == 3


@postgresql_only
def test_a_score_rounds_as_pythons_on_real_scores(user):
    """The float8 rounding agrees with Python's ``round(x, 3)`` on scores as analysis makes them
    (a square root of a moving fraction); only a value within a rounding error of a halfway point
    may differ."""
    scores = [math.sqrt(k / 7919) for k in range(7920)] + [k / 1000 for k in range(1001)]
    sql = selectors._answer_items_sql(boxes=False, kind="image").sql
    start = sql.index('CASE WHEN a."interest_score"')
    score_sql = sql[start : sql.index(" END", start) + 4].replace('a."interest_score"', "v")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT v, {score_sql} FROM unnest(%s::float8[]) v", [scores])  # noqa: S608
        rows = cursor.fetchall()
    assert [text for _, text in rows] == [json.dumps(round(v, 3)) for v, _ in rows]


def _params(query: dict):
    from search.serializers import search_params_parse

    return search_params_parse(query)
