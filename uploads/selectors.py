"""Content reads shared by the API, search and the admin."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import AbstractBaseUser

from cameras.models import Camera
from config.api.errors import NotFound
from uploads.models import Content


def content_get(*, owner: AbstractBaseUser, camera_name: str, public_id: str) -> Content:
    """The owner's content item ``public_id`` of camera ``camera_name``; NotFound otherwise.

    Another account's id answers exactly like an unknown one: ids are never confirmed across users.
    """
    content = (
        Content.objects.select_related("camera")
        .filter(owner=owner, camera__name=camera_name, public_id=public_id)
        .first()
    )
    if content is None:
        raise NotFound("No such content")
    return content


def content_live(*, camera: Camera) -> Content | None:
    """The camera's newest image (heartbeat stills included), or None before its first image."""
    # Served by the (camera, -captured_at) index.
    return Content.objects.filter(camera=camera, kind=Content.Kind.IMAGE).order_by("-captured_at", "-pk").first()


def contents_by_public_id(ids: Iterable[str]) -> dict[str, Content]:
    """Content rows (with their camera) by public id, in one query; unknown ids are absent."""
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    return {c.public_id: c for c in Content.objects.select_related("camera").filter(public_id__in=wanted)}
