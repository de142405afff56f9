"""Grouping analysed items into events: a camera's happenings, each a run of close items.

Rules
-----
- A camera's items closer in time than ``settings.EVENT_GAP_SECONDS`` belong to one event. An item
  spans ``[captured_at, captured_at + duration]`` (videos have a duration, stills none); it joins
  every event whose span comes closer than the gap, so an item arriving late that bridges two
  events merges them into the earlier one.
- Basis: items uploaded with ``upload_mode=video`` group into video-based events; all others into
  image-based events, which videos uploaded in image mode join (they back the images they overlap).
- Heartbeat stills belong to no event. Alternates (``options=alternate``) are attached to the event
  of the item they support (once that item is placed) and count neither as items nor as cover.
  ``no_analysis`` items each make an event of their own, which nothing else joins, at important
  motion (the uploader's own event; see ``search.analysis.pipeline._result_of``).
- An event keeps: ``earliest_date`` / ``latest_date`` (its items' span), ``labels`` (the sorted
  union of its items' labels, plus ``approaching`` / ``departing`` from the moving object's size
  over its items), ``EventLabel`` rows (the same labels, lower case), ``max_interest_level`` and
  ``max_interest_score``, ``cover`` (the most interesting item: highest level, then score, then the
  earliest), ``item_count``, ``has_video`` (a video among its items: what ``content_type=video``
  finds), and ``descriptor`` (the cover's, see ``search.analysis.descriptor``: 61 floats, a 4x4
  colour layout then the thirteen colour shares; compare with ``descriptor_distance``).

Concurrency: placing an item locks its camera row (``select_for_update``) for the short
transaction that reads and writes the camera's events, so two workers analysing items of one
camera one after the other never make two events where one belongs; different cameras do not
wait for each other. The slow part (decoding, motion) runs before, outside any transaction; a
camera or item deleted meanwhile (the deletes take the same lock) is found gone under the lock,
and nothing of it is placed.

Batches: ``items_place`` places a batch of one camera's analysed items (the analysis task's
backlog) in one transaction under one lock of the camera, and the events come out as ``item_place``
makes them one item after another in capture order: the camera's events around the batch are read
once and changed in memory item by item by the same rules, then written with one insert of the
new events, one update per touched event, one insert of the analyses and one label sync. Items the
in-memory path does not cover (merges, alternates, no_analysis items, re-analyses) go through
``item_place`` in the same transaction, after what came before them is written.

Hand-off: when an event is created, or its labels or its ``max_interest_level`` change, the event
id is handed to ``hooks.event_labels_changed`` after commit (for a batch, once per event that
changed in it, carrying the event as the batch left it).
"""

from __future__ import annotations

import json
import math
from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connections, router, transaction
from django.db.models import JSONField, QuerySet
from django.utils import timezone

from cameras.models import Camera
from config.postgresql.direct import copy_in
from config.tasks import enqueue_on_commit
from search.analysis.motion import direction_labels
from search.analysis.pipeline import FOLLOW_MARGIN, AnalysisResult, backlog_chain_key
from search.models import Event, EventLabel, ItemAnalysis
from uploads.models import Content

__all__ = ["Placement", "event_reanalyse", "event_rebuild", "item_place", "items_place"]

HOOK_TASK = "hooks.event_labels_changed"
_FINISHED = (ItemAnalysis.Status.DONE, ItemAnalysis.Status.SKIPPED)
# Direction looks at the latest this many moving items of an event (bounded work per item).
DIRECTION_WINDOW = 30
DIRECTION_SECONDS = 60


def _span(content: Content) -> tuple[datetime, datetime]:
    end = content.captured_at
    if content.duration:
        end += timedelta(seconds=float(content.duration))
    return content.captured_at, end


def _basis(content: Content) -> str:
    return Event.Basis.VIDEO if content.upload_mode == "video" else Event.Basis.IMAGE


def _is_member(content: Content) -> bool:
    return not content.alternate_of_id and "alternate" not in (content.options or [])


def _hand_off(event: Event) -> None:
    # hooks owns the consumer; required=False: the service still works where hooks is not installed.
    # Nothing sweeps for an event whose hand-off was lost (its hooks would never fire): with the
    # broker down it runs here, after commit; the deliveries it writes are rows, which the hooks'
    # stuck-delivery sweep sends once the broker is back.
    enqueue_on_commit(HOOK_TASK, event.pk, required=False, if_unsent="inline")


