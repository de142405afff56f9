"""Hook services: the API's writes, firing on an event, and the delivery of each message.

Flow: ``event_labels_changed`` (a task the search app enqueues on commit) → :func:`hooks_fire_for_event`
writes one Delivery row per matching hook (unique per hook and event) and, after commit, enqueues
``hooks.deliver`` unless tasks are already draining that hook's receiver (:func:`delivery_kick`) →
:func:`delivery_attempt` claims the row with the other due deliveries to the same receiver (of any
hook), POSTs them on one connection outside any transaction, records the attempts and schedules
retries from the retry schedule.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import time
from dataclasses import replace
from datetime import datetime, timedelta
from functools import lru_cache

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from django.core.mail import send_mail
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Exists, F, OuterRef, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from cameras.models import Camera, Zone
from config.api.dates import camio_date
from config.api.errors import BadRequest, Conflict, service_outage
from hooks import delivery as client
from hooks import ssrf
from hooks.models import Delivery, DeliveryAttempt, Hook, new_hook_secret
from search.models import Event, InterestLevel
from search.querylang import ParsedQuery, QueryError, parse_query, query_name_replace

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
# A task sends up to this many due deliveries to its receiver (of any of the receiver's hooks), one
# after another on one connection, starting no new send after BATCH_SECONDS (so the last one still
# ends within every row's lease).
DEFAULT_BATCH_SIZE = 20
BATCH_SECONDS = 2.0
# A task draining a receiver's backlog stops starting batches after DRAIN_SECONDS (fairness); the
# keys that tell publishers a receiver is being drained expire after DRAIN_KEY_SECONDS unless
# renewed. Up to DEFAULT_DRAINS_PER_RECEIVER tasks drain one receiver at once (one connection
# each): one would do for a receiver on the same network, a distant one needs a few in parallel.
DRAIN_SECONDS = 10.0
DRAIN_KEY_SECONDS = 30
DEFAULT_DRAINS_PER_RECEIVER = 4
_OPEN_STATES = (Delivery.State.PENDING, Delivery.State.RETRYING, Delivery.State.SENDING)
SLOW_MEMORY_SECONDS = 300
MAX_COOLDOWN_SECONDS = 24 * 3600
# Hooks fire only for important motion or better (imo, lmo): the reference's label_hit hook calls
# back "when the camera front sees important motion, and the event is labeled …" (Hooks: Registering
# Callbacks, Create a Hook); imo is also search's default motion_type. An event that rises to it
# later (analysis hands it over again on a level change) fires then.
HOOK_MIN_INTEREST_LEVEL = InterestLevel.IMPORTANT
# After a rotation the old secret keeps signing (alongside the new) this long by default.
SECRET_OVERLAP_SECONDS = 24 * 3600
# Old secrets signing at once (rotations within the overlap), each a signature on every attempt.
MAX_RETIRED_SECRETS = 4


def retry_schedule() -> tuple[float, ...]:
    return tuple(getattr(settings, "HOOK_RETRY_SCHEDULE_SECONDS", DEFAULT_RETRY_SCHEDULE_SECONDS))


def batch_size() -> int:
    return max(1, int(getattr(settings, "HOOK_BATCH_SIZE", DEFAULT_BATCH_SIZE)))


def drains_per_receiver() -> int:
    return max(1, int(getattr(settings, "HOOK_DRAINS_PER_RECEIVER", DEFAULT_DRAINS_PER_RECEIVER)))


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


def _parse_hook_query(query: str, cameras: tuple[str, ...], zones: tuple[str, ...]) -> ParsedQuery:
    """A hook's query as the query language reads it, dates ignored: they are read (so their words
    are not labels every event must carry) and their window dropped (a hook is a standing
    condition). Raises QueryError for what search would refuse (``feb 30``, ``13pm``)."""
    return parse_query(query, cameras=cameras, zones=zones, drop_dates=True)


@lru_cache(maxsize=4096)
def _parsed(query: str, cameras: tuple[str, ...], zones: tuple[str, ...]) -> ParsedQuery:
    # The same query parses once. Firing never raises: a query the language refuses now (stored
    # before dates were read, or a range written up to "now") keeps the meaning it had, every word
    # a term.
    try:
        return _parse_hook_query(query, cameras, zones)
    except QueryError:
        return parse_query(query, cameras=cameras, zones=zones, with_dates=False)


def hook_query_clean(*, query: str, owner_id: int) -> str:
    """A hook query as stored (stripped), or BadRequest for one search would refuse or one that
    names no camera, zone or label (it would match every event of the owner). The API and admin
    both check with it."""
    query = query.strip()
    try:
        parsed = _parse_hook_query(query, *_owner_names(owner_id))
    except QueryError as exc:
        raise BadRequest(f"query: {exc}") from None
    if not (parsed.sources or parsed.excluded_sources or parsed.required_labels or parsed.excluded_labels):
        raise BadRequest("query: name at least one camera, zone or label")
    return query


def callback_url_clean(url: str) -> str:
    try:
        ssrf.check_url_form(url)
        ssrf.check_url(url, allow_unresolved=True)
    except ssrf.UnsafeURL as exc:
        raise BadRequest(f"callback_url: {exc}") from None
    return url.strip()


@transaction.atomic
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
    # The owner's row locked, so that two creations at once cannot both count one below the limit.
    owner.__class__.objects.select_for_update().filter(pk=owner.pk).values_list("pk").first()
    if Hook.objects.filter(owner=owner).count() >= MAX_HOOKS_PER_USER:
        raise BadRequest(f"An account may have at most {MAX_HOOKS_PER_USER} hooks")
    return Hook.objects.create(
        owner=owner,
        type=type,
        callback_url=callback_url_clean(callback_url),
        query=hook_query_clean(query=query, owner_id=owner.pk),
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
        hook.callback_url = callback_url_clean(data["callback_url"])
        fields |= {"callback_url", *hook_failures_forget(hook=hook)}
    if "query" in data:
        hook.query = hook_query_clean(query=data["query"], owner_id=hook.owner_id)
        fields.add("query")
    if "camera_name" in data:
        hook.camera_name = (data["camera_name"] or "").strip()
        fields.add("camera_name")
    if "cooldown_seconds" in data:
        hook.cooldown_seconds = data["cooldown_seconds"]
        fields.add("cooldown_seconds")
    if "active" in data:
        if data["active"] and (hook.paused or hook.disabled_reason):
            # Turned back on: the days it was off are no days of failure.
            fields |= {"disabled_reason", "disabled_at", *hook_failures_forget(hook=hook)}
            hook.disabled_reason, hook.disabled_at = "", None
        hook.paused = not data["active"]
        fields.add("paused")
    if fields:
        hook.save(update_fields=[*fields, "updated_at"])
    if "callback_url" in fields:
        hook_deliveries_repoint(hook=hook)
    return hook


def hook_failures_forget(*, hook: Hook) -> list[str]:
    """A hook with a new receiver, or turned back on, starts with a clean failure record (else the
    failing-hooks sweep disables it again at once); the fields changed, for the caller's save."""
    hook.failing_since, hook.failure_streak = None, 0
    return ["failing_since", "failure_streak"]


