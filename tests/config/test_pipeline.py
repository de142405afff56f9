"""config.postgresql.pipeline: a read sent alongside the queries of a block gives its rows after
the block, and the block's own queries give theirs as without it."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from config.postgresql.pipeline import pipelined

pytestmark = pytest.mark.django_db


def test_the_read_and_the_blocks_queries_each_get_their_rows():
    with pipelined("default", "SELECT %s, %s", [1, "one"]) as rows:
        with connection.cursor() as cursor:
            cursor.execute("SELECT %s", [2])
            assert cursor.fetchall() == [(2,)]
            cursor.execute("SELECT %s UNION ALL SELECT %s", [3, 4])
            assert sorted(cursor.fetchall()) == [(3,), (4,)]
    assert rows == [(1, "one")]
    with connection.cursor() as cursor:  # the connection is as it was
        cursor.execute("SELECT %s", [5])
        assert cursor.fetchone() == (5,)


def test_a_failing_read_fails_the_block_and_leaves_the_connection_usable():
    with pytest.raises(DatabaseError), transaction.atomic():
        with pipelined("default", "SELECT * FROM no_such_table WHERE 1 = %s", [1]):
            with connection.cursor() as cursor:
                cursor.execute("SELECT 2")
                cursor.fetchall()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 6")
        assert cursor.fetchone() == (6,)
