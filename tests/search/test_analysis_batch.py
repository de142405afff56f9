"""The analysis task takes a camera's backlog as one batch: same results as item by item, a few
queries per batch, one lease per camera, and every item still analysed exactly once."""

from __future__ import annotations

import threading
import time

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cameras.models import Zone
from cameras.services import camera_for_upload
from config.celery import app
from search.analysis import TransientAnalysisError, content_analyze, content_backlog_analyze
from search.analysis.pipeline import BATCH_SIZE, _lease_key
from search.models import Event, EventLabel, ItemAnalysis
from search.tasks.analysis import analyze_content
from tests.conftest import wait_for
from tests.search.conftest import person_jpeg, scene_jpeg

RED = (0.40, 0.35, 0.10, 0.30, "red")


@pytest.fixture(autouse=True)
def _gap(settings):
    settings.EVENT_GAP_SECONDS = 30


def _driveway(camera) -> None:
    points = [{"x": 0.35, "y": 0.3}, {"x": 0.6, "y": 0.3}, {"x": 0.6, "y": 0.7}, {"x": 0.35, "y": 0.7}]
    Zone.objects.create(camera=camera, name="driveway", polygons=[{"points": points}])


def _growing(size: float, colour: str = "blue") -> bytes:
    return scene_jpeg([(0.4, 0.3, size, size * 1.5, colour)])


# (seconds, bytes, extra fields): quiet, an object approaching then leaving, a person, a small
# thing, a heartbeat in the middle, a no_analysis item (its own event), and after a gap a second
# event with motion in the zone.
SCENES = [
    (0, scene_jpeg(), {}),
    (2, _growing(0.06), {}),
    (4, _growing(0.12), {}),
    (6, _growing(0.24), {}),
    (7, scene_jpeg(), {"img_type": "h"}),
    (8, _growing(0.12), {}),
    (10, person_jpeg(x=0.5, height=0.7, bottom=0.97), {}),
    (12, scene_jpeg([(0.1, 0.1, 0.04, 0.06, "blue")]), {}),
    (13, scene_jpeg([RED]), {"options": ["no_analysis"]}),
    (14, scene_jpeg(), {}),
    (60, scene_jpeg(), {}),
    (62, scene_jpeg([RED]), {}),
    (64, scene_jpeg([RED]), {}),
    (66, _growing(0.06, "green"), {}),
]


def _store_all(store_content, camera, scenes) -> list:
    return [store_content(camera, data, at=seconds, **fields) for seconds, data, fields in scenes]


def _outcome(items) -> tuple[list, list]:
    """Every item's analysis and every event of their camera, with items named by position."""
    position = {item.pk: i for i, item in enumerate(items)}
    analyses = {a.pk: a for a in ItemAnalysis.objects.filter(pk__in=list(position))}
    events = list(Event.objects.filter(camera_id=items[0].camera_id).order_by("earliest_date", "pk"))
    event_position = {e.pk: i for i, e in enumerate(events)}
    rows = []
    for item in items:
        a = analyses.get(item.pk)
        rows.append(
            None
            if a is None
            else (
                a.status,
                a.interest_level,
                a.interest_score,
                a.labels,
                a.motion_boxes,
                a.descriptor,
                event_position.get(a.event_id),
            )
        )
    described = [
        (
            e.basis,
            e.earliest_date,
            e.latest_date,
            e.labels,
            e.max_interest_level,
            e.max_interest_score,
            position.get(e.cover_id),
            e.item_count,
            e.descriptor,
            sorted(EventLabel.objects.filter(event=e).values_list("label", flat=True)),
        )
        for e in events
    ]
    return rows, described


