"""Settings for a test Celery worker: the real ones, with loopback receivers allowed and short delays."""

from config.settings import *  # noqa: F403

HOOKS_ALLOW_PRIVATE_NETWORKS = True
HOOK_CONNECT_TIMEOUT_SECONDS = 1
HOOK_TIMEOUT_SECONDS = 3
HOOK_RETRY_SCHEDULE_SECONDS = (0.3, 0.6, 0.9)
