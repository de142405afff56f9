"""Per-item access tokens: signed, bound to one content item and to the Camio that shared it, expiring.

A search authorized by a Camio's view token hands one to each item it returns; ``POST /api/content``
accepts the pair (id, access_token) instead of OAuth. Signed with SECRET_KEY (salted), so nothing
is stored and rotating the key revokes every token.

The signed value is ``<public id>:<camio>`` (``camio``: the Camio's id in base 62, ``0`` when the
owner's own search issued the token), and the token is ``<camio>:<timestamp>:<signature>``.
Redeeming a Camio-bound token also needs that Camio alive (not deleted, not expired, its owner
active), so deleting a Camio revokes its items' tokens at once, as it does its view tokens.
Tokens of the earlier format (``<timestamp>:<signature>``, another salt) are refused; they lasted
only ``CONTENT_ACCESS_TOKEN_SECONDS`` anyway.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

from django.conf import settings
from django.core import signing
from django.db.models import Q
from django.utils import timezone
from django.utils.encoding import force_bytes

from search.models import Camio

# "v2": the Camio-bound format; tokens signed under the old salt fail their signature.
_SALT = "camhub.search.item-access.v2"
NO_CAMIO = 0


class ItemSigner:
    """``item_access_token`` for many items at once (a search page hands out up to 100s).

    The same tokens as Django's ``TimestampSigner`` (salted HMAC-SHA256 of ``value:timestamp``),
    with the derived key and the timestamp computed once instead of once per item.
    """

    def __init__(self) -> None:
        signer = signing.TimestampSigner(salt=_SALT)
        self.timestamp = signer.timestamp()
        # django.utils.crypto.salted_hmac: the HMAC key is sha256(key_salt + secret).
        key = hashlib.sha256(force_bytes(signer.salt + "signer") + force_bytes(signer.key)).digest()
        self._keyed = hmac.new(key, digestmod=hashlib.sha256)
        self._camios: dict[int | None, str] = {}  # a page names one Camio or a few: encode once

    def __call__(self, public_id: str, camio_id: int | None = None) -> str:
        camio = self._camios.get(camio_id)
        if camio is None:
            camio = self._camios[camio_id] = signing.b62_encode(camio_id or NO_CAMIO)
        mac = self._keyed.copy()
        mac.update(f"{public_id}:{camio}:{self.timestamp}".encode())
        return f"{camio}:{self.timestamp}:{signing.b64_encode(mac.digest()).decode()}"


def item_access_token(public_id: str, *, camio_id: int | None = None) -> str:
    """A token that opens the content item ``public_id`` until it expires (or its Camio goes)."""
    camio = signing.b62_encode(camio_id or NO_CAMIO)
    signed = signing.TimestampSigner(salt=_SALT).sign(f"{public_id}:{camio}")
    return signed.removeprefix(f"{public_id}:")


def item_access_signer() -> ItemSigner:
    """One signer for a page of items: ``sign(public_id, camio_id)``."""
    return ItemSigner()


def item_access_camio(public_id: str, token: str) -> int | None:
    """The Camio id ``token`` was issued under for ``public_id`` (``NO_CAMIO``: the owner's own
    search), if its signature is right and it has not expired; else None. No database read."""
    if token.count(":") != 2:
        return None  # the earlier format, or garbage
    try:
        value = signing.TimestampSigner(salt=_SALT).unsign(
            f"{public_id}:{token}", max_age=settings.CONTENT_ACCESS_TOKEN_SECONDS
        )
    except signing.BadSignature:  # SignatureExpired is a BadSignature
        return None
    camio = value.removeprefix(f"{public_id}:")
    if camio == value:
        return None
    try:
        return signing.b62_decode(camio)
    except (ValueError, IndexError):
        return None


def item_access_check_many(pairs: Iterable[tuple[str, str]]) -> list[bool]:
    """For each (public_id, token): whether it opens the item now. One query for the whole batch
    (the Camios the tokens name that are still alive); none when no token names a Camio."""
    camio_ids = [item_access_camio(pid, token) for pid, token in pairs]
    named = {c for c in camio_ids if c}
    alive: set[int] = set()
    if named:
        alive = set(
            Camio.objects.filter(pk__in=named, owner__is_active=True)
            .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()))
            .values_list("pk", flat=True)
        )
    return [c == NO_CAMIO or c in alive for c in camio_ids]


def item_access_check(public_id: str, token: str) -> bool:
    """Whether ``token`` was made for ``public_id``, has not expired, and its Camio (if any) lives."""
    return item_access_check_many([(public_id, token)])[0]