def hook_deliveries_repoint(*, hook: Hook) -> None:
    """Deliveries still to be sent go with the hook to its (new) receiver."""
    Delivery.objects.filter(hook=hook, state__in=[Delivery.State.PENDING, Delivery.State.RETRYING]).update(
        receiver=_receiver(hook)
    )


def hook_delete(*, hook: Hook) -> None:
    """Delete a hook with its deliveries; queued tasks for them find nothing and stop."""
    hook.delete()


@transaction.atomic
def hooks_camera_renamed(*, owner_id: int, old: str, new: str) -> list[int]:
    """The owner's hooks naming the camera renamed ``old`` → ``new`` (its ``camera_name``, or a
    term of its query) name ``new`` instead, so they keep firing for it; the ids changed.

    Enqueued on commit by the rename (``cameras.services.camera_rename``), at least once: a hook
    already rewritten names ``old`` no more. Skipped while the owner has a camera answering to
    ``old`` again (created since by an upload under the old name): the hooks name that one. A
    query term is rewritten only when the new query reads as the old one with ``new`` in place of
    ``old`` (the name quoted when it must be); a query that cannot say it (``new`` also a word of
    the query, a name holding a double quote) is kept, and logged."""
    cameras, zones = _owner_names(owner_id)
    if any(name.lower() == old.lower() for name in cameras):
        return []
    # The names as each query was read before the rename, and as it is read after (a later rename
    # of the same camera, already committed, carries on from ``new`` in its own task).
    before = tuple(sorted({*cameras, old} - {new}))
    after = tuple(sorted({*cameras, new}))
    changed = []
    for hook in Hook.objects.select_for_update().filter(owner_id=owner_id).order_by("pk"):
        fields = []
        if hook.camera_name and hook.camera_name.lower() == old.lower():
            hook.camera_name = new
            fields.append("camera_name")
        query = _query_camera_renamed(hook.query, before=before, after=after, zones=zones, old=old, new=new)
        if query is None:
            logger.warning("hook %s: its query %r names camera %r, renamed %r: kept", hook.pk, hook.query, old, new)
        elif query != hook.query:
            hook.query = query
            fields.append("query")
        if fields:
            hook.save(update_fields=[*fields, "updated_at"])
            changed.append(hook.pk)
    return changed


def _query_camera_renamed(
    query: str, *, before: tuple[str, ...], after: tuple[str, ...], zones: tuple[str, ...], old: str, new: str
) -> str | None:
    """``query`` naming camera ``new`` where it named ``old`` (itself when it does not); None when
    no rewriting reads the same."""
    parsed = _parsed(query, before, zones)
    if old not in parsed.sources and old not in parsed.excluded_sources:
        return query
    swap = lambda names: list(dict.fromkeys(new if n == old else n for n in names))  # noqa: E731
    wanted = replace(parsed, sources=swap(parsed.sources), excluded_sources=swap(parsed.excluded_sources))
    for quote in (False, True):  # the name as typed when it reads so (``porch``), else quoted
        try:
            rewritten = query_name_replace(query, names=(*before, *zones), old=old, new=new, quote=quote)
        except ValueError:
            return None
        if _parsed(rewritten, after, zones) == wanted:
            return rewritten
    return None


@transaction.atomic
def hook_rotate_secret(*, hook: Hook, keep_previous_seconds: int = SECRET_OVERLAP_SECONDS) -> str:
    """A new signing secret, effective for every attempt from now on (retries included).

    For ``keep_previous_seconds`` the old secret signs too (another ``v1,`` signature), so a
    receiver verifying with either accepts every delivery while it switches over. Rotated again
    within that time, each retired secret keeps signing until the time it was promised (at most
    ``MAX_RETIRED_SECRETS`` at once: Conflict beyond). 0 drops every old secret now (a leak).
    """
    # Locked: two rotations at once must not both keep one list and lose a secret of the other.
    row = Hook.objects.select_for_update().get(pk=hook.pk)
    now = timezone.now()
    retired: list[tuple[str, datetime]] = []
    if keep_previous_seconds:
        retired = [(row.secret, now + timedelta(seconds=keep_previous_seconds)), *_retired_secrets(row, now)]
        if len(retired) > MAX_RETIRED_SECRETS:
            raise Conflict(
                f"{len(retired) - 1} earlier secrets still sign (the last until "
                f"{camio_date(max(until for _s, until in retired[1:]))}): wait, or rotate with "
                "keep_previous_seconds 0 to drop them all"
            )
    hook.secret = new_hook_secret()
    (hook.previous_secret, hook.previous_secret_until), *earlier = retired or [("", None)]
    hook.earlier_secrets = [{"secret": secret, "until": until.isoformat()} for secret, until in earlier]
    hook.save(update_fields=["secret", "previous_secret", "previous_secret_until", "earlier_secrets", "updated_at"])
    return hook.secret


def _retired_secrets(hook: Hook, now: datetime) -> list[tuple[str, datetime]]:
    """The hook's old secrets still within their overlap, newest first, with their ends."""
    retired = []
    if hook.previous_secret and hook.previous_secret_until:
        retired.append((hook.previous_secret, hook.previous_secret_until))
    retired += [(item["secret"], datetime.fromisoformat(item["until"])) for item in hook.earlier_secrets or []]
    return [(secret, until) for secret, until in retired if until > now]


