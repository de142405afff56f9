"""Analysis tasks: each analyses its item with its camera's backlog as a batch.

Ingest enqueues ``search.analyze_content`` on commit (by name, see ``config.tasks``), coalesced per
camera: one message starts a chain that takes the camera's backlog batch after batch (see the
task). The analysis itself is the service's, which is idempotent (an item already analysed is left
as it is), so a redelivered message (acks_late), a sweep's message or a manual re-run changes
nothing; messages that name no chain (the sweep's, the admin's) analyse their item with the
items that follow it.
"""

from __future__ import annotations

import logging

from celery import shared_task

from config.tasks import coalesce_hold, coalesce_release, send_coalesced
from search.analysis import (
    TransientAnalysisError,
    content_analysis_failed,
    content_backlog_analyze,
    content_backlog_next,
    content_backlog_since,
)
from search.analysis.pipeline import backlog_chain_camera
from search.analysis.requeue import content_unanalysed_requeue

__all__ = ["analyze_content", "rebuild_events", "requeue_unanalysed"]

logger = logging.getLogger(__name__)

MAX_RETRIES = 4
# When another worker is batching the camera (its batch most likely holds this item), the item's
# message comes back after this long; by then it is usually done and the task ends at once.
DEFER_SECONDS = 1
# A chain holds its camera's key this long past its last message (a chain whose worker died lets
# go by then: the next upload starts another, the sweep queues what was left).
CHAIN_KEY_SECONDS = 300


@shared_task(bind=True, name="search.analyze_content", max_retries=MAX_RETRIES, acks_late=True)
def analyze_content(self, content_id: int, coalesced: str | None = None, since: float | None = None) -> None:
    """Analyse one content item (with its camera's backlog) and place it in its camera's event.

    ``coalesced`` (ingest's messages): the camera's key of pending analysis (``config.tasks``):
    while it is held, uploads of the camera send no message. The message starts a **chain** that
    holds the key: after each batch the task goes on with the camera's next item still to analyse
    (uploaded meanwhile, beyond the batch, or captured earlier: anything stored since ``since``)
    as the chain's next message, so the camera's items are analysed in capture order by one chain;
    when nothing is left it lets the key go and looks once more (an upload that found the key
    held just before must not be left without a message). The chain goes on from the camera its
    key names, so an item deleted before its message ran does not end it."""
    follow = None
    if coalesced is not None:
        follow = since if since is not None else content_backlog_since(content_id=content_id)
    try:
        # In-process (eager) runs cannot hand an item back for later: they analyse it at once.
        outcome = content_backlog_analyze(content_id=content_id, worker=not self.request.is_eager, follow=follow)
    except TransientAnalysisError as exc:
        if self.request.retries >= self.max_retries:
            # The final failure is recorded on the item, where the admin shows it.
            content_analysis_failed(content_id=content_id, error=str(exc))
            logger.warning("analysis of content %s failed for good: %s", content_id, exc)
            if coalesced is not None:  # the camera's other items go on
                camera_id = backlog_chain_camera(coalesced)
                next_id = content_backlog_next(content_id=content_id, since=follow, camera_id=camera_id)
                _chain_continue(content_id, next_id, coalesced, follow)
            return
        # Storage hiccups (S3 timeouts, a busy disk) pass; back off 2, 4, 8, 16 s.
        raise self.retry(exc=exc, countdown=2 ** (self.request.retries + 1)) from exc
    if outcome.deferred:
        # A new message, published before this one is acknowledged: the item is never dropped.
        if coalesced is not None:
            coalesce_hold(coalesced, CHAIN_KEY_SECONDS)
        analyze_content.apply_async((content_id,), {"coalesced": coalesced, "since": since}, countdown=DEFER_SECONDS)
    elif coalesced is not None:
        _chain_continue(content_id, outcome.next_id, coalesced, follow)


def _chain_continue(content_id: int, next_id: int | None, key: str, since: float) -> None:
    if next_id is not None:
        coalesce_hold(key, CHAIN_KEY_SECONDS)  # the chain still holds the camera
        analyze_content.apply_async((next_id,), {"coalesced": key, "since": since})
        return
    coalesce_release(key)
    # An upload committed after the last look found the key still held and sent nothing: look again
    # (by the key's camera: the item may be gone).
    camera_id = backlog_chain_camera(key)
    if (late := content_backlog_next(content_id=content_id, since=since, camera_id=camera_id)) is not None:
        send_coalesced(analyze_content, (late,), key=key, seconds=CHAIN_KEY_SECONDS, since=since)


@shared_task(name="search.requeue_unanalysed", ignore_result=True)
def requeue_unanalysed() -> None:
    """Periodic: items whose analysis message was never sent (broker down at upload) are queued."""
    sent = content_unanalysed_requeue()
    if sent:
        logger.warning("re-queued the analysis of %d batch(es) of items stored without it", sent)


@shared_task(name="search.rebuild_events", ignore_result=True)
def rebuild_events(event_ids: list[int]) -> int:
    """Events whose items were deleted: rebuilt from what is left, or removed (idempotent)."""
    from search.events import events_rebuild

    return events_rebuild(event_ids=event_ids)
