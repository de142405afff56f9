"""API routes as Camio writes them: ``users/<token>/cameras`` matches with or without a final slash."""

from __future__ import annotations

import re

from django.urls import re_path

_PLACEHOLDER = re.compile(r"<(\w+)>")


def api_route(route: str, view, name: str):
    """``api_route("users/<token>/cameras/<camera>", view, name)``: each ``<x>`` is one path segment."""
    pattern = _PLACEHOLDER.sub(lambda m: f"(?P<{m.group(1)}>[^/]+)", route.strip("/"))
    return re_path(rf"^{pattern}/?$", view, name=name)