def _labels_sync(event: Event) -> None:
    want = {label.lower()[:64] for label in event.labels}
    have = set(EventLabel.objects.filter(event=event).values_list("label", flat=True))
    if have - want:
        EventLabel.objects.filter(event=event, label__in=have - want).delete()
    if want - have:
        EventLabel.objects.bulk_create(
            [EventLabel(event=event, owner_id=event.owner_id, label=label) for label in sorted(want - have)],
            ignore_conflicts=True,
        )


def _direction(event: Event, around: datetime | None = None) -> list[str]:
    """Direction labels from the latest ``DIRECTION_WINDOW`` moving items of ``event`` (those
    within ``DIRECTION_SECONDS`` of ``around`` when given: a range on the content's time index,
    so the work per item stays bounded however long the event grows)."""
    items = ItemAnalysis.objects.filter(event=event, status=ItemAnalysis.Status.DONE)
    if around is not None:
        window = timedelta(seconds=DIRECTION_SECONDS)
        items = items.filter(
            content__camera_id=event.camera_id,
            content__captured_at__gte=around - window,
            content__captured_at__lte=around + window,
        )
    rows = list(
        items.exclude(motion_boxes=[])
        .order_by("-content__captured_at")
        .values_list("motion_boxes", flat=True)[:DIRECTION_WINDOW]
    )
    areas = [max(b["w"] * b["h"] for b in boxes) for boxes in reversed(rows) if boxes]
    return direction_labels(areas)


def _more_interesting(a: ItemAnalysis, level: int, score: float) -> bool:
    return (a.interest_level, a.interest_score) > (level, score)


def event_rebuild(event: Event) -> bool:
    """Recompute everything an event keeps from its items; delete it if none is left.

    Returns whether the event's labels or max level changed (or it was deleted).
    """
    items = list(
        ItemAnalysis.objects.filter(event=event)
        .select_related("content")
        .order_by("content__captured_at", "content_id")
    )
    members = [a for a in items if _is_member(a.content)]
    if not members:
        # Alternates of nothing left: detach them, then the event goes.
        ItemAnalysis.objects.filter(event=event).update(event=None)
        event.delete()
        return True
    before = (list(event.labels), event.max_interest_level)
    spans = [_span(a.content) for a in members]
    event.earliest_date = min(s for s, _ in spans)
    event.latest_date = max(e for _, e in spans)
    labels: set[str] = set()
    for a in members:
        labels.update(a.labels)
    labels.update(_direction(event))
    event.labels = sorted(labels)
    best = members[0]
    for a in members[1:]:
        if _more_interesting(a, best.interest_level, best.interest_score):
            best = a
    event.cover_id = best.content_id
    event.max_interest_level = best.interest_level
    event.max_interest_score = best.interest_score
    event.descriptor = best.descriptor
    event.item_count = len(members)
    event.has_video = any(a.content.kind == Content.Kind.VIDEO for a in members)
    event.save()
    _labels_sync(event)
    return before != (event.labels, event.max_interest_level)


def _event_fold(
    event: Event, analysis: ItemAnalysis, content: Content, *, created: bool, directions: Callable[[], Iterable[str]]
) -> tuple[list[str], int | None]:
    """Fold one new item into ``event`` in memory: dates, count, labels (``directions()`` is asked
    only when the item moved), cover. Returns the labels and level the event had before."""
    before = (list(event.labels), event.max_interest_level)
    start, end = _span(content)
    # A late item earlier than every item so far, as interesting as the cover, takes it: the
    # cover is the earliest of the most interesting (as event_rebuild picks it).
    first_of_ties = (
        not created
        and start < event.earliest_date
        and (analysis.interest_level, analysis.interest_score) == (event.max_interest_level, event.max_interest_score)
    )
    if created:
        event.earliest_date, event.latest_date = start, end
    else:
        event.earliest_date = min(event.earliest_date, start)
        event.latest_date = max(event.latest_date, end)
    event.item_count = (event.item_count or 0) + 1
    if content.kind == Content.Kind.VIDEO:
        event.has_video = True
    labels = set(event.labels) | set(analysis.labels)
    if analysis.motion_boxes:
        # Direction labels, once earned, stay (a later window may not show the same movement).
        labels.update(directions())
    event.labels = sorted(labels)
    if (
        event.cover_id is None
        or first_of_ties
        or _more_interesting(analysis, event.max_interest_level, event.max_interest_score)
    ):
        event.cover_id = content.pk
        event.max_interest_level = analysis.interest_level
        event.max_interest_score = analysis.interest_score
        event.descriptor = analysis.descriptor
    return before


