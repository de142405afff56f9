"""config.postgresql: the per-request health check polls the socket instead of sending SELECT 1,
and a connection the server dropped is still replaced before a request uses it."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db(transaction=True)


def _terminate_from_elsewhere(pid: int) -> None:
    import psycopg

    s = connection.settings_dict
    with psycopg.connect(
        host=s["HOST"] or None, port=s["PORT"] or None, user=s["USER"] or None, dbname=s["NAME"], autocommit=True
    ) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])


def _new_request() -> None:
    """What Django does to the connection when a request starts (request_started)."""
    connection.close_if_unusable_or_obsolete()


def test_a_quiet_connection_passes_without_a_round_trip(postgresql):
    connection.ensure_connection()
    _new_request()
    assert connection.connection_idle_and_quiet()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)
    assert connection.health_check_done


def test_a_connection_the_server_dropped_is_replaced(postgresql):
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    _terminate_from_elsewhere(pid)
    deadline = time.monotonic() + 5
    while connection.connection_idle_and_quiet() and time.monotonic() < deadline:
        time.sleep(0.01)  # the termination notice is on its way
    assert not connection.connection_idle_and_quiet()

    _new_request()
    with connection.cursor() as cursor:  # no error: a fresh connection
        cursor.execute("SELECT pg_backend_pid()")
        (new_pid,) = cursor.fetchone()
    assert new_pid != pid


def test_a_query_run_again_and_again_is_prepared_and_no_longer_planned_each_time(postgresql):
    """psycopg prepares a statement once the connection has run it ``prepare_threshold`` times;
    later runs skip the planner (on the search's page and images, planning cost more than running)."""
    from cameras.models import Camera

    threshold = connection.settings_dict["OPTIONS"]["prepare_threshold"]
    connection.ensure_connection()
    for owner in range(threshold + 1):  # new parameters each time: the same statement
        list(Camera.objects.filter(owner_id=owner + 1, name="front"))
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements WHERE NOT from_sql")
        prepared = [row[0] for row in cursor.fetchall()]
    assert any('FROM "cameras_camera"' in sql and "$1" in sql and "$2" in sql for sql in prepared), prepared


def test_a_camera_holding_more_items_than_a_statement_may_bind_is_deleted(postgresql, user):
    """A camera of a year of uploads holds hundreds of thousands of items. Deleting it (the
    camera admin's delete, ``camera_delete``) collects its items and then reads what points at
    them by their ids in one statement: bound by the server, a statement takes at most 65535
    parameters (client-side binding had no such limit)."""
    from cameras.models import Camera
    from cameras.services import camera_delete
    from tests.search.test_search_factories import T0, camera
    from uploads.models import Content

    front = camera(user, "front")
    n = 65536 + 10
    Content.objects.bulk_create(
        [
            Content(
                owner=user,
                camera=front,
                kind="image",
                content_type="image/jpeg",
                name=f"{k}.jpg",
                storage_key=f"test/{user.pk}/bulk/{k}.jpg",
                size=1,
                sha256=f"{k:064x}",
                captured_at=T0 + timedelta(seconds=k),
            )
            for k in range(n)
        ],
        batch_size=5000,
    )
    camera_delete(camera=front)
    assert not Camera.objects.filter(pk=front.pk).exists()
    assert not Content.objects.filter(camera_id=front.pk).exists()


# --- dates loaded by psycopg's C loader (FastTzLoader) ------------------------------------------

_DATES = [
    "2026-11-20 12:00:00+00",
    "2026-11-20 12:00:00.123456+00",
    "2026-11-20 12:00:00.1+05:30",
    "1999-12-31 23:59:59.999999-08",
    "2026-03-29 01:30:00+01",
    "0001-01-02 00:00:00+00",
    "9999-12-30 23:59:59+00",
    "2024-02-29 06:07:08.000900-03:15",
]


def _loaded_both_ways(sql_time_zone: str | None) -> tuple[list, list]:
    """The dates as the project's loader and as Django's own load them, on the same connection."""
    from django.db.backends.postgresql.psycopg_any import register_tzloader

    connection.ensure_connection()
    select = "SELECT v::timestamptz FROM unnest(%s::text[]) v"
    with connection.cursor() as cursor:
        if sql_time_zone:
            cursor.execute(f"SET TIME ZONE '{sql_time_zone}'")
        cursor.execute(select, [_DATES])
        fast = [row[0] for row in cursor.fetchall()]
    raw = connection.connection.cursor()
    register_tzloader(connection.timezone, raw)
    raw.execute(select, [_DATES])
    django = [row[0] for row in raw.fetchall()]
    if sql_time_zone:
        with connection.cursor() as cursor:
            cursor.execute("SET TIME ZONE 'UTC'")
    return fast, django


@pytest.mark.parametrize("sql_time_zone", [None, "America/New_York", "Asia/Kolkata"])
def test_dates_load_as_djangos_loader_loads_them(postgresql, sql_time_zone):
    from config.postgresql.base import FastTzLoader

    connection.ensure_connection()
    loader = connection.connection.adapters.get_loader(connection.connection.adapters.types["timestamptz"].oid, 0)
    assert issubclass(loader, FastTzLoader) and loader.timezone == connection.timezone
    fast, django = _loaded_both_ways(sql_time_zone)
    assert fast == django
    assert [d.tzinfo for d in fast] == [d.tzinfo for d in django]
    assert [d.isoformat() for d in fast] == [d.isoformat() for d in django]


def test_a_model_read_gives_the_dates_it_saved(postgresql, user):
    from django.utils import timezone

    from cameras.models import Camera

    seen = timezone.now()
    camera = Camera.objects.create(owner=user, name="front", last_seen_at=seen)
    again = Camera.objects.get(pk=camera.pk)
    assert again.last_seen_at == seen and again.last_seen_at.utcoffset() == timedelta(0)
