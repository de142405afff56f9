"""Liveness (/healthz) and readiness (/readyz: database, cache, broker and storage reachable)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.core.cache import cache
from django.core.files.storage import default_storage
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache

logger = logging.getLogger("camhub.health")


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _check_cache() -> None:
    cache.set("readyz:probe", "1", timeout=10)
    if cache.get("readyz:probe") != "1":
        raise RuntimeError("cache did not return the value just written")


def _check_broker() -> None:
    from config.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)


def _check_storage() -> None:
    # A HEAD on S3, a stat on local disk: proves the store answers with our credentials.
    default_storage.exists("readyz-probe")


CHECKS: dict[str, Callable[[], None]] = {
    "database": _check_database,
    "cache": _check_cache,
    "broker": _check_broker,
    "storage": _check_storage,
}


@never_cache
def healthz(request) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@never_cache
def readyz(request) -> JsonResponse:
    results: dict[str, dict] = {}
    ready = True
    for name, check in CHECKS.items():
        started = time.perf_counter()
        try:
            check()
        except Exception as exc:
            ready = False
            logger.warning("readyz: %s is not reachable: %s", name, exc)
            results[name] = {"ok": False, "error": type(exc).__name__}
        else:
            results[name] = {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}
    body = {"status": "ok" if ready else "unavailable", "checks": results}
    if not ready:
        body["message"] = "Not ready: " + ", ".join(n for n, r in results.items() if not r["ok"])
    return JsonResponse(body, status=200 if ready else 503)
