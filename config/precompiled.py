"""A queryset compiled once and run again with new parameters, its rows built as the ORM builds
them.

For the few reads every API client makes all the time (the camera list), the ORM spent more CPU
compiling the query and working out its columns, converters and model layout on every call than
the database spent answering it. Compiling once per database keeps the ORM's own SQL, converters
and ``Model.from_db`` instances, so nothing about the rows changes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.db import connections
from django.db.models import Model, QuerySet

M = TypeVar("M", bound=Model)

# (column index, the column expression, its converters), for the columns of a row that have any.
RowConverters = list[tuple[int, Any, list[Callable]]]


def column_converters(columns: Sequence[Any], connection) -> RowConverters:
    """The database converters of each column expression (``Col``), as the ORM's compiler finds them."""
    return [
        (index, column, found)
        for index, column in enumerate(columns)
        if (found := connection.ops.get_db_converters(column) + column.get_db_converters(connection))
    ]


def row_convert(row: Sequence[Any], converters: RowConverters, connection) -> list[Any]:
    """A fetched row's values as the ORM would hand them to ``Model.from_db``."""
    values = list(row)
    for index, column, found in converters:
        for convert in found:
            values[index] = convert(values[index], column, connection)
    return values


@dataclass(frozen=True)
class _Compiled(Generic[M]):
    model: type[M]
    sql: str
    attnames: list[str]
    converters: RowConverters


class PrecompiledQuery(Generic[M]):
    """``build(*placeholders)`` must return the queryset with ``placeholders`` as its only
    parameters, in order; ``rows(alias, params)`` runs it with ``params`` in their place."""

    def __init__(self, build: Callable[..., QuerySet[M]], placeholders: Sequence[Any]) -> None:
        self._build = build
        self._placeholders = tuple(placeholders)
        self._compiled: dict[tuple[str, str], _Compiled[M]] = {}

    def _compile(self, alias: str) -> _Compiled[M]:
        connection = connections[alias]
        key = (alias, connection.vendor)
        compiled = self._compiled.get(key)
        if compiled is not None:
            return compiled
        queryset = self._build(*self._placeholders)
        compiler = queryset.query.get_compiler(using=alias)
        sql, params = compiler.as_sql()
        if tuple(params) != self._placeholders:
            raise ValueError(f"parameters {params!r} are not the placeholders {self._placeholders!r}")
        columns = [expression for expression, _sql, _alias in compiler.select]
        if compiler.klass_info is None or len(columns) != len(queryset.model._meta.concrete_fields):
            raise ValueError("only plain model querysets (every concrete field, no annotations) can be precompiled")
        converters = column_converters(columns, connection)
        compiled = _Compiled(
            model=queryset.model,
            sql=sql,
            attnames=[column.target.attname for column in columns],
            converters=converters,
        )
        self._compiled[key] = compiled
        return compiled

    def rows(self, alias: str, params: Sequence[Any]) -> list[M]:
        compiled = self._compile(alias)
        connection = connections[alias]
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, list(params))
            rows = cursor.fetchall()
        if not rows:
            return []
        return [
            compiled.model.from_db(alias, compiled.attnames, row_convert(row, compiled.converters, connection))
            for row in rows
        ]
