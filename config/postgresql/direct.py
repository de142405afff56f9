"""Statements Django's cursor cannot run on PostgreSQL: ``COPY … FROM STDIN`` and binary results.

Django's psycopg cursor binds parameters on the client and reads every column as text, so a
``bytea`` column comes back hex-encoded (twice its size, encoded by the server and decoded by the
client) and a bulk insert is one long statement with every value quoted into it. These run on
the same connection and transaction as the ORM, raise Django's database errors (``IntegrityError``
…) and are logged like any statement (``DEBUG``, the tests' query counts).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from contextlib import contextmanager

import psycopg
from django.db.backends.base.base import BaseDatabaseWrapper


@contextmanager
def _statement(conn: BaseDatabaseWrapper, sql: str):
    """The psycopg connection, and the statement's log entry (its ``sql`` may be annotated)."""
    started, entry = time.monotonic(), {"sql": sql}
    conn.ensure_connection()
    with conn.wrap_database_errors:
        yield conn.connection, entry
    if conn.queries_logged:
        conn.queries_log.append({**entry, "time": f"{time.monotonic() - started:.3f}"})


def copy_in(conn: BaseDatabaseWrapper, table: str, columns: Sequence[str], rows: Iterable[Sequence]) -> int:
    """``COPY table (columns) FROM STDIN`` with ``rows`` (values as psycopg adapts them; JSON as
    text). Returns the number of rows sent."""
    quote = conn.ops.quote_name
    sql = f"COPY {quote(table)} ({', '.join(quote(c) for c in columns)}) FROM STDIN"
    with _statement(conn, sql) as (pg, entry), pg.cursor() as cursor:
        count = 0
        with cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)
                count += 1
        entry["sql"] += f" -- {count} rows"
    return count


def fetch_binary(conn: BaseDatabaseWrapper, sql: str, params: Sequence) -> list[tuple]:
    """The rows of a query (SQL and parameters as the ORM compiles them) read in PostgreSQL's binary
    format: ``bytea`` as the bytes themselves, numbers without text conversion."""
    # Django's connections make client-side-binding cursors, which cannot read binary results.
    with _statement(conn, sql) as (pg, _), psycopg.Cursor(pg) as cursor:
        cursor.execute(sql, params, binary=True)
        return cursor.fetchall()
