"""JSON request bodies, read one way by DRF and by the plain views that take JSON.

``json`` raises ``RecursionError``, not ``ValueError``, for a body nested deeper than Python's
recursion limit (4 kB of ``[`` will do), and a body that parses just below that limit fails
later, wherever it is walked or encoded again. A string escaping half of a surrogate pair
(``"\ud800"``) parses, but no UTF-8 text holds it: the database, the cache and the answer's
encoder each fail on it later (stored, it broke every later read). All are bad input: a 400,
never a 500.
"""

from __future__ import annotations

import json
import re
from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError

# Deeper than any body of this API (a zone's points are 3 levels, a Camio's query 3).
MAX_JSON_DEPTH = 32


class MalformedJSON(ValueError):
    """A request body that is not JSON this API accepts; the message says why."""


_SURROGATE = re.compile("[\ud800-\udfff]")


def json_refusal(data: Any, limit: int = MAX_JSON_DEPTH) -> str | None:
    """Why a parsed JSON value is refused, or None: lists and objects nested more than ``limit``
    levels, or a string (key or value) holding a lone surrogate. Walked iteratively: no recursion."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            if _SURROGATE.search(value):
                return "a string holds an unpaired surrogate (\\ud800-\\udfff), which is not text"
            continue
        if not isinstance(value, dict | list):
            continue
        if depth > limit:
            return f"nested more than {limit} levels deep"
        if isinstance(value, dict):
            stack.extend((key, depth) for key in value)
            stack.extend((child, depth + 1) for child in value.values())
        else:
            stack.extend((child, depth + 1) for child in value)
    return None


def json_body_loads(body: bytes | str) -> Any:
    """The body's JSON value; ``MalformedJSON`` if it is not JSON or nests too deeply."""
    try:
        data = json.loads(body)
    except RecursionError:
        raise MalformedJSON(f"JSON nested more than {MAX_JSON_DEPTH} levels deep") from None
    except ValueError as exc:  # UnicodeDecodeError included
        raise MalformedJSON(f"not valid JSON ({exc})") from None
    if refusal := json_refusal(data):
        raise MalformedJSON(f"JSON {refusal}")
    return data


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, with too-deep nesting and lone surrogates a ``ParseError`` (400) like any
    malformed body."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(f"JSON parse error - nested more than {MAX_JSON_DEPTH} levels deep") from None
        if refusal := json_refusal(data):
            raise ParseError(f"JSON parse error - {refusal}")
        return data
