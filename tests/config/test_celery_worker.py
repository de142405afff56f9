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
