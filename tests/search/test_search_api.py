"""GET /api/search: the reference's shape, every parameter, scopes (owner, guests), paging."""

from __future__ import annotations

import base64
import io
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from PIL import Image

from accounts.models import Guest
from search.access_tokens import item_access_check
from tests.search.test_search_factories import T0, camera, event

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # Users are made with passwords; the production hasher costs ~1 s per user on a busy machine.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def search(client, **params):
    response = client.get("/api/search", params)
    assert response.status_code == 200, response.content
    return response.json()


def ids(body):
    return [b["bucket_id"] for b in body["result"]["buckets"]]


def test_shape_of_an_event_search(api, user):
    front = camera(user, "front")
    ev = event(front, T0, labels=["walkway", "people"], level=2, items=3)
    body = search(api)
    assert set(body) == {"query", "result"}
    assert body["query"]["object_type"] == "events" and body["query"]["sort"] == "desc"
    assert body["query"]["motion_type"] == "imo" and body["query"]["content_type"] == "image"
    result = body["result"]
    assert result["bucket_type"] == "event"
    assert result["count"] == 1 and result["more_results"] is False
    bucket = result["buckets"][0]
    assert bucket["bucket_id"] == ev.public_id
    assert bucket["source"] == "front"
    assert bucket["labels"] == ["people", "walkway"]
    assert bucket["earliest_date"] == "2026-11-20T12:00:00.000-0000"
    assert bucket["latest_date"] == "2026-11-20T12:00:02.000-0000"
    assert bucket["max_interest_level"] == 2
    assert bucket["cover_image_id"] == ev.cover.public_id
    assert bucket["annotations"] == []
    assert bucket["count"] == 3
    image = bucket["images"][0]
    assert set(image) == {"id", "content_type", "date_created", "labels", "interest_level", "interest_score"}
    assert image["id"] == ev.cover.public_id and image["content_type"] == "image/jpeg"
    assert image["date_created"] == "2026-11-20T12:00:00.000-0000"
    assert image["interest_level"] == 2 and image["interest_score"] == 0.25
    assert result["earliest_date_considered"] == "2026-11-20T12:00:00.000-0000"
    assert result["latest_date_considered"] is not None


# --- validation ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params, words",
    [
        ({"object_type": "images"}, "object_type"),
        ({"sort": "up"}, "sort"),
        ({"content_type": "audio"}, "content_type"),
        ({"motion_type": "xmo"}, "motion_type"),
        ({"num_results": "0"}, "num_results"),
        ({"num_results": "101"}, "num_results"),
        ({"num_results": "ten"}, "num_results"),
        ({"date": "yesterday"}, "date"),
        ({"date": "2026-13-01T00:00:00Z"}, "date"),
        ({"date": "2026-11-20T25:00:00.000-0000"}, "date"),
        ({"date": "0001-01-01T00:00:00Z"}, "date"),
        ({"date": "2026-11-20T00:00:00Z", "event_as_date": "x"}, "either"),
        ({"fetch_all_thumbnails": "maybe"}, "fetch_all_thumbnails"),
        ({"fetch_motion_boxes": "2"}, "fetch_motion_boxes"),
        ({"fetch_cover_thumbnails": "yes please"}, "fetch_cover_thumbnails"),
        ({"fetch_access_tokens": "on"}, "fetch_access_tokens"),
        ({"w": "0"}, "w"),
        ({"h": "99999"}, "h"),
        ({"quality": "101"}, "quality"),
        ({"quality": "high"}, "quality"),
        ({"sources": "nosuchcamera"}, "unknown camera"),
        ({"text": "7pm to 6pm yesterday 9pm to 1am"}, "one date or range"),
        ({"text": "people feb 30"}, "text: 'feb 30' is not a date"),
        ({"user": "a@example.com", "view_tokens": "abc"}, "either"),
        ({"object_type": "camios", "labels": "x"}, "camios"),
        ({"object_type": "hours", "event": "x"}, "event"),
        ({"sxs": "special"}, "sxs"),
        ({"labels": "x" * 65}, "labels"),
    ],
)
def test_invalid_parameters_are_400_with_a_message(api, user, params, words):
    camera(user, "front")
    response = api.get("/api/search", params)
    if words is None:  # a valid if odd text query: understood, not refused
        assert response.status_code == 200
        return
    assert response.status_code == 400, response.content
    assert words in response.json()["message"]


