"""One item's analysis, end to end: frames → motion → labels → interest → its event.

Which reference frame: motion is measured against the camera's latest *quiet* frame before the
item — a heartbeat still, or an item whose analysis found no motion — when there is one among the
last ``REFERENCE_LOOKBACK`` items and it is under ``BACKGROUND_MAX_AGE`` old; the moving region is
then the object itself in the current frame, which is what the colour, the zones and the direction
(its apparent size over the event) need. Otherwise (a busy scene, or a lighting change against the
old background) the reference is simply the previous frame. A camera's first item has no reference:
it is analysed as still (no motion, level ``ANY``) and becomes the next items' background.

Batches: the task analyses its item together with the camera's items that follow it and are not
analysed yet (``content_backlog_analyze``, up to ``BATCH_SIZE``), in capture order, and places them
in their events in one transaction (``search.events.items_place``): a backlog costs a few queries
per batch instead of a dozen per item. The items, their references and the zones are read in a
few queries; each item's reference is chosen as above, the batch's own earlier results standing in
for analyses not yet written. Only one worker at a time batches a camera (a lease in the shared
cache); a task that finds the lease taken hands its item back to the queue for a moment, by which
time the lease holder has usually placed it. If two do analyse an item anyway (a lease that ran
out), the second placement finds it placed and leaves it: the work is idempotent.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from bisect import bisect_left
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Q

from cameras.models import Zone
from search.analysis import motion as motion_mod
from search.analysis.colour import colour_labels
from search.analysis.descriptor import frame_descriptor
from search.analysis.frames import (
    TransientAnalysisError,
    UnreadableContentError,
    content_full_frame,
    content_work_frames,
    storage_read,
)
from search.analysis.motion import Motion, direction_labels, motion_detect
from search.analysis.people import people_in_region, region_may_hold_a_person, region_reduction
from search.analysis.zones import camera_zone_masks, zone_labels
from search.models import InterestLevel, ItemAnalysis
from uploads.models import Content

__all__ = [
    "AnalysisResult",
    "BacklogOutcome",
    "TransientAnalysisError",
    "content_analysis_failed",
    "content_analyze",
    "content_backlog_analyze",
    "item_kind",
]

logger = logging.getLogger(__name__)

_FINISHED = (ItemAnalysis.Status.DONE, ItemAnalysis.Status.SKIPPED)

REFERENCE_LOOKBACK = 10
BACKGROUND_MAX_AGE = timedelta(minutes=15)
# A batch: the task's item and the camera's next unanalysed items, at most this many, captured
# within BATCH_WINDOW of it (which bounds the rows the batch query looks at). Each batch costs a
# dozen statements and its setup (~6 ms), and each item ~0.17 ms of placing and bookkeeping: 200
# stills spread the first over more items than 100 did (4-7 % more frames/s), 400 would add ~1 %.
BATCH_SIZE = 200
BATCH_WINDOW = timedelta(minutes=10)
# A batch stops taking items after this long (videos take up to seconds each): what is left goes
# on in the chain's next message (or the sweep's), well within the lease.
BATCH_SECONDS = 20.0
# Longer than a batch takes (200 stills: well under a second; a batch stops at BATCH_SECONDS); if
# a holder dies, the lease runs out and another worker takes the camera's items.
LEASE_SECONDS = 60
# The batch's history query reads this many rows more than the items and their lookback need,
# for analysed items captured among the batch's (late arrivals); short of it, an item's references
# are read on their own.
HISTORY_SLACK = 8


@dataclass
class AnalysisResult:
    """What the analysis of one item found (the fields of ``ItemAnalysis``)."""

    status: str = ItemAnalysis.Status.DONE
    interest_score: float = 0.0
    interest_level: int = InterestLevel.ANY
    labels: list[str] = field(default_factory=list)
    motion_boxes: list[dict] = field(default_factory=list)
    descriptor: list[float] = field(default_factory=list)
    error: str = ""


def item_kind(content: Content) -> str:
    """How an item takes part in events: heartbeat, alternate, own (no_analysis) or motion."""
    options = set(content.options or [])
    if content.img_type == Content.ImgType.HEARTBEAT:
        return "heartbeat"
    if content.alternate_of_id or "alternate" in options:
        return "alternate"
    if "no_analysis" in options:
        return "own"
    return "motion"


_REFERENCE_FIELDS = (
    # What choosing and reading a reference needs; not the analyses' descriptors and labels.
    "public_id",
    "camera_id",
    "kind",
    "storage_key",
    "poster_key",
    "rotation",
    "width",
    "img_type",
    "captured_at",
    "analysis__status",
    "analysis__motion_boxes",
)


def _earlier_items(camera_id: int):
    """The camera's items that can serve as references (no alternates), newest first."""
    return (
        Content.objects.filter(camera_id=camera_id, alternate_of__isnull=True)
        .exclude(options__icontains="alternate")
        .select_related("analysis")
        .only(*_REFERENCE_FIELDS)
        .order_by("-captured_at", "-pk")
    )


