"""Base views shared by every app's API."""

from __future__ import annotations

from rest_framework.permissions import SAFE_METHODS
from rest_framework.views import APIView

from config.api.errors import NotFound


class MeAPIView(APIView):
    """A view under ``/api/users/<token>/…`` where the path token must be ``me`` (the caller).

    Any other value is an unknown account: Upload Tokens in this position grant nothing. A write
    naming another account with ``user=`` is refused (guests only read a host's data), rather
    than quietly applied to the caller's own account.
    """

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if kwargs.get("token") != "me":
            raise NotFound("Unknown user token: use 'me' for the signed-in user")
        if request.method not in SAFE_METHODS:
            from accounts.selectors import own_account

            own_account(user=request.user, host_email=request.query_params.get("user"))


def query_bool(request, name: str, default: bool = False) -> bool:
    """A boolean query parameter (true/false, 1/0); anything else is a 400."""
    from config.api.errors import BadRequest

    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"true", "1", "yes"}:
        return True
    if value in {"false", "0", "no"}:
        return False
    raise BadRequest(f"{name} must be true or false, not {raw!r}")