def hook_signing_secrets(*, hook: Hook, now: datetime | None = None) -> list[str]:
    """The secrets that sign an attempt now: the current one, and the old ones while they overlap."""
    return [hook.secret, *(secret for secret, _until in _retired_secrets(hook, now or timezone.now()))]


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
    for this event yet, once the event reaches important motion; each is sent after commit.
    Returns the deliveries to be sent."""
    if event.max_interest_level < HOOK_MIN_INTEREST_LEVEL:
        return []
    # A deactivated account's hooks fire no more (nothing else of it runs: alerts, Camios, tokens).
    hooks = list(Hook.objects.filter(owner_id=event.owner_id, owner__is_active=True, paused=False, disabled_reason=""))
    if not hooks:
        return []
    # Fired for this event, or for motion of it called back about as another event, since merged
    # into this one (a late item bridged them: that event went, its span lies within this one's).
    # A merge brings nothing new to call back about; a hook fires once per event.
    merged = Q(
        event__isnull=True,
        camera_id=event.camera_id,
        earliest_date__lte=event.latest_date,
        latest_date__gte=event.earliest_date,
    )
    fired = set(Delivery.objects.filter(Q(event=event) | merged).order_by().values_list("hook_id", flat=True))
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
            Delivery(
                hook=h,
                **_event_fields(event),
                body=event_payload(hook_id=h.pk, event=event),
                next_attempt_at=now,
                receiver=_receiver(h),
            )
            for h in plain
        ]
        # A concurrent run for the same event may insert first; the unique (hook, event) keeps one.
        Delivery.objects.bulk_create(new, ignore_conflicts=True)
        ours = [d.webhook_id for d in new]
        rows.extend(Delivery.objects.filter(webhook_id__in=ours))
        Hook.objects.filter(pk__in=[h.pk for h in plain]).update(last_fired_at=now)
    pending = [r for r in rows if r.state == Delivery.State.PENDING]
    origins = {h.pk: _receiver(h) for h in matched}
    by_receiver: dict[str, list[int]] = {}
    for row in pending:
        by_receiver.setdefault(origins[row.hook_id], []).append(row.pk)
    for origin, ids in by_receiver.items():
        _kick_on_commit(origin=origin, delivery_ids=ids)
    return pending


def _event_fields(event: Event) -> dict:
    """A delivery's event, with the camera and span it had (kept should the event merge away)."""
    return {
        "event": event,
        "camera_id": event.camera_id,
        "earliest_date": event.earliest_date,
        "latest_date": event.latest_date,
    }


def _fire_with_cooldown(*, hook_id: int, event: Event, now: datetime) -> Delivery | None:
    # The hook row is locked so that two events at once cannot both start a new cooldown window.
    hook = Hook.objects.select_for_update().get(pk=hook_id)
    cooling = hook.last_fired_at is not None and now - hook.last_fired_at < timedelta(seconds=hook.cooldown_seconds)
    try:
        with transaction.atomic():
            row = Delivery.objects.create(
                hook=hook,
                **_event_fields(event),
                body=event_payload(hook_id=hook.pk, event=event),
                next_attempt_at=now,
                receiver=_receiver(hook),
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
# Deliveries are sent per receiver (scheme://host:port), not per hook: a task claims its delivery
# with up to BATCH_SIZE - 1 other due deliveries of any active hook of the same receiver, POSTs them
# one after another on one keep-alive connection (each signed with its own hook's secrets), and
# records them in one statement. Firing queues a task only when fewer than DRAINS_PER_RECEIVER
# tasks are draining the receiver (a key per drain slot in the shared cache); a drainer goes on
# claiming batches while they come out full, then lets go of its slot and queues a task for any
# delivery left due (which covers those fired while the slots were taken).


def _send_on_commit(delivery_id: int, *, countdown: float | None = None) -> None:
    """Queue ``hooks.deliver`` once the row is committed (a row before a task, never the reverse)."""
    from hooks.tasks import deliver  # the tasks module imports this one

    transaction.on_commit(lambda: deliver.apply_async(args=(delivery_id,), countdown=countdown))


def _drain_key(origin: str, slot: int) -> str:
    return f"hooks:draining:{slot}:" + hashlib.sha256(origin.encode()).hexdigest()[:32]


def delivery_kick(*, origin: str, delivery_id: int) -> bool:
    """Queue ``hooks.deliver`` for a new due delivery to the receiver ``origin``, unless every drain
    slot of the receiver is taken (then a draining task sends it: each looks for due deliveries
    again after it lets go of its slot, see :func:`_drain_end`). Returns whether a task was queued.
    Call only once the row is committed.

    Traffic to one receiver thus costs a task per batch, not per message, whatever the hooks.
    Should a draining worker die, its key expires after DRAIN_KEY_SECONDS and the stuck-delivery
    sweep hands out what it left (at-least-once holds; only the latency suffers).
    """
    from hooks.tasks import deliver  # the tasks module imports this one

    if batch_size() == 1 or not _shared_cache():
        deliver.apply_async(args=(delivery_id,))
        return True
    for slot in range(drains_per_receiver()):
        if cache.add(_drain_key(origin, slot), 1, DRAIN_KEY_SECONDS):
            try:
                deliver.apply_async(args=(delivery_id,), kwargs={"receiver": origin, "drain_slot": slot})
            except Exception:
                # No task holds the slot: the next publisher must not wait for its key to lapse.
                cache.delete(_drain_key(origin, slot))
                raise
            return True
    return False


def _shared_cache() -> bool:
    # The drain keys must be seen by web and worker processes alike: with a per-process cache
    # (locmem) every new delivery gets its own task, as without the keys.
    return "locmem" not in settings.CACHES["default"]["BACKEND"].lower()


def _kick_on_commit(*, origin: str, delivery_ids: list[int]) -> None:
    """After commit, queue tasks for new deliveries to one receiver: one per batch they make, up to
    the receiver's drain slots (a task claims the others with its own, and whoever holds a slot
    looks for due deliveries when it lets go of it). Without drain slots (no shared cache, or no
    batching), a task for each: no drain end would find one left over (a slow receiver's or one
    at its cap)."""
    step = batch_size()
    drained = step > 1 and _shared_cache()
    firsts = delivery_ids[::step][: drains_per_receiver()] if drained else delivery_ids

    def kick() -> None:
        try:
            for pk in firsts:
                delivery_kick(origin=origin, delivery_id=pk)
        except Exception as exc:
            if not service_outage(exc):
                raise
            # Broker (or cache) unreachable: the rows are committed, and the stuck-delivery sweep
            # sends them once it is back. Firing must not fail for it: the hand-off that ran it
            # (analysis, with the broker down) would otherwise fail after its own commit.
            logger.warning("deliveries to %s not queued (%s); hooks.requeue_stuck_deliveries sends them", origin, exc)

    transaction.on_commit(kick)


def _drain_end(origin: str, slot: int, now: datetime) -> None:
    """Let go of a drain slot of the receiver; then, as a publisher may have skipped its task while
    we held it, queue a task for a delivery to the receiver that is due and not taken (the order
    matters: see :func:`delivery_kick`). Whoever deletes a slot's key checks."""
    if not cache.delete(_drain_key(origin, slot)):
        return  # the key had expired (a publisher who found it free queued its own task)
    due = (
        Delivery.objects.filter(receiver=origin, state__in=[Delivery.State.PENDING, Delivery.State.RETRYING])
        .filter(next_attempt_at__lte=now + timedelta(milliseconds=50))
        .order_by("next_attempt_at", "id")
        .values_list("pk", flat=True)
        .first()
    )
    if due is not None:
        delivery_kick(origin=origin, delivery_id=due)


def _origin(url: str) -> str:
    return ssrf.url_origin(url)


def _receiver(hook: Hook) -> str:
    """The receiver of a hook's deliveries: ``scheme://host:port`` of its callback URL."""
    return _origin(hook.callback_url)


def _slow_key(origin: str) -> str:
    return "hooks:slow-receiver:" + hashlib.sha256(origin.encode()).hexdigest()[:32]


def _lock_receiver(origin: str) -> None:
    """Serialise the claims of one receiver until the claim commits (PostgreSQL: a transaction-level
    advisory lock), so two claims cannot both count N-1 sends in flight and both start one. The
    claim transaction is short (no I/O in it). SQLite serialises writers already."""
    if connection.vendor != "postgresql":
        return
    key = int.from_bytes(hashlib.sha256(origin.encode()).digest()[:8], "big", signed=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])


