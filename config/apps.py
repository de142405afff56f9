from django.apps import AppConfig


class ConfigApp(AppConfig):
    """The project's plumbing as an app: the `serve` command, startup system checks, and keeping
    cached access tokens (``config.api.token_cache``) in step with tokens and users."""

    name = "config"
    label = "config"
    verbose_name = "camhub"

    def ready(self) -> None:
        from config import checks  # noqa: F401  (registers the system checks)
        from config.api import openapi  # noqa: F401  (registers the token auth scheme for OpenAPI)
        from config.api.token_cache import connect_token_cache_invalidation

        connect_token_cache_invalidation()