def _event_add(event: Event, analysis: ItemAnalysis, content: Content, *, created: bool) -> bool:
    """Fold one new item into ``event`` without reading all its items. Returns: labels/level changed."""
    before = _event_fold(
        event, analysis, content, created=created, directions=lambda: _direction(event, around=content.captured_at)
    )
    event.save()
    labels_changed = created or before[0] != event.labels
    if labels_changed:
        _labels_sync(event)
    return labels_changed or before[1] != event.max_interest_level


def _candidates(content: Content) -> list[Event]:
    gap = timedelta(seconds=settings.EVENT_GAP_SECONDS)
    start, end = _span(content)
    found = list(
        Event.objects.filter(
            camera_id=content.camera_id,
            basis=_basis(content),
            earliest_date__lt=end + gap,
            latest_date__gt=start - gap,
        ).order_by("earliest_date", "pk")
    )
    own = _own_events(found)
    return [e for e in found if e.pk not in own] if own else found


def _own_events(events: Iterable[Event]) -> set[int]:
    """Those of ``events`` that are a no_analysis item's own: nothing joins them.

    Such an event has one item (alternates count for nothing), so only single-item events need a
    look: a few rows, not the items of a long event. An alternate uploaded with ``no_analysis``
    is still an alternate: the event it supports stays open.
    """
    singles = [e.pk for e in events if e.item_count == 1]
    if not singles:
        return set()
    rows = ItemAnalysis.objects.filter(event_id__in=singles, content__alternate_of__isnull=True).values_list(
        "event_id", "content__options"
    )
    return {
        event_id
        for event_id, options in rows
        if "no_analysis" in (options or []) and "alternate" not in (options or [])
    }


def _new_event(content: Content) -> Event:
    start, end = _span(content)
    return Event.objects.create(
        owner_id=content.owner_id,
        camera_id=content.camera_id,
        basis=_basis(content),
        earliest_date=start,
        latest_date=end,
    )


def _supported_event(content: Content) -> Event | None:
    """The event an alternate supports: its item's, else the camera's event around its time."""
    if content.alternate_of_id:
        return Event.objects.filter(items__content_id=content.alternate_of_id).first()
    gap = timedelta(seconds=settings.EVENT_GAP_SECONDS)
    return (
        Event.objects.filter(
            camera_id=content.camera_id,
            earliest_date__lt=content.captured_at + gap,
            latest_date__gt=content.captured_at - gap,
        )
        .order_by("earliest_date")
        .first()
    )