def _reference_eligible(item: Content) -> bool:
    """What ``_earlier_items`` asks of a row, asked of an item in memory (``options__icontains``
    matches the JSON text, which holds the options' words as they are)."""
    return item.alternate_of_id is None and "alternate" not in json.dumps(item.options or []).lower()


class _History:
    """The camera's items before the last of a batch (newest first): each item's references are
    chosen among them, the batch's own results (``results``) standing in for the analyses of its
    earlier items, which are written only when the batch is placed. The batch's items are taken
    from memory; one query reads the others (the lookback before the batch, and analysed items
    captured among the batch's: late arrivals)."""

    def __init__(self, items: list[Content]):
        last = items[-1]
        batch = {item.pk for item in items}
        self.limit = REFERENCE_LOOKBACK + (HISTORY_SLACK if len(items) > 1 else 0)
        others = _earlier_items(last.camera_id).filter(captured_at__lt=last.captured_at)
        if len(items) > 1:
            others = others.exclude(pk__in=batch)
        others = list(others[: self.limit])
        # Cut short: rows older than the last one read may be missing, so nothing older is used
        # (an item whose lookback reaches that far reads its references on its own).
        self.cut = len(others) >= self.limit
        floor = (others[-1].captured_at, others[-1].pk) if self.cut else None
        own = [
            item
            for item in items
            if item.captured_at < last.captured_at
            and _reference_eligible(item)
            and (floor is None or (item.captured_at, item.pk) > floor)
        ]
        self.rows = sorted([*others, *own], key=lambda item: (item.captured_at, item.pk), reverse=True)
        self._ascending = [item.captured_at for item in reversed(self.rows)]
        self.results: dict[int, AnalysisResult] = {}

    def _quiet(self, item: Content) -> bool:
        result = self.results.get(item.pk)
        if result is None:
            result = getattr(item, "analysis", None)
        return result is not None and result.status == ItemAnalysis.Status.DONE and not result.motion_boxes

    def references(self, content: Content) -> tuple[Content | None, Content | None]:
        """(the latest quiet item usable as background, the immediately previous item)."""
        # The rows are newest first: those captured before the item are a tail, found by bisection
        # (a batch asks for each of its items).
        start = len(self.rows) - bisect_left(self._ascending, content.captured_at)
        recent = self.rows[start : start + REFERENCE_LOOKBACK]
        if len(recent) < REFERENCE_LOOKBACK and self.cut:
            # The history was cut short before this item's lookback: read it on its own.
            recent = list(
                _earlier_items(content.camera_id).filter(captured_at__lt=content.captured_at)[:REFERENCE_LOOKBACK]
            )
        recent = recent[:REFERENCE_LOOKBACK]
        previous = recent[0] if recent else None
        background = None
        for item in recent:
            if content.captured_at - item.captured_at > BACKGROUND_MAX_AGE:
                break
            if item.img_type == Content.ImgType.HEARTBEAT or self._quiet(item):
                background = item
                break
        return background, previous


