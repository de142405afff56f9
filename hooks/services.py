"""Hook services: the API's writes, firing on an event, and the delivery of each message.

Flow: ``event_labels_changed`` (a task the search app enqueues on commit) → :func:`hooks_fire_for_event`
writes one Delivery row per matching hook (unique per hook and event) and enqueues ``hooks.deliver``
after commit → :func:`delivery_attempt` claims the row, POSTs outside any transaction, records the
attempt and schedules the next one from the retry schedule.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
from datetime import datetime, timedelta
from functools import lru_cache

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from cameras.models import Camera, Zone
from config.api.dates import camio_date
from config.api.errors import BadRequest, Conflict
from hooks import delivery as client
from hooks import ssrf
from hooks.models import Delivery, DeliveryAttempt, Hook, new_hook_secret
from search.models import Event
from search.querylang import ParsedQuery, parse_query

logger = logging.getLogger(__name__)

# Delays between attempts after the first try (Standard Webhooks' schedule, about 28 h in all).
DEFAULT_RETRY_SCHEDULE_SECONDS: tuple[float, ...] = (5, 300, 1800, 7200, 18000, 36000, 36000)
RETRY_JITTER = 0.1  # ± this fraction of each delay, so retries of a burst do not arrive together
MAX_HOOKS_PER_USER = 100
# Sends in flight at once to one receiver (scheme, host, port), whatever the hook. A receiver is
# slow when a send to it has run for over SLOW_SECONDS, or one took that long (or timed out) in the
# last SLOW_MEMORY_SECONDS: it then gets at most 2 worker threads, and its other deliveries wait
# in the queue (not in a thread), so a slow receiver does not hold up the others. Fast receivers
# get up to 16 (the hooks worker's threads): capping them would only bounce work through the queue.
DEFAULT_MAX_IN_FLIGHT_PER_RECEIVER = 16
DEFAULT_MAX_IN_FLIGHT_PER_SLOW_RECEIVER = 2
SLOW_SECONDS = 1.0
SLOW_MEMORY_SECONDS = 300
MAX_COOLDOWN_SECONDS = 24 * 3600


def retry_schedule() -> tuple[float, ...]:
    return tuple(getattr(settings, "HOOK_RETRY_SCHEDULE_SECONDS", DEFAULT_RETRY_SCHEDULE_SECONDS))


def max_in_flight_per_receiver(*, slow: bool) -> int:
    if slow:
        return int(getattr(settings, "HOOK_MAX_IN_FLIGHT_PER_SLOW_RECEIVER", DEFAULT_MAX_IN_FLIGHT_PER_SLOW_RECEIVER))
    return int(getattr(settings, "HOOK_MAX_IN_FLIGHT_PER_RECEIVER", DEFAULT_MAX_IN_FLIGHT_PER_RECEIVER))


# --- hooks: the API's writes ---------------------------------------------------------------------


def _owner_names(owner_id: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The owner's camera names and zone names, as the query language resolves words against them."""
    cameras = tuple(sorted(Camera.objects.filter(owner_id=owner_id).values_list("name", flat=True)))
    zones = tuple(sorted(set(Zone.objects.filter(camera__owner_id=owner_id).values_list("name", flat=True))))
    return cameras, zones


@lru_cache(maxsize=4096)
def _parsed(query: str, cameras: tuple[str, ...], zones: tuple[str, ...]) -> ParsedQuery:
    # Hooks ignore dates (a standing condition, not a window); the same query parses once.
    return parse_query(query, cameras=cameras, zones=zones, with_dates=False)


def _clean_query(query: str, owner_id: int) -> str:
    query = query.strip()
    parsed = _parsed(query, *_owner_names(owner_id))
    if not (parsed.sources or parsed.excluded_sources or parsed.required_labels or parsed.excluded_labels):
        raise BadRequest("query: name at least one camera, zone or label")
    return query


def _clean_callback_url(url: str) -> str:
    try:
        ssrf.check_url(url, allow_unresolved=True)
    except ssrf.UnsafeURL as exc:
        raise BadRequest(f"callback_url: {exc}") from None
    return url.strip()