def test_a_range_that_ends_before_it_starts_is_400(api, user):
    response = api.get("/api/search", {"text": "2026-11-20 9pm to 2026-11-19 7pm"})
    assert response.status_code == 400
    assert "ends before it starts" in response.json()["message"]


def test_anonymous_without_view_tokens_is_401(anon):
    response = anon.get("/api/search")
    assert response.status_code == 401
    assert "message" in response.json()


# --- filters ---------------------------------------------------------------------------------------


def test_sources_are_cameras_by_name_case_insensitive(api, user):
    front, back = camera(user, "front"), camera(user, "Back")
    a = event(front, T0)
    b = event(back, T0 + timedelta(minutes=1))
    assert ids(search(api, sources="front")) == [a.public_id]
    assert ids(search(api, sources="back")) == [b.public_id]
    assert ids(search(api, sources="front,BACK")) == [b.public_id, a.public_id]


def test_one_source_finds_every_camera_of_that_name_in_any_case(api, user):
    upper, lower, other = camera(user, "Front"), camera(user, "front"), camera(user, "back")
    a = event(upper, T0)
    b = event(lower, T0 + timedelta(minutes=1))
    event(other, T0 + timedelta(minutes=2))
    assert ids(search(api, sources="FRONT")) == [b.public_id, a.public_id]
    assert ids(search(api, sources="Front")) == [b.public_id, a.public_id]


def test_one_source_with_nothing_to_show_is_an_empty_page_or_an_unknown_camera(api, user, other_user):
    front = camera(user, "front")
    event(front, T0)
    assert search(api, sources="front", labels="car")["result"]["buckets"] == []
    response = api.get("/api/search", {"sources": "gate"})
    assert response.status_code == 400
    assert "gate" in response.json()["message"]
    # Another account's camera is as unknown as none.
    other = camera(other_user, "gate")
    event(other, T0)
    assert api.get("/api/search", {"sources": "gate"}).status_code == 400


def test_labels_must_all_match(api, user):
    front = camera(user, "front")
    both = event(front, T0, labels=["people", "walkway"])
    one = event(front, T0 + timedelta(minutes=1), labels=["people"])
    event(front, T0 + timedelta(minutes=2), labels=["car"])
    assert ids(search(api, labels="people")) == [one.public_id, both.public_id]
    assert ids(search(api, labels="People,walkway")) == [both.public_id]
    assert ids(search(api, labels="people,car")) == []


def test_motion_type_is_a_minimum_interest_level(api, user):
    front = camera(user, "front")
    levels = {lvl: event(front, T0 + timedelta(minutes=lvl), level=lvl) for lvl in range(4)}
    expect = {
        "all": [3, 2, 1, 0],
        "smo": [3, 2, 1],
        "imo": [3, 2],
        "lmo": [3],
    }
    for motion_type, wanted in expect.items():
        assert ids(search(api, motion_type=motion_type)) == [levels[lvl].public_id for lvl in wanted]
    # The reference's default is imo.
    assert ids(search(api)) == [levels[3].public_id, levels[2].public_id]


def test_content_type_picks_image_or_video_events(api, user):
    front = camera(user, "front")
    img = event(front, T0)
    vid = event(front, T0 + timedelta(minutes=1), basis="video")
    assert ids(search(api)) == [img.public_id]
    body = search(api, content_type="video")
    assert ids(body) == [vid.public_id]
    assert body["result"]["buckets"][0]["images"][0]["content_type"] == "video/mp4"


def test_fetch_motion_boxes_adds_boxes_to_images(api, user):
    event(camera(user, "front"), T0)
    plain = search(api)["result"]["buckets"][0]["images"][0]
    assert "motion_boxes" not in plain
    boxed = search(api, fetch_motion_boxes="true")["result"]["buckets"][0]["images"][0]
    assert boxed["motion_boxes"] == [{"x": 0.1, "y": 0.2, "w": 0.3, "h": 0.4}]


