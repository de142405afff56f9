"""Reactions of search to changes of the cameras app (enqueued on commit by it, by name)."""

from __future__ import annotations

from celery import shared_task

from search import camios

__all__ = ["camera_renamed"]


@shared_task(name="search.camera_renamed", ignore_result=True)
def camera_renamed(owner_id: int, old: str, new: str) -> None:
    """A camera was renamed: the Camios that share it name it anew."""
    camios.camios_camera_renamed(owner_id=owner_id, old=old, new=new)