def _receiver_load(origin: str, now: datetime) -> tuple[int, bool]:
    """(sends in flight to ``origin``, whether it is slow) in one query plus a cache read."""
    old_if_before = now + timedelta(seconds=_lease_seconds() - SLOW_SECONDS)
    counts = Delivery.objects.filter(origin=origin, state=Delivery.State.SENDING, lease_until__gt=now).aggregate(
        n=Count("id"), old=Count("id", filter=Q(lease_until__lt=old_if_before))
    )
    slow = counts["old"] > 0 or cache.get(_slow_key(origin)) is not None
    return counts["n"], slow


def _lease_seconds() -> int:
    # An attempt's POST ends by HOOK_TIMEOUT_SECONDS, connect included (the client's deadline);
    # the margin covers the DNS lookup of the send-time check and the database writes around it.
    return settings.HOOK_TIMEOUT_SECONDS + 30


def _retry_delay(retry_index: int, retry_after: float | None) -> float:
    base = retry_schedule()[retry_index]
    delay = base * random.uniform(1 - RETRY_JITTER, 1 + RETRY_JITTER)
    if retry_after is not None:
        # Never come back before the receiver asked; never wait beyond the longest step.
        delay = max(delay, min(retry_after, max(DEFAULT_RETRY_SCHEDULE_SECONDS)))
    return delay


_HOOK_VALUES = (
    "callback_url",
    "secret",
    "previous_secret",
    "previous_secret_until",
    "earlier_secrets",
    "paused",
    "disabled_reason",
)


def _hook_loaded(hook_id: int, values: list) -> Hook:
    """A hook from the raw columns ``_HOOK_VALUES`` of a claim, as the ORM would load them (the
    JSON of ``earlier_secrets`` comes back as text)."""
    fields = {name: Hook._meta.get_field(name) for name in _HOOK_VALUES}
    return Hook(
        pk=hook_id,
        **{
            name: fields[name].from_db_value(value, None, connection)
            if hasattr(fields[name], "from_db_value")
            else value
            for name, value in zip(_HOOK_VALUES, values, strict=True)
        },
    )


def _claim(delivery_id: int, now: datetime) -> tuple[list[Delivery], str | None]:
    """Take a delivery for one attempt, with up to ``BATCH_SIZE - 1`` other due deliveries to the
    same receiver; ([], its receiver) when it is not due (a stale or duplicate task, or one a batch
    took), ([], None) when it is gone."""
    # One read, no transaction, no lock: the row's state with its hook (what tasks finding their row
    # already taken by another task's batch need, and what the claim needs to know the receiver).
    peek = (
        Delivery.objects.filter(pk=delivery_id)
        .values("state", "lease_until", "next_attempt_at", "hook_id", *(f"hook__{f}" for f in _HOOK_VALUES))
        .first()
    )
    if peek is None:
        return [], None
    state, lease_until, hook_id = peek["state"], peek["lease_until"], peek["hook_id"]
    hook = Hook(pk=hook_id, **{f: peek[f"hook__{f}"] for f in _HOOK_VALUES})
    origin = _receiver(hook)
    if state not in _OPEN_STATES or (state == Delivery.State.SENDING and lease_until is not None and lease_until > now):
        return [], origin
    early = (
        state != Delivery.State.SENDING
        and peek["next_attempt_at"] is not None
        and peek["next_attempt_at"] > now + timedelta(milliseconds=50)
    )
    if connection.vendor == "postgresql" and hook.active and not early:
        rows = _claim_returning(origin=origin, now=now, seed=(delivery_id, hook_id))
        if rows:
            return rows, origin
    # The portable path, and PostgreSQL's for the rare cases (early, hook inactive, receiver at its
    # cap, row taken meanwhile): lock the row, decide, write.
    return _claim_locked(delivery_id, now), origin


