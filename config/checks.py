"""Startup problems reported as Django system checks (``manage.py check``, and before ``serve``)."""

from django.conf import settings
from django.core.checks import Warning, register


@register()
def check_production_shape(app_configs, **kwargs):
    problems = []
    on_postgres = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    if on_postgres and settings.CELERY_BROKER_URL.startswith("filesystem://"):
        problems.append(
            Warning(
                "PostgreSQL is configured but Celery uses the embedded filesystem broker.",
                hint="Set CELERY_BROKER_URL=redis://... so workers on other machines receive tasks.",
                id="camhub.W001",
            )
        )
    if on_postgres and settings.CACHES["default"]["BACKEND"].endswith(("FileBasedCache", "LocMemCache")):
        problems.append(
            Warning(
                "The cache is not shared between machines, so rate limits are per process.",
                hint="Set CACHE_URL=redis://... in production.",
                id="camhub.W002",
            )
        )
    return problems
