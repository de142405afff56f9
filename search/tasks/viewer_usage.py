"""Periodic flush of the viewer's per-key usage counts from the cache to the database."""

from __future__ import annotations

from celery import shared_task

from search import viewer_usage

__all__ = ["flush_viewer_usage"]


@shared_task(name="search.flush_viewer_usage")
def flush_viewer_usage() -> int:
    """Periodic (every minute): persist the viewer page loads still pending in the cache."""
    return viewer_usage.viewer_usage_flush_all()