def _claim_returning(*, origin: str, now: datetime, seed: tuple[int, int] | None) -> list[Delivery]:
    """PostgreSQL: the claim in one statement under the receiver's advisory lock: count the sends in
    flight to the receiver, lock the ``seed`` row (delivery id, hook id) if it is still due and its
    hook active, lock the receiver's other due deliveries of active hooks (SKIP LOCKED), mark them
    all as being sent and return them with their hooks. [] when the receiver is at its cap or the
    seed is no longer claimable (the caller then takes the locked path, which decides why). Without
    a seed (a drain's next batch), the receiver's due deliveries alone.

    Same rules as :func:`_claim_locked` + :func:`_take`; the statement runs after the advisory lock
    is granted, so its snapshot sees every claim of the receiver committed before (an exact cap)."""
    slow_memory = cache.get(_slow_key(origin)) is not None
    lease_until = now + timedelta(seconds=_lease_seconds())
    seed_id, seed_hook = seed or (0, 0)
    params = {
        "id": seed_id,
        "hook_id": seed_hook,
        "seeded": seed is not None,
        "origin": origin,
        "now": now,
        "due": now + timedelta(milliseconds=50),
        "old_if_before": now + timedelta(seconds=_lease_seconds() - SLOW_SECONDS),
        "slow": slow_memory,
        "cap": max_in_flight_per_receiver(slow=False),
        "cap_slow": max_in_flight_per_receiver(slow=True),
        "more": batch_size() - 1 if seed is not None else batch_size(),
        "lease": lease_until,
    }
    table, hooks = connection.ops.quote_name(Delivery._meta.db_table), connection.ops.quote_name(Hook._meta.db_table)
    # A deactivated account's hooks send nothing (its owner row joined in).
    user_model = get_user_model()
    users = connection.ops.quote_name(user_model._meta.db_table)
    user_pk = connection.ops.quote_name(user_model._meta.pk.column)
    hook_owner = connection.ops.quote_name(Hook._meta.get_field("owner").column)
    # A deleted camera's deliveries are not sent: their event went with it (_CAMERA_KEPT).
    cameras = connection.ops.quote_name(Camera._meta.db_table)
    # Only the batch's first row carries the origin: the in-flight count is of connections in use,
    # and a batch uses one.
    sql = f"""
        WITH load AS (
            SELECT count(*) AS n, count(*) FILTER (WHERE lease_until < %(old_if_before)s) AS old
            FROM {table} WHERE origin = %(origin)s AND state = 'sending' AND lease_until > %(now)s
        ), gate AS (
            SELECT (%(slow)s OR old > 0) AS slow,
                   n < (CASE WHEN %(slow)s OR old > 0 THEN %(cap_slow)s ELSE %(cap)s END) AS go
            FROM load
        ), picked AS (
            SELECT id, state, next_attempt_at FROM {table}
            WHERE id = %(id)s AND (SELECT go FROM gate)
              AND EXISTS (SELECT 1 FROM {hooks} AS h JOIN {users} AS u ON u.{user_pk} = h.{hook_owner}
                          WHERE h.id = %(hook_id)s AND NOT h.paused AND h.disabled_reason = '' AND u.is_active)
              AND (event_id IS NOT NULL OR camera_id IS NULL
                   OR EXISTS (SELECT 1 FROM {cameras} AS c WHERE c.id = {table}.camera_id))
              AND ((state IN ('pending', 'retrying') AND (next_attempt_at IS NULL OR next_attempt_at <= %(due)s))
                   OR (state = 'sending' AND lease_until < %(now)s))
            FOR UPDATE
        ), followers AS (
            SELECT d.id, d.state, d.next_attempt_at FROM {table} AS d
            WHERE d.receiver = %(origin)s AND d.state IN ('pending', 'retrying') AND d.next_attempt_at <= %(due)s
              AND d.id <> %(id)s
              AND EXISTS (SELECT 1 FROM {hooks} AS h JOIN {users} AS u ON u.{user_pk} = h.{hook_owner}
                          WHERE h.id = d.hook_id AND NOT h.paused AND h.disabled_reason = '' AND u.is_active)
              AND (d.event_id IS NOT NULL OR d.camera_id IS NULL
                   OR EXISTS (SELECT 1 FROM {cameras} AS c WHERE c.id = d.camera_id))
              AND (SELECT go FROM gate) AND NOT (SELECT slow FROM gate)
              AND (NOT %(seeded)s OR EXISTS (SELECT 1 FROM picked))
            ORDER BY d.next_attempt_at, d.id
            LIMIT %(more)s
            FOR UPDATE OF d SKIP LOCKED
        ), taken AS (
            SELECT id, state, next_attempt_at, 0 AS pos FROM picked
            UNION ALL SELECT id, state, next_attempt_at, 1 AS pos FROM followers
        ), head AS (
            SELECT id FROM taken ORDER BY pos, next_attempt_at, id LIMIT 1
        )
        UPDATE {table} AS d
        SET state = 'sending', origin = CASE WHEN d.id = (SELECT id FROM head) THEN %(origin)s ELSE '' END,
            lease_until = %(lease)s, attempt_count = d.attempt_count + 1
        FROM taken AS t, {hooks} AS h
        WHERE d.id = t.id AND h.id = d.hook_id
        RETURNING d.id, t.state, t.pos, d.next_attempt_at, d.webhook_id, d.body, d.attempt_count, d.retry_index,
                  d.origin, h.id, {", ".join(f"h.{f}" for f in _HOOK_VALUES)}
    """  # noqa: S608 (table and column names from the models, values as parameters)
    with transaction.atomic():
        _lock_receiver(origin)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            found = cursor.fetchall()
    hooks_by_id: dict[int, Hook] = {}
    rows = []
    for pk, claimed, pos, next_at, webhook_id, body, attempt_count, retry_index, row_origin, hook_id, *hook in found:
        if hook_id not in hooks_by_id:
            hooks_by_id[hook_id] = _hook_loaded(hook_id, hook)
        row = Delivery(
            pk=pk,
            hook=hooks_by_id[hook_id],
            webhook_id=webhook_id,
            body=body,
            state=Delivery.State.SENDING,
            attempt_count=attempt_count,
            retry_index=retry_index,
            next_attempt_at=next_at,
            lease_until=lease_until,
            origin=row_origin,
        )
        # To give back the rows a cut-short batch does not send (a stuck row comes back pending).
        row.claimed_state = Delivery.State.PENDING if claimed == Delivery.State.SENDING else claimed
        row.claim_order = (pos, next_at is None, next_at or now, pk)
        rows.append(row)
    rows.sort(key=lambda r: r.claim_order)
    return rows


def _claim_locked(delivery_id: int, now: datetime) -> list[Delivery]:
    with transaction.atomic():
        # Only the delivery rows are locked (not their hook: deliveries of one hook go on in parallel);
        # the receiver's claims are serialised by _lock_receiver for the in-flight count.
        row = (
            Delivery.objects.select_for_update(of=("self",))
            .select_related("hook__owner")
            .filter(pk=delivery_id)
            .first()
        )
        if row is None:
            return []
        hook = row.hook
        stuck = row.state == Delivery.State.SENDING and row.lease_until is not None and row.lease_until < now
        if row.state not in (Delivery.State.PENDING, Delivery.State.RETRYING) and not stuck:
            return []
        if not stuck and row.next_attempt_at and row.next_attempt_at > now + timedelta(milliseconds=50):
            # Early (another host's clock, or a copy from before a redelivery): come back when due.
            # Duplicates are harmless, the claim lets one through.
            _send_on_commit(row.pk, countdown=(row.next_attempt_at - now).total_seconds())
            return []
        if not hook.owner.is_active:
            cancelled = "account deactivated"
        elif not hook.active:
            cancelled = "hook paused" if hook.paused else f"hook disabled ({hook.disabled_reason})"
        elif row.event_id is None and row.camera_id and not Camera.objects.filter(pk=row.camera_id).exists():
            cancelled = "camera deleted"  # with its events, before this was sent
        else:
            cancelled = ""
        if cancelled:
            row.state, row.completed_at, row.last_error = Delivery.State.CANCELLED, now, cancelled
            row.save(update_fields=["state", "completed_at", "last_error"])
            return []
        origin = _receiver(hook)
        _lock_receiver(origin)
        in_flight, slow = _receiver_load(origin, now)
        if in_flight >= max_in_flight_per_receiver(slow=slow):
            wait = random.uniform(1.0, 3.0) if slow else random.uniform(0.05, 0.25)
            row.next_attempt_at = now + timedelta(seconds=wait)
            row.save(update_fields=["next_attempt_at"])
            _send_on_commit(row.pk, countdown=wait)
            return []
        followers = _due_rows(origin=origin, now=now, limit=batch_size() - 1, exclude=row.pk) if not slow else []
        return _take(rows=[row, *followers], origin=origin, now=now)


# A delivery whose camera was deleted is not sent (its own task cancels it): its event went with the
# camera (an event that merged away leaves its camera). Checked only for rows whose event is gone.
_CAMERA_KEPT = Q(event__isnull=False) | Q(camera__isnull=True) | Exists(Camera.objects.filter(pk=OuterRef("camera_id")))