def _frames_of(item: Content | None) -> np.ndarray | None:
    if item is None:
        return None
    try:
        frames = content_work_frames(item)
    except UnreadableContentError:
        return None  # a broken earlier item is no reference; this item is still analysable
    return frames[-1] if frames else None


def _people_reduction(content: Content, box: dict) -> int:
    """The JPEG decode reduction for the people scan of an image (1 for video, PNG or unknown size)."""
    if content.kind != Content.Kind.IMAGE or content.content_type != "image/jpeg":
        return 1
    height = content.width if content.rotation in (90, 270) else content.height
    return region_reduction(box, height=height) if height else 1


def _analyse(content: Content, *, zones: list[Zone], history: _History) -> AnalysisResult:
    # An image's bytes are read once: the work frame and, for people, the larger frame come from them.
    data = storage_read(content.storage_key) if content.kind == Content.Kind.IMAGE else None
    frames = content_work_frames(content, data=data)
    if not frames:
        return AnalysisResult(error="no frames could be read from this video")
    h, w = frames[0].shape[:2]
    positive, negative = camera_zone_masks(zones, w, h)
    background_item, previous_item = history.references(content)
    background = _frames_of(background_item)
    previous = background if previous_item == background_item else _frames_of(previous_item)

    motions: list[Motion] = []
    zones: set[str] = set()
    for i, frame in enumerate(frames):
        last = frames[i - 1] if i else previous
        reference = background if background is not None else last
        if reference is None:
            motions.append(Motion())
            continue
        found = motion_detect(frame, reference, negative=negative)
        if found.global_change and last is not None and reference is not last:
            found = motion_detect(frame, last, negative=negative)
        motions.append(found)
        if found.boxes:
            zones.update(zone_labels(found.mask, positive))

    key = max(range(len(frames)), key=lambda i: motions[i].fraction)
    best = motions[key]
    labels = set(zones)
    people = False
    if best.boxes:
        labels.update(colour_labels(frames[key], best.mask))
        if best.fraction >= motion_mod.SIGNIFICANT_FRACTION and region_may_hold_a_person(
            best.boxes[0], width=w, height=h
        ):
            # Only tall regions are scanned: decide that before decoding more pixels, and decode
            # no more of them than the detector will look at.
            reduction = _people_reduction(content, best.boxes[0])
            full = content_full_frame(content, index=key, data=data, reduction=reduction)
            people = full is not None and people_in_region(full, best.boxes[0])
    if people:
        labels.add("people")
    # Within a video, the object's size over its frames gives a direction of its own.
    labels.update(direction_labels([m.main_area for m in motions if m.boxes]))

    if best.fraction >= motion_mod.IMPORTANT_FRACTION or people:
        level = InterestLevel.IMPORTANT
    elif best.fraction >= motion_mod.SIGNIFICANT_FRACTION:
        level = InterestLevel.SIGNIFICANT
    else:
        level = InterestLevel.ANY
    if level >= InterestLevel.SIGNIFICANT and (people or zones):
        level = InterestLevel.LABELED
    return AnalysisResult(
        interest_score=best.score,
        interest_level=level,
        labels=sorted(labels),
        motion_boxes=best.boxes,
        descriptor=frame_descriptor(frames[key]),
    )


def _result_of(content: Content, kind: str, *, zones: list[Zone], history: _History | None) -> AnalysisResult:
    if kind == "own":
        # no_analysis: the uploader says the item is an event ("accept uploaded video as-is as its
        # own Event"). Not analysed, it counts as important motion, so that the default search
        # (motion_type imo) shows it and hooks on its camera fire; with no labels it is never lmo.
        return AnalysisResult(status=ItemAnalysis.Status.SKIPPED, interest_level=InterestLevel.IMPORTANT)
    if kind != "motion" or history is None:
        return AnalysisResult(status=ItemAnalysis.Status.SKIPPED)
    try:
        return _analyse(content, zones=zones, history=history)
    except UnreadableContentError as exc:
        logger.info("content %s cannot be analysed: %s", content.pk, exc)
        return AnalysisResult(status=ItemAnalysis.Status.FAILED, error=str(exc)[:1000])


