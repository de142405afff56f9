"""Hooks (label_hit callbacks), their deliveries and attempts, and the alerts sent per event."""

from __future__ import annotations

import base64
import secrets

from django.conf import settings
from django.db import models

from cameras.models import Camera
from search.models import Event


def new_hook_secret() -> str:
    # Standard Webhooks: "whsec_" + base64 of 24 random bytes (the HMAC key is the decoded bytes).
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def new_message_id() -> str:
    return "msg_" + secrets.token_urlsafe(18)


class Hook(models.Model):
    """A partner's callback: POST to ``callback_url`` when an event of the owner matches ``query``."""

    class Type(models.TextChoices):
        LABEL_HIT = "label_hit", "label_hit"

    class DisabledReason(models.TextChoices):
        GONE = "gone", "the receiver answered 410 Gone"
        FAILING = "failing", "every attempt failed for days"

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="hooks")
    type = models.CharField(max_length=16, choices=Type.choices, default=Type.LABEL_HIT)
    callback_url = models.URLField(max_length=2000)
    query = models.CharField(max_length=500)
    # The reference's optional camera filter, kept next to the query (which can name cameras too).
    camera_name = models.CharField(max_length=64, blank=True, default="")
    secret = models.CharField(max_length=64, default=new_hook_secret)
    # After a rotation the old secret signs alongside the new one for a while (Standard Webhooks'
    # multiple signatures), so receivers can switch over without refusing deliveries.
    previous_secret = models.CharField(max_length=64, blank=True, default="")
    previous_secret_until = models.DateTimeField(null=True, blank=True)
    # Secrets retired before the previous one whose overlap is not over (rotated again within it):
    # [{"secret": …, "until": ISO 8601}, …], newest first. They sign too until their own "until".
    earlier_secrets = models.JSONField(default=list, blank=True)
    # Paused by its owner (PATCH active=false); resumes on PATCH active=true.
    paused = models.BooleanField(default=False)
    # Disabled by the service (410 or days of failures); PATCH active=true clears it.
    disabled_reason = models.CharField(max_length=16, choices=DisabledReason.choices, blank=True, default="")
    disabled_at = models.DateTimeField(null=True, blank=True)
    # Matching events within this many seconds of the last send are recorded as skipped.
    cooldown_seconds = models.PositiveIntegerField(default=0)
    last_fired_at = models.DateTimeField(null=True, blank=True)
    # Health, updated after each attempt: shown in admin, read by the failing-hooks sweep.
    last_status = models.CharField(max_length=64, blank=True, default="")
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    failure_streak = models.PositiveIntegerField(default=0)
    failing_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            # Serves the fan-out: the owner's hooks that may fire.
            models.Index(fields=["owner", "paused", "disabled_reason"], name="hook_owner_active"),
            # Serves the hourly sweep of hooks failing for days.
            models.Index(fields=["failing_since"], name="hook_failing_since"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.query!r} → {self.callback_url}"

    @property
    def active(self) -> bool:
        return not self.paused and not self.disabled_reason