def _due_rows(*, origin: str, now: datetime, limit: int, exclude: int | None = None) -> list[Delivery]:
    """Locks up to ``limit`` due deliveries of the active hooks of a receiver, oldest first, with
    their hooks (in the caller's transaction). SKIP LOCKED: rows another sender is claiming right
    now are left to it."""
    if limit <= 0:
        return []
    rows = (
        Delivery.objects.select_for_update(of=("self",), skip_locked=True)
        .select_related("hook")
        .filter(receiver=origin, hook__paused=False, hook__disabled_reason="", hook__owner__is_active=True)
        .filter(_CAMERA_KEPT)
        .filter(state__in=[Delivery.State.PENDING, Delivery.State.RETRYING])
        .filter(next_attempt_at__lte=now + timedelta(milliseconds=50))
    )
    if exclude is not None:
        rows = rows.exclude(pk=exclude)
    return list(rows.order_by("next_attempt_at", "id")[:limit])


def _take(*, rows: list[Delivery], origin: str, now: datetime) -> list[Delivery]:
    """Mark locked rows (each with its hook loaded) as being sent, one lease for all, and return
    them, first row first."""
    lease_until = now + timedelta(seconds=_lease_seconds())
    # Only the batch's first row carries the origin: the in-flight count is of connections in use,
    # and a batch uses one.
    Delivery.objects.filter(pk=rows[0].pk).update(
        state=Delivery.State.SENDING, origin=origin, lease_until=lease_until, attempt_count=F("attempt_count") + 1
    )
    if len(rows) > 1:
        Delivery.objects.filter(pk__in=[r.pk for r in rows[1:]]).update(
            state=Delivery.State.SENDING, origin="", lease_until=lease_until, attempt_count=F("attempt_count") + 1
        )
    for r in rows:
        # To give back the rows a cut-short batch does not send (a stuck row comes back pending).
        r.claimed_state = Delivery.State.PENDING if r.state == Delivery.State.SENDING else r.state
        r.state, r.lease_until, r.origin = Delivery.State.SENDING, lease_until, ""
        r.attempt_count += 1
    rows[0].origin = origin
    return rows


def _claim_more(*, origin: str, now: datetime) -> list[Delivery]:
    """The next batch of a receiver being drained: its due deliveries of active hooks (fresh: paused,
    new URL or secret since), while the receiver is below its cap and not slow."""
    if connection.vendor == "postgresql":
        return _claim_returning(origin=origin, now=now, seed=None)
    with transaction.atomic():
        in_flight, slow = _receiver_load(origin, now)
        if slow or in_flight >= max_in_flight_per_receiver(slow=False):
            return []
        rows = _due_rows(origin=origin, now=now, limit=batch_size())
        return _take(rows=rows, origin=origin, now=now) if rows else []


def delivery_attempt(
    *, delivery_id: int, receiver: str | None = None, drain_slot: int | None = None
) -> DeliveryAttempt | None:
    """One attempt of a delivery (the ``hooks.deliver`` task): claim, POST, record, reschedule.

    The POSTs happen outside any transaction; the rows are claimed first (state ``sending`` with a
    lease) so a duplicate task does nothing, and a sender that dies leaves a lease that expires.
    Other due deliveries to the same receiver (of any of its active hooks) are sent in the same go,
    one after another on one keep-alive connection (what a burst needs: no task, lock and
    transactions per message), until ``BATCH_SECONDS`` have passed or a send is slow or fails at
    the network level; the rest are given back. While batches come out full, the task goes on
    with the receiver's next due deliveries for up to ``DRAIN_SECONDS``.

    ``receiver`` and ``drain_slot`` name the drain slot the task was queued with (see
    :func:`delivery_kick`): the task keeps it while draining and lets go of it at the end.
    Returns the attempt of ``delivery_id``.
    """
    started = timezone.now()
    rows, origin = _claim(delivery_id, started)
    first: DeliveryAttempt | None = None
    clock = time.monotonic()
    try:
        while rows:
            attempts, go_on = _send_batch(rows, origin=origin)
            first = first or attempts[0]
            # Drain the receiver while it has due deliveries and answers well, for a bounded time
            # (then a new task goes to the back of the queue: other receivers get their turn).
            if not go_on or time.monotonic() - clock > DRAIN_SECONDS:
                break
            if drain_slot is not None:
                if receiver != origin:
                    break  # the hook moved to another receiver since firing: no drain of this one
                cache.set(_drain_key(receiver, drain_slot), 1, DRAIN_KEY_SECONDS)
            rows = _claim_more(origin=origin, now=timezone.now())
    finally:
        if receiver is not None and drain_slot is not None:
            _drain_end(receiver, drain_slot, timezone.now())
    return first


def _send_batch(rows: list[Delivery], *, origin: str) -> tuple[list[DeliveryAttempt], bool]:
    """POST claimed rows (one receiver, any of its hooks) one after another on one connection,
    record them; (attempts, whether the batch ran whole)."""
    clock = time.monotonic()
    done: list[tuple[Delivery, client.AttemptResult, datetime]] = []
    secrets: dict[int, list[str]] = {}
    gone: set[int] = set()
    unsent: list[Delivery] = []
    try:
        cut = _send_rows(rows, origin=origin, clock=clock, done=done, secrets=secrets, gone=gone, unsent=unsent)
    except BaseException:
        # A bug, not the network (client.post never raises for that): what went out is recorded
        # and the rest handed back to their own tasks, so other hooks' deliveries (other accounts'
        # too) are not held "sending" by this one; then the error is raised as it came.
        handled = {id(row) for row, _result, _at in done} | {id(row) for row in unsent}
        _record_many(done=done)
        _give_back(unsent + [row for row in rows if id(row) not in handled])
        raise
    attempts = _record_many(done=done)
    _give_back(unsent)
    return attempts, not cut and 1 < batch_size() <= len(rows)