def item_place(*, content: Content, kind: str, result: AnalysisResult, force: bool = False) -> ItemAnalysis | None:
    """Store an item's analysis and put it in its event (creating, extending or merging events).

    ``kind`` is ``search.analysis.pipeline.item_kind(content)``. Without ``force`` an item already
    done or skipped is left as it is (a concurrent or repeated run found it first). None when the
    item (or its camera) was deleted while it was analysed: nothing is placed.
    """
    changed: dict[int, Event] = {}
    with transaction.atomic():
        # Serialises the placing of one camera's items (see the module docstring); deleting the
        # camera or the item takes this lock too.
        if Camera.objects.select_for_update().filter(pk=content.camera_id).values_list("pk").first() is None:
            return None
        # Under the camera's lock no other run can insert this item's row (or delete it) meanwhile.
        stored = Content.objects.select_related("analysis").filter(pk=content.pk).first()
        if stored is None:
            return None
        analysis = getattr(stored, "analysis", None)
        is_new = analysis is None
        if is_new:
            analysis = ItemAnalysis(content=content)
        elif not force and analysis.status in _FINISHED:
            return analysis
        old_event_id = analysis.event_id
        for name in ("status", "interest_score", "interest_level", "labels", "motion_boxes", "descriptor", "error"):
            setattr(analysis, name, getattr(result, name))
        analysis.analyzed_at = timezone.now()

        event: Event | None = None
        rebuild = force
        created = False
        if kind == "alternate":
            event = _supported_event(content)
            rebuild = False  # alternates change nothing an event keeps
        elif kind == "own":
            event = Event.objects.filter(pk=old_event_id).first() if old_event_id else None
            if event is None:
                event, created = _new_event(content), True
        elif kind == "motion" and result.status != ItemAnalysis.Status.FAILED:
            found = _candidates(content)
            if not found:
                event, created = _new_event(content), True
            else:
                event = found[0]
                for other in found[1:]:
                    # The item bridges two events: they become one (the earlier survives).
                    ItemAnalysis.objects.filter(event=other).update(event=event)
                    other.delete()
                    rebuild = True
        analysis.event = event
        analysis.save(force_insert=is_new)

        if event is not None and kind != "alternate":
            # Alternates that arrived before the item they support.
            ItemAnalysis.objects.filter(content__alternate_of=content).update(event=event)
            if rebuild or (not created and old_event_id == event.pk):
                if event_rebuild(event):
                    changed[event.pk] = event
            elif _event_add(event, analysis, content, created=created):
                changed[event.pk] = event
        if old_event_id and (event is None or old_event_id != event.pk):
            previous = Event.objects.filter(pk=old_event_id).first()
            if previous is not None and event_rebuild(previous) and Event.objects.filter(pk=old_event_id).exists():
                changed[previous.pk] = previous
        for e in changed.values():
            _hand_off(e)
    return analysis


@dataclass
class Placement:
    """One analysed item to place: its row, how it takes part in events (``item_kind``), and what
    the analysis found."""

    content: Content
    kind: str
    result: AnalysisResult


@dataclass(eq=False)
class _OpenEvent:
    """An event of the batch's window as the batch changes it (written once, by ``flush``)."""

    event: Event
    created: bool = False
    own: bool = False  # a no_analysis item's event: nothing joins it
    dirty: bool = False
    labels_changed: bool = False
    hand_off: bool = False
    # (captured_at, content id, main box area) of its done items with motion near the batch, in
    # that order: what ``_direction`` would read from the database.
    moving: list[tuple[datetime, int, float]] = field(default_factory=list)


