"""Conditional GETs: ``If-None-Match`` against the answer's ``ETag`` (RFC 9110 13.1.2)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils.http import parse_etags


def not_modified(request: HttpRequest, etag: str, headers: dict[str, str] | None = None) -> HttpResponse | None:
    """A 304 (with ``ETag`` and ``headers``) when the client already holds ``etag``, else None.

    Compared weakly, as the RFC asks of ``If-None-Match``: ``W/"x"`` matches ``"x"``.
    """
    wanted = request.META.get("HTTP_IF_NONE_MATCH", "")
    if not wanted:
        return None
    # A client echoes the one ETag it was given: compare that before parsing a list.
    tags = (wanted,) if wanted == etag else parse_etags(wanted)
    if "*" in tags or any(tag.removeprefix("W/") == etag for tag in tags):
        return HttpResponse(status=304, headers={**(headers or {}), "ETag": etag})
    return None
