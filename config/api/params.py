"""Query parameters every app reads the same way: booleans and bounded integers, a 400 naming
the parameter for anything else (service code such as renditions reads them too, not only views)."""

from __future__ import annotations

from collections.abc import Mapping

from config.api.errors import BadRequest


def query_bool(request, name: str, default: bool = False) -> bool:
    """A boolean query parameter (true/false, 1/0); anything else is a 400."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"true", "1", "yes"}:
        return True
    if value in {"false", "0", "no"}:
        return False
    raise BadRequest(f"{name} must be true or false, not {raw!r}")


def query_int(query: Mapping, name: str, default: int | None, *, low: int, high: int) -> int | None:
    """An integer query parameter from ``low`` to ``high`` (``default`` when absent or blank).

    ASCII digits only: Python's int() also reads other scripts' digits (``٣``), ``+3`` and ``1_0``,
    which no API client means; anything else is a 400 naming the parameter."""
    raw = query.get(name)
    if raw is None or str(raw).strip() == "":
        return default
    value = str(raw).strip()
    # The length first: int() of thousands of digits is slow, and past 4300 a ValueError (a 500).
    if not (value.isascii() and value.isdigit() and len(value) <= 18) or not low <= int(value) <= high:
        raise BadRequest(f"{name} must be an integer from {low} to {high}, not {raw!r}")
    return int(value)
