"""Motion alerts (one per interesting event) and the camio_daily summary, by account settings.

Both go through ``accounts.services.notification_send``, which honours the user's state (ON/OFF)
and method (EMAIL, or PUSH recorded as a notification the API lists).
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import AccountSettings
from accounts.services import camera_is_muted, muted_names, notification_send, notification_send_lease
from cameras.models import Camera, Zone
from config.api.dates import camio_date
from hooks.models import DailySummary, MotionAlert
from search.models import Event, InterestLevel

logger = logging.getLogger(__name__)

# "Interesting": important motion or better (the reference's imo and lmo).
ALERT_LEVEL = InterestLevel.IMPORTANT


def _claim_once(model, **fields) -> bool:
    """Create the row that records a send; False when another run already did."""
    try:
        with transaction.atomic():
            model.objects.create(**fields)
    except IntegrityError:
        return False
    return True


def event_is_muted(*, event: Event, muted: set[str]) -> bool:
    """Muted when its camera is muted, when it was seen only in muted zones, or when it carries a
    muted label (the reference: options "specify any muted camera or label names")."""
    if not muted:
        return False
    camera_names = Camera.objects.filter(owner_id=event.owner_id).values_list("name", flat=True)
    if camera_is_muted(event.camera.name, muted=muted, camera_names=camera_names):
        return True
    muted = {name.lower() for name in muted}
    zone_names = {z.lower() for z in Zone.objects.filter(camera_id=event.camera_id).values_list("name", flat=True)}
    labels = {label.lower() for label in event.labels}
    zones = labels & zone_names
    if zones and zones <= muted:
        return True
    # Zones are places (motion in one muted zone and one not still alerts); other labels are what
    # was seen: one the user muted is enough.
    return bool((labels - zone_names) & muted)


def motion_alert_for_event(*, event: Event) -> str | None:
    """Alert the owner once about an interesting event; returns the method used (EMAIL/PUSH) or None.

    The MotionAlert row is written (and committed) before sending, so a relabelled event never
    alerts twice; the send happens outside any transaction.
    """
    if event.max_interest_level < ALERT_LEVEL or not event.owner.is_active:
        return None
    # Muted first, claimed after: an event seen only in muted zones so far may move on to one
    # that is not, and must alert then.
    if event_is_muted(event=event, muted=muted_names(user=event.owner)):
        return None
    if not _motion_alert_claim(event=event):
        return None
    labels = [label for label in event.labels if not label.startswith("_")]
    title = f"Motion on {event.camera.name}" + (f": {', '.join(labels[:6])}" if labels else "")
    body = f"{title}\nat {camio_date(event.earliest_date)}\nevent {event.public_id}"
    try:
        method = notification_send(
            user=event.owner,
            kind="motion_alerts",
            title=title[:200],
            body=body,
            data={"event_id": event.public_id, "source": event.camera.name, "labels": list(event.labels)},
        )
    except Exception:
        # Not sent (the mail server refused): the claim goes, so a later run (hooks.motion_alert's
        # retries) sends it, as the offline alert and the daily summary do.
        MotionAlert.objects.filter(event=event).delete()
        raise
    # None: the user turned the alerts off meanwhile (or has no email): nothing was sent.
    MotionAlert.objects.filter(event=event).update(method=method or "")
    return method


# The method of a claim whose alert is being sent: it counts towards the camera's cooldown as a
# sent alert does. A claim still being sent after ``notification_send_lease()`` was left by a run
# that died while sending (a worker killed, a machine lost): the next run takes it over and sends.
_SENDING = "SENDING"


class AlertInFlight(Exception):
    """Another run claimed the event's alert and may still be sending it: look again in
    ``retry_in`` seconds, when its claim lapses if that run died (``hooks.tasks``)."""

    def __init__(self, retry_in: float) -> None:
        super().__init__(f"motion alert being sent by another run; look again in {retry_in:.0f} s")
        self.retry_in = retry_in


def _motion_alert_claim(*, event: Event) -> bool:
    """Claim the event's alert (its MotionAlert row, committed); whether this run is to send it.

    Not when another run claimed it, when this motion was alerted as an event since merged into
    this one (a late item bridged them: the row now stands for this event), or when the camera
    alerted within the cooldown. Decided under the camera's row lock: the hooks worker runs the
    hand-offs of a backlog's events side by side, and each must see the other's claim being sent.
    A claim another run is still sending raises ``AlertInFlight``; one left longer than the send
    lease (its run died) is taken over.
    """
    cooldown = settings.MOTION_ALERT_COOLDOWN_SECONDS
    with transaction.atomic():
        if Camera.objects.select_for_update().filter(pk=event.camera_id).values_list("pk").first() is None:
            return False  # deleted meanwhile, with its events
        own = MotionAlert.objects.filter(event=event).values_list("method", "created_at").first()
        if own is not None:
            method, claimed_at = own
            if method != _SENDING:
                return False  # sent, or decided not to (alerts off, cooling down, alerted before)
            now = timezone.now()
            lapses_at = claimed_at + notification_send_lease()
            if lapses_at > now:
                raise AlertInFlight((lapses_at - now).total_seconds())
            # Its run died while sending (a sent alert has its method): this run sends it. The
            # claim's date moves on, as the cooldown counts from a send.
            MotionAlert.objects.filter(event=event, method=_SENDING).update(created_at=now)
            logger.warning("motion alert for event %s: taking over a claim left at %s", event.pk, claimed_at)
            return True
        alerts = MotionAlert.objects.filter(camera_id=event.camera_id)
        already = alerts.filter(earliest_date__lte=event.latest_date, latest_date__gte=event.earliest_date).exists()
        # A busy afternoon (or a backlog uploaded after an outage) is one mail per cooldown, not one
        # per event: alerts sent, or being sent, moments ago hold this one back for good.
        cooling = bool(cooldown) and (
            alerts.filter(created_at__gte=timezone.now() - timedelta(seconds=cooldown))
            .exclude(method="")
            .exclude(event=event)
            .exists()
        )
        send = not already and not cooling
        span = {"camera_id": event.camera_id, "earliest_date": event.earliest_date, "latest_date": event.latest_date}
        return _claim_once(MotionAlert, event=event, method=_SENDING if send else "", **span) and send


def daily_summary_send(*, user, day: date) -> str | None:
    """The camio_daily summary of ``day`` (UTC) for ``user``, once; None when nothing was sent."""
    start = datetime.combine(day, time(0), UTC)
    events = list(
        Event.objects.filter(
            owner=user,
            max_interest_level__gte=ALERT_LEVEL,
            earliest_date__gte=start,
            earliest_date__lt=start + timedelta(days=1),
        )
        .select_related("camera")
        .only("camera__name", "labels")
    )
    if not _summary_claim(user=user, day=day, event_count=len(events)):
        return None
    if not events:
        return None
    per_camera = Counter(e.camera.name for e in events)
    labels = Counter(label for e in events for label in e.labels if not label.startswith("_"))
    lines = [
        f"{count} interesting event{'s' if count > 1 else ''} on {name}" for name, count in per_camera.most_common()
    ]
    if labels:
        lines.append("Most seen: " + ", ".join(f"{name} ({n})" for name, n in labels.most_common(8)))
    title = f"Your camhub day, {day:%Y-%m-%d}: {len(events)} interesting event{'s' if len(events) > 1 else ''}"
    try:
        method = notification_send(
            user=user,
            kind="camio_daily",
            title=title,
            body="\n".join(lines),
            data={"day": day.isoformat(), "events": len(events), "cameras": dict(per_camera)},
        )
    except Exception:
        # The mail server failed: release the claim so the next hourly run sends it.
        DailySummary.objects.filter(user=user, day=day).delete()
        raise
    DailySummary.objects.filter(user=user, day=day).update(method=method or "")
    return method


def _summary_claim(*, user, day: date, event_count: int) -> bool:
    """Claim the day's summary (its row, committed; "being sent" when there is something to send);
    whether this run is to send it. A claim still being sent after the send lease was left by a
    run that died while sending: taken over, as a motion alert's is."""
    if _claim_once(DailySummary, user=user, day=day, event_count=event_count, method=_SENDING if event_count else ""):
        return True
    now = timezone.now()
    lapsed = DailySummary.objects.filter(
        user=user, day=day, method=_SENDING, created_at__lt=now - notification_send_lease()
    )
    # One run wins the takeover: the update names the lapsed claim it replaces.
    return bool(lapsed.update(created_at=now, event_count=event_count, method=_SENDING if event_count else ""))


def daily_summaries_send(*, now: datetime | None = None) -> int:
    """Send yesterday's (UTC) summary to every account with camio_daily ON that has not had it.

    Run hourly by beat: the first run after midnight sends; later runs find the row and skip.
    """
    now = now or timezone.now()
    day = (now.astimezone(UTC) - timedelta(days=1)).date()
    # Not those summarized already, or being summarized (a claim left by a run that died is not).
    lapsed_before = timezone.now() - notification_send_lease()
    done = DailySummary.objects.filter(day=day).exclude(method=_SENDING, created_at__lt=lapsed_before)
    user_ids = list(
        AccountSettings.objects.filter(notifications__camio_daily__state="ON", user__is_active=True)
        .exclude(user__in=done.values("user"))
        .values_list("user_id", flat=True)
    )
    sent = 0
    for user in get_user_model().objects.filter(pk__in=user_ids):
        try:
            sent += daily_summary_send(user=user, day=day) is not None
        except Exception:  # one account's mail failure must not stop the others
            logger.exception("daily summary for user %s failed", user.pk)
    return sent