def _batch_analyse(items: list[Content]) -> list[ItemAnalysis]:
    """Analyse ``items`` (one camera's, the first being the one that must be done) in capture
    order and place them in one transaction. A transient storage error on the first raises; on a
    later one, or once the batch has run ``BATCH_SECONDS``, the items from there on are left for
    their own tasks (a chain's next message). Items deleted meanwhile have no analysis returned."""
    from search.events import Placement, items_place  # events imports this module's result type

    items = sorted(items, key=lambda c: (c.captured_at, c.pk))
    kinds = [item_kind(c) for c in items]
    zones: list[Zone] = []
    history: _History | None = None
    if "motion" in kinds:
        zones = list(Zone.objects.filter(camera_id=items[0].camera_id))
        history = _History(items)
    placements: list[Placement] = []
    deadline = time.monotonic() + BATCH_SECONDS
    for content, kind in zip(items, kinds, strict=True):
        if placements and time.monotonic() > deadline:
            break
        try:
            result = _result_of(content, kind, zones=zones, history=history)
        except TransientAnalysisError:
            if not placements:
                raise
            break  # its successors may need it as their reference: they wait for it
        if history is not None:
            history.results[content.pk] = result
        placements.append(Placement(content=content, kind=kind, result=result))
    return items_place(placements=placements)


def content_analyze(*, content_id: int, force: bool = False) -> ItemAnalysis | None:
    """Analyse one item and place it in its event; None if the item no longer exists.

    Idempotent: an item already analysed (done or skipped) is returned as it is, unless ``force``
    (the admin's re-analyse), which analyses again and regroups. Raises ``TransientAnalysisError``
    when storage cannot be read right now (the task retries); undecodable bytes are recorded as a
    failed analysis instead.
    """
    from search.events import item_place  # events imports this module's result type

    content = Content.objects.select_related("analysis").filter(pk=content_id).first()
    if content is None:
        return None
    existing = getattr(content, "analysis", None)
    if not force and existing is not None and existing.status in _FINISHED:
        return existing
    if not force:
        # Nothing placed: the item (or its camera) was deleted while it was analysed.
        return next(iter(_batch_analyse([content])), None)
    kind = item_kind(content)
    zones = list(Zone.objects.filter(camera_id=content.camera_id)) if kind == "motion" else []
    result = _result_of(content, kind, zones=zones, history=_History([content]))
    return item_place(content=content, kind=kind, result=result, force=True)


@dataclass
class BacklogOutcome:
    """What ``content_backlog_analyze`` did. ``done``: the item was found analysed already (its
    ``analysis`` is not read when an earlier batch placed it). Otherwise ``analysis`` is what this
    call made (None if the item no longer exists), or ``deferred``: another worker holds the
    camera's lease, and the item was left for it (ask again shortly)."""

    analysis: ItemAnalysis | None
    done: bool = False
    deferred: bool = False
    # With ``follow``: the camera's next item still to analyse after this batch, if any.
    next_id: int | None = None


class _PlacedHere:
    """The items whose analysis (done or skipped) this worker process committed, the latest
    ``size``: the messages of a batch's other items, which mostly reach the worker that ran the
    batch, then end without a query. Nothing deletes an analysis but its item's deletion, and ids
    are never reused (PostgreSQL sequences, SQLite AUTOINCREMENT), so an entry cannot go stale in
    a way that matters (a deleted item has nothing to analyse). Only tasks in a worker use it: a
    test database rolled back between tests does reuse ids."""

    def __init__(self, size: int = 10_000):
        self.size = size
        self.ids: OrderedDict[int, None] = OrderedDict()
        self.lock = threading.Lock()

    def __contains__(self, content_id: int) -> bool:
        return content_id in self.ids

    def add(self, content_ids: list[int]) -> None:
        with self.lock:
            self.ids.update(dict.fromkeys(content_ids))
            while len(self.ids) > self.size:
                self.ids.popitem(last=False)