class _BatchBook:
    """The camera's events around a batch of items, read in a few queries, changed in memory item
    by item exactly as ``item_place`` changes them in the database (for a plain motion item: join
    the one event within the gap or start one; the cover, labels, direction and counts as
    ``_event_add``), and written by ``flush``: new events in one insert, one update per touched
    event, the analyses in one insert, one label sync. Anything else (merges, alternates,
    no_analysis items, re-analyses) goes through ``item_place`` after a flush."""

    def __init__(self, placements: Sequence[Placement]):
        self.placements = placements
        self.open: list[_OpenEvent] | None = None  # loaded on first need
        self.rows: list[ItemAnalysis] = []
        self.supported: list[tuple[int, _OpenEvent]] = []  # (content id, its event): alternates attach

    def _load(self) -> list[_OpenEvent]:
        gap = timedelta(seconds=settings.EVENT_GAP_SECONDS)
        spans = [_span(p.content) for p in self.placements]
        camera_id = self.placements[0].content.camera_id
        events = list(
            Event.objects.filter(
                camera_id=camera_id,
                earliest_date__lt=max(e for _, e in spans) + gap,
                latest_date__gt=min(s for s, _ in spans) - gap,
            )
        )
        own = _own_events(events)
        self.open = [_OpenEvent(event=e, own=e.pk in own) for e in events]
        if events and any(p.result.motion_boxes for p in self.placements):
            window = timedelta(seconds=DIRECTION_SECONDS)
            times = [p.content.captured_at for p in self.placements]
            by_pk = {o.event.pk: o for o in self.open}
            rows = (
                ItemAnalysis.objects.filter(
                    event_id__in=list(by_pk),
                    status=ItemAnalysis.Status.DONE,
                    content__camera_id=camera_id,
                    content__captured_at__gte=min(times) - window,
                    content__captured_at__lte=max(times) + window,
                )
                .exclude(motion_boxes=[])
                .values_list("event_id", "content__captured_at", "content_id", "motion_boxes")
            )
            for event_id, captured_at, content_id, boxes in rows:
                if boxes:
                    by_pk[event_id].moving.append((captured_at, content_id, _main_area(boxes)))
            for o in self.open:
                o.moving.sort()
        return self.open

    def candidates(self, content: Content) -> list[_OpenEvent]:
        """The events ``content`` joins (``_candidates``, on the in-memory state)."""
        gap = timedelta(seconds=settings.EVENT_GAP_SECONDS)
        start, end = _span(content)
        basis = _basis(content)
        return [
            o
            for o in (self.open if self.open is not None else self._load())
            if not o.own
            and o.event.basis == basis
            and o.event.earliest_date < end + gap
            and o.event.latest_date > start - gap
        ]

    def _direction(self, item: _OpenEvent, around: datetime) -> list[str]:
        window = timedelta(seconds=DIRECTION_SECONDS)
        # ``moving`` is sorted: the items within the window are a slice, the latest its tail.
        lo = bisect_left(item.moving, (around - window,))
        hi = bisect_right(item.moving, (around + window, math.inf))
        near = item.moving[max(lo, hi - DIRECTION_WINDOW) : hi]
        return direction_labels([area for _, _, area in near])

    def add(self, analysis: ItemAnalysis, item: _OpenEvent | None = None, *, created: bool = False) -> None:
        """Queue ``analysis`` for insertion and, with ``item``, fold it into that event (``created``:
        the event is new, for this item)."""
        self.rows.append(analysis)
        if item is None:
            return
        content, event = analysis.content, item.event
        analysis.event = event
        self.supported.append((content.pk, item))

        def directions() -> list[str]:
            # The batch's own moving items stand in for _direction's query.
            if analysis.status == ItemAnalysis.Status.DONE:
                insort(item.moving, (content.captured_at, content.pk, _main_area(analysis.motion_boxes)))
            return self._direction(item, content.captured_at)

        before = _event_fold(event, analysis, content, created=created, directions=directions)
        labels_changed = created or before[0] != event.labels
        item.dirty = True
        item.labels_changed |= labels_changed
        item.hand_off |= labels_changed or before[1] != event.max_interest_level

    def new_event(self, content: Content) -> _OpenEvent:
        start, end = _span(content)
        event = Event(
            owner_id=content.owner_id,
            camera_id=content.camera_id,
            basis=_basis(content),
            earliest_date=start,
            latest_date=end,
        )
        item = _OpenEvent(event=event, created=True)
        assert self.open is not None  # candidates() loaded it
        self.open.append(item)
        return item

    def flush(self) -> None:
        """Write what the batch changed (inside the caller's transaction)."""
        touched = [o for o in self.open or [] if o.dirty]
        created = [o.event for o in touched if o.created]
        if created:
            Event.objects.bulk_create(created)
        for o in touched:
            if not o.created:
                o.event.save(update_fields=_EVENT_FIELDS)
        if self.rows:
            analyses_insert(self.rows)
        if self.supported:
            # Alternates that arrived before the item they support.
            event_of = {content_id: o.event for content_id, o in self.supported}
            early = ItemAnalysis.objects.filter(content__alternate_of_id__in=list(event_of)).values_list(
                "pk", "content__alternate_of_id"
            )
            by_event: dict[int, list[int]] = {}
            for pk, supported_id in early:
                by_event.setdefault(event_of[supported_id].pk, []).append(pk)
            for event_id, pks in by_event.items():
                ItemAnalysis.objects.filter(pk__in=pks).update(event_id=event_id)
        _labels_sync_many([o.event for o in touched if o.labels_changed], new={e.pk for e in created})
        for o in touched:
            if o.hand_off:
                _hand_off(o.event)
        self.open, self.rows, self.supported = None, [], []


