"""Where a camera's bytes live in storage: one prefix per account and camera.

Uploads build their keys under this prefix, so deleting a camera (or a whole account) can purge
its bytes without knowing the content rows (which are gone by then).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.core.files.storage import default_storage

logger = logging.getLogger(__name__)


def owner_storage_prefix(*, owner_id: int) -> str:
    """Every camera's bytes of one account."""
    return f"content/{owner_id}/"


def camera_storage_prefix(*, owner_id: int, camera_pk: int) -> str:
    return f"{owner_storage_prefix(owner_id=owner_id)}{camera_pk}/"


def storage_delete_prefix(prefix: str) -> int:
    """Delete every stored file under ``prefix``; returns how many were removed."""
    removed = 0
    stack = [prefix.rstrip("/")]
    while stack:
        folder = stack.pop()
        try:
            dirs, files = default_storage.listdir(folder)
        except FileNotFoundError:
            continue
        for name in files:
            default_storage.delete(f"{folder}/{name}")
            removed += 1
        stack.extend(f"{folder}/{d}" for d in dirs)
    return removed


def storage_delete_keys(keys: Iterable[str]) -> int:
    """Delete the stored files ``keys`` (already gone is fine); returns how many were asked for."""
    removed = 0
    for key in keys:
        if key:
            default_storage.delete(key)
            removed += 1
    return removed
