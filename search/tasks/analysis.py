"""Analysis tasks: one per content item, each analysing its camera's backlog as a batch.

Ingest enqueues ``search.analyze_content`` on commit (by name, see ``config.tasks``). The task is
thin: it loads nothing itself and calls the service, which is idempotent (an item already analysed
is left as it is), so a redelivered message (acks_late) or a manual re-run changes nothing. The
service analyses the item together with the camera's next unanalysed items; their own messages
then find them done.
"""

from __future__ import annotations

import logging

from celery import shared_task

from config.tasks import coalesce_release, send_once
from search.analysis import (
    TransientAnalysisError,
    content_analysis_failed,
    content_backlog_analyze,
    content_backlog_next,
)
from search.analysis.requeue import content_unanalysed_requeue

__all__ = ["analyze_content", "requeue_unanalysed"]

logger = logging.getLogger(__name__)

MAX_RETRIES = 4
# When another worker is batching the camera (its batch most likely holds this item), the item's
# message comes back after this long; by then it is usually done and the task ends at once.
DEFER_SECONDS = 1
# Two tasks reaching the same next item within this long send one follow-up between them.
FOLLOW_UP_ONCE_SECONDS = 120


@shared_task(bind=True, name="search.analyze_content", max_retries=MAX_RETRIES, acks_late=True)
def analyze_content(self, content_id: int, coalesced: str | None = None) -> None:
    """Analyse one content item (with its camera's backlog) and place it in its camera's event.

    ``coalesced`` (ingest's messages): the camera's key of pending analysis (``config.tasks``). It
    is let go first, so uploads from now on send a message again; then, after the batch, the task
    goes on with the camera's next item still to analyse (uploads that sent no message while this
    one was pending), as a message of its own (see :func:`follow_up`)."""
    if coalesced is not None:
        coalesce_release(coalesced)
    try:
        # In-process (eager) runs cannot hand an item back for later: they analyse it at once.
        outcome = content_backlog_analyze(
            content_id=content_id, worker=not self.request.is_eager, follow=coalesced is not None
        )
    except TransientAnalysisError as exc:
        if self.request.retries >= self.max_retries:
            # The final failure is recorded on the item, where the admin shows it.
            content_analysis_failed(content_id=content_id, error=str(exc))
            logger.warning("analysis of content %s failed for good: %s", content_id, exc)
            if coalesced is not None and (next_id := content_backlog_next(content_id=content_id)) is not None:
                follow_up(next_id, coalesced)  # the camera's other items do not wait for the sweep
            return
        # Storage hiccups (S3 timeouts, a busy disk) pass; back off 2, 4, 8, 16 s.
        raise self.retry(exc=exc, countdown=2 ** (self.request.retries + 1)) from exc
    if outcome.deferred:
        # A new message, published before this one is acknowledged: the item is never dropped.
        analyze_content.apply_async((content_id,), {"coalesced": coalesced}, countdown=DEFER_SECONDS)
    elif outcome.next_id is not None:
        follow_up(outcome.next_id, coalesced)


def follow_up(content_id: int, coalesced: str) -> None:
    """Go on with the camera's backlog at ``content_id``, unless another task of the camera has just
    done so: two tasks that reach the same next item (an upload's message and an older follow-up)
    go on as one, so the camera's follow-ups do not multiply."""
    send_once(
        analyze_content,
        (content_id,),
        {"coalesced": coalesced},
        once=f"{coalesced}:next:{content_id}",
        seconds=FOLLOW_UP_ONCE_SECONDS,
    )


@shared_task(name="search.requeue_unanalysed", ignore_result=True)
def requeue_unanalysed() -> None:
    """Periodic: items whose analysis message was never sent (broker down at upload) are queued."""
    sent = content_unanalysed_requeue()
    if sent:
        logger.warning("re-queued the analysis of %d batch(es) of items stored without it", sent)