@pytest.mark.django_db
def test_a_backlog_analysed_by_one_task_comes_out_as_item_by_item(store_content, user):
    one_by_one, batched = camera_for_upload(owner=user, name="one"), camera_for_upload(owner=user, name="batch")
    _driveway(one_by_one)
    _driveway(batched)
    singles = _store_all(store_content, one_by_one, SCENES)
    for item in singles:
        content_analyze(content_id=item.pk)
    backlog = _store_all(store_content, batched, SCENES)

    with CaptureQueriesContext(connection) as ctx:
        analyze_content.delay(backlog[0].pk)  # one message: the whole backlog

    expected, got = _outcome(singles), _outcome(backlog)
    assert got == expected
    rows, events = got
    assert all(row is not None for row in rows)
    labels = set(events[0][3])
    assert {"approaching", "departing", "people"} <= labels
    assert len(events) == 3  # the first happening, the no_analysis item's own, the second one
    assert "driveway" in events[2][3]
    # The batch: loading, placing and the items that take the item-by-item path (the
    # no_analysis one), not a dozen queries per item.
    assert len(ctx.captured_queries) <= 36, "\n".join(q["sql"][:100] for q in ctx.captured_queries)


@pytest.mark.django_db
def test_a_late_item_in_a_backlog_still_merges_the_events_it_bridges(store_content, user):
    def run(name: str, *, batch: bool):
        camera = camera_for_upload(owner=user, name=name)
        placed = [
            store_content(camera, scene_jpeg(), at=0),
            store_content(camera, scene_jpeg([RED]), at=5),
            store_content(camera, scene_jpeg([(0.1, 0.1, 0.1, 0.2, "blue")]), at=50),
        ]
        for item in placed:
            content_analyze(content_id=item.pk)
        late = [store_content(camera, scene_jpeg([RED]), at=28), store_content(camera, scene_jpeg([RED]), at=52)]
        if batch:
            content_backlog_analyze(content_id=late[0].pk)
        else:
            for item in late:
                content_analyze(content_id=item.pk)
        return placed + late

    expected, got = _outcome(run("one", batch=False)), _outcome(run("batch", batch=True))
    assert got == expected
    assert len(got[1]) == 1 and got[1][0][7] == 5  # one event of five items


@pytest.mark.django_db
def test_a_backlog_costs_the_same_queries_whatever_its_length(store_content, camera):
    for item in _store_all(store_content, camera, [(0, scene_jpeg(), {}), (2, scene_jpeg([RED]), {})]):
        content_analyze(content_id=item.pk)

    def queries_for(seconds) -> list[str]:
        items = _store_all(store_content, camera, [(s, scene_jpeg([RED] if s % 4 else []), {}) for s in seconds])
        with CaptureQueriesContext(connection) as ctx:
            content_backlog_analyze(content_id=items[0].pk)
        assert ItemAnalysis.objects.filter(pk__in=[i.pk for i in items], status="done").count() == len(items)
        return [q["sql"][:60] for q in ctx.captured_queries]

    short = queries_for(range(4, 10, 2))
    long = queries_for(range(10, 70, 2))
    assert Event.objects.count() == 1 and Event.objects.get().item_count == 35
    assert len(long) == len(short) <= 16, "\n".join([*short, "----", *long])


@pytest.mark.django_db
def test_the_messages_of_batched_items_find_them_done_with_one_query(store_content, camera):
    items = _store_all(store_content, camera, SCENES[:6])
    content_backlog_analyze(content_id=items[0].pk)
    before = {a.pk: a.analyzed_at for a in ItemAnalysis.objects.all()}
    for item in items[1:]:
        with CaptureQueriesContext(connection) as ctx:
            outcome = content_backlog_analyze(content_id=item.pk)
        assert outcome.done and len(ctx.captured_queries) <= 1
    assert {a.pk: a.analyzed_at for a in ItemAnalysis.objects.all()} == before


@pytest.mark.django_db
def test_a_batch_is_at_most_batch_size_items_from_the_task_item_on(store_content, camera, settings):
    earlier = store_content(camera, scene_jpeg(), at=-5)
    items = [store_content(camera, scene_jpeg([RED] if i % 2 else []), at=i) for i in range(BATCH_SIZE + 3)]
    content_backlog_analyze(content_id=items[0].pk)
    analysed = set(ItemAnalysis.objects.values_list("pk", flat=True))
    assert analysed == {item.pk for item in items[:BATCH_SIZE]}  # not the earlier one, not the rest
    assert earlier.pk not in analysed