def hook_create(
    *,
    owner: AbstractBaseUser,
    callback_url: str,
    query: str,
    type: str = Hook.Type.LABEL_HIT,  # the reference's field name
    camera_name: str = "",
    cooldown_seconds: int = 0,
    active: bool = True,
) -> Hook:
    """Register a hook; its ``secret`` is readable on the returned object (shown once by the API)."""
    if type != Hook.Type.LABEL_HIT:
        raise BadRequest("type: only label_hit is supported")
    if Hook.objects.filter(owner=owner).count() >= MAX_HOOKS_PER_USER:
        raise BadRequest(f"An account may have at most {MAX_HOOKS_PER_USER} hooks")
    return Hook.objects.create(
        owner=owner,
        type=type,
        callback_url=_clean_callback_url(callback_url),
        query=_clean_query(query, owner.pk),
        camera_name=camera_name.strip(),
        cooldown_seconds=cooldown_seconds,
        paused=not active,
    )


def hook_update(*, hook: Hook, data: dict) -> Hook:
    """Change, pause (``active: false``) or resume (``active: true``, which also clears a disable)."""
    fields: set[str] = set()
    if "type" in data and data["type"] != Hook.Type.LABEL_HIT:
        raise BadRequest("type: only label_hit is supported")
    if "callback_url" in data:
        hook.callback_url = _clean_callback_url(data["callback_url"])
        # A new receiver starts with a clean record.
        hook.failing_since, hook.failure_streak = None, 0
        fields |= {"callback_url", "failing_since", "failure_streak"}
    if "query" in data:
        hook.query = _clean_query(data["query"], hook.owner_id)
        fields.add("query")
    if "camera_name" in data:
        hook.camera_name = (data["camera_name"] or "").strip()
        fields.add("camera_name")
    if "cooldown_seconds" in data:
        hook.cooldown_seconds = data["cooldown_seconds"]
        fields.add("cooldown_seconds")
    if "active" in data:
        hook.paused = not data["active"]
        fields.add("paused")
        if data["active"] and hook.disabled_reason:
            hook.disabled_reason, hook.disabled_at = "", None
            hook.failing_since, hook.failure_streak = None, 0
            fields |= {"disabled_reason", "disabled_at", "failing_since", "failure_streak"}
    if fields:
        hook.save(update_fields=[*fields, "updated_at"])
    return hook


def hook_delete(*, hook: Hook) -> None:
    """Delete a hook with its deliveries; queued tasks for them find nothing and stop."""
    hook.delete()


def hook_rotate_secret(*, hook: Hook) -> str:
    """A new signing secret, effective for every attempt from now on (retries included)."""
    hook.secret = new_hook_secret()
    hook.save(update_fields=["secret", "updated_at"])
    return hook.secret


# --- firing --------------------------------------------------------------------------------------


def event_payload(*, hook_id: int, event: Event) -> str:
    """The reference's callback body, exactly: hook_id and the event's basic attributes."""
    return json.dumps(
        {
            "hook_id": str(hook_id),
            "event": {
                "id": event.public_id,
                "source": event.camera.name,
                "earliest_date": camio_date(event.earliest_date),
                "latest_date": camio_date(event.latest_date),
                "labels": list(event.labels),
            },
        },
        separators=(",", ":"),
    )


def hook_matches(*, hook: Hook, event: Event, cameras: tuple[str, ...], zones: tuple[str, ...]) -> bool:
    if hook.camera_name and hook.camera_name.lower() != event.camera.name.lower():
        return False
    return _parsed(hook.query, cameras, zones).matches(source=event.camera.name, labels=event.labels)


