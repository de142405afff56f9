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
