"""Per-item access tokens: signed, bound to one content item, expiring.

A search authorized by a Camio's view token hands one to each item it returns; ``POST /api/content``
accepts the pair (id, access_token) instead of OAuth. Signed with SECRET_KEY (salted), so nothing
is stored and rotating the key revokes every token.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable

from django.conf import settings
from django.core import signing
from django.utils.encoding import force_bytes

_SALT = "camhub.search.item-access"

ItemSigner = Callable[[str], str]


def item_access_token(public_id: str) -> str:
    """A token that opens the content item ``public_id`` until it expires."""
    return signing.TimestampSigner(salt=_SALT).sign(public_id).split(":", 1)[1]


def item_access_signer() -> ItemSigner:
    """``item_access_token`` for many items at once (a search page hands out up to 100s).

    The same tokens as Django's ``TimestampSigner`` (salted HMAC-SHA256 of ``id:timestamp``),
    with the derived key and the timestamp computed once instead of once per item.
    """
    signer = signing.TimestampSigner(salt=_SALT)
    timestamp = signer.timestamp()
    # django.utils.crypto.salted_hmac: the HMAC key is sha256(key_salt + secret).
    key = hashlib.sha256(force_bytes(signer.salt + "signer") + force_bytes(signer.key)).digest()
    keyed = hmac.new(key, digestmod=hashlib.sha256)

    def sign(public_id: str) -> str:
        mac = keyed.copy()
        mac.update(f"{public_id}:{timestamp}".encode())
        return f"{timestamp}:{signing.b64_encode(mac.digest()).decode()}"

    return sign


def item_access_check(public_id: str, token: str) -> bool:
    """Whether ``token`` was made for ``public_id`` and has not expired."""
    try:
        signing.TimestampSigner(salt=_SALT).unsign(
            f"{public_id}:{token}", max_age=settings.CONTENT_ACCESS_TOKEN_SECONDS
        )
    except signing.BadSignature:  # SignatureExpired is a BadSignature
        return False
    return True
