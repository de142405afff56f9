"""A real Celery worker on Redis runs a task through the broker, retry included."""

import pytest
from django.contrib.auth import get_user_model

from tests.conftest import wait_for

pytestmark = pytest.mark.worker


def test_task_runs_on_a_real_worker_and_retries(celery_worker, redis_url):
    from tests.celery_tasks import flaky_create_user

    flaky_create_user.delay(redis_url, "made-by-worker")
    wait_for(lambda: get_user_model().objects.filter(username="made-by-worker").exists(), timeout=20)
    import redis

    assert int(redis.Redis.from_url(redis_url).get("attempts:made-by-worker")) == 2
    assert "Retry in" in celery_worker.output()  # the retry was published by the worker itself
    assert "config.broker:Transport" in celery_worker.output()  # on the project's Redis transport


def test_settings_make_tasks_at_least_once():
    from config.celery import app

    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.worker_prefetch_multiplier == 1


def _run_one_by_one(redis_url: str, key: str, times: int) -> list[tuple[str, str]]:
    """Runs the recording task ``times`` times, each after the previous one finished."""
    import redis

    from tests.celery_tasks import record_database_connection

    client = redis.Redis.from_url(redis_url)
    start = client.llen(key)
    for i in range(times):
        record_database_connection.delay(redis_url, key)
        wait_for(lambda i=i: client.llen(key) == start + i + 1, timeout=20)
    return [tuple(raw.decode().split(":")) for raw in client.lrange(key, start, -1)]


def test_a_worker_keeps_its_database_connection_between_tasks(celery_worker, redis_url):
    # 12 tasks on 4 threads: some thread runs several, and each thread keeps one connection
    # (Celery's Django fixup would open a new one for every task).
    runs = _run_one_by_one(redis_url, "connections", 12)
    by_thread: dict[str, set[str]] = {}
    for thread, conn in runs:
        by_thread.setdefault(thread, set()).add(conn)
    assert max(sum(1 for t, _ in runs if t == thread) for thread in by_thread) >= 2
    assert all(len(conns) == 1 for conns in by_thread.values()), runs


def test_a_worker_replaces_a_broken_database_connection_before_its_next_task(postgresql, celery_worker, redis_url):
    from django.db import connection

    before = {conn for _, conn in _run_one_by_one(redis_url, "connections", 8)}
    with connection.cursor() as cursor:  # as a database restart would
        for pid in before:
            cursor.execute("SELECT pg_terminate_backend(%s)", [int(pid)])
    # Every task still runs (the health check drops the dead connection first), on new connections.
    after = {conn for _, conn in _run_one_by_one(redis_url, "connections", 8)}
    assert after and not (after & before)
