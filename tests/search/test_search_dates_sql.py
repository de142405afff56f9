"""Dates the database writes as text (``CamioDate``) and the owner's page compiled once per shape."""

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
    column = camio_date_sql(connection.ops.quote_name("earliest_date"), vendor=connection.vendor)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {Event._meta.db_table}")  # noqa: S608
        assert sorted(text for (text,) in cursor.fetchall()) == sorted(camio_date(at) for at in DATES)


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
