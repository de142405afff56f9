"""Access tokens cached on Redis, so that an API call costs at most one Redis round trip and no
query before the view's own work (and no round trip at all once its process holds the token:
``config.api.token_near_cache``, kept true by the same tombstones).

Every API request has to know its token and user. Looking them up in PostgreSQL costs a round
trip per request, and on Redis the throttle already makes one, so the token entry comes back with
the throttle's count, in one command (``config.api.authentication``). What keeps the cache honest:

- An entry holds the token's id, checksum and expiry and its user's row, as the lookup query
  returns them. Expiry is checked on every request from the entry, so a token still expires at
  its second.
- Anything that deletes or saves a token or a user through the models (revocation by
  django-oauth-toolkit's endpoints or ``revoke()``, a refresh that rewrites the token in place,
  the admin, a deactivated user, ``QuerySet.delete()``) writes a **tombstone** over the token's
  entry before its transaction commits. Entries are only ever written with ``SET … NX``, so a
  request that read the database just before the change cannot put the old row back: the
  tombstone wins for ``API_TOKEN_CACHE_SECONDS`` and requests meanwhile read the database.
- ``QuerySet.update()`` on tokens or users sends no signal: such a change reaches cached tokens
  within ``API_TOKEN_CACHE_SECONDS`` (default 60; 0 turns the cache off).

Only the Redis cache holds tokens: other backends (the embedded default's files, tests' local
memory) look the token up in the database on every request, as before.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import caches
from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.redis import RedisCache
from django.db.models.signals import post_delete, post_save, pre_save
from oauth2_provider.models import AbstractAccessToken, get_access_token_model

from config.api.throttling import cache_redis_client

_TOMBSTONE = b"-"
_PREFIX = "auth:token:"


def token_cache_backend() -> RedisCache | None:
    """The Redis cache that holds tokens, or None when tokens are not cached."""
    if settings.API_TOKEN_CACHE_SECONDS <= 0:
        return None
    backend = caches["default"]
    return backend if isinstance(backend, RedisCache) else None


def token_entry_key(backend: BaseCache, checksum: str) -> str:
    return backend.make_key(_PREFIX + checksum)


def token_entry_dumps(backend: RedisCache, values: list[Any]) -> bytes:
    """An entry: the lookup query's row, its values already converted (datetimes, booleans)."""
    return backend._cache._serializer.dumps(values)


def token_entry_loads(backend: RedisCache, raw: bytes | None) -> list[Any] | None:
    """The row an entry holds; None for no entry and for a tombstone."""
    if raw is None or raw == _TOMBSTONE:
        return None
    return backend._cache._serializer.loads(raw)


def token_entries_bury(checksums: list[str]) -> None:
    """Write tombstones over these tokens' entries: no request puts them back for
    ``API_TOKEN_CACHE_SECONDS``, and until then the tokens are read from the database."""
    backend = token_cache_backend()
    if backend is None or not checksums:
        return
    pipe = cache_redis_client(backend).pipeline(transaction=False)
    for checksum in checksums:
        pipe.set(token_entry_key(backend, checksum), _TOMBSTONE, ex=settings.API_TOKEN_CACHE_SECONDS)
    pipe.execute()


def _token_changed(sender, instance: AbstractAccessToken, created: bool = False, **kwargs) -> None:
    # A new token's checksum was never cached; nothing to bury.
    if instance.token_checksum and not created:
        token_entries_bury([instance.token_checksum])


def _token_saving(sender, instance: AbstractAccessToken, **kwargs) -> None:
    # A refresh may rewrite a token in place (new value, new checksum): bury the old checksum too.
    if instance.pk is None or token_cache_backend() is None:
        return
    # (The checksum field recomputes itself later in save(): read the stored one.)
    old = sender.objects.filter(pk=instance.pk).values_list("token_checksum", flat=True).first()
    if old:
        token_entries_bury([old])


def _user_changed(sender, instance, update_fields=None, **kwargs) -> None:
    # Signing in rewrites last_login only: the cached row may keep the old one.
    if update_fields is not None and set(update_fields) <= {"last_login"}:
        return
    if token_cache_backend() is None:
        return
    checksums = get_access_token_model().objects.filter(user_id=instance.pk).values_list("token_checksum", flat=True)
    token_entries_bury([c for c in checksums if c])


def connect_token_cache_invalidation() -> None:
    """Bury cached entries whenever a token or a user is saved or deleted through the models."""
    token_model, user_model = get_access_token_model(), get_user_model()
    pre_save.connect(_token_saving, sender=token_model, dispatch_uid="camhub-token-cache-pre-save")
    post_save.connect(_token_changed, sender=token_model, dispatch_uid="camhub-token-cache-save")
    post_delete.connect(_token_changed, sender=token_model, dispatch_uid="camhub-token-cache-delete")
    post_save.connect(_user_changed, sender=user_model, dispatch_uid="camhub-token-cache-user-save")
    post_delete.connect(_user_changed, sender=user_model, dispatch_uid="camhub-token-cache-user-delete")
