"""Camera reads."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet
from django.utils import timezone

from cameras.models import Camera
from config.api.errors import NotFound


def camera_list(*, owner: AbstractBaseUser) -> QuerySet[Camera]:
    return Camera.objects.filter(owner=owner).order_by("name")


def camera_get(*, owner: AbstractBaseUser, name: str) -> Camera:
    camera = Camera.objects.filter(owner=owner, name=name).first()
    if camera is None:
        raise NotFound(f"No camera named {name!r}")
    return camera


def online_since() -> datetime:
    """Cameras seen at or after this instant are online."""
    return timezone.now() - timedelta(seconds=settings.CAMERA_OFFLINE_AFTER_SECONDS)


def camera_is_online(camera: Camera, *, since: datetime | None = None) -> bool:
    since = since or online_since()
    return camera.last_seen_at is not None and camera.last_seen_at >= since