class Delivery(models.Model):
    """One message for one hook about one event: a row before it is a task (at-least-once).

    ``webhook_id`` is the Standard Webhooks message id, the same on every attempt and redelivery,
    so receivers can de-duplicate. ``body`` is the exact bytes signed and sent.
    """

    class State(models.TextChoices):
        PENDING = "pending", "pending"
        SENDING = "sending", "sending"
        RETRYING = "retrying", "retrying"
        SUCCEEDED = "succeeded", "succeeded"
        FAILED = "failed", "failed"
        SKIPPED = "skipped", "skipped"  # within the hook's cooldown
        CANCELLED = "cancelled", "cancelled"  # hook paused, disabled or deleted before sending

    hook = models.ForeignKey(Hook, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(Event, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # The event's camera and span when the delivery was written. An event merged into another (a
    # late item bridging two) goes; the surviving event, overlapping that span, does not fire the
    # hook again for motion already called back about (``hooks_fire_for_event``). No database
    # constraint (nor cascade): a delivery's record outlives its camera, and the claim cancels the
    # open deliveries of a deleted camera.
    camera = models.ForeignKey(
        Camera,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    earliest_date = models.DateTimeField(null=True, blank=True)
    latest_date = models.DateTimeField(null=True, blank=True)
    webhook_id = models.CharField(max_length=40, unique=True, default=new_message_id)
    body = models.TextField()
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    attempt_count = models.PositiveSmallIntegerField(default=0)
    # Retries made since the first try or the last redelivery: indexes the retry schedule.
    retry_index = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # A sender holds the row until then; past it, the stuck-delivery sweep hands it out again.
    lease_until = models.DateTimeField(null=True, blank=True)
    # scheme://host:port of the receiver while sending: caps the sends in flight per receiver.
    origin = models.CharField(max_length=300, blank=True, default="")
    # scheme://host:port of the hook's callback URL, set when the row is written (and when the hook
    # moves): a task sends the due deliveries of every hook of one receiver together.
    receiver = models.CharField(max_length=300, blank=True, default="")
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # Fire once per hook per event, whatever images are added later.
            models.UniqueConstraint(fields=["hook", "event"], name="delivery_once_per_hook_event"),
        ]
        indexes = [
            # Serves the deliveries listing of one hook, newest first.
            models.Index(fields=["hook", "-created_at"], name="delivery_hook_recent"),
            # Serves the stuck-delivery sweep.
            models.Index(fields=["state", "lease_until"], name="delivery_state_lease"),
            # Serves the firing's check for motion called back about as an event since merged away:
            # the deliveries whose event is gone, by camera and span (few rows; none on insert).
            models.Index(
                fields=["camera", "latest_date"],
                name="delivery_gone_event_span",
                condition=models.Q(event__isnull=True),
            ),
            # Serves the per-receiver count of sends in flight.
            models.Index(fields=["origin", "state"], name="delivery_origin_state"),
            # Serves the delivery claim and the drain's end: the due deliveries to one receiver,
            # oldest first (open rows only, so the index stays small).
            models.Index(
                fields=["receiver", "next_attempt_at", "id"],
                name="delivery_receiver_due",
                condition=models.Q(state__in=["pending", "retrying"]),
            ),
        ]
        verbose_name_plural = "deliveries"

    def __str__(self) -> str:
        return self.webhook_id


class DeliveryAttempt(models.Model):
    """One HTTP POST of a delivery: what was sent, what came back, how long it took."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveSmallIntegerField()
    started_at = models.DateTimeField()
    url = models.CharField(max_length=2000)
    request_headers = models.JSONField(default=dict)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_excerpt = models.TextField(blank=True, default="")
    latency_ms = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True, default="")
    succeeded = models.BooleanField(default=False)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["delivery", "-started_at"], name="attempt_delivery_recent")]

    def __str__(self) -> str:
        return f"{self.delivery_id} #{self.number}"


class MotionAlert(models.Model):
    """The motion alert sent for an event (one per event), so a relabelled event alerts once.

    It keeps the camera and the event's span when alerted: an event merged into another (a late
    item bridging two) goes, and the surviving event, overlapping that span, is not alerted again
    for motion already alerted (``hooks.alerts``).
    """

    event = models.OneToOneField(Event, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    camera = models.ForeignKey(Camera, null=True, on_delete=models.CASCADE, related_name="+")
    earliest_date = models.DateTimeField(null=True)
    latest_date = models.DateTimeField(null=True)
    method = models.CharField(max_length=8, blank=True, default="")  # EMAIL, PUSH, "" (off/muted); SENDING: claimed
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        # Serves the overlap check of each new alert: the camera's alerts around an event's span.
        indexes = [models.Index(fields=["camera", "latest_date"], name="motionalert_camera_span")]

    def __str__(self) -> str:
        return f"alert for event {self.event_id}"


class DailySummary(models.Model):
    """The camio_daily summary of one account for one day: sent once (``method`` SENDING while a
    run sends it; ``hooks.alerts`` takes over a claim whose run died)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    event_count = models.PositiveIntegerField(default=0)
    method = models.CharField(max_length=8, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "day"], name="daily_summary_once")]
        verbose_name_plural = "daily summaries"

    def __str__(self) -> str:
        return f"summary of {self.user_id} for {self.day}"
