"""Django's PostgreSQL backend, with a per-request health check that makes no round trip,
server-side parameters that never exceed what the server can bind (``ParameterCountCursor``),
and dates loaded by psycopg's C loader (``FastTzLoader``).

``CONN_HEALTH_CHECKS`` makes Django send ``SELECT 1`` before the first query of every request
that reuses a connection: a whole round trip (and a context switch to the server and back) on
every API call, which cost more than the token lookup itself. An idle connection's socket tells
the same without one: PostgreSQL says nothing to an idle client unless the connection is going
away (a termination notice, then EOF) or someone it listens to notifies. So the check polls the
socket; only when something is waiting (or psycopg already knows the connection is bad) does it
fall back to Django's ``SELECT 1``. The same idea as go-sql-driver/mysql's ``connCheck``.
"""

from __future__ import annotations

import select
from datetime import tzinfo
from functools import lru_cache

import psycopg
from django.conf import settings
from django.db.backends.postgresql.base import DatabaseWrapper as PostgreSQLDatabaseWrapper
from django.db.backends.postgresql.base import ServerBindingCursor
from django.db.backends.postgresql.psycopg_any import get_adapters_template
from psycopg import adapters, pq
from psycopg.adapt import AdaptersMap, Loader
from psycopg.pq import Format

# A statement bound by the server carries at most this many parameters (the protocol counts them
# in 16 bits). Django's cascading deletes and bulk inserts make statements with one per row.
MAX_SERVER_BOUND_PARAMETERS = 65535


class ParameterCountCursor(ServerBindingCursor):
    """Django's server-binding cursor (``server_side_binding``: what lets psycopg prepare the
    statements a connection runs again and again), except for a statement with more parameters
    than the server can bind: that one is bound on the client, as without the option (deleting a
    camera of a year of uploads reads its items' dependents by 100,000s of ids at once)."""

    def execute(self, query, params=None, **kwargs):
        if params is not None and len(params) > MAX_SERVER_BOUND_PARAMETERS:
            query, params = psycopg.ClientCursor(self.connection).mogrify(query, params), None
        return super().execute(query, params, **kwargs)


_TIMESTAMPTZ_OID = adapters.types["timestamptz"].oid
# psycopg's own loader of the text format: its C implementation when psycopg's binary or C
# package is installed (Django's loader subclasses the pure-Python one).
_PSYCOPG_TIMESTAMPTZ_LOADER = adapters.get_loader(_TIMESTAMPTZ_OID, Format.TEXT)


class FastTzLoader(Loader):
    """Django's timestamptz loader (``psycopg_any.BaseTzLoader``: psycopg's value, its time zone
    replaced by the connection's ``timezone``) on psycopg's fastest loader.

    Django subclasses psycopg's pure-Python loader, which parses each value with a regular
    expression: ~5 µs a value in a request, 10 % of a search page's CPU (the C loader cannot be
    subclassed, so it is held and called). ``timezone``, as on Django's, tells
    ``DatabaseWrapper.create_cursor`` that no per-cursor loader is needed.
    """

    timezone: tzinfo | None = None

    def __init__(self, oid: int, context=None) -> None:
        super().__init__(oid, context)
        self._psycopg_load = _PSYCOPG_TIMESTAMPTZ_LOADER(oid, context).load

    def load(self, data):
        return self._psycopg_load(data).replace(tzinfo=self.timezone)


@lru_cache
def fast_adapters_template(use_tz: bool, timezone: tzinfo | None) -> AdaptersMap:
    """Django's adapters for these settings (``get_adapters_template``), with ``FastTzLoader``."""
    context = AdaptersMap(get_adapters_template(use_tz, timezone))
    loader = type("SpecificFastTzLoader", (FastTzLoader,), {"timezone": timezone})
    context.register_loader("timestamptz", loader)
    return context


class DatabaseWrapper(PostgreSQLDatabaseWrapper):
    def get_connection_params(self):
        params = super().get_connection_params()
        if params.get("cursor_factory") is ServerBindingCursor:
            params["cursor_factory"] = ParameterCountCursor
        params["context"] = fast_adapters_template(settings.USE_TZ, self.timezone)
        return params

    def close_if_health_check_failed(self) -> None:
        if self.connection is None or not self.health_check_enabled or self.health_check_done:
            return
        if not self.connection_idle_and_quiet():
            super().close_if_health_check_failed()  # SELECT 1: closes the connection if it fails
            return
        self.health_check_done = True

    def connection_idle_and_quiet(self) -> bool:
        """True when the connection is open, idle outside a transaction, and its socket has
        nothing to read (nothing the server sent while we were away)."""
        connection = self.connection
        if connection is None or connection.closed:
            return False
        pgconn = connection.pgconn
        if pgconn.status != pq.ConnStatus.OK or pgconn.transaction_status != pq.TransactionStatus.IDLE:
            return False
        try:
            readable, _, _ = select.select([pgconn.socket], [], [], 0)
        except (OSError, ValueError):  # the socket is gone
            return False
        return not readable
