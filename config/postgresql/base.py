"""Django's PostgreSQL backend, with a per-request health check that makes no round trip.

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

from django.db.backends.postgresql.base import DatabaseWrapper as PostgreSQLDatabaseWrapper
from psycopg import pq


class DatabaseWrapper(PostgreSQLDatabaseWrapper):
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