def _decoded_size(b64: str) -> tuple[int, int]:
    with Image.open(io.BytesIO(base64.b64decode(b64))) as img:
        assert img.format == "JPEG"
        return img.size


def test_cover_thumbnails_only_the_cover_sized_as_asked(api, user):
    ev = event(camera(user, "front"), T0, items=3, stored=True)
    body = search(api, fetch_cover_thumbnails="true", w=64, h=64)
    images = body["result"]["buckets"][0]["images"]
    with_bytes = [i for i in images if "image_bytes" in i]
    assert [i["id"] for i in with_bytes] == [ev.cover.public_id]
    w, h = _decoded_size(with_bytes[0]["image_bytes"])
    assert w <= 64 and h <= 64 and max(w, h) == 64  # 640x480 fitted inside 64x64: 64x48


def test_all_thumbnails_default_to_150x112(api, user):
    event(camera(user, "front"), T0, items=2, stored=True)
    images = search(api, fetch_all_thumbnails="true")["result"]["buckets"][0]["images"]
    assert all("image_bytes" in i for i in images)
    assert _decoded_size(images[0]["image_bytes"]) == (149, 112)  # 640x480 inside 150x112


def test_access_tokens_only_when_asked_and_bound_to_their_item(api, user):
    event(camera(user, "front"), T0, items=2)
    assert "access_token" not in search(api)["result"]["buckets"][0]["images"][0]
    images = search(api, fetch_access_tokens="true")["result"]["buckets"][0]["images"]
    a, b = images
    assert item_access_check(a["id"], a["access_token"])
    assert not item_access_check(b["id"], a["access_token"])


# --- text ------------------------------------------------------------------------------------------


def test_text_resolves_cameras_zones_labels_and_echoes_the_parse(api, user):
    from cameras.models import Zone

    front, gate = camera(user, "front"), camera(user, "gate")
    Zone.objects.create(camera=front, name="mailbox", polygons=[[[0, 0], [1, 0], [1, 1]]])
    hit = event(front, T0, labels=["people", "approaching", "mailbox", "_color_blue"])
    event(front, T0 + timedelta(minutes=1), labels=["people", "mailbox"])  # not approaching
    event(gate, T0 + timedelta(minutes=2), labels=["people", "approaching", "mailbox", "_color_blue"])
    body = search(api, text="front people approaching mailbox blue")
    assert ids(body) == [hit.public_id]
    parsed = body["query"]["parsed"]
    assert body["query"]["text"] == "front people approaching mailbox blue"
    assert parsed["sources"] == ["front"] and parsed["zones"] == ["mailbox"]
    assert parsed["labels"] == ["people", "approaching", "_color_blue"]


def test_text_zones_are_the_searched_owners_own_each_named_once(api, user, other_user):
    from cameras.models import Zone

    square = [[[0, 0], [1, 0], [1, 1]]]
    front, gate = camera(user, "front"), camera(user, "gate")
    for cam in (front, gate):
        Zone.objects.create(camera=cam, name="mailbox", polygons=square)
    Zone.objects.create(camera=camera(other_user, "yard"), name="driveway", polygons=square)
    parsed = search(api, text="mailbox driveway")["query"]["parsed"]
    # Another account's zone (and camera) is only a word: a label.
    assert parsed["zones"] == ["mailbox"] and parsed["sources"] == []
    assert "driveway" in parsed["labels"]


def test_text_not_excludes_labels_and_cameras(api, user):
    front, gate = camera(user, "front"), camera(user, "gate")
    street = event(front, T0, labels=["people", "street"])
    plain = event(front, T0 + timedelta(minutes=1), labels=["people"])
    at_gate = event(gate, T0 + timedelta(minutes=2), labels=["people"])
    assert ids(search(api, text="people not street")) == [at_gate.public_id, plain.public_id]
    assert ids(search(api, text="people not gate")) == [plain.public_id, street.public_id]


