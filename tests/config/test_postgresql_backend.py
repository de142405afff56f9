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
