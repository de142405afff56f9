"""Review of the search's performance session (server-side binding and prepared statements on
PostgreSQL, a page's items read with its events, lazy Camio slices, one source by name, orjson).

Each test states what a client of ``GET /api/search`` must see, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from django.db import connection
from rest_framework.test import APIClient

from accounts.models import Guest
from search.access_tokens import item_access_check
from search.models import Camio
from search.selectors import decode_json_texts
from tests.search.test_search_api import ids, search
from tests.search.test_search_factories import T0, camera, event

pytestmark = pytest.mark.django_db


def walk(client, sort, n, **extra):
    """Every page of a search, as a client pages it: (bucket ids in order, the pages' results)."""
    seen, results, params = [], [], {"sort": sort, "num_results": n, **extra}
    while True:
        body = search(client, **params)
        result = body["result"]
        seen += ids(body)
        results.append(result)
        assert len(results) < 60
        if not result["more_results"]:
            return seen, results
        params["date"] = result["earliest_date_considered" if sort == "desc" else "latest_date_considered"]


def share(owner, **query) -> Camio:
    base = {"cameras": [], "labels": [], "events": [], "start_date": None, "end_date": None, "sort": "desc"}
    return Camio.objects.create(owner=owner, name="shared", type="public", query=base | query)


def expected_order(events, sort):
    return [e.public_id for e in sorted(events, key=lambda e: (e.earliest_date, e.pk), reverse=sort == "desc")]


# --- one source, named in the events query -----------------------------------------------------


@pytest.mark.parametrize("sort", ["desc", "asc"])
def test_one_source_pages_without_gaps_or_repeats_like_several_sources(api, user, sort):
    front, back, side = camera(user, "Front"), camera(user, "back"), camera(user, "side")
    mine = [event(front, T0 + timedelta(seconds=s), items=1) for s in range(7)]
    # Two of them share a millisecond across a page boundary.
    mine.append(event(front, T0 + timedelta(seconds=3, microseconds=300), items=1))
    others = [event(back, T0 + timedelta(seconds=s, milliseconds=500), items=1) for s in range(7)]
    event(side, T0, items=1)
    for n in (1, 3, 4, 100):
        by_name, pages = walk(api, sort, n, sources="front")
        assert by_name == expected_order(mine, sort), n
        assert len(pages) >= (3 if n == 3 else 1)
        both, _ = walk(api, sort, n, sources="front,back")
        assert [i for i in both if i in set(by_name)] == by_name, n
        assert sorted(both) == sorted(e.public_id for e in mine + others), n
    # The last page tells no more, the first one the newest (desc) or oldest (asc) date.
    _, pages = walk(api, sort, 3, sources="FRONT")
    assert pages[-1]["more_results"] is False
    assert all(p["more_results"] for p in pages[:-1])


def test_one_source_items_motion_boxes_and_thumbnails_are_the_items_of_the_event(api, user):
    front, back = camera(user, "front"), camera(user, "back")
    ev = event(front, T0, labels=["people"], items=3, stored=True)
    event(back, T0 + timedelta(minutes=1), items=1)
    params = {"fetch_motion_boxes": "true", "fetch_all_thumbnails": "true", "fetch_access_tokens": "true"}
    one = search(api, sources="front", **params)["result"]["buckets"]
    several = search(api, sources="front,back", **params)["result"]["buckets"]
    assert [b["bucket_id"] for b in one] == [ev.public_id]
    images = one[0]["images"]
    assert [i["interest_score"] for i in images] == [0.25, 0.35, 0.45]
    assert [i["labels"] for i in images] == [["people"]] * 3
    assert [i["motion_boxes"] for i in images] == [[{"x": 0.1, "y": 0.2, "w": 0.3, "h": 0.4}]] * 3
    assert [i["date_created"] for i in images] == [
        "2026-11-20T12:00:00.000-0000",
        "2026-11-20T12:00:01.000-0000",
        "2026-11-20T12:00:02.000-0000",
    ]
    for image in images:
        assert base64.b64decode(image["image_bytes"])[:2] == b"\xff\xd8"
        assert item_access_check(image["id"], image["access_token"])
    # The same event, read by camera ids: the same items, token aside (it is signed per request).
    strip = [{k: v for k, v in i.items() if k != "access_token"} for i in images]
    same = next(b for b in several if b["bucket_id"] == ev.public_id)["images"]
    assert [{k: v for k, v in i.items() if k != "access_token"} for i in same] == strip


def test_one_source_whole_page_in_one_millisecond_keeps_items_and_paging(api, user):
    front = camera(user, "front")
    same_ms = [event(front, T0 + timedelta(microseconds=m * 100), items=2) for m in range(4)]
    older = event(front, T0 - timedelta(seconds=1), items=2)
    body = search(api, sources="front", num_results=2)
    result = body["result"]
    assert sorted(ids(body)) == sorted(e.public_id for e in same_ms)
    assert [b["count"] for b in result["buckets"]] == [2, 2, 2, 2]
    assert result["more_results"] is True
    rest = search(api, sources="front", num_results=2, date=result["earliest_date_considered"])
    assert ids(rest) == [older.public_id]
    assert rest["result"]["buckets"][0]["count"] == 2


def test_one_source_of_videos(api, user):
    front, back = camera(user, "front"), camera(user, "back")
    video = event(front, T0, basis="video", items=2)
    event(front, T0 + timedelta(minutes=1), items=2)  # images only
    event(back, T0 + timedelta(minutes=2), basis="video", items=1)
    body = search(api, sources="front", content_type="video")
    assert ids(body) == [video.public_id]
    assert [i["content_type"] for i in body["result"]["buckets"][0]["images"]] == ["video/mp4"] * 2


@pytest.mark.parametrize(
    ("names", "status"),
    [
        ("gate", 400),  # nobody's camera
        ("porch", 400),  # another account's camera
        ("front door", 200),  # a name with a space
        ("FRONT DOOR", 200),
        ("front  door", 400),  # two spaces: another name
        ("café", 200),  # non-ASCII: read by ids
        ("CAFÉ", 200),
    ],
)
def test_one_source_names_an_own_camera_or_is_refused(api, user, other_user, names, status):
    camera(user, "Front Door")
    camera(user, "Café")
    event(camera(other_user, "porch"), T0, items=1)
    response = api.get("/api/search", {"sources": names})
    assert response.status_code == status, response.content
    if status == 400:
        assert names in response.json()["message"]


def test_one_source_of_another_accounts_camera_is_unknown_even_with_events_of_mine(api, user, other_user):
    event(camera(user, "front"), T0, items=1)
    event(camera(other_user, "porch"), T0, items=1)
    response = api.get("/api/search", {"sources": "porch"})
    assert response.status_code == 400
    assert api.get("/api/search", {"sources": "porch", "object_type": "seconds"}).status_code == 400


def test_one_source_that_names_two_cameras_in_case_finds_both_across_pages(api, user):
    upper, lower = camera(user, "Gate"), camera(user, "gate")
    evs = [event(upper if k % 2 else lower, T0 + timedelta(seconds=k), items=1) for k in range(5)]
    seen, _ = walk(api, "desc", 2, sources="GATE")
    assert seen == expected_order(evs, "desc")


def test_one_source_timeline_counts_only_that_camera(api, user, other_user):
    front, back = camera(user, "front"), camera(user, "back")
    event(front, T0, items=3)  # 12:00:00, :01, :02
    event(back, T0, items=2)
    event(camera(other_user, "front"), T0, items=4)
    body = search(api, sources="front", object_type="seconds", sort="asc", num_results=2)
    result = body["result"]
    assert [(b["bucket_id"], b["count"]) for b in result["buckets"]] == [
        ("2026-11-20T12:00:00.000-0000", 1),
        ("2026-11-20T12:00:01.000-0000", 1),
    ]
    assert result["more_results"] is True
    rest = search(api, sources="front", object_type="seconds", sort="asc", date=result["latest_date_considered"])
    assert [b["count"] for b in rest["result"]["buckets"]] == [1]
    hours = search(api, sources="FRONT", object_type="hours")["result"]["buckets"]
    assert [(b["bucket_id"], b["count"]) for b in hours] == [("2026-11-20T12:00:00.000-0000", 3)]
    # Nothing to count on a known camera is an empty timeline, not an error.
    assert search(api, sources="back", object_type="seconds", content_type="video")["result"]["buckets"] == []


def test_one_source_similarity_ranks_only_that_camera(api, user):
    front, back = camera(user, "front"), camera(user, "back")
    paragon = event(front, T0, descriptor=[1.0, 0.0, 0.0])
    near = event(front, T0 + timedelta(minutes=1), descriptor=[0.9, 0.1, 0.0])
    far = event(front, T0 + timedelta(minutes=2), descriptor=[0.0, 1.0, 0.0])
    event(back, T0 + timedelta(minutes=3), descriptor=[1.0, 0.0, 0.0])
    body = search(api, event=paragon.public_id, sources="FRONT")
    assert ids(body) == [near.public_id, far.public_id]
    assert all(b["images"] for b in body["result"]["buckets"])
    # The paragon alone on its camera: nothing to rank, an empty page (not an unknown camera).
    lonely = event(camera(user, "side"), T0, descriptor=[1.0, 0.0, 0.0])
    assert search(api, event=lonely.public_id, sources="side")["result"]["buckets"] == []


def test_one_source_event_as_date_pages_from_that_event(api, user):
    front, back = camera(user, "front"), camera(user, "back")
    evs = [event(front, T0 + timedelta(minutes=m), items=1) for m in range(4)]
    event(back, T0 + timedelta(minutes=1, seconds=30), items=1)
    assert ids(search(api, sources="front", event_as_date=evs[2].public_id)) == [evs[1].public_id, evs[0].public_id]


def test_a_guest_names_a_camera_of_the_host_not_their_own(api, user, other_user):
    host_front = camera(other_user, "front")
    hosts = event(host_front, T0, items=2)
    mine = event(camera(user, "front"), T0 + timedelta(minutes=1), items=1)
    camera(user, "garage")  # the guest's only
    Guest.objects.create(host=other_user, guest=user)
    assert ids(search(api, user="bob@example.com", sources="FRONT")) == [hosts.public_id]
    assert search(api, user="bob@example.com", sources="front")["result"]["buckets"][0]["count"] == 2
    response = api.get("/api/search", {"user": "bob@example.com", "sources": "garage"})
    assert response.status_code == 400
    # Their own search is still theirs.
    assert ids(search(api, sources="front")) == [mine.public_id]
    assert api.get("/api/search", {"sources": "garage"}).status_code == 200


def test_many_requests_of_one_source_stay_right_once_statements_are_prepared(api, user):
    """psycopg prepares a statement after a few runs: later runs (other names, other owners'
    cameras, other page sizes) still answer with their own parameters."""
    cams = {name: camera(user, name) for name in ("a1", "b2", "c3")}
    evs = {name: event(cam, T0 + timedelta(minutes=k), items=1) for k, (name, cam) in enumerate(cams.items())}
    for _ in range(4):
        for name, ev in evs.items():
            assert ids(search(api, sources=name)) == [ev.public_id]
            assert ids(search(api, sources=name.upper(), num_results=1)) == [ev.public_id]
        assert api.get("/api/search", {"sources": "zz"}).status_code == 400


@pytest.mark.parametrize("n", [1, 2, 100])
def test_num_results_bounds_with_one_source(api, user, n):
    front = camera(user, "front")
    evs = [event(front, T0 + timedelta(seconds=s), items=1) for s in range(n + 1)]
    body = search(api, sources="front", num_results=n)
    assert ids(body) == expected_order(evs, "desc")[:n]
    assert body["result"]["more_results"] is True
    assert all(b["count"] == 1 for b in body["result"]["buckets"])


# --- view tokens: the Camios' slices, now built lazily -------------------------------------------


def test_view_token_search_with_one_source_and_items_of_the_slice(user, other_user):
    front, back = camera(user, "front"), camera(user, "back")
    inside = event(front, T0, labels=["people"], items=2, stored=True)
    event(back, T0 + timedelta(minutes=1), labels=["people"], items=1)
    event(front, T0 + timedelta(minutes=2), labels=["car"], items=1)
    camio = share(user, cameras=["front"], labels=["people"])
    anon = APIClient()
    params = {"view_tokens": camio.view_token, "fetch_all_thumbnails": "true", "fetch_motion_boxes": "true"}
    for sources in ({}, {"sources": "front"}, {"sources": "FRONT"}):
        body = search(anon, **params, **sources)
        assert ids(body) == [inside.public_id], sources
        images = body["result"]["buckets"][0]["images"]
        assert len(images) == 2
        assert all(item_access_check(i["id"], i["access_token"]) for i in images)
        assert all(i["motion_boxes"] == [{"x": 0.1, "y": 0.2, "w": 0.3, "h": 0.4}] for i in images)
        assert all(base64.b64decode(i["image_bytes"])[:2] == b"\xff\xd8" for i in images)
    assert anon.get("/api/search", {"view_tokens": camio.view_token, "sources": "back"}).status_code == 403


def test_view_token_of_a_dated_camio_shows_only_its_items_of_a_cut_event(user):
    front = camera(user, "front")
    cut = event(front, T0, labels=["people"], items=4, spacing=timedelta(minutes=1))  # 12:00 .. 12:03
    start = (T0 + timedelta(minutes=2)).isoformat()
    camio = share(user, start_date=start)
    anon = APIClient()
    for extra in ({}, {"fetch_all_thumbnails": "true"}, {"sources": "front"}):
        body = search(anon, view_tokens=camio.view_token, **extra)
        assert ids(body) == [cut.public_id], extra
        bucket = body["result"]["buckets"][0]
        assert [i["date_created"] for i in bucket["images"]] == [
            "2026-11-20T12:02:00.000-0000",
            "2026-11-20T12:03:00.000-0000",
        ]
        assert bucket["earliest_date"] == "2026-11-20T12:02:00.000-0000"


def test_view_tokens_of_two_camios_bind_each_item_to_its_camio(user):
    front, back = camera(user, "front"), camera(user, "back")
    a = event(front, T0, items=1)
    b = event(back, T0 + timedelta(minutes=1), items=1)
    first, second = share(user, cameras=["front"]), share(user, cameras=["back"])
    anon = APIClient()
    body = search(anon, view_tokens=f"{first.view_token},{second.view_token}")
    assert ids(body) == [b.public_id, a.public_id]
    by_bucket = {bk["bucket_id"]: bk["images"][0] for bk in body["result"]["buckets"]}
    assert item_access_check(by_bucket[a.public_id]["id"], by_bucket[a.public_id]["access_token"])
    assert item_access_check(by_bucket[b.public_id]["id"], by_bucket[b.public_id]["access_token"])
    # Deleting one Camio revokes the tokens of its items only.
    first.delete()
    assert not item_access_check(by_bucket[a.public_id]["id"], by_bucket[a.public_id]["access_token"])
    assert item_access_check(by_bucket[b.public_id]["id"], by_bucket[b.public_id]["access_token"])


# --- decoding -------------------------------------------------------------------------------------


def test_decode_json_texts_reads_what_json_reads():
    texts = ['["a"]', None, '{"x": 1e400}', '"\\ud800"', "[18446744073709551616]", "NaN", "-0"]
    decoded = decode_json_texts(texts)
    assert decoded[:2] == [["a"], None]
    assert decoded[2]["x"] == float("inf")
    assert decoded[3] == "\ud800"
    assert decoded[4] == [18446744073709551616]
    assert decoded[5] != decoded[5]  # NaN
    assert decoded[6] == 0 and type(decoded[6]) is int


def test_items_labels_with_unicode_and_escapes_come_back_as_stored(api, user):
    from search.models import ItemAnalysis

    front = camera(user, "front")
    ev = event(front, T0, items=1, labels=["people"])
    labels = ["people", "caf\u00e9", 'quote"d', "back\\slash", "\u2028sep", "emoji\U0001f600"]
    ItemAnalysis.objects.filter(event=ev).update(labels=labels)
    for params in ({}, {"sources": "front"}, {"sources": "front,nothing"}):
        response = api.get("/api/search", params)
        if "nothing" in params.get("sources", ""):
            assert response.status_code == 400
            continue
        assert response.json()["result"]["buckets"][0]["images"][0]["labels"] == labels


def test_the_database_is_the_one_asked_for():
    # (Not a finding: tells in the run's output which backend the file ran on.)
    assert connection.vendor in {"sqlite", "postgresql"}


def test_one_source_finds_what_pythons_lower_case_finds_even_for_names_beyond_ascii(api, user):
    """``K`` (the Kelvin sign) is ``k`` in lower case for Python, not for SQLite's LOWER."""
    ascii_k, kelvin = camera(user, "k"), camera(user, "\u212a")
    a = event(ascii_k, T0)
    b = event(kelvin, T0 + timedelta(minutes=1))
    body = search(api, sources="k")
    assert [bucket["bucket_id"] for bucket in body["result"]["buckets"]] == [b.public_id, a.public_id]


# --- text searches parse with the names the last one read, checked by the page's own statement --


def test_a_text_search_sees_cameras_and_zones_renamed_added_or_removed_since_the_last(api, user):
    from cameras.models import Camera, Zone

    front, gate = camera(user, "front"), camera(user, "gate")
    at_front = event(front, T0, labels=["people"])
    at_gate = event(gate, T0 + timedelta(minutes=1), labels=["people", "mailbox"])
    assert ids(search(api, text="front people")) == [at_front.public_id]
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        assert ids(search(api, text="front people")) == [at_front.public_id]
    names_reads = [q["sql"] for q in queries.captured_queries if '"cameras_zone"' in q["sql"]]
    if connection.vendor == "postgresql":  # the names kept, checked inside the page's statement
        assert len(names_reads) == 1 and '"search_event"' in names_reads[0], names_reads
    # Renamed: the old name is now a word (a label nothing carries), the new one the camera.
    Camera.objects.filter(pk=front.pk).update(name="porch")
    body = search(api, text="front people")
    assert ids(body) == [] and body["query"]["parsed"]["sources"] == []
    body = search(api, text="porch people")
    assert ids(body) == [at_front.public_id] and body["query"]["parsed"]["sources"] == ["porch"]
    # A zone added: its name is now a zone (a required label), not a plain one.
    Zone.objects.create(camera=gate, name="mailbox", polygons=[[[0, 0], [1, 0], [1, 1]]])
    body = search(api, text="mailbox")
    assert ids(body) == [at_gate.public_id] and body["query"]["parsed"]["zones"] == ["mailbox"]
    # A camera removed: its name is a word again.
    event(gate, T0 + timedelta(minutes=2), labels=["gate"])
    Camera.objects.filter(pk=front.pk).delete()
    body = search(api, text="porch")
    assert ids(body) == [] and body["query"]["parsed"]["labels"] == ["porch"]
    assert ids(search(api, text="gate")) != []


def test_another_accounts_names_never_stand_for_the_searchers(api, other_api, user, other_user):
    mine, theirs = camera(user, "front"), camera(other_user, "yard")
    event(mine, T0, labels=["people"])
    at_yard = event(theirs, T0, labels=["people"])
    assert search(other_api, text="yard people")["query"]["parsed"]["sources"] == ["yard"]
    body = search(api, text="yard people")
    assert ids(body) == [] and body["query"]["parsed"]["sources"] == []
    assert ids(search(other_api, text="yard people")) == [at_yard.public_id]
