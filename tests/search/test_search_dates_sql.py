"""Dates the database writes as text (``CamioDate``); the owner's and view-token pages compiled once per shape."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.db import connection

from config.api.dates import CamioDate, camio_date, camio_date_sql
from search.models import Event
from tests.search.test_search_factories import T0, camera, event

pytestmark = pytest.mark.django_db

# Milliseconds truncated (never rounded), no fraction stored, another zone, an unpadded year.
DATES = [
    T0,
    T0.replace(microsecond=999999),
    T0.replace(microsecond=999),
    T0.replace(microsecond=1000),
    datetime(2026, 12, 31, 23, 59, 59, 999500, tzinfo=UTC),
    datetime(2026, 3, 1, 1, 2, 3, 456789, tzinfo=timezone(timedelta(hours=-7))),
    datetime(1970, 1, 1, tzinfo=UTC),
    datetime(999, 1, 2, 3, 4, 5, 6000, tzinfo=UTC),
]


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_the_database_writes_dates_as_camio_date_does(user):
    front = camera(user, "front")
    for at in DATES:
        event(front, at, items=0)
    rows = Event.objects.annotate(text=CamioDate("earliest_date")).values_list("earliest_date", "text")
    assert sorted(text for _, text in rows) == sorted(camio_date(at) for at in DATES)
    assert all(text == camio_date(at) for at, text in rows)
    # The hand-written SQL form is the same expression.
    column = camio_date_sql(connection.ops.quote_name("earliest_date"), connection=connection)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {Event._meta.db_table}")  # noqa: S608
        assert sorted(text for (text,) in cursor.fetchall()) == sorted(camio_date(at) for at in DATES)


def test_a_postgresql_session_in_another_time_zone_still_writes_utc(user):
    """Django keeps its connections in UTC (``timezone_name``), so the SQL leaves the zone to the
    session; a connection in another zone gets the conversion written out."""
    from types import SimpleNamespace

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's session time zone")
    front = camera(user, "front")
    for at in DATES:
        event(front, at, items=0)
    elsewhere = SimpleNamespace(vendor="postgresql", timezone_name="America/Los_Angeles")
    column = camio_date_sql(connection.ops.quote_name("earliest_date"), connection=elsewhere)
    with connection.cursor() as cursor:
        cursor.execute("SET TIME ZONE 'America/Los_Angeles'")
        try:
            cursor.execute(f"SELECT {column} FROM {Event._meta.db_table}")  # noqa: S608
            texts = sorted(text for (text,) in cursor.fetchall())
        finally:
            cursor.execute("SET TIME ZONE 'UTC'")
    assert texts == sorted(camio_date(at) for at in DATES)


def test_search_dates_keep_their_milliseconds(api, user):
    at = T0.replace(microsecond=123999)
    ev = event(camera(user, "front"), at, items=2, spacing=timedelta(microseconds=500))
    body = api.get("/api/search").json()
    (bucket,) = body["result"]["buckets"]
    assert bucket["bucket_id"] == ev.public_id
    assert bucket["earliest_date"] == "2026-11-20T12:00:00.123-0000"
    assert bucket["latest_date"] == "2026-11-20T12:00:00.124-0000"
    assert [image["date_created"] for image in bucket["images"]] == [
        "2026-11-20T12:00:00.123-0000",
        "2026-11-20T12:00:00.124-0000",
    ]


def test_searches_of_one_shape_each_get_their_own_values(api, other_api, user, other_user):
    # The page's SQL is kept per shape of filter; the values are each search's own.
    mine = {name: event(camera(user, name), T0 + timedelta(minutes=i), labels=[name]) for i, name in enumerate("ab")}
    theirs = event(camera(other_user, "a"), T0, labels=["a"])
    for name, ev in mine.items():
        assert [b["bucket_id"] for b in api.get("/api/search", {"sources": name}).json()["result"]["buckets"]] == [
            ev.public_id
        ]
        assert [b["bucket_id"] for b in api.get("/api/search", {"labels": name}).json()["result"]["buckets"]] == [
            ev.public_id
        ]
    assert [b["bucket_id"] for b in other_api.get("/api/search", {"sources": "a"}).json()["result"]["buckets"]] == [
        theirs.public_id
    ]
    # The cursor is a value too: desc pages before it, asc after it.
    before = api.get("/api/search", {"date": "2026-11-20T12:00:30.000-0000"}).json()["result"]["buckets"]
    assert [b["bucket_id"] for b in before] == [mine["a"].public_id]
    after = api.get("/api/search", {"date": "2026-11-20T12:00:30.000-0000", "sort": "asc"}).json()
    assert [b["bucket_id"] for b in after["result"]["buckets"]] == [mine["b"].public_id]


def test_view_token_pages_are_compiled_per_camio_and_keep_each_viewers_values(anon, user, other_user):
    """A Camio's slice is compiled into its SQL once; another Camio of the same shape (or the same
    Camio with its query changed) gets its own, and the viewer's filter and cursor are values."""
    from search import selectors
    from search.models import Camio

    query = {"cameras": ["a"], "labels": [], "events": [], "start_date": None, "end_date": None, "sort": "desc"}
    mine_a = [event(camera(user, "a"), T0 + timedelta(minutes=i), labels=["x" if i else "y"]) for i in range(2)]
    mine_b = event(camera(user, "b"), T0, labels=["x"])
    theirs = event(camera(other_user, "a"), T0, labels=["x"])
    camio = Camio.objects.create(owner=user, name="a", query=query)
    other = Camio.objects.create(owner=other_user, name="a", query=query)

    def ids(token: str, **params) -> list[str]:
        body = anon.get("/api/search", {"view_tokens": token, **params}).json()
        return [b["bucket_id"] for b in body["result"]["buckets"]]

    for _ in range(2):  # the second round runs the kept SQL
        assert ids(camio.view_token) == [mine_a[1].public_id, mine_a[0].public_id]
        assert ids(camio.view_token, labels="x") == [mine_a[1].public_id]
        assert ids(camio.view_token, labels="y") == [mine_a[0].public_id]
        assert ids(camio.view_token, date="2026-11-20T12:00:30.000-0000") == [mine_a[0].public_id]
        assert ids(camio.view_token, date="2026-11-20T12:00:30.000-0000", sort="asc") == [mine_a[1].public_id]
        assert ids(other.view_token) == [theirs.public_id]
        assert ids(other.view_token, labels="y") == []
    camio.query = {**query, "cameras": ["b"]}
    camio.save()
    assert ids(camio.view_token) == [mine_b.public_id]
    assert ids(camio.view_token, labels="x") == [mine_b.public_id]
    # Each of these was compiled, not left to the ORM (on PostgreSQL the page reads its items).
    from django.db import connection

    pages = (
        [selectors._EVENT_PAGE]
        if connection.vendor == "postgresql"
        else [selectors._EVENT_PAGE, selectors._CAMIO_IMAGES]
    )
    for kept in pages:
        compiled = list(kept._compiled.values())
        assert compiled and all(c is not None for c in compiled)


