"""The one Celery app: configured from Django settings (namespace CELERY_), tasks autodiscovered."""

import os

from celery import Celery
from celery.signals import task_postrun, task_prerun, worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("camhub")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


# Database connections live across tasks as they live across requests: Celery's Django fixup
# closes them before and after every task unless told to reuse them (settings'
# CELERY_DB_REUSE_MAX), which costs each task a new PostgreSQL connection (2-3 ms of backend
# start-up and set-up, more than a whole message of a chain's backlog). Instead, as Django does
# around each request, a task drops a connection that is past CONN_MAX_AGE or broken, and the
# health check (CONN_HEALTH_CHECKS) tries it before its first query: a worker outlives a database
# restart. Eager runs (tests, in-process) are left alone, as the fixup leaves them: they may run
# inside a transaction, whose connection must not be closed.
@task_prerun.connect
@task_postrun.connect
def _database_connections_between_tasks(sender=None, **kwargs) -> None:
    if sender is not None and getattr(sender.request, "is_eager", False):
        return
    from django.db import close_old_connections

    close_old_connections()


@worker_process_init.connect
def _freeze_startup_heap(**kwargs) -> None:
    # Each pool process, once it has loaded the tasks (see config.startup).
    from config.startup import freeze_startup_heap

    freeze_startup_heap()
