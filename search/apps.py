from django.apps import AppConfig


class SearchConfig(AppConfig):
    name = "search"
    verbose_name = "Search and analysis"

    def ready(self) -> None:
        from search import openapi  # noqa: F401  (registers the API's OpenAPI description)
