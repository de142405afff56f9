"""OAuth access tokens as Camio sends them: ``Authorization: token <t>`` (or ``Bearer <t>``), and
``?access_token=<t>`` on GET."""

from __future__ import annotations

import hashlib

from oauth2_provider.models import get_access_token_model
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

_SCHEMES = {"token", "bearer"}
_QUERY_METHODS = {"GET", "HEAD"}


def bearer_token_from(request: Request) -> str | None:
    """The raw token a request carries, or None when it carries none of ours."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() in _SCHEMES:
            value = value.strip()
            if not value or " " in value:
                raise exceptions.AuthenticationFailed("Malformed Authorization header")
            return value
        return None
    if request.method in _QUERY_METHODS:
        value = request.query_params.get("access_token")
        if value is not None:
            return value.strip() or None
    return None


class OAuthTokenAuthentication(BaseAuthentication):
    """Authenticates with a django-oauth-toolkit access token looked up by its checksum (one query)."""

    def authenticate(self, request: Request):
        raw = bearer_token_from(request)
        if raw is None:
            return None
        checksum = hashlib.sha256(raw.encode()).hexdigest()
        token = get_access_token_model().objects.select_related("user").filter(token_checksum=checksum).first()
        if token is None or token.user is None or not token.user.is_active or token.is_expired():
            raise exceptions.AuthenticationFailed("Invalid, expired or revoked token")
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        # Makes DRF answer 401 (not 403) to a request without credentials.
        return 'token realm="api"'