_placed_here = _PlacedHere()


def _finished(content_id: int) -> bool:
    """Whether the item's analysis is done or skipped. Most messages of a backlog find their item
    placed by an earlier batch: this answers them with one statement, without the ORM (whose
    query building costs several times the round trip)."""
    with connection.cursor() as cursor:
        cursor.execute(_FINISHED_SQL, [content_id, *(status.value for status in _FINISHED)])
        return cursor.fetchone() is not None


_FINISHED_SQL = "SELECT 1 FROM search_itemanalysis WHERE content_id = %s AND status IN (%s, %s)"


def _lease_key(camera_id: int) -> str:
    return f"search:analysis-lease:{camera_id}"


# The lease only spares duplicate work (placing is safe without it): if the cache cannot be
# reached, analysis goes on as if the lease were ours rather than stop.
def _lease_take(key: str, token: str) -> bool:
    try:
        return cache.add(key, token, LEASE_SECONDS)
    except Exception:
        logger.warning("analysis lease %s: cache unavailable; analysing without it", key, exc_info=True)
        return True


def _lease_give_back(key: str, token: str) -> None:
    try:
        if cache.get(key) == token:  # not one taken over by another worker after ours ran out
            cache.delete(key)
    except Exception:
        logger.warning("analysis lease %s: cache unavailable; it runs out by itself", key, exc_info=True)


# How far before a chain's first item it looks for items stored without a message of their own
# (uploads committed while the camera's chain ran; concurrent inserts commit late).
FOLLOW_MARGIN = timedelta(minutes=5)


def backlog_since(content: Content) -> float:
    """Where a chain starting at ``content`` looks back to (a timestamp, to travel in messages)."""
    return (content.created_at - FOLLOW_MARGIN).timestamp()


def _backlog_next(camera_id: int, *, since: float, exclude: list[int]) -> int | None:
    """The camera's earliest item (by capture time) without analysis stored since ``since``: what
    a chain's task goes on with after its batch."""
    return (
        Content.objects.filter(
            camera_id=camera_id,
            analysis__isnull=True,
            created_at__gte=datetime.fromtimestamp(since, tz=UTC),
        )
        .exclude(pk__in=exclude)
        .order_by("captured_at", "pk")
        .values_list("pk", flat=True)
        .first()
    )


_CHAIN_KEY_PREFIX = "analysis:camera:"


def backlog_chain_key(camera_id: int) -> str:
    """The camera's coalescing key (``config.tasks``): held by the chain analysing its backlog.
    (Ingest writes the same key itself: uploads sits below search.)"""
    return f"{_CHAIN_KEY_PREFIX}{camera_id}"


def backlog_chain_camera(key: str) -> int | None:
    """The camera a chain's key names (None for a key of another shape)."""
    prefix, _, camera_id = key.rpartition(":")
    if prefix + ":" != _CHAIN_KEY_PREFIX or not camera_id.isdigit():
        return None
    return int(camera_id)


def content_backlog_since(*, content_id: int) -> float:
    """Where a chain starting at ``content_id`` looks back to.

    An item deleted before its message ran leaves no start to look back from, while the camera's
    uploads that found the chain's key held sent no message of their own, counting on this one:
    the chain then looks back as far as the requeue sweep does (which bounds the scan)."""
    content = Content.objects.filter(pk=content_id).only("created_at").first()
    if content is not None:
        return backlog_since(content)
    from search.analysis.requeue import REQUEUE_LOOKBACK  # requeue imports this module

    return (datetime.now(UTC) - REQUEUE_LOOKBACK).timestamp()


