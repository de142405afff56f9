"""Camera reads."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import router
from django.db.models import QuerySet, prefetch_related_objects
from django.utils import timezone

from cameras.models import Camera, StatusTransition
from config.api.errors import NotFound
from config.precompiled import PrecompiledQuery

# The camera list's SQL, compiled once per database (0 stands for the owner's id).
_camera_list_query = PrecompiledQuery(lambda owner_id: Camera.objects.filter(owner_id=owner_id).order_by("name"), [0])


def camera_list(*, owner: AbstractBaseUser, fetch_zones: bool = False) -> list[Camera]:
    """The owner's cameras by name, in one query (two with their zones).

    Every API client lists its cameras all the time, and compiling the query cost the ORM twice
    as much CPU as running it: the ORM's SQL is compiled once (``config.precompiled``).
    """
    cameras = _camera_list_query.rows(router.db_for_read(Camera), [owner.pk])
    if fetch_zones and cameras:
        prefetch_related_objects(cameras, "zones")
    return cameras


def camera_get(*, owner: AbstractBaseUser, name: str) -> Camera:
    camera = Camera.objects.filter(owner=owner, name=name).first()
    if camera is None:
        raise NotFound(f"No camera named {name!r}")
    return camera


def online_since() -> datetime:
    """Cameras seen at or after this instant are online."""
    return timezone.now() - timedelta(seconds=settings.CAMERA_OFFLINE_AFTER_SECONDS)


def camera_last_seen(camera: Camera, *, polled: dict[int, datetime] | None = None) -> datetime | None:
    """The latest sight of a camera: the database's, or a poll the cache holds but has not written."""
    sights = [d for d in (camera.last_seen_at, (polled or {}).get(camera.pk)) if d is not None]
    return max(sights, default=None)


def camera_is_online(
    camera: Camera, *, since: datetime | None = None, polled: dict[int, datetime] | None = None
) -> bool:
    since = since or online_since()
    seen = camera_last_seen(camera, polled=polled)
    return seen is not None and seen >= since


def camera_transitions(*, camera: Camera, limit: int = 100) -> QuerySet[StatusTransition]:
    """A camera's online/offline history, newest first."""
    return StatusTransition.objects.filter(camera=camera).order_by("-at", "-id")[:limit]
