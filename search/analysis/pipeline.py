"""One item's analysis, end to end: frames → motion → labels → interest → its event.

Which reference frame: motion is measured against the camera's latest *quiet* frame before the
item — a heartbeat still, or an item whose analysis found no motion — when there is one among the
last ``REFERENCE_LOOKBACK`` items and it is under ``BACKGROUND_MAX_AGE`` old; the moving region is
then the object itself in the current frame, which is what the colour, the zones and the direction
(its apparent size over the event) need. Otherwise (a busy scene, or a lighting change against the
old background) the reference is simply the previous frame. A camera's first item has no reference:
it is analysed as still (no motion, level ``ANY``) and becomes the next items' background.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np

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
    "TransientAnalysisError",
    "content_analysis_failed",
    "content_analyze",
    "item_kind",
]

logger = logging.getLogger(__name__)

REFERENCE_LOOKBACK = 10
BACKGROUND_MAX_AGE = timedelta(minutes=15)


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


def _reference_items(content: Content) -> tuple[Content | None, Content | None]:
    """(the latest quiet item usable as background, the immediately previous item)."""
    recent = list(
        Content.objects.filter(
            camera_id=content.camera_id,
            captured_at__lt=content.captured_at,
            alternate_of__isnull=True,
        )
        .exclude(options__icontains="alternate")
        .select_related("analysis")
        # What choosing and reading a reference needs; not the analyses' descriptors and labels.
        .only(
            "public_id",
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
        .order_by("-captured_at")[:REFERENCE_LOOKBACK]
    )
    previous = recent[0] if recent else None
    background = None
    for item in recent:
        if content.captured_at - item.captured_at > BACKGROUND_MAX_AGE:
            break
        analysis = getattr(item, "analysis", None)
        quiet = analysis is not None and analysis.status == ItemAnalysis.Status.DONE and not analysis.motion_boxes
        if item.img_type == Content.ImgType.HEARTBEAT or quiet:
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


def _analyse(content: Content) -> AnalysisResult:
    # An image's bytes are read once: the work frame and, for people, the larger frame come from them.
    data = storage_read(content.storage_key) if content.kind == Content.Kind.IMAGE else None
    frames = content_work_frames(content, data=data)
    if not frames:
        return AnalysisResult(error="no frames could be read from this video")
    h, w = frames[0].shape[:2]
    positive, negative = camera_zone_masks(list(content.camera.zones.all()), w, h)
    background_item, previous_item = _reference_items(content)
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


def content_analyze(*, content_id: int, force: bool = False) -> ItemAnalysis | None:
    """Analyse one item and place it in its event; None if the item no longer exists.

    Idempotent: an item already analysed (done or skipped) is returned as it is, unless ``force``
    (the admin's re-analyse), which analyses again and regroups. Raises ``TransientAnalysisError``
    when storage cannot be read right now (the task retries); undecodable bytes are recorded as a
    failed analysis instead.
    """
    from search.events import item_place  # events imports this module's result type

    content = Content.objects.select_related("camera", "analysis").filter(pk=content_id).first()
    if content is None:
        return None
    existing = getattr(content, "analysis", None)
    if (
        not force
        and existing is not None
        and existing.status in (ItemAnalysis.Status.DONE, ItemAnalysis.Status.SKIPPED)
    ):
        return existing
    kind = item_kind(content)
    if kind in ("heartbeat", "alternate", "own"):
        result = AnalysisResult(status=ItemAnalysis.Status.SKIPPED)
    else:
        try:
            result = _analyse(content)
        except UnreadableContentError as exc:
            logger.info("content %s cannot be analysed: %s", content_id, exc)
            result = AnalysisResult(status=ItemAnalysis.Status.FAILED, error=str(exc)[:1000])
    return item_place(content=content, kind=kind, result=result, force=force)


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
