"""Base views shared by every app's API."""

from __future__ import annotations

from rest_framework.permissions import SAFE_METHODS
from rest_framework.views import APIView

from config.api.errors import NotFound


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
