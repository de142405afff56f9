from django.apps import AppConfig


class UploadsConfig(AppConfig):
    name = "uploads"
    verbose_name = "Uploads and content"

    def ready(self) -> None:
        from uploads import openapi  # noqa: F401  (registers the API's OpenAPI description)
