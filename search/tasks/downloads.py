"""Download tasks: zips of a Camio's content."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from cameras.storage import ORPHAN_GRACE, storage_delete_keys, storage_delete_prefix
from search import downloads

__all__ = [
    "build_download",
    "delete_account_downloads",
    "purge_downloads",
    "purge_orphaned_zips",
    "requeue_stuck_downloads",
    "revoke_owner_downloads",
]


@shared_task(name="search.build_download")
def build_download(download_id: int) -> None:
    """Build the zip of Download ``download_id`` (failures are recorded on the row, not retried)."""
    downloads.download_build(download_id=download_id)


@shared_task(name="search.purge_downloads")
def purge_downloads() -> int:
    """Periodic: delete zips whose links have expired or whose Camio was deleted."""
    return downloads.downloads_purge()


# Daily (beat): the backstop of delete_account_downloads when its message was lost.
@shared_task(name="search.purge_orphaned_zips", autoretry_for=(OSError,), max_retries=3, retry_backoff=True)
def purge_orphaned_zips() -> int:
    """Remove zips no download refers to, and spool files of builds that died."""
    return downloads.orphaned_zips_purge(older_than=timezone.now() - ORPHAN_GRACE)


@shared_task(name="search.requeue_stuck_downloads")
def requeue_stuck_downloads() -> int:
    """Periodic: downloads whose task was lost or whose worker died get their task again."""
    return downloads.downloads_requeue_stuck()


# Enqueued (by name, on commit) when content is deleted (admin): uploads sits below search.
@shared_task(name="search.revoke_owner_downloads", autoretry_for=(OSError,), max_retries=5, retry_backoff=True)
def revoke_owner_downloads(owner_ids: list[int]) -> int:
    """Zips built before content of these accounts was deleted are dropped (they hold it); those
    being built are built again without it."""
    return downloads.downloads_revoke_for_owners(owner_ids=owner_ids)


# Enqueued (by name, on commit) when an account is deleted: accounts sits below search.
@shared_task(name="search.delete_account_downloads", autoretry_for=(OSError,), max_retries=5, retry_backoff=True)
def delete_account_downloads(owner_id: int, storage_keys: list[str]) -> int:
    """Remove the zips of a deleted account: those of its Camios (its prefix, whoever asked for
    them) and those it asked for of other accounts' Camios (``storage_keys``, collected before
    the delete: its Download rows went with it). Returns how many files were removed."""
    prefix = downloads.download_storage_prefix(owner_id=owner_id)
    removed = storage_delete_prefix(prefix)
    return removed + storage_delete_keys(key for key in storage_keys if not key.startswith(prefix))
