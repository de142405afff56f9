"""Enqueueing a task of another app by name, after the current transaction commits.

A lower app (uploads) hands work to a higher one (search, hooks) without importing it: the task is
looked up in the Celery registry by its dotted name. Eager mode (tests) runs the same task object.

Coalescing: a message can name what it is for (``coalesce``, e.g. one camera's analysis backlog).
While one such message is pending (sent, not yet started), the same key sends nothing more: the
task picks the work up when it runs. The key is a ``cache.add`` in the shared cache, passed to the
task as ``coalesced``; the task keeps it while it hands its work on (:func:`coalesce_hold`) and
lets it go (:func:`coalesce_release`) when nothing is left, then looks for work once more (what
was committed while it still held the key). If the cache cannot be reached the message is sent
(duplicates are harmless, losses are not); a key whose message was lost lapses after
``coalesce_seconds``.

When the broker cannot be reached (``if_unsent``): by default the error goes up (the request
answers 503). A hand-off made after rows are already committed must not say "nothing was
changed" when something was: ``"log"`` for one a periodic sweep catches up with (name it in
``backstop``), ``"inline"`` for one that has no sweep and must not be lost (it runs here, now).
Either way the callbacks registered after it still run.
"""

from __future__ import annotations

import logging
import threading
from typing import Literal

from django.core.cache import cache
from django.db import transaction

from config.celery import app

logger = logging.getLogger(__name__)

# Celery's autodiscovery returns at once in a thread that calls it while another thread is still
# importing, before the tasks are registered: one discovery at a time, and look again after it.
_discovery = threading.Lock()


def enqueue_on_commit(
    task_name: str,
    *args,
    required: bool = True,
    coalesce: str | None = None,
    coalesce_seconds: int = 300,
    if_unsent: Literal["raise", "log", "inline"] = "raise",
    backstop: str = "",
    **kwargs,
) -> None:
    """Send ``task_name(*args, **kwargs)`` once the surrounding transaction commits.

    ``required=False`` tolerates a task whose app is not installed (logged at debug level), for
    hand-offs to an optional consumer. ``coalesce``, ``if_unsent`` and ``backstop``: see the
    module's docstring.
    """
    task = app.tasks.get(task_name)
    if task is None:
        # Web processes import tasks modules only when something asks: run Celery's autodiscovery.
        with _discovery:
            task = app.tasks.get(task_name)
            if task is None:
                app.loader.import_default_modules()
                task = app.tasks.get(task_name)
    if task is None:
        if required:
            raise LookupError(f"no Celery task named {task_name!r} is registered")
        logger.debug("no consumer for %s; nothing enqueued", task_name)
        return

    def send() -> None:
        if coalesce is None:
            task.apply_async(args=args, kwargs=kwargs)
        else:
            send_coalesced(task, args, key=coalesce, seconds=coalesce_seconds, **kwargs)

    if if_unsent == "raise":
        transaction.on_commit(send)
        return
    transaction.on_commit(lambda: _send_or_fall_back(task, send, args, kwargs, if_unsent=if_unsent, backstop=backstop))


def _send_or_fall_back(task, send, args: tuple, kwargs: dict, *, if_unsent: str, backstop: str) -> None:
    from config.api.errors import service_outage

    try:
        send()
    except Exception as exc:
        if not service_outage(exc):
            raise
        if if_unsent == "inline":
            logger.warning("%s: broker unreachable (%s); running it in this process", task.name, exc)
            task.apply(args=args, kwargs=kwargs, throw=True)
        else:
            logger.warning("%s: broker unreachable (%s); not sent, %s will catch up", task.name, exc, backstop)


def send_coalesced(task, args: tuple, *, key: str, seconds: int = 300, **kwargs) -> bool:
    """Send ``task(*args, coalesced=key, **kwargs)`` now unless a message for ``key`` is pending
    (then its task will find this work); whether it was sent."""
    if not _coalesce_take(key, seconds):
        return False
    try:
        task.apply_async(args=args, kwargs={**kwargs, "coalesced": key})
    except Exception:
        coalesce_release(key)  # not sent: the next one must not wait for it
        raise
    return True


_COALESCE_PREFIX = "tasks:pending:"


def _coalesce_take(key: str, seconds: int) -> bool:
    try:
        return cache.add(_COALESCE_PREFIX + key, 1, seconds)
    except Exception:
        logger.warning("coalescing %s: cache unavailable; sending anyway", key, exc_info=True)
        return True


def coalesce_hold(key: str, seconds: int) -> None:
    """Keep ``key`` taken for ``seconds`` more (a task handing its work on to a message of its own)."""
    try:
        cache.set(_COALESCE_PREFIX + key, 1, seconds)
    except Exception:
        logger.warning("coalescing %s: cache unavailable; messages are sent as if none were pending", key)


def coalesce_release(key: str) -> None:
    """Called when a coalesced task's work is done (or its message could not be sent): work
    committed from now on sends a new message."""
    try:
        cache.delete(_COALESCE_PREFIX + key)
    except Exception:
        logger.warning("coalescing %s: cache unavailable; the key lapses by itself", key, exc_info=True)
