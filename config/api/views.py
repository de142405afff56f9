"""Base views shared by every app's API."""

from __future__ import annotations

from collections.abc import Mapping

from rest_framework.permissions import SAFE_METHODS
from rest_framework.views import APIView

from config.api.errors import BadRequest, NotFound


class MeAPIView(APIView):
    """A view under ``/api/users/<token>/…`` where the path token must be ``me`` (the caller).

    Any other value is an unknown account: Upload Tokens in this position grant nothing. ``user=``
    naming another account is refused (403) on writes (guests only read a host's data) and on reads
    too, unless the view sets ``host_readable`` and reads through ``accounts.selectors.acting_owner``:
    never quietly answered with, or applied to, the caller's own account.
    """

    # Whether GETs read a host's data for its guests (``user=<host email>``).
    host_readable = False

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if kwargs.get("token") != "me":
            raise NotFound("Unknown user token: use 'me' for the signed-in user")
        reading = request.method in SAFE_METHODS
        if not (reading and self.host_readable):
            from accounts.selectors import own_account

            own_account(user=request.user, host_email=request.query_params.get("user"), reading=reading)


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
