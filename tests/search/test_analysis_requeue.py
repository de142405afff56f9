"""Items stored while the broker was unreachable are analysed anyway: the upload stands (201), and
the periodic sweep (``search.requeue_unanalysed``) queues their analysis once the broker is back."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from accounts.selectors import account_settings_get
from search.analysis.pipeline import BATCH_SIZE
from search.analysis.requeue import REQUEUE_GRACE, REQUEUE_LOOKBACK, batch_heads, content_unanalysed_requeue
from search.models import Event, ItemAnalysis
from tests.search.conftest import RED_RECT, scene_jpeg
from uploads.models import Content

pytestmark = pytest.mark.django_db

T = timezone.now().replace(microsecond=0)


def _at(seconds: float):
    return T + timedelta(seconds=seconds)


def test_one_message_per_batch_a_task_would_take():
    items = [(1, 7, _at(0)), (2, 7, _at(5)), (3, 7, _at(700)), (4, 8, _at(1)), (5, 8, _at(2))]
    assert batch_heads(items) == [1, 3, 4]  # a new camera, or past the 10-minute window: a new batch
    many = [(pk, 9, _at(pk)) for pk in range(1, 451)]
    assert batch_heads(many) == [1, 1 + BATCH_SIZE, 1 + 2 * BATCH_SIZE]  # at most BATCH_SIZE items a batch
    assert batch_heads([]) == []


def _upload(client, user, name: str, body: bytes):
    token = account_settings_get(user=user).upload_token
    path = f"/api/users/{token}/cameras/front/content/{name}?camera_id=1"
    return client.generic("PUT", path, body, content_type="image/jpeg")


def _age(seconds: float) -> None:
    Content.objects.update(created_at=timezone.now() - timedelta(seconds=seconds))


@pytest.mark.django_db(transaction=True)  # the upload really commits, then really fails to publish
def test_uploads_made_while_the_broker_is_down_are_analysed_by_the_sweep(anon, user, broker_down, settings):
    from config.celery import app

    names = ["2026-11-30T10:00:00.000Z.jpg", "2026-11-30T10:00:02.000Z.jpg"]
    for name, body in zip(names, [scene_jpeg(), scene_jpeg([RED_RECT])], strict=True):
        started = time.monotonic()
        response = _upload(anon, user, name, body)
        assert response.status_code == 201, response.content  # stored: the camera must not resend
        assert time.monotonic() - started < 3  # not stalled by publish retries
    assert Content.objects.count() == 2 and not ItemAnalysis.objects.exists()  # no message went out

    assert content_unanalysed_requeue() == 0  # too recent: their messages may still be queued
    _age(REQUEUE_GRACE.total_seconds() + 60)

    # The broker is back (here: tasks run in-process, as a worker would run them).
    app.conf.task_always_eager = True
    assert content_unanalysed_requeue() == 1  # both in one batch: one message
    done = ItemAnalysis.objects.filter(status=ItemAnalysis.Status.DONE)
    assert done.count() == 2
    event = Event.objects.get()
    assert event.item_count == 2 and "_color_red" in event.labels
    assert content_unanalysed_requeue() == 0  # nothing left: no message


def test_analysed_recent_and_old_items_are_left_alone(store_content, camera, django_capture_on_commit_callbacks):
    analysed = store_content(camera, scene_jpeg(), at=0)
    with django_capture_on_commit_callbacks(execute=True):
        assert content_unanalysed_requeue(now=timezone.now() + REQUEUE_GRACE * 2) == 1  # analysed (eager)
    assert ItemAnalysis.objects.filter(pk=analysed.pk).exists()
    old = store_content(camera, scene_jpeg(), at=60)
    Content.objects.filter(pk=old.pk).update(created_at=timezone.now() - REQUEUE_LOOKBACK - timedelta(hours=1))
    fresh = store_content(camera, scene_jpeg(), at=120)
    with django_capture_on_commit_callbacks(execute=True) as sent:
        assert content_unanalysed_requeue() == 0
    assert not sent and not ItemAnalysis.objects.filter(pk__in=[old.pk, fresh.pk]).exists()


def test_the_sweep_runs_on_beat():
    entry = django_settings.CELERY_BEAT_SCHEDULE["search.requeue_unanalysed"]
    assert entry["task"] == "search.requeue_unanalysed" and entry["schedule"] <= 600
    from config.celery import app

    app.loader.import_default_modules()
    assert "search.requeue_unanalysed" in app.tasks
