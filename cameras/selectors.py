"""Camera reads."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import connections, router
from django.db.models import QuerySet
from django.db.models.query import RawQuerySet
from django.utils import timezone

from cameras.models import Camera, StatusTransition
from config.api.errors import NotFound

# (database alias, vendor) -> the camera list's SQL, as the ORM compiles it.
_camera_list_sql: dict[tuple[str, str], str] = {}


def camera_list(*, owner: AbstractBaseUser) -> RawQuerySet[Camera]:
    """The owner's cameras by name, in one query (``prefetch_related`` works on the result).

    The SQL is the ORM's own, compiled once per database and run as a raw query: every API
    client lists its cameras all the time, and compiling the query cost the ORM twice as much
    CPU as running it.
    """
    alias = router.db_for_read(Camera)
    key = (alias, connections[alias].vendor)
    sql = _camera_list_sql.get(key)
    if sql is None:
        query = Camera.objects.filter(owner_id=0).order_by("name").query
        sql, params = query.get_compiler(using=alias).as_sql()
        assert params == (0,), params  # the owner is the only parameter
        _camera_list_sql[key] = sql
    return Camera.objects.db_manager(alias).raw(sql, [owner.pk])


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