def analyses_insert(rows: list[ItemAnalysis]) -> None:
    """Insert new analyses (a batch's), as ``bulk_create`` would. On PostgreSQL by ``COPY``:
    ``bulk_create`` spent most of its ~0.15 ms per row compiling the statement and quoting every
    JSON value into it on the client; ``COPY`` sends the same values for ~0.05 ms per row."""
    conn = connections[router.db_for_write(ItemAnalysis)]
    if conn.vendor != "postgresql" or not rows:
        ItemAnalysis.objects.bulk_create(rows)
        return
    fields = ItemAnalysis._meta.concrete_fields

    def prep(field):  # JSON as text, the jsonb column's input (Django's own adapter costs 3x)
        if isinstance(field, JSONField):
            return lambda value: None if value is None else json.dumps(value, cls=field.encoder)
        return lambda value: field.get_db_prep_save(value, conn)

    preps = [(f, prep(f)) for f in fields]
    for row in rows:  # as bulk_create: a new event saved since it was assigned lends its id now
        row._prepare_related_fields_for_save(operation_name="bulk_create")
    values = ([p(f.pre_save(row, True)) for f, p in preps] for row in rows)
    copy_in(conn, ItemAnalysis._meta.db_table, [f.column for f in fields], values)
    for row in rows:  # what bulk_create leaves on saved instances
        row._state.adding, row._state.db = False, conn.alias


_EVENT_FIELDS = [
    "earliest_date",
    "latest_date",
    "labels",
    "cover",
    "max_interest_level",
    "max_interest_score",
    "descriptor",
    "descriptor_f64",  # derived from descriptor when saved (search.models.events.PackedDescriptorField)
    "item_count",
    "has_video",
    "updated_at",
]


def _main_area(boxes: list[dict]) -> float:
    return max(b["w"] * b["h"] for b in boxes)


def _labels_sync_many(events: list[Event], *, new: set[int]) -> None:
    """``_labels_sync`` for several events at once (``new``: ids of events with no label rows yet)."""
    if not events:
        return
    have: dict[int, set[str]] = {e.pk: set() for e in events}
    old = [e.pk for e in events if e.pk not in new]
    if old:
        for event_id, label in EventLabel.objects.filter(event_id__in=old).values_list("event_id", "label"):
            have[event_id].add(label)
    missing: list[EventLabel] = []
    for event in events:
        want, got = {label.lower()[:64] for label in event.labels}, have[event.pk]
        if got - want:
            EventLabel.objects.filter(event=event, label__in=got - want).delete()
        missing += [EventLabel(event=event, owner_id=event.owner_id, label=label) for label in sorted(want - got)]
    if missing:
        EventLabel.objects.bulk_create(missing, ignore_conflicts=True)


def items_place(*, placements: Sequence[Placement]) -> list[ItemAnalysis]:
    """Place a batch of one camera's analysed items in their events, in one transaction under one
    lock of the camera, with the events coming out as ``item_place`` makes them one item after
    another in capture order. Returns the items' analyses in capture order.

    An item already done or skipped is left as it is (a concurrent or repeated run placed it).
    Items deleted while the batch was analysed (or with their camera) are left out: they have no
    analysis to return, and the others are placed all the same.
    """
    if not placements:
        return []
    placements = sorted(placements, key=lambda p: (p.content.captured_at, p.content.pk))
    camera_id = placements[0].content.camera_id
    if any(p.content.camera_id != camera_id for p in placements):
        raise ValueError("a batch holds the items of one camera")
    placed: dict[int, ItemAnalysis] = {}
    with transaction.atomic():
        # Serialises the placing of one camera's items (see the module docstring). Deleting the
        # camera or its items takes this lock too: what is found here stays until the commit.
        if Camera.objects.select_for_update().filter(pk=camera_id).values_list("pk").first() is None:
            return []  # the camera was deleted, and its items with it
        status_of = dict(
            Content.objects.filter(pk__in=[p.content.pk for p in placements]).values_list("pk", "analysis__status")
        )
        placements = [p for p in placements if p.content.pk in status_of]
        if not placements:
            return []
        finished = [pk for pk, status in status_of.items() if status in _FINISHED]
        existing = {a.pk: a for a in ItemAnalysis.objects.filter(pk__in=finished)} if finished else {}
        book = _BatchBook(placements)
        now = timezone.now()
        for p in placements:
            content, result = p.content, p.result
            if content.pk in existing:
                placed[content.pk] = existing[content.pk]
                continue
            analysed = status_of[content.pk] is not None
            joins: list[_OpenEvent] = []
            if not analysed and p.kind == "motion" and result.status != ItemAnalysis.Status.FAILED:
                joins = book.candidates(content)
            if analysed or p.kind not in ("heartbeat", "motion") or len(joins) > 1:
                # Re-analysis of a failed item, alternates, no_analysis items, merges: the
                # item-by-item path, on the database as written so far.
                book.flush()
                analysis = item_place(content=content, kind=p.kind, result=result)
                assert analysis is not None  # found above, under the lock still held
                placed[content.pk] = analysis
                continue
            analysis = ItemAnalysis(content=content, analyzed_at=now)
            for name in ("status", "interest_score", "interest_level", "labels", "motion_boxes", "descriptor", "error"):
                setattr(analysis, name, getattr(result, name))
            placed[content.pk] = analysis
            if p.kind == "heartbeat" or result.status == ItemAnalysis.Status.FAILED:
                book.add(analysis)
            elif joins:
                book.add(analysis, joins[0])
            else:
                book.add(analysis, book.new_event(content), created=True)
        book.flush()
    return [placed[p.content.pk] for p in placements]


