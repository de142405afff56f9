"""JSON shapes of the accounts API, as the Camio reference writes them."""

from __future__ import annotations

from typing import Any

from accounts.models import NOTIFICATION_TYPES, AccountSettings, Guest, Notification
from config.api.dates import camio_date


def settings_json(row: AccountSettings) -> dict[str, Any]:
    notifications = {kind: dict(row.notifications.get(kind, {})) for kind in NOTIFICATION_TYPES}
    return {
        "notifications": notifications,
        "upload_token": row.upload_token,
        "recording_enabled": row.recording_enabled,
    }


def guest_json(row: Guest) -> dict[str, Any]:
    return {"email": row.guest.email, "date_created": camio_date(row.created_at)}


def notification_json(row: Notification) -> dict[str, Any]:
    return {
        "id": str(row.pk),
        "type": row.kind,
        "title": row.title,
        "body": row.body,
        "data": row.data,
        "date_created": camio_date(row.created_at),
        "read": row.read_at is not None,
    }
