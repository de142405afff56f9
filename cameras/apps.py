from django.apps import AppConfig


class CamerasConfig(AppConfig):
    name = "cameras"
    verbose_name = "Cameras"

    def ready(self) -> None:
        from cameras import openapi  # noqa: F401  (registers the API's OpenAPI description)