@transaction.atomic
def hooks_fire_for_event(*, event: Event) -> list[Delivery]:
    """Write a delivery for every active hook of the event's owner that matches and has not fired
    for this event yet; each is sent after commit. Returns the deliveries to be sent."""
    hooks = list(Hook.objects.filter(owner_id=event.owner_id, paused=False, disabled_reason=""))
    if not hooks:
        return []
    fired = set(Delivery.objects.filter(event=event).values_list("hook_id", flat=True))
    candidates = [h for h in hooks if h.pk not in fired]
    if not candidates:
        return []
    cameras, zones = _owner_names(event.owner_id)
    matched = [h for h in candidates if hook_matches(hook=h, event=event, cameras=cameras, zones=zones)]
    if not matched:
        return []
    now = timezone.now()
    rows: list[Delivery] = []
    plain = [h for h in matched if not h.cooldown_seconds]
    for hook in matched:
        if hook.cooldown_seconds:
            row = _fire_with_cooldown(hook_id=hook.pk, event=event, now=now)
            if row is not None:
                rows.append(row)
    if plain:
        new = [
            Delivery(hook=h, event=event, body=event_payload(hook_id=h.pk, event=event), next_attempt_at=now)
            for h in plain
        ]
        # A concurrent run for the same event may insert first; the unique (hook, event) keeps one.
        Delivery.objects.bulk_create(new, ignore_conflicts=True)
        ours = [d.webhook_id for d in new]
        rows.extend(Delivery.objects.filter(webhook_id__in=ours))
        Hook.objects.filter(pk__in=[h.pk for h in plain]).update(last_fired_at=now)
    for row in rows:
        if row.state == Delivery.State.PENDING:
            _send_on_commit(row.pk)
    return [r for r in rows if r.state == Delivery.State.PENDING]


def _fire_with_cooldown(*, hook_id: int, event: Event, now: datetime) -> Delivery | None:
    # The hook row is locked so that two events at once cannot both start a new cooldown window.
    hook = Hook.objects.select_for_update().get(pk=hook_id)
    cooling = hook.last_fired_at is not None and now - hook.last_fired_at < timedelta(seconds=hook.cooldown_seconds)
    try:
        with transaction.atomic():
            row = Delivery.objects.create(
                hook=hook,
                event=event,
                body=event_payload(hook_id=hook.pk, event=event),
                next_attempt_at=now,
                state=Delivery.State.SKIPPED if cooling else Delivery.State.PENDING,
                last_error="within the hook's cooldown" if cooling else "",
                completed_at=now if cooling else None,
            )
    except IntegrityError:
        return None  # already fired for this event
    if not cooling:
        Hook.objects.filter(pk=hook.pk).update(last_fired_at=now)
    return row


# --- delivery ------------------------------------------------------------------------------------


def _send_on_commit(delivery_id: int, *, countdown: float | None = None) -> None:
    """Queue ``hooks.deliver`` once the row is committed (a row before a task, never the reverse)."""
    from hooks.tasks import deliver  # the tasks module imports this one

    transaction.on_commit(lambda: deliver.apply_async(args=(delivery_id,), countdown=countdown))


def _origin(url: str) -> str:
    try:
        scheme, host, port = ssrf.split_url(url)
    except ssrf.UnsafeURL:
        return url[:300]
    return f"{scheme}://{host}:{port}"[:300]


def _slow_key(origin: str) -> str:
    return "hooks:slow-receiver:" + hashlib.sha256(origin.encode()).hexdigest()[:32]


def _receiver_load(origin: str, now: datetime) -> tuple[int, bool]:
    """(sends in flight to ``origin``, whether it is slow) in one query plus a cache read."""
    old_if_before = now + timedelta(seconds=_lease_seconds() - SLOW_SECONDS)
    counts = Delivery.objects.filter(origin=origin, state=Delivery.State.SENDING, lease_until__gt=now).aggregate(
        n=Count("id"), old=Count("id", filter=Q(lease_until__lt=old_if_before))
    )
    slow = counts["old"] > 0 or cache.get(_slow_key(origin)) is not None
    return counts["n"], slow


def _lease_seconds() -> int:
    return settings.HOOK_CONNECT_TIMEOUT_SECONDS + 2 * settings.HOOK_TIMEOUT_SECONDS + 30


def _retry_delay(retry_index: int, retry_after: float | None) -> float:
    base = retry_schedule()[retry_index]
    delay = base * random.uniform(1 - RETRY_JITTER, 1 + RETRY_JITTER)
    if retry_after is not None:
        # Never come back before the receiver asked; never wait beyond the longest step.
        delay = max(delay, min(retry_after, max(DEFAULT_RETRY_SCHEDULE_SECONDS)))
    return delay