def test_similarity_reads_are_compiled_per_shape_and_keep_each_searchs_values(api, other_api, user, other_user):
    """The paragon, the candidate window and the shown events are read by SQL kept per shape: two
    accounts' searches of one shape each rank their own events, and the cursor is a value."""
    from search import selectors

    red, blue = [1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0]
    mine = [event(camera(user, "a"), T0 + timedelta(minutes=i), labels=["x"], descriptor=red) for i in range(3)]
    theirs = [
        event(camera(other_user, "a"), T0 + timedelta(minutes=i), labels=["x"], descriptor=blue) for i in range(2)
    ]

    def ids(client, paragon, **params) -> list[str]:
        body = client.get("/api/search", {"event": paragon.public_id, **params}).json()
        return [b["bucket_id"] for b in body["result"]["buckets"]]

    for _ in range(2):  # the second round runs the kept SQL
        assert ids(api, mine[0]) == [mine[2].public_id, mine[1].public_id]
        assert ids(other_api, theirs[0]) == [theirs[1].public_id]
        assert ids(api, mine[2], date="2026-11-20T12:01:30.000-0000") == [mine[1].public_id, mine[0].public_id]
        assert ids(api, mine[2], date="2026-11-20T12:00:30.000-0000") == [mine[0].public_id]
        assert other_api.get("/api/search", {"event": mine[0].public_id}).status_code == 404
    compiled = list(selectors._EVENT_READS._compiled.values())
    assert compiled and all(c is not None for c in compiled)