def event_reanalyse(event: Event) -> int:
    """Analyse every item of ``event`` again (the admin action). Returns the number of items."""
    from search.analysis import content_analyze

    ids = list(
        ItemAnalysis.objects.filter(event=event).order_by("content__captured_at").values_list("content_id", flat=True)
    )
    for content_id in ids:
        content_analyze(content_id=content_id, force=True)
    return len(ids)


def analyses_delete(*, analyses: QuerySet[ItemAnalysis]) -> int:
    """Analyse items again from the start: their analyses go, their events are rebuilt without
    them at once (item count, labels, cover), and the items are queued for analysis after commit
    (placed in an event again), so search never loses them. Returns how many.

    One message per camera, not per item (a bulk delete of thousands would flood the queue): it
    starts a chain of the camera's backlog (``search.analyze_content``) looking back to the
    earliest stored of the camera's items, so every one of them is analysed again in capture order.
    It is sent even while an upload's chain holds the camera: that chain looks back only to its
    own start, and the two share the camera's lease."""
    with transaction.atomic():
        rows = list(
            analyses.values_list(
                "content_id", "event_id", "content__camera_id", "content__created_at", "content__captured_at"
            )
        )
        ItemAnalysis.objects.filter(pk__in=[row[0] for row in rows]).delete()
        events_rebuild(event_ids=[row[1] for row in rows if row[1] is not None])
        chains: dict[int, tuple[datetime, int, datetime]] = {}
        for content_id, _event, camera_id, created_at, captured_at in rows:
            first_captured, first_id, earliest_created = chains.get(camera_id, (captured_at, content_id, created_at))
            if (captured_at, content_id) < (first_captured, first_id):
                first_captured, first_id = captured_at, content_id
            chains[camera_id] = (first_captured, first_id, min(earliest_created, created_at))
        for camera_id, (_captured, first_id, earliest_created) in sorted(chains.items()):
            enqueue_on_commit(
                "search.analyze_content",
                first_id,
                coalesced=backlog_chain_key(camera_id),
                since=(earliest_created - FOLLOW_MARGIN).timestamp(),
                if_unsent="log",
                backstop="search.requeue_unanalysed (recent items), the content admin's queue action",
            )
    return len(rows)


def events_rebuild(*, event_ids: Iterable[int]) -> int:
    """Rebuild events whose items were deleted (``event_rebuild``: gone when none is left), each
    under its camera's lock like any placement; hands off those whose labels or level changed.
    Returns how many were rebuilt (events already gone are skipped)."""
    done = 0
    for pk in sorted(set(event_ids)):
        with transaction.atomic():
            camera_id = Event.objects.filter(pk=pk).values_list("camera_id", flat=True).first()
            if camera_id is None:
                continue
            Camera.objects.select_for_update().filter(pk=camera_id).values_list("pk").first()
            event = Event.objects.filter(pk=pk).first()
            if event is None:
                continue
            changed = event_rebuild(event)
            if changed and event.pk is not None:
                _hand_off(event)
            done += 1
    return done