@pytest.mark.django_db
def test_a_batch_that_has_run_its_time_leaves_the_rest_to_the_chain(store_content, camera, monkeypatch):
    # Videos take seconds each: a batch stops after BATCH_SECONDS (here at once, after one item)
    # and names the next item, which the chain's next message takes; the results are as ever.
    from search.analysis import pipeline

    items = _store_all(store_content, camera, SCENES[:4])
    monkeypatch.setattr(pipeline, "BATCH_SECONDS", 0.0)
    outcome = content_backlog_analyze(content_id=items[0].pk, follow=0.0)
    assert set(ItemAnalysis.objects.values_list("pk", flat=True)) == {items[0].pk}
    assert outcome.next_id == items[1].pk
    messages = 1
    while outcome.next_id is not None:
        outcome = content_backlog_analyze(content_id=outcome.next_id, follow=0.0)
        messages += 1
    assert messages == 4
    assert ItemAnalysis.objects.filter(status=ItemAnalysis.Status.DONE).count() == 4
    assert "approaching" in Event.objects.get().labels


class HookRecorder:
    """Stands in for the hooks app's task (another app's consumer): records what it is sent."""

    def __init__(self):
        self.sent: list[tuple] = []

    def apply_async(self, args=(), kwargs=None, **options):
        self.sent.append(tuple(args))


@pytest.mark.django_db
def test_hooks_hear_once_per_batch_of_each_event_it_made_or_changed(
    store_content, camera, monkeypatch, django_capture_on_commit_callbacks
):
    hooks = HookRecorder()
    monkeypatch.setitem(app.tasks, "hooks.event_labels_changed", hooks)
    first = store_content(camera, scene_jpeg(), at=0)
    with django_capture_on_commit_callbacks(execute=True):
        content_analyze(content_id=first.pk)
    assert len(hooks.sent) == 1
    items = _store_all(store_content, camera, [(2, scene_jpeg([RED]), {}), (4, scene_jpeg([RED]), {})])
    items += _store_all(store_content, camera, [(100, scene_jpeg(), {}), (102, scene_jpeg([RED]), {})])
    with django_capture_on_commit_callbacks(execute=True):
        content_backlog_analyze(content_id=items[0].pk)
    events = list(Event.objects.order_by("earliest_date").values_list("pk", flat=True))
    assert len(events) == 2
    # The first event gained a colour and a level (once, for the batch), the second is new.
    assert sorted(hooks.sent[1:]) == sorted([(events[0],), (events[1],)])
    with django_capture_on_commit_callbacks(execute=True):
        content_backlog_analyze(content_id=store_content(camera, scene_jpeg([RED]), at=104).pk)
    assert len(hooks.sent) == 3  # nothing new about the second event


@pytest.mark.django_db
def test_a_camera_another_worker_is_batching_is_left_to_it(store_content, camera):
    items = _store_all(store_content, camera, SCENES[:4])
    cache.add(_lease_key(camera.pk), "another worker", 60)
    outcome = content_backlog_analyze(content_id=items[0].pk, worker=True)
    assert outcome.deferred and outcome.analysis is None
    assert not ItemAnalysis.objects.exists()
    # Where nothing could run the item later (tasks in-process), it is analysed alone.
    alone = content_backlog_analyze(content_id=items[1].pk)
    assert alone.analysis.status == "done"
    assert set(ItemAnalysis.objects.values_list("pk", flat=True)) == {items[1].pk}
    cache.delete(_lease_key(camera.pk))
    content_backlog_analyze(content_id=items[0].pk)
    assert ItemAnalysis.objects.count() == 4


@pytest.mark.django_db
def test_a_transient_storage_error_in_a_batch_leaves_the_rest_to_their_own_tasks(store_content, camera):
    items = _store_all(store_content, camera, SCENES[:5])
    broken = items[2]
    # A path the filesystem refuses (name too long): an OSError, which may pass (transient).
    broken.storage_key = f"test/{'x' * 300}.jpg"
    broken.save(update_fields=["storage_key"])
    content_backlog_analyze(content_id=items[0].pk)
    assert set(ItemAnalysis.objects.values_list("pk", flat=True)) == {items[0].pk, items[1].pk}
    with pytest.raises(TransientAnalysisError):
        content_backlog_analyze(content_id=broken.pk)
    assert ItemAnalysis.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_overlapping_batches_of_one_camera_place_every_item_once(store_content, user):
    camera = camera_for_upload(owner=user, name="busy")
    items = [store_content(camera, scene_jpeg([RED] if i % 2 else []), at=i * 3) for i in range(12)]
    errors: list[BaseException] = []

    def work(chunk):
        try:
            for item in chunk:
                # In-process: a run that cannot get the lease analyses its item alone, so batches
                # and single items of one camera overlap.
                content_backlog_analyze(content_id=item.pk)
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
    assert event.item_count == 12
    assert ItemAnalysis.objects.filter(event=event).count() == 12
    assert set(EventLabel.objects.filter(event=event).values_list("label", flat=True)) == {
        label.lower() for label in event.labels
    }


