"""Download tasks: zips of a Camio's content."""

from __future__ import annotations

from celery import shared_task

from search import downloads

__all__ = ["build_download", "purge_downloads", "requeue_stuck_downloads"]


@shared_task(name="search.build_download")
def build_download(download_id: int) -> None:
    """Build the zip of Download ``download_id`` (failures are recorded on the row, not retried)."""
    downloads.download_build(download_id=download_id)


@shared_task(name="search.purge_downloads")
def purge_downloads() -> int:
    """Periodic: delete zips whose links have expired or whose Camio was deleted."""
    return downloads.downloads_purge()


@shared_task(name="search.requeue_stuck_downloads")
def requeue_stuck_downloads() -> int:
    """Periodic: downloads whose task was lost or whose worker died get their task again."""
    return downloads.downloads_requeue_stuck()
