"""JSON request bodies, read one way by DRF and by the plain views that take JSON.

``json`` raises ``RecursionError``, not ``ValueError``, for a body nested deeper than Python's
recursion limit (4 kB of ``[`` will do), and a body that parses just below that limit fails
later, wherever it is walked or encoded again. Both are bad input: a 400, never a 500.
"""

from __future__ import annotations

import json
from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError

# Deeper than any body of this API (a zone's points are 3 levels, a Camio's query 3).
MAX_JSON_DEPTH = 32


class MalformedJSON(ValueError):
    """A request body that is not JSON this API accepts; the message says why."""


def json_too_deep(data: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether lists and objects nest more than ``limit`` levels (iteratively: no recursion)."""
    if not isinstance(data, dict | list):
        return False
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > limit:
            return True
        children = value.values() if isinstance(value, dict) else value
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def json_body_loads(body: bytes | str) -> Any:
    """The body's JSON value; ``MalformedJSON`` if it is not JSON or nests too deeply."""
    try:
        data = json.loads(body)
    except RecursionError:
        raise MalformedJSON(f"JSON nested more than {MAX_JSON_DEPTH} levels deep") from None
    except ValueError as exc:  # UnicodeDecodeError included
        raise MalformedJSON(f"not valid JSON ({exc})") from None
    if json_too_deep(data):
        raise MalformedJSON(f"JSON nested more than {MAX_JSON_DEPTH} levels deep")
    return data


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, with too-deep nesting a ``ParseError`` (400) like any malformed body."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(f"JSON parse error - nested more than {MAX_JSON_DEPTH} levels deep") from None
        if json_too_deep(data):
            raise ParseError(f"JSON parse error - nested more than {MAX_JSON_DEPTH} levels deep")
        return data
