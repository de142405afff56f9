"""A read sent alongside other queries, so that they share one round trip to the database.

On PostgreSQL (psycopg's pipeline mode) the read is queued and goes out with the queries the
``with`` block runs: the first of them that waits for its rows brings back the read's rows too.
Each round trip costs a request more than the short queries it carries (the client and the
server each wait for the other to be scheduled again), so two independent reads cost nearly
the price of one. Elsewhere the read simply runs first.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from django.db import connections


@contextmanager
def pipelined(alias: str, sql: str, params: Sequence[Any]) -> Iterator[list[tuple]]:
    """``with pipelined(alias, sql, params) as rows: …``: ``rows`` holds the read's rows once the
    block has ended (not inside it). The block's own queries run as they would without it."""
    connection = connections[alias]
    rows: list[tuple] = []
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows.extend(cursor.fetchall())
        yield rows
        return
    connection.ensure_connection()
    with connection.connection.pipeline(), connection.cursor() as cursor:
        cursor.execute(sql, params)
        yield rows
        rows.extend(cursor.fetchall())
