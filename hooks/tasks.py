"""Hook tasks: thin wrappers that take ids and call the services."""

from __future__ import annotations

import logging

from celery import shared_task

from hooks import alerts, services
from search.models import Event

logger = logging.getLogger(__name__)


@shared_task(name="hooks.event_labels_changed", ignore_result=True)
def event_labels_changed(event_id: int) -> None:
    """An event was created or its labels/interest changed (enqueued on commit by analysis)."""
    event = Event.objects.select_related("camera", "owner").filter(pk=event_id).first()
    if event is None:
        return
    services.hooks_fire_for_event(event=event)
    # A mail server down must not undo or repeat the hooks just fired: the alert retries alone.
    _motion_alert(event, attempt=0)


# Seconds before each retry of a motion alert whose mail failed: a mail server back within hours
# still alerts.
MOTION_ALERT_RETRIES = (300, 1800, 7200)


def _motion_alert(event: Event, *, attempt: int) -> None:
    try:
        alerts.motion_alert_for_event(event=event)
    except alerts.AlertInFlight as in_flight:
        # Another run is sending it (a redelivered hand-off, a relabel): if that run died, its
        # claim lapses and the look-again sends; if it sent, the look-again finds it sent.
        motion_alert.apply_async((event.pk, attempt), countdown=in_flight.retry_in + 1)
    except Exception:
        logger.exception("motion alert for event %s failed (attempt %d)", event.pk, attempt + 1)
        if attempt < len(MOTION_ALERT_RETRIES):
            motion_alert.apply_async((event.pk, attempt + 1), countdown=MOTION_ALERT_RETRIES[attempt])


@shared_task(name="hooks.motion_alert", ignore_result=True)
def motion_alert(event_id: int, attempt: int) -> None:
    """A motion alert again, after its mail failed (``attempt``: how many failed so far), or after
    another run's claim on it lapses (``alerts.AlertInFlight``)."""
    event = Event.objects.select_related("camera", "owner").filter(pk=event_id).first()
    if event is not None:
        _motion_alert(event, attempt=attempt)


@shared_task(name="hooks.camera_renamed", ignore_result=True)
def camera_renamed(owner_id: int, old: str, new: str) -> None:
    """A camera was renamed (enqueued on commit by cameras): the hooks naming it follow it."""
    services.hooks_camera_renamed(owner_id=owner_id, old=old, new=new)


@shared_task(name="hooks.deliver", ignore_result=True)
def deliver(delivery_id: int, receiver: str | None = None, drain_slot: int | None = None) -> None:
    """One attempt of a delivery, with the receiver's other due deliveries; the service schedules the
    next one itself (the row holds the state). ``receiver``/``drain_slot``: the drain slot taken
    when the task was queued, let go of at the end."""
    services.delivery_attempt(delivery_id=delivery_id, receiver=receiver, drain_slot=drain_slot)


@shared_task(name="hooks.prune_deliveries", ignore_result=True)
def prune_deliveries() -> int:
    """Daily: finished deliveries past their retention go, with their attempts."""
    return services.deliveries_prune()


@shared_task(name="hooks.disable_failing_hooks", ignore_result=True)
def disable_failing_hooks() -> None:
    """Hourly: disable hooks failing for days (owners emailed); re-queue deliveries whose task was lost."""
    services.hooks_disable_failing()
    services.deliveries_requeue_stuck()


@shared_task(name="hooks.requeue_stuck_deliveries", ignore_result=True)
def requeue_stuck_deliveries() -> None:
    """Deliveries whose sender died or whose queued task vanished are handed out again."""
    services.deliveries_requeue_stuck()


@shared_task(name="hooks.send_daily_summaries", ignore_result=True)
def send_daily_summaries() -> None:
    """Hourly: each account with camio_daily ON gets yesterday's summary once."""
    alerts.daily_summaries_send()