def _send_rows(
    rows: list[Delivery],
    *,
    origin: str,
    clock: float,
    done: list[tuple[Delivery, client.AttemptResult, datetime]],
    secrets: dict[int, list[str]],
    gone: set[int],
    unsent: list[Delivery],
) -> bool:
    """``_send_batch``'s sending: appends to ``done`` as each row is sent, and to ``unsent`` what
    it leaves for other tasks (rows of a hook that said stop; the rest of a batch cut short).
    Whether the batch was cut short."""
    with client.receiver_session():
        for i, row in enumerate(rows):
            if row.hook_id in gone:
                unsent.append(row)  # its hook asked to stop: its own task cancels it
                continue
            if done and (time.monotonic() - clock > BATCH_SECONDS):
                unsent.extend(rows[i:])
                return True
            hook = row.hook
            if hook.pk not in secrets:
                secrets[hook.pk] = hook_signing_secrets(hook=hook)
            at = timezone.now()
            result = client.post(url=hook.callback_url, secrets=secrets[hook.pk], msg_id=row.webhook_id, body=row.body)
            done.append((row, result, at))
            slow = result.latency_ms > SLOW_SECONDS * 1000 or result.error.startswith("timeout")
            if slow:
                cache.set(_slow_key(origin), 1, SLOW_MEMORY_SECONDS)
            if result.gone:
                gone.add(hook.pk)
            if slow or (not result.ok and result.status_code is None):
                # A slow or unreachable receiver: the rest wait for their own tasks.
                unsent.extend(rows[i + 1 :])
                return True
    return False


def _give_back(rows: list[Delivery]) -> None:
    """Rows a batch claimed but did not send: due again now, each with a task of its own (the task
    it had may have run already, finding the row taken)."""
    if not rows:
        return
    with transaction.atomic():
        for state in {r.claimed_state for r in rows}:
            ids = [r.pk for r in rows if r.claimed_state == state]
            Delivery.objects.filter(pk__in=ids, state=Delivery.State.SENDING).update(
                state=state, lease_until=None, attempt_count=F("attempt_count") - 1
            )
        for r in rows:
            _send_on_commit(r.pk)


_RECORD_FIELDS = ("state", "lease_until", "last_status_code", "last_error", "completed_at", "next_attempt_at")

Sent = list[tuple[Delivery, client.AttemptResult, datetime]]


def _record_many(*, done: Sent) -> list[DeliveryAttempt]:
    """Record the attempts of one batch, reschedule retries, update the health of its hooks."""
    now = timezone.now()
    if connection.vendor == "postgresql" and all(result.ok for _row, result, _at in done):
        return _record_successes(done=done, now=now)
    return _record_many_locked(done=done, now=now)


def _attempt_rows(*, done: Sent) -> list[DeliveryAttempt]:
    """The attempt log rows of one sent batch (unsaved)."""
    return [
        DeliveryAttempt(
            delivery=row,
            number=row.attempt_count,
            started_at=at,
            url=row.hook.callback_url,
            request_headers=result.request_headers,
            status_code=result.status_code,
            response_excerpt=result.response_excerpt,
            latency_ms=result.latency_ms,
            error=result.error,
            succeeded=result.ok,
        )
        for row, result, at in done
    ]


def _status_text(result: client.AttemptResult) -> str:
    return str(result.status_code) if result.status_code else (result.error or "error")[:64]


def _by_hook(done: Sent) -> dict[int, Sent]:
    """A batch's attempts per hook, in hook id order (the order their rows are locked in, so two
    batches of overlapping hooks cannot deadlock)."""
    groups: dict[int, Sent] = {}
    for item in done:
        groups.setdefault(item[0].hook_id, []).append(item)
    return dict(sorted(groups.items()))


def _record_successes(*, done: Sent, now: datetime) -> list[DeliveryAttempt]:
    """PostgreSQL, a batch where every attempt succeeded: what :func:`_record_many_locked` writes
    (the attempts, the deliveries still ours, the health of each hook when it changes), in one
    statement (atomic by itself: one round trip instead of a transaction of four)."""
    attempts = _attempt_rows(done=done)
    per_hook = _by_hook(done)
    params = {
        "ids": [row.pk for row, _r, _a in done],
        "codes": [result.status_code for _row, result, _at in done],
        "now": now,
        "numbers": [a.number for a in attempts],
        "started": [a.started_at for a in attempts],
        "urls": [a.url for a in attempts],
        "headers": [json.dumps(a.request_headers) for a in attempts],
        "excerpts": [a.response_excerpt for a in attempts],
        "latencies": [a.latency_ms for a in attempts],
        "errors": [a.error for a in attempts],
        "hook_ids": list(per_hook),
        # Each hook's health reflects its last attempt in the batch.
        "statuses": [_status_text(sent[-1][1]) for sent in per_hook.values()],
        "stale": now - timedelta(seconds=10),
    }
    q = connection.ops.quote_name
    deliveries, attempt_table, hooks = (
        q(Delivery._meta.db_table),
        q(DeliveryAttempt._meta.db_table),
        q(Hook._meta.db_table),
    )
    # Only rows still ours are updated (a redelivery may have reset one while we were sending); a
    # hook row is written (and locked, in id order) only when something a person would see
    # changes, so a burst of successes of one hook does not queue up on its row.
    sql = f"""
        WITH done AS (
            SELECT * FROM unnest(%(ids)s::bigint[], %(codes)s::int[]) AS v(id, code)
        ), upd AS (
            UPDATE {deliveries} AS d
            SET state = 'succeeded', lease_until = NULL, last_status_code = done.code, last_error = '',
                completed_at = %(now)s, next_attempt_at = NULL
            FROM done WHERE d.id = done.id AND d.state = 'sending'
            RETURNING d.id
        ), stale_health AS (
            SELECT h.id, v.status
            FROM {hooks} AS h JOIN unnest(%(hook_ids)s::bigint[], %(statuses)s::text[]) AS v(id, status)
                 ON h.id = v.id
            WHERE h.failure_streak > 0 OR h.failing_since IS NOT NULL OR h.last_status <> v.status
                  OR h.last_attempt_at IS NULL OR h.last_attempt_at < %(stale)s
            ORDER BY h.id
            FOR UPDATE OF h
        ), health AS (
            UPDATE {hooks} AS h
            SET last_status = s.status, last_attempt_at = %(now)s, failure_streak = 0, failing_since = NULL
            FROM stale_health AS s WHERE h.id = s.id
            RETURNING h.id
        )
        INSERT INTO {attempt_table}
            (delivery_id, number, started_at, url, request_headers, status_code, response_excerpt,
             latency_ms, error, succeeded)
        SELECT a.delivery_id, a.number, a.started_at, a.url, a.headers::jsonb, a.code, a.excerpt,
               a.latency, a.error, true
        FROM unnest(%(ids)s::bigint[], %(numbers)s::int[], %(started)s::timestamptz[], %(urls)s::text[],
                    %(headers)s::text[], %(codes)s::int[], %(excerpts)s::text[], %(latencies)s::int[],
                    %(errors)s::text[])
             AS a(delivery_id, number, started_at, url, headers, code, excerpt, latency, error)
        -- A hook deleted while its delivery was sent took the delivery with it: nothing to log.
        WHERE EXISTS (SELECT 1 FROM {deliveries} AS d WHERE d.id = a.delivery_id)
        RETURNING id, delivery_id
    """  # noqa: S608 (table names from the models, values as parameters)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        ids = dict((delivery_id, pk) for pk, delivery_id in cursor.fetchall())
    for row, _result, _at in done:
        row.state, row.completed_at, row.next_attempt_at, row.lease_until = Delivery.State.SUCCEEDED, now, None, None
    for a in attempts:
        a.pk = ids.get(a.delivery_id)
    return attempts


