"""Timestamps as the Camio reference writes them: ``2014-02-21T04:12:38.911-0000`` (UTC)."""

from __future__ import annotations

from datetime import UTC, datetime


def camio_date(value: datetime | None) -> str | None:
    if value is None:
        return None
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}-0000"
