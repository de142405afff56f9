"""Where a camera's bytes live in storage: one prefix per account and camera.

Uploads build their keys under this prefix, so deleting a camera (or a whole account) can purge
its bytes without knowing the content rows (which are gone by then). A purge whose message was
lost (the broker was down) is caught up with by :func:`orphaned_content_purge`: camera ids are
never reused, so a camera's folder without its camera row holds nothing anyone can reach.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from django.core.files.storage import default_storage

from cameras.models import Camera

logger = logging.getLogger(__name__)

# Bytes younger than this are left to the upload that may still be committing them.
ORPHAN_GRACE = timedelta(hours=1)


def owner_storage_prefix(*, owner_id: int) -> str:
    """Every camera's bytes of one account."""
    return f"content/{owner_id}/"


def camera_storage_prefix(*, owner_id: int, camera_pk: int) -> str:
    return f"{owner_storage_prefix(owner_id=owner_id)}{camera_pk}/"


def storage_delete_prefix(prefix: str, *, older_than: datetime | None = None) -> int:
    """Delete every stored file under ``prefix`` (``older_than``: only those last written before
    it); returns how many were removed."""
    removed = 0
    stack = [prefix.rstrip("/")]
    while stack:
        folder = stack.pop()
        try:
            dirs, files = default_storage.listdir(folder)
        except FileNotFoundError:
            continue
        for name in files:
            key = f"{folder}/{name}"
            if older_than is not None and not stored_before(key, older_than):
                continue
            default_storage.delete(key)
            removed += 1
        stack.extend(f"{folder}/{d}" for d in dirs)
    return removed


def stored_before(key: str, moment: datetime) -> bool:
    """Whether the stored file ``key`` was last written before ``moment`` (gone: False)."""
    try:
        return default_storage.get_modified_time(key) < moment
    except (FileNotFoundError, OSError):
        return False


def content_owner_folders() -> list[str]:
    """The accounts' folders of stored content (``content/<owner id>``), in id order."""
    try:
        owners, _files = default_storage.listdir("content")
    except FileNotFoundError:
        return []
    return [f"content/{name}" for name in sorted((o for o in owners if o.isdigit()), key=int)]


def orphaned_camera_folders(owner_folder: str) -> list[str]:
    """The camera folders under ``owner_folder`` whose camera no longer exists (as prefixes).

    By camera id alone, not by owner: a camera moved to another account in admin keeps its bytes
    where they were written."""
    try:
        names, _files = default_storage.listdir(owner_folder)
    except FileNotFoundError:
        return []
    pks = [int(name) for name in names if name.isdigit()]
    existing = set(Camera.objects.filter(pk__in=pks).values_list("pk", flat=True))
    return [f"{owner_folder}/{pk}/" for pk in sorted(pks) if pk not in existing]


def orphaned_content_purge(*, older_than: datetime, progress: Callable[[int, int], None] | None = None) -> int:
    """Delete the stored bytes of deleted cameras and accounts that are older than ``older_than``
    (younger ones may belong to an upload whose new camera is not committed yet); returns how
    many files were removed. ``progress(done, total)`` is called after each account's folder."""
    folders = content_owner_folders()
    removed = 0
    for done, folder in enumerate(folders, 1):
        for prefix in orphaned_camera_folders(folder):
            count = storage_delete_prefix(prefix, older_than=older_than)
            if count:
                logger.warning("removed %d stored file(s) of deleted camera %s", count, prefix)
            removed += count
        if progress is not None:
            progress(done, len(folders))
    return removed


def storage_delete_keys(keys: Iterable[str]) -> int:
    """Delete the stored files ``keys`` (already gone is fine); returns how many were asked for."""
    removed = 0
    for key in keys:
        if key:
            default_storage.delete(key)
            removed += 1
    return removed