def content_backlog_next(*, content_id: int, since: float | None = None, camera_id: int | None = None) -> int | None:
    """The camera's next item to analyse in the chain of ``content_id`` (see
    ``content_backlog_analyze``'s ``follow``); ``since`` defaults to the chain starting here.
    With ``camera_id`` (the chain's camera, which its key names) and ``since``, the item itself is
    not needed: a chain whose item was deleted goes on with the camera's other items."""
    if camera_id is not None and since is not None:
        return _backlog_next(camera_id, since=since, exclude=[])
    content = Content.objects.filter(pk=content_id).first()
    if content is None:
        return None
    return _backlog_next(content.camera_id, since=since or backlog_since(content), exclude=[])


def content_backlog_analyze(
    *, content_id: int, worker: bool = False, limit: int = BATCH_SIZE, follow: float | None = None
) -> BacklogOutcome:
    """The analysis task's service: analyse the item and the camera's next unanalysed items (up
    to ``limit`` in all, captured within ``BATCH_WINDOW`` after it) as one batch, placed in one
    transaction.

    Idempotent like ``content_analyze``: an item already analysed is left as it is, and the batch
    leaves alone any item placed meanwhile. One process batches a camera at a time (a lease in the
    cache). When another holds it, the item is analysed alone, or, with ``worker`` (a Celery
    worker, which can run the item's message again later), the outcome is ``deferred`` and nothing
    is done. A worker also remembers the items it placed, so their own messages cost no query.

    ``follow`` (a chain's message, see the task: the timestamp the chain looks back to) also
    answers the camera's next item still to analyse after the batch (``next_id``), for the task to
    go on with: items beyond the batch's window or size, uploaded meanwhile, or captured earlier.
    """
    if follow is None and ((worker and content_id in _placed_here) or _finished(content_id)):
        return BacklogOutcome(None, done=True)
    content = Content.objects.select_related("analysis").filter(pk=content_id).first()
    if content is None:
        return BacklogOutcome(None)
    existing = getattr(content, "analysis", None)
    if existing is not None and existing.status in _FINISHED:
        next_id = None if follow is None else _backlog_next(content.camera_id, since=follow, exclude=[])
        return BacklogOutcome(existing, done=True, next_id=next_id)
    key, token = _lease_key(content.camera_id), secrets.token_hex(8)
    if not _lease_take(key, token):
        if worker:
            return BacklogOutcome(None, deferred=True)
        return BacklogOutcome(_batch_analyse([content])[0])
    try:
        after = Q(captured_at__gt=content.captured_at) | Q(captured_at=content.captured_at, pk__gt=content.pk)
        following = list(
            Content.objects.filter(
                after,
                camera_id=content.camera_id,
                analysis__isnull=True,
                captured_at__lt=content.captured_at + BATCH_WINDOW,
            ).order_by("captured_at", "pk")[: limit - 1]
        )
        analyses = _batch_analyse([content, *following])
    finally:
        _lease_give_back(key, token)
    if worker:
        finished = [a.pk for a in analyses if a.status in _FINISHED]
        transaction.on_commit(lambda: _placed_here.add(finished))
    batch = [a.pk for a in analyses]
    next_id = None if follow is None else _backlog_next(content.camera_id, since=follow, exclude=batch)
    # None: the item (or its camera) was deleted while the batch was analysed.
    return BacklogOutcome(next((a for a in analyses if a.pk == content.pk), None), next_id=next_id)


def content_analysis_failed(*, content_id: int, error: str) -> None:
    """Record that analysis gave up on an item (after the task's last retry).

    A result a concurrent run already stored (done or skipped) is never overwritten.
    """
    if not Content.objects.filter(pk=content_id).exists():
        return
    _, created = ItemAnalysis.objects.get_or_create(
        content_id=content_id, defaults={"status": ItemAnalysis.Status.FAILED, "error": error[:1000]}
    )
    if not created:
        ItemAnalysis.objects.filter(
            pk=content_id, status__in=[ItemAnalysis.Status.PENDING, ItemAnalysis.Status.FAILED]
        ).update(status=ItemAnalysis.Status.FAILED, error=error[:1000])