@transaction.atomic
def _record_many_locked(*, done: Sent, now: datetime) -> list[DeliveryAttempt]:
    """Record the attempts of one batch (one transaction), reschedule retries, update the health of
    its hooks."""
    # A hook deleted while its delivery was sent took the delivery with it: its attempt is not
    # logged (the row it would point at is gone), and the rest of the batch is recorded. Locked:
    # a delete now waits for this record.
    ids = [row.pk for row, _result, _at in done]
    alive = set(Delivery.objects.select_for_update().filter(pk__in=ids).values_list("pk", flat=True))
    done = [item for item in done if item[0].pk in alive]
    attempts = DeliveryAttempt.objects.bulk_create(_attempt_rows(done=done))
    # Rows that end the same way are written together (a batch of successes: one UPDATE).
    groups: dict[tuple, list[Delivery]] = {}
    for row, result, _at in done:
        row.lease_until, row.last_status_code, row.last_error = None, result.status_code, result.error
        fields = _RECORD_FIELDS
        if result.ok:
            row.state, row.completed_at, row.next_attempt_at = Delivery.State.SUCCEEDED, now, None
        elif result.retry and row.retry_index < len(retry_schedule()):
            delay = _retry_delay(row.retry_index, result.retry_after)
            row.state, row.next_attempt_at = Delivery.State.RETRYING, now + timedelta(seconds=delay)
            row.retry_index += 1
            fields = (*_RECORD_FIELDS, "retry_index")
            groups[("row", row.pk)] = [row]  # its own next_attempt_at
            row.record_fields = fields
            continue
        else:
            row.state, row.completed_at, row.next_attempt_at = Delivery.State.FAILED, now, None
        row.record_fields = fields
        key = tuple(getattr(row, name) for name in fields)
        groups.setdefault(key, []).append(row)
    for rows in groups.values():
        # Only rows still ours: a redelivery may have reset one while we were sending.
        values = {name: getattr(rows[0], name) for name in rows[0].record_fields}
        still_ours = Delivery.objects.filter(pk__in=[r.pk for r in rows], state=Delivery.State.SENDING).update(**values)
        if still_ours and rows[0].state == Delivery.State.RETRYING:
            _send_on_commit(rows[0].pk, countdown=(rows[0].next_attempt_at - now).total_seconds())
    # The hooks' health last (their row locks are held only until the commit just after), in id
    # order. Each reflects the hook's last attempt in the batch; a failure streak counts the
    # failures since the hook's last success.
    for hook_id, sent in _by_hook(done).items():
        _record_health(hook_id=hook_id, results=[result for _row, result, _at in sent], now=now)
    return attempts


def _record_health(*, hook_id: int, results: list[client.AttemptResult], now: datetime) -> None:
    last = results[-1]
    status_text = _status_text(last)
    if last.ok:
        # Skip the write (and the hook's row lock) when nothing a person would see changes:
        # a burst of successful deliveries of one hook must not queue up on its row.
        Hook.objects.filter(pk=hook_id).filter(
            Q(failure_streak__gt=0)
            | Q(failing_since__isnull=False)
            | ~Q(last_status=status_text)
            | Q(last_attempt_at__isnull=True)
            | Q(last_attempt_at__lt=now - timedelta(seconds=10))
        ).update(last_status=status_text, last_attempt_at=now, failure_streak=0, failing_since=None)
        return
    trailing = 0
    for result in reversed(results):
        if result.ok:
            break
        trailing += 1
    changes = {
        "last_status": status_text,
        "last_attempt_at": now,
        # After a success in this batch the streak restarts from the failures that followed it.
        "failure_streak": (F("failure_streak") + trailing) if trailing == len(results) else trailing,
        "failing_since": Coalesce(F("failing_since"), now) if trailing == len(results) else now,
    }
    if last.gone:
        changes |= {"disabled_reason": Hook.DisabledReason.GONE, "disabled_at": now}
    Hook.objects.filter(pk=hook_id).update(**changes)


def delivery_redeliver(*, delivery: Delivery) -> Delivery:
    """Send a delivery again now (same message id and body, fresh timestamp and signature)."""
    with transaction.atomic():
        row = Delivery.objects.select_for_update(of=("self",)).select_related("hook").get(pk=delivery.pk)
        if not row.hook.active:
            raise Conflict("The hook is paused or disabled: resume it (active: true) first")
        if row.state == Delivery.State.SENDING and row.lease_until and row.lease_until > timezone.now():
            raise Conflict("This delivery is being sent right now")
        row.state, row.retry_index, row.completed_at = Delivery.State.PENDING, 0, None
        row.next_attempt_at, row.lease_until, row.receiver = timezone.now(), None, _receiver(row.hook)
        row.save(update_fields=["state", "retry_index", "completed_at", "next_attempt_at", "lease_until", "receiver"])
        _send_on_commit(row.pk)
    return row


def deliveries_prune(*, now: datetime | None = None, batch: int = 1000) -> int:
    """Delete finished deliveries (succeeded, failed, skipped, cancelled) made more than
    ``HOOK_DELIVERY_RETENTION_DAYS`` ago, with their attempts: a delivery per hook and event, and
    an attempt per try with its headers, would otherwise grow without bound. Returns how many."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.HOOK_DELIVERY_RETENTION_DAYS)
    finished = [Delivery.State.SUCCEEDED, Delivery.State.FAILED, Delivery.State.SKIPPED, Delivery.State.CANCELLED]
    removed = 0
    while True:
        # In batches: one day's backlog of a busy service is not one transaction.
        ids = list(
            Delivery.objects.filter(state__in=finished, created_at__lt=cutoff).values_list("pk", flat=True)[:batch]
        )
        if not ids:
            return removed
        with transaction.atomic():
            DeliveryAttempt.objects.filter(delivery_id__in=ids).delete()
            removed += Delivery.objects.filter(pk__in=ids).delete()[1].get(Delivery._meta.label, 0)


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
    # A paused hook makes no attempts: its days paused are no days of failure (its failure clock
    # restarts when it resumes, see hook_update).
    failing = Hook.objects.filter(disabled_reason="", paused=False, failing_since__lte=cutoff)
    for hook in failing.select_related("owner"):
        # Conditional update: a success (failing_since cleared) or a pause since the read keeps it.
        won = failing.filter(pk=hook.pk).update(disabled_reason=Hook.DisabledReason.FAILING, disabled_at=now)
        if not won:
            continue
        disabled.append(hook)
        if hook.owner.email and hook.owner.is_active:
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