def test_text_naming_an_unknown_word_is_a_label_not_an_error(api, user):
    event(camera(user, "front"), T0, labels=["people"])
    assert ids(search(api, text="slip and fall")) == []
    assert search(api, text="slip and fall")["query"]["parsed"]["start_date"] is None


def _events_at(user, times):
    front = camera(user, "front")
    return [event(front, t, items=1) for t in times]


def test_text_dates_set_the_window(api, user):
    from django.utils import timezone

    now = timezone.now().replace(microsecond=0)
    today = now.replace(hour=0, minute=0, second=0)
    yesterday = today - timedelta(days=1)
    evs = _events_at(
        user,
        [
            yesterday + timedelta(hours=19, minutes=30),  # yesterday 7:30pm
            yesterday + timedelta(hours=21, minutes=30),  # yesterday 9:30pm
            yesterday + timedelta(hours=6),  # yesterday 6am
        ],
    )
    body = search(api, text="yesterday 7pm to 9pm")
    assert ids(body) == [evs[0].public_id]
    assert body["query"]["parsed"]["start_date"].startswith((yesterday + timedelta(hours=19)).date().isoformat())
    assert ids(search(api, text="yesterday")) == [evs[1].public_id, evs[0].public_id, evs[2].public_id]
    assert set(ids(search(api, text="yesterday 6am to 8pm"))) == {evs[0].public_id, evs[2].public_id}


def test_text_relative_window(api, user):
    from django.utils import timezone

    now = timezone.now()
    recent, old = _events_at(user, [now - timedelta(minutes=30), now - timedelta(hours=5)])
    assert ids(search(api, text="in the last 3 hours")) == [recent.public_id]
    assert ids(search(api, text="last 2 days")) == [recent.public_id, old.public_id]
    assert ids(search(api, text="past 10 minutes")) == []


def test_text_explicit_date_with_zone_carries_to_both_ends(api, user):
    # 3pm to 5pm ET on 2026-11-20 is 20:00 to 22:00 UTC (EST, UTC-5).
    inside, _before, _after = _events_at(
        user,
        [T0.replace(hour=21), T0.replace(hour=19, minute=59), T0.replace(hour=22, minute=0, second=1)],
    )
    body = search(api, text="2026-11-20 3pm to 5pm ET")
    assert ids(body) == [inside.public_id]
    assert body["query"]["parsed"]["start_date"] == "2026-11-20T15:00:00-05:00"
    assert body["query"]["parsed"]["end_date"] == "2026-11-20T17:00:00-05:00"


# --- date parameter, sort, paging ------------------------------------------------------------------


@pytest.mark.parametrize(
    "date",
    [
        "2026-11-20T12:30:00.000-0000",
        "2026-11-20T12:30:00Z",
        "2026-11-20T07:30:00-05:00",
        "2026-11-20T13:30:00.000+0100",
        "2026-11-20T12:30:00",
        "2026-11-20 12:30:00.000",
    ],
)
def test_date_formats_all_mean_the_same_instant(api, user, date):
    evs = _events_at(user, [T0 + timedelta(minutes=m) for m in (10, 20, 40, 50)])
    body = search(api, date=date)
    assert ids(body) == [evs[1].public_id, evs[0].public_id]
    assert body["query"]["date"] == "2026-11-20T12:30:00.000-0000"
    asc = search(api, date=date, sort="asc")
    assert ids(asc) == [evs[2].public_id, evs[3].public_id]


def test_bare_date_is_midnight_utc(api, user):
    evs = _events_at(user, [T0 - timedelta(days=1), T0])
    assert ids(search(api, date="2026-11-20")) == [evs[0].public_id]


def test_event_as_date_pages_from_that_event(api, user):
    evs = _events_at(user, [T0 + timedelta(minutes=m) for m in range(5)])
    assert ids(search(api, event_as_date=evs[2].public_id)) == [evs[1].public_id, evs[0].public_id]
    assert ids(search(api, event_as_date=evs[2].public_id, sort="asc")) == [evs[3].public_id, evs[4].public_id]
    response = api.get("/api/search", {"event_as_date": "nope"})
    assert response.status_code == 404