def test_a_worker_waits_out_another_workers_lease_then_analyses_the_queued_backlog(
    celery_worker, redis_url, store_content, user
):
    from django.core.cache.backends.redis import RedisCache

    camera = camera_for_upload(owner=user, name="queued")
    items = _store_all(store_content, camera, SCENES[:8])
    pks = [item.pk for item in items]
    worker_cache = RedisCache(redis_url, {})  # the worker's cache (CACHE_URL is the broker's Redis)
    worker_cache.add(_lease_key(camera.pk), "another worker", 60)
    for pk in pks:
        analyze_content.delay(pk)
    time.sleep(3)  # meanwhile each message comes back every second: the camera is taken
    assert not ItemAnalysis.objects.filter(pk__in=pks).exists()
    worker_cache.delete(_lease_key(camera.pk))
    try:
        wait_for(lambda: ItemAnalysis.objects.filter(pk__in=pks).count() == len(pks), timeout=60)
    except AssertionError:
        raise AssertionError(f"not analysed; worker said:\n{celery_worker.output()[-4000:]}") from None
    assert set(ItemAnalysis.objects.filter(pk__in=pks).values_list("status", flat=True)) == {"done", "skipped"}
    event = Event.objects.get(camera=camera)
    assert event.item_count == 7  # the heartbeat belongs to no event
    assert {"approaching", "departing"} <= set(event.labels)


@pytest.mark.django_db
def test_a_batch_s_analyses_are_inserted_whole_and_a_clash_is_an_integrity_error(store_content, camera):
    """The batch's insert of analyses (COPY on PostgreSQL, bulk_create elsewhere) writes every
    field as the ORM would, and an item analysed meanwhile makes it fail as bulk_create does."""
    from django.db import IntegrityError, transaction
    from django.utils import timezone

    from search.events import analyses_insert

    items = _store_all(store_content, camera, [(0, scene_jpeg(), {}), (2, scene_jpeg(), {})])
    event = Event.objects.create(
        owner=camera.owner, camera=camera, earliest_date=items[0].captured_at, latest_date=items[1].captured_at
    )
    at = timezone.now()
    rows = [
        ItemAnalysis(
            content=items[0],
            event=event,
            status="done",
            interest_score=0.25,
            interest_level=2,
            labels=["_color_red", "people"],
            motion_boxes=[{"x": 0.1, "y": 0.2, "w": 0.3, "h": 0.4}],
            descriptor=[0.5, 1e-9, 3.0],
            error="",
            analyzed_at=at,
        ),
        ItemAnalysis(content=items[1], status="failed", error='it\'s "broken"\tand\\or\nworse'),
    ]
    with CaptureQueriesContext(connection) as ctx:
        analyses_insert(rows)
    assert len(ctx.captured_queries) == 1
    stored = {a.pk: a for a in ItemAnalysis.objects.all()}
    first, second = stored[items[0].pk], stored[items[1].pk]
    assert (first.event_id, first.status, first.interest_score, first.interest_level) == (event.pk, "done", 0.25, 2)
    assert (first.labels, first.motion_boxes, first.descriptor) == (
        rows[0].labels,
        rows[0].motion_boxes,
        [0.5, 1e-9, 3.0],
    )
    assert first.analyzed_at == at
    assert (second.event_id, second.status, second.error, second.labels) == (None, "failed", rows[1].error, [])
    assert second.analyzed_at is None

    with pytest.raises(IntegrityError), transaction.atomic():
        analyses_insert([ItemAnalysis(content=items[0], status="done")])
    assert ItemAnalysis.objects.get(pk=items[0].pk).labels == ["_color_red", "people"]
