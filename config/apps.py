from django.apps import AppConfig


class ConfigApp(AppConfig):
    """The project's plumbing as an app: the `serve` command and startup system checks."""

    name = "config"
    label = "config"
    verbose_name = "camhub"

    def ready(self) -> None:
        from config import checks  # noqa: F401  (registers the system checks)
