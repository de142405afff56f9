"""OAuth access tokens as Camio sends them: ``Authorization: token <t>`` (or ``Bearer <t>``), and
``?access_token=<t>`` on GET."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connections, router
from oauth2_provider.models import AbstractAccessToken, get_access_token_model
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from config.api.throttling import cache_redis_client, throttle_window, token_throttle_ident, window_hit_and_get
from config.api.token_cache import token_cache_backend, token_entry_dumps, token_entry_key, token_entry_loads
from config.api.token_near_cache import NOTHING_HELD, token_near_cache
from config.precompiled import RowConverters, column_converters, row_convert

_SCHEMES = {"token", "bearer"}
# The reference: "you must supply the access token in the HTTP Authorization header for
# POST/PUT/PATCH commands. For HTTP GET commands, you can supply &access_token=". Reads only: a
# token in a URL ends up in proxy and browser logs, and such a URL must not be able to delete.
_QUERY_METHODS = {"GET", "HEAD"}
# The token columns authentication reads; the rest stay deferred (loaded only if touched).
_TOKEN_FIELDS = ("id", "user", "expires", "token_checksum")


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
        # Another scheme (a proxy's Basic credentials, say) is not ours: the query may carry the token.
    if request.method in _QUERY_METHODS:
        value = request.query_params.get("access_token")
        if value is not None:
            return value.strip() or None
    return None


@dataclass(frozen=True)
class _TokenQuery:
    """``SELECT token.id, token.user_id, token.expires, user.* … WHERE token_checksum = %s``, written
    once per database from the models' metadata.

    Every API request runs it, and the ORM spends several times longer compiling this join than
    the database spends answering it (0.45 ms of CPU against 0.06 ms here). The rows still go
    through each field's database converters, so values are what the ORM would give.
    """

    sql: str
    token_attnames: list[str]
    user_attnames: list[str]
    # (column index, the column expression, its converters) for columns that have any.
    converters: RowConverters

    @classmethod
    def build(cls, alias: str) -> _TokenQuery:
        connection = connections[alias]
        quote = connection.ops.quote_name
        token_model, user_model = get_access_token_model(), get_user_model()
        token_fields = [f for f in token_model._meta.concrete_fields if f.name in _TOKEN_FIELDS]
        user_fields = list(user_model._meta.concrete_fields)
        user_fk = token_model._meta.get_field("user")
        checksum = token_model._meta.get_field("token_checksum")
        select = [f"t.{quote(f.column)}" for f in token_fields] + [f"u.{quote(f.column)}" for f in user_fields]
        # Only quoted identifiers from the models' metadata are interpolated; the checksum is a parameter.
        sql = (
            f"SELECT {', '.join(select)} FROM {quote(token_model._meta.db_table)} t "  # noqa: S608
            f"INNER JOIN {quote(user_model._meta.db_table)} u "
            f"ON u.{quote(user_model._meta.pk.column)} = t.{quote(user_fk.column)} "
            f"WHERE t.{quote(checksum.column)} = %s"
        )
        converters = column_converters(
            [field.get_col(field.model._meta.db_table) for field in token_fields + user_fields], connection
        )
        return cls(
            sql=sql,
            token_attnames=[f.attname for f in token_fields],
            user_attnames=[f.attname for f in user_fields],
            converters=converters,
        )

    def fetch_row(self, alias: str, checksum: str) -> list[Any] | None:
        """The row of the token with the checksum and its user, values converted; None if none."""
        connection = connections[alias]
        with connection.cursor() as cursor:
            cursor.execute(self.sql, [checksum])
            row = cursor.fetchone()
        if row is None:
            return None
        values = row_convert(row, self.converters, connection)
        return values

    def instances(self, alias: str, values: list[Any]) -> AbstractAccessToken:
        """The token and its user, as the ORM would build them from the row."""
        split = len(self.token_attnames)
        token = get_access_token_model().from_db(alias, self.token_attnames, values[:split])
        token.user = get_user_model().from_db(alias, self.user_attnames, values[split:])
        return token


_token_queries: dict[tuple[str, str], _TokenQuery] = {}


def _token_query(alias: str) -> _TokenQuery:
    key = (alias, connections[alias].vendor)
    query = _token_queries.get(key)
    if query is None:
        query = _token_queries[key] = _TokenQuery.build(alias)
    return query


def access_token_get(*, checksum: str) -> AbstractAccessToken | None:
    """The access token whose SHA-256 checksum is ``checksum``, with its user, in one query."""
    alias = router.db_for_read(get_access_token_model())
    query = _token_query(alias)
    values = query.fetch_row(alias, checksum)
    return None if values is None else query.instances(alias, values)


def access_token_for_request(request: Request, *, checksum: str) -> AbstractAccessToken | None:
    """The request's access token, with its user.

    On Redis, the process's held row and a hit from its block of counted hits when it has them
    (``config.api.token_near_cache``: no round trip); otherwise the cached entry and the
    throttle's count for this token in one round trip. The count is left on the request for
    ``TokenRateThrottle``. The database is asked only when Redis has no entry
    (``config.api.token_cache`` says when entries are dropped). Elsewhere, one query, as
    ``access_token_get``.
    """
    backend = token_cache_backend()
    if backend is None:
        return access_token_get(checksum=checksum)
    window = throttle_window(token_throttle_ident(checksum))
    entry_key = token_entry_key(backend, checksum)
    alias = router.db_for_read(get_access_token_model())
    query = _token_query(alias)

    client = cache_redis_client(backend)
    prefix = token_entry_key(backend, "")
    near = token_near_cache(client, prefix=prefix)
    # (A KEY_FUNCTION that does not make keys as prefix + checksum: tracking the prefix would
    # miss the entries' changes, so nothing is held.)
    held = near.read(checksum, window.key, window.limit) if entry_key == prefix + checksum else NOTHING_HELD
    if held.values is not None and held.count is not None:
        request.throttle_hit = (window.key, held.count)
        return query.instances(alias, held.values)
    # One round trip: a new block of hits unless the process has a hit left, and the token's
    # entry unless the process holds its row.
    new_hits = 0 if held.count is not None else held.hits
    count, raw, ttl_ms = window_hit_and_get(
        backend, window.key, window.timeout, full_key=entry_key if held.values is None else None, hits=new_hits
    )
    if new_hits:
        near.counted(checksum, window.key, hits=new_hits, count=count)
    request.throttle_hit = (window.key, held.count if held.count is not None else count - new_hits + 1)
    if held.values is not None:
        return query.instances(alias, held.values)

    values = token_entry_loads(backend, raw)
    if values is None:
        values = query.fetch_row(alias, checksum)
        if values is None:
            return None
        token = query.instances(alias, values)
        lifetime = int(token.expires.timestamp() - time.time()) if token.expires else 0
        ttl = min(settings.API_TOKEN_CACHE_SECONDS, lifetime)
        if raw is None and ttl > 0:
            # NX: a tombstone written meanwhile (the token changed) wins over this older read.
            # (The process holds the row from the next request's Redis read, not from this one.)
            client.set(entry_key, token_entry_dumps(backend, values), ex=ttl, nx=True)
        return token
    if ttl_ms is not None:
        near.hold(checksum, values, ttl_ms=ttl_ms, epoch=held.epoch)
    return query.instances(alias, values)


class OAuthTokenAuthentication(BaseAuthentication):
    """Authenticates with a django-oauth-toolkit access token looked up by its checksum.

    A revoked (deleted) or expired token, or a user deactivated or deleted through the models,
    gets 401 on the very next request; see ``config.api.token_cache`` for the cache on Redis.
    """

    def authenticate(self, request: Request):
        raw = bearer_token_from(request)
        if raw is None:
            return None
        token = access_token_for_request(request, checksum=hashlib.sha256(raw.encode()).hexdigest())
        if token is None or token.user is None or not token.user.is_active or token.is_expired():
            raise exceptions.AuthenticationFailed("Invalid, expired or revoked token")
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        # Makes DRF answer 401 (not 403) to a request without credentials.
        return 'token realm="api"'
