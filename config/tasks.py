"""Enqueueing a task of another app by name, after the current transaction commits.

A lower app (uploads) hands work to a higher one (search, hooks) without importing it: the task is
looked up in the Celery registry by its dotted name. Eager mode (tests) runs the same task object.
"""

from __future__ import annotations

import logging
import threading

from django.db import transaction

from config.celery import app

logger = logging.getLogger(__name__)

# Celery's autodiscovery returns at once in a thread that calls it while another thread is still
# importing, before the tasks are registered: one discovery at a time, and look again after it.
_discovery = threading.Lock()


def enqueue_on_commit(task_name: str, *args, required: bool = True, **kwargs) -> None:
    """Send ``task_name(*args, **kwargs)`` once the surrounding transaction commits.

    ``required=False`` tolerates a task whose app is not installed (logged at debug level), for
    hand-offs to an optional consumer.
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
    transaction.on_commit(lambda: task.apply_async(args=args, kwargs=kwargs))
