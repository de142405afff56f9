"""Per-item access tokens: signed, bound to one content item and to the Camio that shared it, expiring.

A search authorized by a Camio's view token hands one to each item it returns; ``POST /api/content``
accepts the pair (id, access_token) instead of OAuth. Signed with SECRET_KEY (salted), so nothing
is stored and rotating the key revokes every token.

The signed value is ``<public id>:<issuer>`` and the token is ``<issuer>:<timestamp>:<signature>``.
The issuer is what let the searcher see the item (ids in base 62): a public Camio, ``<camio>``
(anyone holding the token may use it, as anyone may use the view token); a private Camio and the
signed-in searcher it let in, ``<camio>-<viewer>``; or a signed-in search of an account's own
content, ``-<viewer>-<owner>`` (the same id twice for the owner's own search, the guest and the
host for a guest's). Redeeming a token also needs its issuer alive: the Camio not deleted or
expired and its owner active (a token naming no viewer: the Camio still public); the viewer and
the owner active and, for a guest, still the owner's guest. So deleting a Camio, removing a guest
or deactivating an account revokes the tokens at once, as it does the view tokens. Every token
names one of the two: ``0``, the issuer of the owner's own searches before viewers were named
(revocable by nothing), is refused, as are tokens of the earlier format (``<timestamp>:
<signature>``, another salt); both lasted only ``CONTENT_ACCESS_TOKEN_SECONDS`` (a day) and were
last issued on 2026-12-04.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.db.models import Q
from django.utils import timezone
from django.utils.encoding import force_bytes

from accounts.models import Guest
from search.models import Camio

# "v2": the Camio-bound format; tokens signed under the old salt fail their signature.
_SALT = "camhub.search.item-access.v2"
NO_CAMIO = 0  # the retired issuer of tokens naming neither a Camio nor a viewer
_VIEWER = "-"  # not a base-62 digit: a viewer issuer, never a Camio id


class ItemSigner:
    """``item_access_token`` for many items at once (a search page hands out up to 100s).

    The same tokens as Django's ``TimestampSigner`` (salted HMAC-SHA256 of ``value:timestamp``),
    with the derived key and the timestamp computed once instead of once per item.
    """

    def __init__(
        self, *, viewer: tuple[int, int] | None = None, camios: Iterable[Camio] = (), holder: int | None = None
    ) -> None:
        """``viewer``: (the searcher, the owner) of a signed-in search; its items' issuer.
        ``camios``: the Camios of a view-token search, ``holder`` its signed-in searcher (the one
        a private Camio let in, whom its tokens name)."""
        signer = signing.TimestampSigner(salt=_SALT)
        self.timestamp = signer.timestamp()
        # django.utils.crypto.salted_hmac: the HMAC key is sha256(key_salt + secret).
        key = hashlib.sha256(force_bytes(signer.salt + "signer") + force_bytes(signer.key)).digest()
        self._keyed = hmac.new(key, digestmod=hashlib.sha256)
        self._camios: dict[int | None, str] = {}  # a page names one Camio or a few: encode once
        if viewer is not None:
            self._camios[None] = viewer_issuer(*viewer)
        for camio in camios:
            if camio.type != Camio.Type.PRIVATE:
                self._camios[camio.pk] = camio_issuer(camio.pk)
            elif holder is not None:
                self._camios[camio.pk] = camio_issuer(camio.pk, holder=holder)
            else:  # search_authorize lets no one unnamed into a private Camio
                raise ValueError("a private Camio's item tokens name the signed-in searcher holding them")

    def __call__(self, public_id: str, camio_id: int | None = None) -> str:
        camio = self._camios.get(camio_id)
        if camio is None:
            if not camio_id:
                raise ValueError("an item token names its Camio or, for a signed-in search, its viewer")
            camio = self._camios[camio_id] = signing.b62_encode(camio_id)
        mac = self._keyed.copy()
        mac.update(f"{public_id}:{camio}:{self.timestamp}".encode())
        return f"{camio}:{self.timestamp}:{signing.b64_encode(mac.digest()).decode()}"


def viewer_issuer(viewer_id: int, owner_id: int) -> str:
    return f"{_VIEWER}{signing.b62_encode(viewer_id)}{_VIEWER}{signing.b62_encode(owner_id)}"


def camio_issuer(camio_id: int, *, holder: int | None = None) -> str:
    """A public Camio's tokens name only it; a private one's also name the searcher it let in
    (``holder``), so that removing that guest revokes them."""
    if holder is None:
        return signing.b62_encode(camio_id)
    return f"{signing.b62_encode(camio_id)}{_VIEWER}{signing.b62_encode(holder)}"


def item_access_token(
    public_id: str, *, camio_id: int | None = None, holder: int | None = None, viewer: tuple[int, int] | None = None
) -> str:
    """A token that opens the content item ``public_id`` until it expires (or its issuer goes):
    the Camio ``camio_id`` that shared it (a private one: with the searcher ``holder`` it let in),
    else the signed-in ``viewer`` (searcher, owner)."""
    if camio_id:
        issuer = camio_issuer(camio_id, holder=holder)
    elif viewer is not None:
        issuer = viewer_issuer(*viewer)
    else:
        raise ValueError("an item token names its Camio or, for a signed-in search, its viewer")
    signed = signing.TimestampSigner(salt=_SALT).sign(f"{public_id}:{issuer}")
    return signed.removeprefix(f"{public_id}:")


def item_access_signer(
    *, viewer: tuple[int, int] | None = None, camios: Iterable[Camio] = (), holder: int | None = None
) -> ItemSigner:
    """One signer for a page of items: ``sign(public_id, camio_id)`` for an item one of ``camios``
    shared (a private one's tokens name the searcher ``holder``); items of no Camio are issued to
    ``viewer`` (searcher, owner)."""
    return ItemSigner(viewer=viewer, camios=camios, holder=holder)


@dataclass(frozen=True)
class Issuer:
    """What a token was issued under: a Camio (``viewer``: the searcher a private one let in;
    None: anyone, a public one), or a signed-in ``viewer``'s search of ``owner``'s content."""

    camio: int | None = None
    viewer: int | None = None
    owner: int | None = None


def item_access_issuer(public_id: str, token: str) -> Issuer | None:
    """What ``token`` was issued under for ``public_id``, if its signature is right and it has not
    expired; else None. No database read."""
    if token.count(":") != 2:
        return None  # the earlier format, or garbage
    try:
        value = signing.TimestampSigner(salt=_SALT).unsign(
            f"{public_id}:{token}", max_age=settings.CONTENT_ACCESS_TOKEN_SECONDS
        )
    except signing.BadSignature:  # SignatureExpired is a BadSignature
        return None
    issuer = value.removeprefix(f"{public_id}:")
    if issuer == value:
        return None
    try:
        if issuer.startswith(_VIEWER):
            viewer, _, owner = issuer[1:].partition(_VIEWER)
            return Issuer(viewer=signing.b62_decode(viewer), owner=signing.b62_decode(owner))
        camio, named, holder = issuer.partition(_VIEWER)
        return Issuer(camio=signing.b62_decode(camio), viewer=signing.b62_decode(holder) if named else None)
    except (ValueError, IndexError):
        return None


def item_access_check_many(pairs: Iterable[tuple[str, str]]) -> list[bool]:
    """For each (public_id, token): whether it opens the item now. At most a query for the Camios
    the tokens name, one for the accounts and one for the guest links: for the whole batch."""
    issuers = [item_access_issuer(pid, token) for pid, token in pairs]
    named = [i for i in issuers if i is not None and (i.camio is None or i.camio != NO_CAMIO)]
    alive: set[Issuer] = set()
    # (viewer, owner) pairs whose viewer must be active and, unless the owner, the owner's guest.
    holders: dict[Issuer, tuple[int, int]] = {}
    camio_ids = {i.camio for i in named if i.camio is not None}
    if camio_ids:
        live = {
            pk: (kind, owner)
            for pk, kind, owner in Camio.objects.filter(pk__in=camio_ids, owner__is_active=True)
            .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()))
            .values_list("pk", "type", "owner_id")
        }
        for i in {i for i in named if i.camio in live}:
            kind, owner = live[i.camio]
            if i.viewer is None:
                if kind != Camio.Type.PRIVATE:  # a private Camio's tokens name who it let in
                    alive.add(i)
            else:
                holders[i] = (i.viewer, owner)
    for i in {i for i in named if i.camio is None}:
        holders[i] = (i.viewer, i.owner)
    if holders:
        active = set(
            get_user_model()
            .objects.filter(pk__in={u for pair in holders.values() for u in pair}, is_active=True)
            .values_list("pk", flat=True)
        )
        live_pairs = {(v, o) for v, o in holders.values() if v in active and o in active}
        guests = {(v, o) for v, o in live_pairs if v != o}
        if guests:
            linked = Q()
            for v, o in guests:
                linked |= Q(guest_id=v, host_id=o)
            still = set(Guest.objects.filter(linked).values_list("guest_id", "host_id"))
            live_pairs -= guests - still
        alive |= {i for i, pair in holders.items() if pair in live_pairs}
    return [i is not None and i in alive for i in issuers]


def item_access_check(public_id: str, token: str) -> bool:
    """Whether ``token`` was made for ``public_id``, has not expired, and its Camio (if any) lives."""
    return item_access_check_many([(public_id, token)])[0]
