"""Usage of the embeddable viewer per API key and day: counted in the cache, persisted in batches.

Each counted page load is one atomic cache increment (the page stays fast and no database row
becomes a hot spot under a popular partner). The pending count of a key is added to its
``ViewerKeyUsage`` row at most once per ``FLUSH_SECONDS`` by the page load that finds the flush
due, by the periodic task ``search.flush_viewer_usage`` (which catches the tail after traffic
stops), and before the API key admin is shown, so the admin's figures are current.

A flush takes a short cache lock per key, reads the pending count ``n``, adds ``n`` to the row and,
just before that commits, decrements the pending count by ``n`` (loads counted meanwhile stay
pending): a flush whose write fails (or whose worker dies during it) leaves the loads pending for
the next one. Loads are lost only if the cache loses the pending key before a flush (eviction,
restart), or if the worker dies in the instant between the decrement and the commit: usage is a
partner statistic, not billing.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.models.functions import Greatest
from django.utils import timezone
from oauth2_provider.models import get_application_model

from search.models import ViewerKeyUsage

FLUSH_SECONDS = 60
# Pending counts outlive any flush interval by far; yesterday's tail is flushed after midnight.
_PENDING_TTL = 3 * 86400
_LOCK_SECONDS = 30


def _pending_key(client_id: str, day: date) -> str:
    return f"viewer-usage:pending:{client_id}:{day.isoformat()}"


def _last_key(client_id: str, day: date) -> str:
    return f"viewer-usage:last:{client_id}:{day.isoformat()}"


def _pending_add(key: str, count: int) -> None:
    cache.add(key, 0, timeout=_PENDING_TTL)
    try:
        cache.incr(key, count)
    except ValueError:  # evicted between add and incr
        cache.set(key, count, timeout=_PENDING_TTL)


def viewer_usage_record(*, client_id: str, now: datetime | None = None) -> None:
    """Count one viewer page load under the API key ``client_id`` (a known one: the view checks)."""
    now = now or timezone.now()
    day = now.astimezone(UTC).date()
    _pending_add(_pending_key(client_id, day), 1)
    cache.set(_last_key(client_id, day), now, timeout=_PENDING_TTL)
    # The first load after FLUSH_SECONDS writes the batch; the others only touch the cache.
    if cache.add(f"viewer-usage:due:{client_id}", 1, timeout=FLUSH_SECONDS):
        viewer_usage_flush_key(client_id=client_id, now=now)


def viewer_usage_flush_key(*, client_id: str, now: datetime | None = None) -> int:
    """Add the pending loads of one key (today's and yesterday's) to the database; how many."""
    now = now or timezone.now()
    lock = f"viewer-usage:flushing:{client_id}"
    if not cache.add(lock, 1, timeout=_LOCK_SECONDS):
        return 0  # another flush of this key is under way; its loads stay pending for the next
    try:
        today = now.astimezone(UTC).date()
        flushed = 0
        for day in (today - timedelta(days=1), today):
            key = _pending_key(client_id, day)
            pending = int(cache.get(key) or 0)
            if pending <= 0:
                continue
            last = cache.get(_last_key(client_id, day)) or now
            _pending_persist(client_id=client_id, day=day, key=key, count=pending, last_used_at=last)
            flushed += pending
        return flushed
    finally:
        cache.delete(lock)


def _pending_persist(*, client_id: str, day: date, key: str, count: int, last_used_at: datetime) -> None:
    """Move ``count`` pending loads from the cache ``key`` to the database row. They leave the cache
    only once the row is written, just before it commits: a write that fails leaves them pending
    (and a commit that fails after the decrement puts them back)."""
    taken = False
    try:
        with transaction.atomic():
            _usage_add(client_id=client_id, day=day, count=count, last_used_at=last_used_at)
            try:
                cache.decr(key, count)
            except ValueError:
                pass  # expired meanwhile: the loads read before are written all the same
            taken = True
    except Exception:
        if taken:
            _pending_add(key, count)
        raise


def _usage_add(*, client_id: str, day: date, count: int, last_used_at: datetime) -> None:
    """``count`` more loads on the (key, day) row, creating it if needed (safe under races)."""
    rows = ViewerKeyUsage.objects.filter(client_id=client_id, day=day)
    changes = {"count": F("count") + count, "last_used_at": Greatest(F("last_used_at"), last_used_at)}
    if rows.update(**changes):
        return
    try:
        with transaction.atomic():
            ViewerKeyUsage.objects.create(client_id=client_id, day=day, count=count, last_used_at=last_used_at)
    except IntegrityError:  # another flush created the row first
        rows.update(**changes)


def viewer_usage_flush_all(*, now: datetime | None = None) -> int:
    """Flush every key with pending loads (periodic, and before the admin shows usage); how many."""
    now = now or timezone.now()
    today = now.astimezone(UTC).date()
    days = (today - timedelta(days=1), today)
    keys = list(get_application_model().objects.order_by().values_list("client_id", flat=True))
    # One multi-get finds the keys with anything pending; idle keys cost nothing more.
    pending = cache.get_many([_pending_key(client_id, day) for client_id in keys for day in days])
    flushed = 0
    for client_id in keys:
        if any(int(pending.get(_pending_key(client_id, day)) or 0) > 0 for day in days):
            flushed += viewer_usage_flush_key(client_id=client_id, now=now)
    return flushed


def viewer_usage(*, api_key: str, day: date) -> int:
    """Viewer page loads under ``api_key`` on ``day`` (UTC): persisted plus still pending."""
    stored = ViewerKeyUsage.objects.filter(client_id=api_key, day=day).values_list("count", flat=True).first()
    return int(stored or 0) + int(cache.get(_pending_key(api_key, day)) or 0)
