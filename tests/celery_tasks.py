"""Tasks that exist only for tests; a test worker imports them with ``--include``."""

import redis
from celery import shared_task
from django.contrib.auth import get_user_model


@shared_task(bind=True, name="tests.flaky_create_user", max_retries=3)
def flaky_create_user(self, redis_url: str, username: str) -> None:
    """Fails its first attempt (retried with a countdown), then creates a user: proves retries and DB."""
    attempts = redis.Redis.from_url(redis_url).incr(f"attempts:{username}")
    if attempts < 2:
        raise self.retry(countdown=0.3)
    get_user_model().objects.create_user(username=username)


@shared_task(name="tests.record_database_connection")
def record_database_connection(redis_url: str, key: str) -> None:
    """Appends ``<thread>:<connection>`` to a Redis list: which database connection the task used
    (PostgreSQL: the backend's pid; SQLite: the connection object's identity)."""
    import threading

    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    if connection.vendor == "postgresql":
        ident = connection.connection.info.backend_pid
    else:
        ident = id(connection.connection)
    redis.Redis.from_url(redis_url).rpush(key, f"{threading.get_ident()}:{ident}")
