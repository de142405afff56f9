"""Review of the session's change (06565c7..HEAD): the database-written search items on PostgreSQL
(``search.selectors.AnswerItems``), the segment-indexed API routes, the throttle's held Redis
connection and the C loader of timestamptz values. Each test states what an API client sees."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.db.models import JSONField, Value
from django.urls import URLResolver, get_resolver
from django.urls.resolvers import RegexPattern, RoutePattern
from rest_framework.test import APIClient

from accounts.models import Guest
from config.urls import api_patterns
from search import selectors
from search.models import Event, ItemAnalysis
from tests.config.test_held_redis_connection import on_redis  # noqa: F401 (a fixture)
from tests.search.test_search_answer_items import python_items, typed  # noqa: F401 (python_items: a fixture)
from tests.search.test_search_api import search
from tests.search.test_search_factories import T0, camera, event, item
from tests.search.test_search_paths_review import walk

pytestmark = pytest.mark.django_db

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the database writes the items on PostgreSQL only"
)


def both_paths(client, python_items, **query) -> tuple[dict, dict]:  # noqa: F811
    """(the answer with the database-written items where they apply, the answer written by Python)."""
    written = search(client, **query)
    python_items()
    python = search(client, **query)
    return written, python


def same_answer(written: dict, python: dict) -> None:
    keys = ("buckets", "count", "more_results")
    assert typed([written["result"][k] for k in keys]) == typed([python["result"][k] for k in keys])


def mixed_events(owner, name="front", *, at=T0):
    """Events of every shape a page can hold: several items, none, videos, a shared millisecond."""
    cam = camera(owner, name)
    made = [event(cam, at + timedelta(seconds=s), labels=["people"], items=1 + s % 3) for s in range(6)]
    made.append(event(cam, at + timedelta(seconds=2, microseconds=400), labels=["car"], items=2))  # same ms
    made.append(event(cam, at + timedelta(seconds=10), labels=["people"], items=0))
    made.append(event(cam, at + timedelta(seconds=12), labels=["people"], items=2, basis="video"))
    backed = event(cam, at + timedelta(seconds=14), labels=["people"], items=2)  # an image event with a video
    item(cam, at + timedelta(seconds=14, milliseconds=500), kind="video")
    video = item(cam, at + timedelta(seconds=14, milliseconds=700), kind="video")
    ItemAnalysis.objects.create(content=video, event=backed, status="done", interest_score=0.5, labels=["people"])
    Event.objects.filter(pk=backed.pk).update(has_video=True)
    made.append(backed)
    return made


# --- the database-written items and the Python-written ones ---------------------------------------


@pytest.mark.parametrize("sort", ["desc", "asc"])
@pytest.mark.parametrize("n", [1, 3, 100])
@pytest.mark.parametrize("extra", [{}, {"fetch_motion_boxes": "true"}, {"content_type": "video"}], ids=str)
def test_paging_writes_the_same_pages_on_both_paths(api, user, monkeypatch, sort, n, extra):
    mixed_events(user)
    fast_ids, fast_pages = walk(api, sort, n, **extra)
    monkeypatch.setattr(selectors, "_answer_items_wanted", lambda *args: False)
    python_ids, python_pages = walk(api, sort, n, **extra)
    assert fast_ids == python_ids
    assert len(fast_ids) == len(set(fast_ids))  # no repeats
    assert len(fast_pages) == len(python_pages)
    for fast, python in zip(fast_pages, python_pages, strict=True):
        assert typed(fast["buckets"]) == typed(python["buckets"])
        assert (fast["more_results"], fast["count"]) == (python["more_results"], python["count"])
    expected = Event.objects.filter(owner=user)
    if extra.get("content_type") == "video":
        expected = expected.filter(has_video=True)
    else:
        expected = expected.filter(basis="image")
    assert sorted(fast_ids) == sorted(expected.values_list("public_id", flat=True))


@pytest.mark.parametrize(
    "query",
    [
        {"fetch_motion_boxes": "true", "text": "front people"},
        {"fetch_motion_boxes": "true", "labels": "people", "sources": "front"},
        {"fetch_motion_boxes": "true", "sources": "front,Caméra du jardin"},
        {"fetch_motion_boxes": "true", "text": "people", "content_type": "video"},
        {"num_results": 100, "fetch_motion_boxes": "true"},
        {"num_results": 100, "motion_type": "all", "sort": "asc"},
        {"labels": "car"},
    ],
    ids=lambda q: ",".join(f"{k}={v}" for k, v in q.items()),
)
def test_combined_parameters_write_the_same_answer(api, user, python_items, query):  # noqa: F811
    mixed_events(user)
    garden = camera(user, "Caméra du jardin")
    long_labels = ["people", "x" * 300, "日本語のラベル", "emoji\U0001f600"]
    ev = event(garden, T0 + timedelta(minutes=5), labels=["people"], items=2)
    ItemAnalysis.objects.filter(event=ev).update(labels=long_labels)
    Event.objects.filter(pk=ev.pk).update(labels=long_labels)
    written, python = both_paths(api, python_items, **query)
    same_answer(written, python)
    assert written["result"]["buckets"]
    if "Caméra" in query.get("sources", "") or query.get("num_results") == 100:
        garden_bucket = next(b for b in written["result"]["buckets"] if b["bucket_id"] == ev.public_id)
        assert garden_bucket["source"] == "Caméra du jardin" and garden_bucket["labels"] == long_labels
        assert garden_bucket["images"][0]["labels"] == long_labels


def test_a_guest_sees_the_hosts_items_as_python_writes_them_and_nothing_of_their_own(
    api,
    user,
    other_user,
    python_items,  # noqa: F811
):
    hosts = mixed_events(other_user)
    mine = mixed_events(user, at=T0 + timedelta(seconds=1, microseconds=100))
    Guest.objects.create(host=other_user, guest=user)
    for query in ({}, {"fetch_motion_boxes": "true"}, {"text": "front people"}, {"sources": "front"}):
        written = search(api, user="bob@example.com", num_results=100, **query)
        own = search(api, num_results=100, **query)
        host_ids = {e.public_id for e in hosts}
        assert {b["bucket_id"] for b in written["result"]["buckets"]} <= host_ids, query
        assert {b["bucket_id"] for b in own["result"]["buckets"]} <= {e.public_id for e in mine}, query
        host_items = set(
            ItemAnalysis.objects.filter(event__owner=other_user).values_list("content__public_id", flat=True)
        )
        assert {i["id"] for b in written["result"]["buckets"] for i in b["images"]} <= host_items, query
    written, python = both_paths(api, python_items, user="bob@example.com", num_results=100, fetch_motion_boxes="true")
    same_answer(written, python)


def test_json_null_labels_and_boxes_are_written_as_python_writes_them(api, user, python_items):  # noqa: F811
    """A JSON ``null`` stored in a labels or motion boxes column (a JSONField given None): Python
    writes ``[]`` for each (``list(x or [])``)."""
    front = camera(user, "front")
    ev = event(front, T0, labels=["people"], items=2)
    null = Value(None, JSONField())  # (a model's save of None is a SQL NULL, which the column refuses)
    Event.objects.filter(pk=ev.pk).update(labels=null)
    ItemAnalysis.objects.filter(event=ev).update(labels=null, motion_boxes=null)
    written, python = both_paths(api, python_items, fetch_motion_boxes="true")
    bucket = python["result"]["buckets"][0]
    assert bucket["labels"] == [] and bucket["images"][0]["labels"] == [] == bucket["images"][0]["motion_boxes"]
    same_answer(written, python)


@postgresql_only
def test_the_fast_path_is_taken_by_a_guest_and_by_a_text_search(user, other_user):
    mixed_events(other_user)
    Guest.objects.create(host=other_user, guest=user)
    from search.serializers import search_params_parse

    auth = selectors.search_authorize(user=user, host_email="bob@example.com", view_tokens=[])
    for query in ({}, {"text": "front people"}, {"fetch_motion_boxes": "true"}):
        page = selectors.search_run(auth=auth, params=search_params_parse(query))
        assert page.answer_items is not None and set(page.answer_items) == {r["id"] for r in page.rows}, query


def test_an_indented_answer_with_motion_boxes_and_odd_labels_reads_as_the_plain_one(api, user):
    front = camera(user, "Caméra")
    ev = event(front, T0, labels=["people"], items=3)
    labels = ["caf\u00e9", 'q"uote', "\u2028sep", "x" * 200]
    ItemAnalysis.objects.filter(event=ev).update(labels=labels)
    Event.objects.filter(pk=ev.pk).update(labels=labels)
    plain = search(api, fetch_motion_boxes="true")
    response = api.get("/api/search", {"fetch_motion_boxes": "true"}, HTTP_ACCEPT="application/json; indent=2")
    assert response.status_code == 200
    assert b"\\u2028" in response.content and b"\xe2\x80\xa8" not in response.content
    assert json.loads(response.content)["result"]["buckets"] == plain["result"]["buckets"]


# --- routing ---------------------------------------------------------------------------------------

ROUTES = {
    "/api/cameras/00:11:22:33:44:55": "camera-poll",
    "/api/users/me/devices": "device-list",
    "/api/users/me/devices/00:11/claim": "device-claim",
    "/api/login/oauth/authorize": "oauth-authorize",
    "/api/login/oauth/access_token": "oauth-access-token",
    "/api/users/me/settings": "settings",
    "/api/users/me/tokens/upload": "upload-token",
    "/api/users/me/tokens/upload/rotate": "upload-token-rotate",
    "/api/tokens/abc/hint": "upload-token-hint",
    "/api/users/me/guests": "guest-list",
    "/api/users/me/guests/a@b.c": "guest-detail",
    "/api/users/me/notifications": "notification-list",
    "/api/users/me/notifications/7/read": "notification-read",
    "/api/users/me/cameras": "camera-list",
    "/api/users/me/cameras/front": "camera-detail",
    "/api/users/me/cameras/front/transitions": "camera-transitions",
    "/api/users/me/cameras/front/zones": "zone-list",
    "/api/users/me/cameras/front/zones/door": "zone-detail",
    "/api/users/me/cameras/front/content": "content-upload",
    "/api/users/me/cameras/front/content/a.jpg": "content-detail",
    "/api/search": "search",
    "/api/users/me/camios": "camio-list",
    "/api/users/me/camios/tok": "camio-detail",
    "/api/content": "content-by-access-token",
    "/api/content/live/front": "content-live",
    "/api/content/abc": "content-media",
    "/api/camios/tok/downloads": "camio-download-create",
    "/api/camios/tok/downloads/9": "camio-download-detail",
    "/api/users/me/hooks": "hook-list",
    "/api/users/me/hooks/3": "hook-detail",
    "/api/users/me/hooks/3/secret/rotate": "hook-secret-rotate",
    "/api/users/me/hooks/3/deliveries": "hook-delivery-list",
    "/api/users/me/hooks/3/deliveries/4/redeliver": "hook-delivery-redeliver",
}

UNKNOWN = [
    "/api/",
    "/api/searchx",
    "/api/search/x",
    "/api/Search",
    "/api/users/me/camerasx",
    "/api/users/me/cameras/front/zones/door/extra",
    "/api/users/me/unknown",
    "/api/users/me",
    "/api/users",
    "/api/users//cameras",
    "/api/tokens/abc/hints",
    "/api/x/y/cameras",
    "/api/users/me/cameras/front/content/a.jpg/more",
    "/api/camios/tok/downloads/9/x",
]


def test_every_api_route_resolves_with_and_without_a_final_slash():
    resolver = get_resolver()
    plain = URLResolver(RegexPattern(r"^/"), [URLResolver(RoutePattern("api/"), api_patterns)])
    for path, name in ROUTES.items():
        for variant in (path, path + "/"):
            match = resolver.resolve(variant)
            assert match.url_name == name, variant
            expected = plain.resolve(variant)
            assert (match.kwargs, match.route) == (expected.kwargs, expected.route), variant
    names = {route.name for route in api_patterns if getattr(route, "name", None)}
    assert names - set(ROUTES.values()) <= {"schema", "docs"}


def test_unknown_api_paths_are_the_json_404(api):
    for path in UNKNOWN:
        for method in (api.get, api.post, api.delete):
            response = method(path)
            assert response.status_code == 404, (path, method)
            assert response.json() == {"message": "Not found"}, path


def test_head_options_and_refused_methods_on_routes(api, user):
    camera(user, "front")
    assert api.head("/api/search").status_code == 200
    assert api.head("/api/users/me/cameras/").status_code == 200
    assert api.options("/api/search").status_code == 200
    assert api.options("/api/users/me/cameras/front").status_code == 200
    response = api.post("/api/search", {}, format="json")
    assert response.status_code == 405 and "message" in response.json()
    response = api.put("/api/users/me/camios", {}, format="json")
    assert response.status_code == 405 and "message" in response.json()


# --- throttle --------------------------------------------------------------------------------------


def test_authenticated_and_anonymous_calls_are_each_counted_once(on_redis, settings, api, throttle_clock):  # noqa: F811
    settings.API_RATE_LIMIT = "3/minute"
    assert [api.get("/api/users/me/cameras").status_code for _ in range(4)] == [200, 200, 200, 429]
    anon = APIClient()
    assert [anon.get("/api/search").status_code for _ in range(4)] == [401, 401, 401, 429]
    other = APIClient(REMOTE_ADDR="10.9.8.7")
    assert other.get("/api/search").status_code == 401  # another address: its own window


# --- timestamptz loader ----------------------------------------------------------------------------


@postgresql_only
def test_timestamptz_values_load_as_djangos_loader_loads_them(user):
    from django.db.backends.postgresql.psycopg_any import BaseTzLoader

    values = [
        datetime(2026, 11, 20, 12, 0, 0, 123456, tzinfo=UTC),
        datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(1, 1, 1, tzinfo=UTC),
        datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(2026, 3, 29, 1, 30, tzinfo=UTC),
    ]
    with connection.cursor() as cursor:
        cursor.execute("SELECT unnest(%s::timestamptz[]), %s::timestamptz", [values, values[0]])
        rows = cursor.fetchall()
        loader = type("L", (BaseTzLoader,), {"timezone": connection.timezone})(1184, cursor.cursor)
        cursor.execute("SELECT v::text FROM unnest(%s::timestamptz[]) v", [values])
        texts = [row[0] for row in cursor.fetchall()]
    assert [r[0] for r in rows] == values
    assert all(r[0].tzinfo is connection.timezone and r[1] == values[0] for r in rows)
    assert [loader.load(t.encode()) for t in texts] == values
    # Through the ORM, an item's capture date reads back to the microsecond.
    content = item(camera(user, "front"), values[0])
    from uploads.models import Content

    assert Content.objects.get(pk=content.pk).captured_at == values[0]
