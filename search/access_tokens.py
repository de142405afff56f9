"""Per-item access tokens: signed, bound to one content item, expiring.

A search authorized by a Camio's view token hands one to each item it returns; ``POST /api/content``
accepts the pair (id, access_token) instead of OAuth. Signed with SECRET_KEY (salted), so nothing
is stored and rotating the key revokes every token.
"""

from __future__ import annotations

from django.conf import settings
from django.core import signing

_SALT = "camhub.search.item-access"


def item_access_token(public_id: str) -> str:
    """A token that opens the content item ``public_id`` until it expires."""
    return signing.TimestampSigner(salt=_SALT).sign(public_id).split(":", 1)[1]


def item_access_check(public_id: str, token: str) -> bool:
    """Whether ``token`` was made for ``public_id`` and has not expired."""
    try:
        signing.TimestampSigner(salt=_SALT).unsign(
            f"{public_id}:{token}", max_age=settings.CONTENT_ACCESS_TOKEN_SECONDS
        )
    except signing.BadSignature:  # SignatureExpired is a BadSignature
        return False
    return True