def _claim(delivery_id: int, now: datetime) -> Delivery | None:
    """Take a delivery for one attempt, or None when it is not due (stale or duplicate task)."""
    with transaction.atomic():
        # Only the delivery row is locked (not its hook: deliveries of one hook go on in parallel).
        # The in-flight count is a soft cap: two claims at once may both pass it.
        row = Delivery.objects.select_for_update(of=("self",)).select_related("hook").filter(pk=delivery_id).first()
        if row is None:
            return None
        hook = row.hook
        stuck = row.state == Delivery.State.SENDING and row.lease_until is not None and row.lease_until < now
        if row.state not in (Delivery.State.PENDING, Delivery.State.RETRYING) and not stuck:
            return None
        if not stuck and row.next_attempt_at and row.next_attempt_at > now + timedelta(milliseconds=50):
            # Early (another host's clock, or a copy from before a redelivery): come back when due.
            # Duplicates are harmless, the claim lets one through.
            _send_on_commit(row.pk, countdown=(row.next_attempt_at - now).total_seconds())
            return None
        if not hook.active:
            row.state, row.completed_at = Delivery.State.CANCELLED, now
            row.last_error = "hook paused" if hook.paused else f"hook disabled ({hook.disabled_reason})"
            row.save(update_fields=["state", "completed_at", "last_error"])
            return None
        origin = _origin(hook.callback_url)
        in_flight, slow = _receiver_load(origin, now)
        if in_flight >= max_in_flight_per_receiver(slow=slow):
            wait = random.uniform(1.0, 3.0) if slow else random.uniform(0.05, 0.25)
            row.next_attempt_at = now + timedelta(seconds=wait)
            row.save(update_fields=["next_attempt_at"])
            _send_on_commit(row.pk, countdown=wait)
            return None
        row.state, row.origin = Delivery.State.SENDING, origin
        row.lease_until = now + timedelta(seconds=_lease_seconds())
        row.attempt_count += 1
        row.save(update_fields=["state", "origin", "lease_until", "attempt_count"])
        return row


def delivery_attempt(*, delivery_id: int) -> DeliveryAttempt | None:
    """One attempt of a delivery (the ``hooks.deliver`` task): claim, POST, record, reschedule.

    The POST happens outside any transaction; the row is claimed first (state ``sending`` with a
    lease) so a duplicate task does nothing, and a sender that dies leaves a lease that expires.
    """
    started = timezone.now()
    row = _claim(delivery_id, started)
    if row is None:
        return None
    hook = row.hook
    result = client.post(url=hook.callback_url, secret=hook.secret, msg_id=row.webhook_id, body=row.body)
    if result.latency_ms > SLOW_SECONDS * 1000 or result.error.startswith("timeout"):
        cache.set(_slow_key(row.origin), 1, SLOW_MEMORY_SECONDS)
    return _record(row=row, hook=hook, result=result, started=started)


@transaction.atomic
def _record(*, row: Delivery, hook: Hook, result: client.AttemptResult, started: datetime) -> DeliveryAttempt:
    now = timezone.now()
    attempt = DeliveryAttempt.objects.create(
        delivery=row,
        number=row.attempt_count,
        started_at=started,
        url=hook.callback_url,
        request_headers=result.request_headers,
        status_code=result.status_code,
        response_excerpt=result.response_excerpt,
        latency_ms=result.latency_ms,
        error=result.error,
        succeeded=result.ok,
    )
    fields = [
        "state",
        "lease_until",
        "last_status_code",
        "last_error",
        "completed_at",
        "next_attempt_at",
        "retry_index",
    ]
    row.lease_until, row.last_status_code, row.last_error = None, result.status_code, result.error
    if result.ok:
        row.state, row.completed_at, row.next_attempt_at = Delivery.State.SUCCEEDED, now, None
    elif result.retry and row.retry_index < len(retry_schedule()):
        delay = _retry_delay(row.retry_index, result.retry_after)
        row.state, row.next_attempt_at = Delivery.State.RETRYING, now + timedelta(seconds=delay)
        row.retry_index += 1
    else:
        row.state, row.completed_at, row.next_attempt_at = Delivery.State.FAILED, now, None
    # Only if still ours: a redelivery may have reset the row while we were sending.
    still_ours = Delivery.objects.filter(pk=row.pk, state=Delivery.State.SENDING).update(
        **{name: getattr(row, name) for name in fields}
    )
    # The hook's health last: its row lock is held only until the commit just after.
    status_text = str(result.status_code) if result.status_code else (result.error or "error")[:64]
    if result.ok:
        # Skip the write (and the hook's row lock) when nothing a person would see changes:
        # a burst of successful deliveries of one hook must not queue up on its row.
        Hook.objects.filter(pk=hook.pk).filter(
            Q(failure_streak__gt=0)
            | Q(failing_since__isnull=False)
            | ~Q(last_status=status_text)
            | Q(last_attempt_at__isnull=True)
            | Q(last_attempt_at__lt=now - timedelta(seconds=10))
        ).update(last_status=status_text, last_attempt_at=now, failure_streak=0, failing_since=None)
    else:
        changes = {
            "last_status": status_text,
            "last_attempt_at": now,
            "failure_streak": F("failure_streak") + 1,
            "failing_since": Coalesce(F("failing_since"), now),
        }
        if result.gone:
            changes |= {"disabled_reason": Hook.DisabledReason.GONE, "disabled_at": now}
        Hook.objects.filter(pk=hook.pk).update(**changes)
    if still_ours and row.state == Delivery.State.RETRYING:
        _send_on_commit(row.pk, countdown=(row.next_attempt_at - now).total_seconds())
    return attempt


