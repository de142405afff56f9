"""``/api/schema/``: the OpenAPI document, generated once per process.

The document depends only on the code (``SERVE_PUBLIC``: not on who asks), so it is built on the
first request (~130 ms) and kept; each negotiated format is rendered once too. Generating it on
every request cost ~20 ms of CPU.
"""

from __future__ import annotations

import threading
from typing import Any

from django.conf import settings
from django.http import HttpResponse
from django.utils import translation
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView
from rest_framework.settings import api_settings

_lock = threading.Lock()
# (urlconf, version, language) -> the document; (that key, media type) -> its rendered bytes.
_documents: dict[tuple, dict[str, Any]] = {}
_rendered: dict[tuple, bytes] = {}


def schema_cache_clear() -> None:
    """Forget the documents built so far (tests that change the URLconf or the settings)."""
    with _lock:
        _documents.clear()
        _rendered.clear()


class CachedSchemaView(SpectacularAPIView):
    """drf-spectacular's schema view, serving a per-process copy of the document."""

    @extend_schema(exclude=True)
    def get(self, request, *args, **kwargs):
        lang = request.GET.get("lang")
        if lang and settings.USE_I18N and lang in dict(settings.LANGUAGES):
            with translation.override(lang):
                return self._cached_response(request)
        # Unknown languages are ignored: each one would otherwise be another document to keep.
        return self._cached_response(request)

    def _version(self, request) -> str | None:
        if self.api_version or request.version:
            return self.api_version or request.version
        # ``?version=`` only when the versions are a known, finite set.
        return self._get_version_parameter(request) if api_settings.ALLOWED_VERSIONS else None

    def _document(self, key: tuple, version: str | None) -> dict[str, Any]:
        document = _documents.get(key)
        if document is None:
            with _lock:
                document = _documents.get(key)
                if document is None:
                    generator = self.generator_class(urlconf=self.urlconf, api_version=version, patterns=self.patterns)
                    # No request: nothing of the asker may end up in a document every asker is served.
                    document = _documents[key] = generator.get_schema(request=None, public=self.serve_public)
        return document

    def _cached_response(self, request) -> HttpResponse:
        version = self._version(request)
        key = (str(self.urlconf), version, translation.get_language() if settings.USE_I18N else None)
        document = self._document(key, version)
        renderer, media_type = request.accepted_renderer, request.accepted_media_type
        # Media type parameters (``; indent=2``) vary without bound: such answers are rendered afresh.
        cacheable = media_type == renderer.media_type
        body = _rendered.get((key, media_type)) if cacheable else None
        if body is None:
            body = renderer.render(document, media_type, self.get_renderer_context())
            if cacheable:
                _rendered[key, media_type] = body
        content_type = f"{media_type}; charset={renderer.charset}" if renderer.charset else media_type
        response = HttpResponse(body, content_type=content_type)
        response["Content-Disposition"] = f'inline; filename="{self._get_filename(request, version)}"'
        return response