def _walk(api, sort, n, **extra):
    seen, params, pages = [], {"sort": sort, "num_results": n, **extra}, 0
    while True:
        body = search(api, **params)
        result = body["result"]
        seen += ids(body)
        pages += 1
        assert pages < 50
        if not result["more_results"]:
            return seen
        params["date"] = result["earliest_date_considered" if sort == "desc" else "latest_date_considered"]


@pytest.mark.parametrize("sort", ["desc", "asc"])
def test_paging_has_no_gaps_or_repeats_even_with_same_millisecond_ties(api, user, sort):
    front, back = camera(user, "front"), camera(user, "back")
    times = []
    for i in range(12):
        times.append(T0 + timedelta(seconds=i))
    # Three events within one millisecond, and two at the exact same instant on two cameras.
    times += [T0 + timedelta(seconds=5, microseconds=100), T0 + timedelta(seconds=5, microseconds=600)]
    evs = [event(front, t, items=1) for t in times]
    evs.append(event(back, T0 + timedelta(seconds=7), items=1))
    expected = sorted(evs, key=lambda e: (e.earliest_date, e.pk), reverse=(sort == "desc"))
    for n in (1, 2, 3, 5, 100):
        seen = _walk(api, sort, n)
        assert sorted(seen) == sorted(e.public_id for e in evs), n
        assert len(seen) == len(set(seen)), n
        # Order across pages follows the dates.
        dates = {e.public_id: e.earliest_date for e in expected}
        ordered = [dates[i] for i in seen]
        assert ordered == sorted(ordered, reverse=(sort == "desc")), n


def test_more_results_and_dates_considered(api, user):
    evs = _events_at(user, [T0 + timedelta(minutes=m) for m in range(3)])
    body = search(api, num_results=2, date="2026-11-20T13:00:00.000-0000")
    result = body["result"]
    assert ids(body) == [evs[2].public_id, evs[1].public_id]
    assert result["more_results"] is True
    assert result["latest_date_considered"] == "2026-11-20T13:00:00.000-0000"
    assert result["earliest_date_considered"] == "2026-11-20T12:01:00.000-0000"
    last = search(api, num_results=2, date=result["earliest_date_considered"])["result"]
    assert [b["bucket_id"] for b in last["buckets"]] == [evs[0].public_id]
    assert last["more_results"] is False


# --- timelines -------------------------------------------------------------------------------------


def test_hours_and_seconds_timelines_count_items(api, user):
    front = camera(user, "front")
    event(front, T0, items=3)  # 12:00:00, :01, :02
    event(front, T0 + timedelta(hours=1, minutes=5), items=2)  # 13:05:00, :01
    event(front, T0 + timedelta(hours=1, minutes=30), items=1, level=0)  # below imo
    body = search(api, object_type="hours")
    result = body["result"]
    assert result["bucket_type"] == "hour"
    assert [(b["bucket_id"], b["count"]) for b in result["buckets"]] == [
        ("2026-11-20T13:00:00.000-0000", 2),
        ("2026-11-20T12:00:00.000-0000", 3),
    ]
    assert search(api, object_type="hours", motion_type="all")["result"]["buckets"][0]["count"] == 3
    seconds = search(api, object_type="seconds", sort="asc", num_results=2)["result"]
    assert seconds["bucket_type"] == "second"
    assert [(b["bucket_id"], b["count"]) for b in seconds["buckets"]] == [
        ("2026-11-20T12:00:00.000-0000", 1),
        ("2026-11-20T12:00:01.000-0000", 1),
    ]
    assert seconds["more_results"] is True
    following = search(api, object_type="seconds", sort="asc", num_results=10, date=seconds["latest_date_considered"])
    assert [b["bucket_id"][11:19] for b in following["result"]["buckets"]] == [
        "12:00:02",
        "13:05:00",
        "13:05:01",
    ]


# --- who sees what -------------------------------------------------------------------------------


def test_accounts_see_only_their_own_events(api, other_api, user, other_user):
    mine = event(camera(user, "front"), T0)
    theirs = event(camera(other_user, "front"), T0)
    assert ids(search(api)) == [mine.public_id]
    assert ids(search(other_api)) == [theirs.public_id]
    # Another account's event ids are unknown, not readable.
    assert api.get("/api/search", {"event_as_date": theirs.public_id}).status_code == 404
    assert api.get("/api/search", {"event": theirs.public_id}).status_code == 404


