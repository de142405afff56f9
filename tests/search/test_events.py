"""Grouping items into events: the gap, late arrivals, merging, video basis, accounts, hand-off."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection

from cameras.services import camera_for_upload
from config.celery import app
from search.analysis import content_analyze
from search.events import event_reanalyse
from search.models import Event, EventLabel, ItemAnalysis
from tests.search.conftest import T0, scene_jpeg, scene_mp4

RED = (0.40, 0.35, 0.10, 0.30, "red")
BLUE = (0.10, 0.10, 0.10, 0.20, "blue")


@pytest.fixture(autouse=True)
def _gap(settings):
    settings.EVENT_GAP_SECONDS = 30


def place(store_content, camera, seconds: float, rects=(), **fields) -> ItemAnalysis:
    return content_analyze(content_id=store_content(camera, scene_jpeg(list(rects)), at=seconds, **fields).pk)


@pytest.mark.django_db
def test_items_closer_than_the_gap_are_one_event(store_content, camera):
    a, b, c = (place(store_content, camera, s, [RED] if s else []) for s in (0, 10, 39))
    assert a.event_id == b.event_id == c.event_id
    event = Event.objects.get()
    assert (event.earliest_date, event.latest_date) == (T0, T0 + timedelta(seconds=39))
    assert event.item_count == 3
    assert event.owner_id == camera.owner_id and event.camera_id == camera.pk


@pytest.mark.django_db
def test_an_item_a_gap_or_more_after_starts_a_new_event(store_content, camera):
    first = place(store_content, camera, 0)
    later = place(store_content, camera, 30)  # exactly the gap: not closer than it
    assert later.event_id != first.event_id
    assert Event.objects.filter(camera=camera).count() == 2


@pytest.mark.django_db
def test_a_late_item_extends_its_event_backwards(store_content, camera):
    late = place(store_content, camera, 20, [RED])
    early = place(store_content, camera, 0)
    assert early.event_id == late.event_id
    event = Event.objects.get()
    assert event.earliest_date == T0 and event.latest_date == T0 + timedelta(seconds=20)
    assert event.item_count == 2


@pytest.mark.django_db
def test_a_late_item_bridging_two_events_merges_them(store_content, camera):
    place(store_content, camera, 0)
    left = place(store_content, camera, 5, [RED])
    right = place(store_content, camera, 50, [BLUE])
    assert left.event_id != right.event_id
    bridge = place(store_content, camera, 28, [RED])
    event = Event.objects.get()  # one left
    assert bridge.event_id == event.pk == left.event_id
    assert event.item_count == 4
    assert (event.earliest_date, event.latest_date) == (T0, T0 + timedelta(seconds=50))
    assert {"_color_red", "_color_blue"} <= set(event.labels)
    assert set(EventLabel.objects.filter(event=event).values_list("label", flat=True)) == set(event.labels)
    assert set(ItemAnalysis.objects.values_list("event_id", flat=True)) == {event.pk}


@pytest.mark.django_db
def test_each_camera_and_each_account_has_its_own_events(store_content, camera, other_user):
    theirs = camera_for_upload(owner=other_user, name="front")  # same camera name, other account
    back = camera_for_upload(owner=camera.owner, name="back")
    mine = place(store_content, camera, 0, [RED])
    other = place(store_content, theirs, 1, [RED])
    side = place(store_content, back, 2, [RED])
    assert len({mine.event_id, other.event_id, side.event_id}) == 3
    assert Event.objects.get(pk=other.event_id).owner_id == other_user.pk
    assert set(EventLabel.objects.filter(event_id=other.event_id).values_list("owner_id", flat=True)) <= {other_user.pk}
    assert Event.objects.filter(owner=camera.owner).count() == 2
    assert Event.objects.filter(owner=other_user).count() == 1


@pytest.mark.django_db
def test_video_mode_makes_video_based_events(store_content, camera):
    clip = scene_mp4([[], [], [RED], [RED], [RED]])
    video = store_content(camera, clip, at=0, kind="video", content_type="video/mp4", duration=1.0, upload_mode="video")
    analysis = content_analyze(content_id=video.pk)
    assert analysis.status == ItemAnalysis.Status.DONE
    assert analysis.motion_boxes and "_color_red" in analysis.labels
    still = place(store_content, camera, 2)
    event = Event.objects.get(pk=analysis.event_id)
    assert event.basis == Event.Basis.VIDEO and event.cover_id == video.pk
    assert still.event_id != event.pk  # images of image mode do not join a video-based event


@pytest.mark.django_db
def test_a_video_in_image_mode_backs_the_image_event_it_overlaps(store_content, camera):
    image = place(store_content, camera, 0, [RED])
    clip = scene_mp4([[RED], [RED], [BLUE], [BLUE]])
    video = store_content(camera, clip, at=-2, kind="video", content_type="video/mp4", duration=40.0)
    backing = content_analyze(content_id=video.pk)
    assert backing.event_id == image.event_id
    event = Event.objects.get(pk=image.event_id)
    assert event.basis == Event.Basis.IMAGE
    assert event.latest_date == T0 + timedelta(seconds=38)  # the video's end
    assert event.item_count == 2


class HookRecorder:
    """Stands in for the hooks app's task (another app's consumer): records what it is sent."""

    def __init__(self):
        self.sent: list[tuple] = []

    def apply_async(self, args=(), kwargs=None, **options):
        self.sent.append(tuple(args))


@pytest.mark.django_db
def test_new_events_and_label_or_level_changes_are_handed_to_hooks(
    store_content, camera, monkeypatch, django_capture_on_commit_callbacks
):
    hooks = HookRecorder()
    monkeypatch.setitem(app.tasks, "hooks.event_labels_changed", hooks)
    with django_capture_on_commit_callbacks(execute=True):
        first = place(store_content, camera, 0)
    assert hooks.sent == [(first.event_id,)]  # created
    with django_capture_on_commit_callbacks(execute=True):
        place(store_content, camera, 2)  # nothing new
    assert len(hooks.sent) == 1
    with django_capture_on_commit_callbacks(execute=True):
        place(store_content, camera, 4, [RED])  # colour label, higher level
    assert hooks.sent[-1] == (first.event_id,) and len(hooks.sent) == 2
    with django_capture_on_commit_callbacks(execute=True):
        place(store_content, camera, 6, [RED])  # same red thing again: nothing changes
    assert len(hooks.sent) == 2


@pytest.mark.django_db
def test_reanalysing_an_event_keeps_it_whole(store_content, camera):
    items = [place(store_content, camera, s, [RED] if s else []) for s in (0, 5, 10)]
    event = Event.objects.get()
    assert event_reanalyse(event) == 3
    event.refresh_from_db()
    assert event.item_count == 3 and Event.objects.count() == 1
    assert set(ItemAnalysis.objects.values_list("event_id", flat=True)) == {event.pk}
    assert items[1].labels == ItemAnalysis.objects.get(pk=items[1].pk).labels


@pytest.mark.django_db(transaction=True)
def test_concurrent_analysis_of_one_camera_makes_one_event(store_content, user):
    camera = camera_for_upload(owner=user, name="busy")
    items = [store_content(camera, scene_jpeg([RED] if i % 2 else []), at=i * 3) for i in range(8)]
    errors: list[BaseException] = []

    def work(chunk):
        try:
            for item in chunk:
                content_analyze(content_id=item.pk)
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(items[i::3],)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    event = Event.objects.get(camera=camera)
    assert event.item_count == 8
    assert ItemAnalysis.objects.filter(event=event).count() == 8


@pytest.mark.django_db
def test_placing_an_item_costs_the_same_queries_in_a_long_event(store_content, camera):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries_for(seconds: float, rects) -> int:
        item = store_content(camera, scene_jpeg(rects), at=seconds)
        with CaptureQueriesContext(connection) as ctx:
            content_analyze(content_id=item.pk)
        return [q["sql"][:60] for q in ctx.captured_queries]

    for s in range(3):
        place(store_content, camera, s, [RED] if s else [])
    early = queries_for(3, [RED])
    for s in range(4, 60):
        place(store_content, camera, s, [RED] if s % 3 else [BLUE])
    late = queries_for(60, [BLUE])  # moves against the previous frame (red): direction is looked at
    assert Event.objects.get().item_count == 61
    assert len(late) == len(early) <= 14, "\n".join([*early, "----", *late])
