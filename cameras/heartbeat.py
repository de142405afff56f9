"""The heartbeat sweep: record cameras going online or offline, and alert owners of real outages.

A camera is online while its last sight (poll or upload) is within ``CAMERA_OFFLINE_AFTER_SECONDS``.
The sweep (Celery beat, every 30 s) compares that with the state it last recorded
(``Camera.online_state``) and records each change as a ``StatusTransition``. An offline transition
waits ``CAMERA_ALERT_GRACE_SECONDS`` before its owner is told (per ``camera_diagnostics``): a camera
back within the grace period was a blink and alerts nobody. Each outage alerts at most once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.services import camera_is_muted, muted_names, notification_send, notification_send_lease
from cameras.models import Camera, StatusTransition
from cameras.polling import polled_at
from config.api.dates import camio_date

logger = logging.getLogger(__name__)


@dataclass
class SweepResult:
    online: list[int] = field(default_factory=list)
    offline: list[int] = field(default_factory=list)
    alerted: list[int] = field(default_factory=list)


def _record(*, camera_pk: int, online: bool, at: datetime, seen: datetime | None) -> bool:
    """Record one transition; False when another sweep recorded it first."""
    with transaction.atomic():
        # A conditional update claims the change: two sweeps at once record it once.
        if not Camera.objects.filter(pk=camera_pk, online_state=not online).update(online_state=online):
            return False
        if online:
            # The outage is over: an alert still in its grace period was for a blink.
            StatusTransition.objects.filter(camera_id=camera_pk, alert=StatusTransition.ALERT_PENDING).update(
                alert=StatusTransition.ALERT_SKIPPED
            )
        StatusTransition.objects.create(
            camera_id=camera_pk,
            is_online=online,
            at=at,
            last_seen_at=seen,
            alert=StatusTransition.ALERT_NONE if online else StatusTransition.ALERT_PENDING,
        )
    return True


def _lapsed_claim_q(now: datetime) -> Q:
    """Outages whose alert a sweep claimed and did not finish within the send lease (it died)."""
    return Q(alert=StatusTransition.ALERT_SENDING, alerted_at__lt=now - notification_send_lease())


def _alert(transition: StatusTransition, *, now: datetime) -> bool:
    """Tell the owner their camera is offline; once per outage. True when something was sent.

    The outage is claimed ("sending") before the send: two sweeps send it once. A claim still
    "sending" after the send lease was left by a sweep that died while sending: taken over.
    """
    claimable = Q(alert=StatusTransition.ALERT_PENDING) | _lapsed_claim_q(now)
    claimed = StatusTransition.objects.filter(claimable, pk=transition.pk).update(
        alert=StatusTransition.ALERT_SENDING, alerted_at=now
    )
    if not claimed:
        return False
    camera = transition.camera
    owner = camera.owner
    muted = muted_names(user=owner, kind="camera_diagnostics")
    camera_names = Camera.objects.filter(owner_id=owner.pk).values_list("name", flat=True)  # read if needed
    if not owner.is_active or camera_is_muted(camera.name, muted=muted, camera_names=camera_names):
        StatusTransition.objects.filter(pk=transition.pk).update(alert=StatusTransition.ALERT_SKIPPED)
        return False
    holdoff = timedelta(seconds=settings.CAMERA_ALERT_HOLDOFF_SECONDS)
    if (
        StatusTransition.objects.filter(
            camera_id=camera.pk,
            alert__in=(StatusTransition.ALERT_SENT, StatusTransition.ALERT_SENDING),
            alerted_at__gte=now - holdoff,
        )
        .exclude(pk=transition.pk)
        .exists()
    ):
        # Told of an outage of this camera within the hold-off: a flapping uplink is one mail, not
        # one per flap.
        StatusTransition.objects.filter(pk=transition.pk).update(alert=StatusTransition.ALERT_SKIPPED)
        return False
    since = transition.last_seen_at or transition.at
    try:
        method = notification_send(
            user=owner,
            kind="camera_diagnostics",
            title=f"Camera {camera.name} is offline",
            body=(
                f"Your camera {camera.name} has not been heard from since {since:%Y-%m-%d %H:%M} UTC.\n"
                f"Check its power and network connection.\n\n{settings.PUBLIC_BASE_URL}/"
            ),
            data={"camera": camera.name, "is_online": False, "last_seen": camio_date(since)},
        )
    except Exception:
        # The mail server failed: leave the outage pending so the next sweep tries again.
        StatusTransition.objects.filter(pk=transition.pk).update(alert=StatusTransition.ALERT_PENDING, alerted_at=None)
        logger.exception("camera_diagnostics alert for camera %s failed; will retry", camera.pk)
        return False
    if method is None:  # notifications off, or no address to write to
        StatusTransition.objects.filter(pk=transition.pk).update(alert=StatusTransition.ALERT_SKIPPED)
        return False
    StatusTransition.objects.filter(pk=transition.pk).update(alert=StatusTransition.ALERT_SENT)
    return True


def heartbeat_sweep(*, now: datetime | None = None) -> SweepResult:
    """Record every camera whose online state changed since the last sweep, then send due alerts."""
    now = now or timezone.now()
    since = now - timedelta(seconds=settings.CAMERA_OFFLINE_AFTER_SECONDS)
    result = SweepResult()

    # Back online: uploads write their sight at once, and a poll after an outage writes it too.
    back = Camera.objects.filter(online_state=False, last_seen_at__gte=since).values_list("pk", "last_seen_at")
    for pk, seen in back:
        if _record(camera_pk=pk, online=True, at=now, seen=seen):
            result.online.append(pk)

    # Offline candidates: the database's sight is old, but polls between coalesced writes live in
    # the cache, so it has the last word.
    candidates = list(
        Camera.objects.filter(online_state=True)
        .filter(Q(last_seen_at__lt=since) | Q(last_seen_at__isnull=True))
        .only("pk", "camera_id", "last_seen_at")
    )
    polled = polled_at(candidates)
    for camera in candidates:
        seen = max((d for d in (camera.last_seen_at, polled.get(camera.pk)) if d is not None), default=None)
        if seen is not None and seen >= since:
            continue
        if _record(camera_pk=camera.pk, online=False, at=now, seen=seen):
            result.offline.append(camera.pk)

    grace = timedelta(seconds=settings.CAMERA_ALERT_GRACE_SECONDS)
    due = StatusTransition.objects.filter(
        Q(alert=StatusTransition.ALERT_PENDING, at__lte=now - grace) | _lapsed_claim_q(now)
    ).select_related("camera__owner")
    for transition in due:
        if _alert(transition, now=now):
            result.alerted.append(transition.camera_id)
    return result