def test_guests_search_the_host_with_user(api, other_api, user, other_user):
    host_event = event(camera(other_user, "porch"), T0)
    assert api.get("/api/search", {"user": "bob@example.com"}).status_code == 403
    Guest.objects.create(host=other_user, guest=user)
    body = search(api, user="bob@example.com", sources="porch")
    assert ids(body) == [host_event.public_id]
    assert body["query"]["user"] == "bob@example.com"
    # The guest's own search is still their own.
    assert ids(search(api)) == []
    # Guests do not see the host's Camios.
    assert api.get("/api/search", {"user": "bob@example.com", "object_type": "camios"}).status_code == 403


def test_query_count_is_fixed_whatever_the_page_size(api, user):
    front = camera(user, "front")
    for m in range(30):
        event(front, T0 + timedelta(minutes=m), items=3, labels=["people"])
    counts = []
    for n in (1, 10, 30):
        with CaptureQueriesContext(connection) as ctx:
            body = search(api, num_results=n, labels="people", fetch_access_tokens="true")
        assert len(body["result"]["buckets"]) == n
        counts.append(len(ctx.captured_queries))
    # token lookup, events (with camera and cover), their images (with analysis); on PostgreSQL
    # the events query reads their images too
    page = 1 if connection.vendor == "postgresql" else 2
    assert counts == [1 + page] * 3
    with CaptureQueriesContext(connection) as ctx:
        search(api, sources="front", text="people")
    # + the owner's cameras and zone names for resolving words, in one query
    assert len(ctx.captured_queries) == 2 + page


def test_unknown_user_token_in_camio_path_is_404(api):
    assert api.get("/api/users/someone/camios").status_code == 404


@pytest.mark.parametrize("sort", ["desc", "asc"])
def test_timeline_pages_through_sparse_data_without_gaps(api, user, sort):
    # Items months apart: the search widens its window until a page is full or nothing is left.
    front = camera(user, "front")
    starts = [T0 - timedelta(days=200), T0 - timedelta(days=3), T0 - timedelta(hours=5), T0, T0 + timedelta(seconds=2)]
    for at in starts:
        event(front, at, items=2)  # two items a second apart: two seconds per event
    expected = sorted({(at + timedelta(seconds=i)).replace(microsecond=0) for at in starts for i in range(2)})
    if sort == "desc":
        expected.reverse()
    seen, params = [], {"object_type": "seconds", "sort": sort, "num_results": 3}
    for _ in range(10):
        result = search(api, **params)["result"]
        seen += [b["bucket_id"] for b in result["buckets"]]
        if not result["more_results"]:
            break
        params["date"] = result["earliest_date_considered" if sort == "desc" else "latest_date_considered"]
    assert seen == [f"{d:%Y-%m-%dT%H:%M:%S}.000-0000" for d in expected]
    hours = search(api, object_type="hours", sort=sort, num_results=100)["result"]
    assert sum(b["count"] for b in hours["buckets"]) == 10 and hours["more_results"] is False


def test_a_newest_first_timeline_of_old_recordings_starts_at_the_newest_item(api, user):
    """Recordings that stopped weeks ago: the first window starts at the cameras' newest item,
    not at now (which widened through empty windows, one grouping query each)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    front = camera(user, "front")
    for i in range(4):
        event(front, T0 - timedelta(days=40, hours=i), items=2)
    with CaptureQueriesContext(connection) as ctx:
        result = search(api, object_type="hours", num_results=3)["result"]
    assert [b["bucket_id"][:13] for b in result["buckets"]] == [
        f"{T0 - timedelta(days=40, hours=i):%Y-%m-%dT%H}" for i in range(3)
    ]
    assert result["more_results"] is True
    groupings = [q["sql"] for q in ctx.captured_queries if "GROUP BY" in q["sql"].upper()]
    assert len(groupings) == 1, groupings