def delivery_redeliver(*, delivery: Delivery) -> Delivery:
    """Send a delivery again now (same message id and body, fresh timestamp and signature)."""
    with transaction.atomic():
        row = Delivery.objects.select_for_update(of=("self",)).select_related("hook").get(pk=delivery.pk)
        if not row.hook.active:
            raise Conflict("The hook is paused or disabled: resume it (active: true) first")
        if row.state == Delivery.State.SENDING and row.lease_until and row.lease_until > timezone.now():
            raise Conflict("This delivery is being sent right now")
        row.state, row.retry_index, row.completed_at = Delivery.State.PENDING, 0, None
        row.next_attempt_at, row.lease_until = timezone.now(), None
        row.save(update_fields=["state", "retry_index", "completed_at", "next_attempt_at", "lease_until"])
        _send_on_commit(row.pk)
    return row


def deliveries_requeue_stuck(*, now: datetime | None = None, grace_seconds: int = 300) -> int:
    """Hand out again deliveries whose task was lost: a sender died (lease expired) or a queued
    task vanished (due long ago). Duplicates are harmless: the claim lets one through."""
    now = now or timezone.now()
    due = now - timedelta(seconds=grace_seconds)
    ids = list(
        Delivery.objects.filter(
            Q(state=Delivery.State.SENDING, lease_until__lt=now)
            | Q(state__in=[Delivery.State.PENDING, Delivery.State.RETRYING], next_attempt_at__lt=due)
            | Q(state=Delivery.State.PENDING, next_attempt_at__isnull=True, created_at__lt=due)
        ).values_list("pk", flat=True)[:1000]
    )
    for pk in ids:
        _send_on_commit(pk)
    return len(ids)


def hooks_disable_failing(*, now: datetime | None = None) -> list[Hook]:
    """Disable hooks whose every attempt failed for ``HOOK_DISABLE_AFTER_DAYS`` and email owners."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.HOOK_DISABLE_AFTER_DAYS)
    disabled = []
    for hook in Hook.objects.filter(disabled_reason="", failing_since__lte=cutoff).select_related("owner"):
        # Conditional update: a success since the read (failing_since cleared) keeps the hook on.
        won = Hook.objects.filter(pk=hook.pk, disabled_reason="", failing_since__lte=cutoff).update(
            disabled_reason=Hook.DisabledReason.FAILING, disabled_at=now
        )
        if not won:
            continue
        disabled.append(hook)
        if hook.owner.email:
            send_mail(
                "Your camhub hook was disabled",
                f"Every delivery to {hook.callback_url} (hook {hook.pk}, query {hook.query!r}) has failed "
                f"since {hook.failing_since:%Y-%m-%d %H:%M} UTC (last result: {hook.last_status or 'none'}).\n"
                "The hook is now disabled. Fix the receiver, then resume it with PATCH "
                f'/api/users/me/hooks/{hook.pk} and {{"active": true}}.',
                settings.DEFAULT_FROM_EMAIL,
                [hook.owner.email],
                fail_silently=True,
            )
    return disabled
