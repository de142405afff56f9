"""JSON shapes of the hooks API: input serializers (validation) and output functions."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from rest_framework import serializers

from config.api.dates import camio_date
from hooks.models import Delivery, DeliveryAttempt, Hook
from hooks.services import MAX_COOLDOWN_SECONDS


class HookInput(serializers.Serializer):
    """POST (all required but camera_name) and PATCH (any subset) bodies."""

    type = serializers.ChoiceField(choices=[Hook.Type.LABEL_HIT.value])
    callback_url = serializers.CharField(max_length=2000, trim_whitespace=True)
    query = serializers.CharField(max_length=500, trim_whitespace=True)
    camera_name = serializers.CharField(max_length=64, required=False, allow_blank=True)
    active = serializers.BooleanField(required=False)
    cooldown_seconds = serializers.IntegerField(required=False, min_value=0, max_value=MAX_COOLDOWN_SECONDS)


class RotateInput(serializers.Serializer):
    """POST …/secret/rotate: how long the old secret keeps signing alongside the new one."""

    keep_previous_seconds = serializers.IntegerField(required=False, min_value=0, max_value=7 * 24 * 3600)


def hook_json(hook: Hook, *, secret: str | None = None) -> dict[str, Any]:
    """The reference's fields first (id, type, callback_url, query), then ours."""
    body: dict[str, Any] = {
        "id": str(hook.pk),
        "type": hook.type,
        "callback_url": hook.callback_url,
        "query": hook.query,
    }
    if hook.camera_name:
        body["camera_name"] = hook.camera_name
    body |= {
        "active": hook.active,
        "paused": hook.paused,
        "disabled_reason": hook.disabled_reason or None,
        "cooldown_seconds": hook.cooldown_seconds,
        "last_status": hook.last_status or None,
        "failure_streak": hook.failure_streak,
        "date_created": camio_date(hook.created_at),
    }
    if hook.previous_secret and hook.previous_secret_until and hook.previous_secret_until > timezone.now():
        body["previous_secret_until"] = camio_date(hook.previous_secret_until)
    if secret is not None:
        body["secret"] = secret  # shown only when created or rotated
    return body


def attempt_json(row: DeliveryAttempt) -> dict[str, Any]:
    return {
        "attempt": row.number,
        "date": camio_date(row.started_at),
        "status_code": row.status_code,
        "latency_ms": row.latency_ms,
        "error": row.error or None,
    }


def delivery_json(row: Delivery) -> dict[str, Any]:
    attempts = list(row.attempts.all())  # prefetched, ordered by number
    last = attempts[-1] if attempts else None
    return {
        "id": row.webhook_id,
        "event_id": row.event.public_id if row.event_id else None,
        "state": row.state,
        "date_created": camio_date(row.created_at),
        "date": camio_date(last.started_at) if last else None,
        "attempt": row.attempt_count,
        "status_code": row.last_status_code,
        "latency_ms": last.latency_ms if last else None,
        "error": row.last_error or None,
        "next_attempt_date": camio_date(row.next_attempt_at) if row.state == Delivery.State.RETRYING else None,
        "attempts": [attempt_json(a) for a in attempts],
    }
