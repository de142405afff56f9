from django.apps import AppConfig


class HooksConfig(AppConfig):
    name = "hooks"
    verbose_name = "Hooks"

    def ready(self) -> None:
        from hooks import openapi  # noqa: F401  (registers the API's OpenAPI description)
