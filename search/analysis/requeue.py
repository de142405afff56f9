"""Items stored without their analysis: handed to the analysis task again.

Ingest enqueues ``search.analyze_content`` after the upload commits. When the broker cannot be
reached at that moment (or the web process dies between the commit and the publish), the upload
stands but its message does not exist, and the item would stay out of every event, search and
hook. A periodic sweep finds such items (stored a while ago, no analysis row) and enqueues them
again: one message per run of a camera's items that one batch takes (``BATCH_SIZE`` items within
``BATCH_WINDOW``), as the task analyses the item with the camera's following ones. A message for
an item that is analysed meanwhile costs one query (the task is idempotent).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from config.tasks import enqueue_on_commit
from search.analysis.pipeline import BATCH_SIZE, BATCH_WINDOW
from uploads.models import Content

# Stored at least this long ago: the normal path (a queued message) has had its chance.
REQUEUE_GRACE = timedelta(minutes=10)
# Only items stored within this long are looked for (the index on created_at bounds the scan);
# older ones are queued from the content admin ("Queue analysis of the selected items").
REQUEUE_LOOKBACK = timedelta(hours=24)
# Items looked at per sweep (the oldest cameras' first; the next sweep goes on).
REQUEUE_MAX_ITEMS = 20_000


def batch_heads(items: list[tuple[int, int, datetime]]) -> list[int]:
    """The items (pk, camera id, captured at; sorted by camera, time, pk) that start a batch."""
    heads: list[int] = []
    camera, start, count = None, None, 0
    for pk, camera_id, captured_at in items:
        if camera_id != camera or captured_at >= start + BATCH_WINDOW or count >= BATCH_SIZE:
            heads.append(pk)
            camera, start, count = camera_id, captured_at, 0
        count += 1
    return heads


def content_unanalysed_requeue(*, now: datetime | None = None) -> int:
    """Enqueue the analysis of items stored between ``REQUEUE_LOOKBACK`` and ``REQUEUE_GRACE`` ago
    that have no analysis row; returns the messages sent."""
    now = now or timezone.now()
    items = list(
        Content.objects.filter(
            created_at__gte=now - REQUEUE_LOOKBACK,
            created_at__lt=now - REQUEUE_GRACE,
            analysis__isnull=True,
        )
        .order_by("camera_id", "captured_at", "pk")
        .values_list("pk", "camera_id", "captured_at")[:REQUEUE_MAX_ITEMS]
    )
    heads = batch_heads(items)
    for pk in heads:
        enqueue_on_commit("search.analyze_content", pk)
    return len(heads)
