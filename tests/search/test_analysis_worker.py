"""The analysis task for real: a Celery worker on Redis, and retries when storage is unreachable."""

from __future__ import annotations

import pytest
from celery.exceptions import Retry

from search.models import Event, ItemAnalysis
from search.tasks.analysis import MAX_RETRIES, analyze_content
from tests.conftest import wait_for
from tests.search.conftest import RED_RECT, scene_jpeg
from uploads.models import Content


def _done(pk: int) -> ItemAnalysis | None:
    return ItemAnalysis.objects.filter(pk=pk, status=ItemAnalysis.Status.DONE).first()


def test_a_worker_analyses_items_into_an_event(celery_worker, store_content, camera):
    def done(pk):
        try:
            return wait_for(lambda: _done(pk), timeout=60)
        except AssertionError:
            raise AssertionError(f"not analysed; worker said:\n{celery_worker.output()[-4000:]}") from None

    still = store_content(camera, scene_jpeg(), at=0)
    moved = store_content(camera, scene_jpeg([RED_RECT]), at=2)
    analyze_content.delay(still.pk)
    done(still.pk)
    analyze_content.delay(moved.pk)
    result = done(moved.pk)
    assert "_color_red" in result.labels and result.motion_boxes
    event = Event.objects.get(camera=camera)
    assert event.item_count == 2 and event.cover_id == moved.pk

    # A redelivered message changes nothing.
    analyze_content.delay(moved.pk)
    marker = store_content(camera, scene_jpeg(), at=100)
    analyze_content.delay(marker.pk)  # the worker runs tasks in order enough: wait for a later one
    done(marker.pk)
    again = ItemAnalysis.objects.get(pk=moved.pk)
    assert (again.analyzed_at, again.labels) == (result.analyzed_at, result.labels)
    assert "search.analyze_content" in celery_worker.output()


@pytest.mark.django_db
def test_unreachable_storage_is_retried_then_recorded_as_failed(unreachable_storage, camera):
    item = Content.objects.create(
        owner=camera.owner,
        camera=camera,
        kind="image",
        content_type="image/jpeg",
        storage_key="x/unreachable.jpg",
        size=10,
        sha256="0" * 64,
        captured_at="2026-11-20T12:00:00Z",
        width=640,
        height=360,
    )
    # An early attempt asks Celery to retry it later and records nothing.
    with pytest.raises(Retry):
        analyze_content.apply(args=(item.pk,), throw=True)
    assert not ItemAnalysis.objects.filter(pk=item.pk).exists()
    # The last allowed attempt gives up and says why, where the admin shows it.
    analyze_content.apply(args=(item.pk,), retries=MAX_RETRIES, throw=True)
    analysis = ItemAnalysis.objects.get(pk=item.pk)
    assert analysis.status == ItemAnalysis.Status.FAILED
    assert "unreachable.jpg" in analysis.error
    assert analysis.event is None


@pytest.mark.django_db
def test_a_missing_file_fails_at_once(camera):
    item = Content.objects.create(
        owner=camera.owner,
        camera=camera,
        kind="image",
        content_type="image/jpeg",
        storage_key="x/never-stored.jpg",
        size=10,
        sha256="1" * 64,
        captured_at="2026-11-20T12:00:00Z",
    )
    analyze_content.delay(item.pk)
    analysis = ItemAnalysis.objects.get(pk=item.pk)
    assert analysis.status == ItemAnalysis.Status.FAILED and "never-stored.jpg" in analysis.error


@pytest.mark.parametrize(("setting", "threads"), [(None, 1), ("3", 3)])
def test_a_worker_process_runs_opencv_on_the_threads_it_is_given(setting, threads):
    """Workers are processes, one per core: analysis runs OpenCV on one thread in each unless
    ``ANALYSIS_OPENCV_THREADS`` says otherwise (checked in a fresh process, as a worker starts)."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "ANALYSIS_OPENCV_THREADS"}
    if setting is not None:
        env["ANALYSIS_OPENCV_THREADS"] = setting
    code = "import django; django.setup(); import search.tasks, cv2; print(cv2.getNumThreads())"
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**env, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert out.stdout.split()[-1] == str(threads)
