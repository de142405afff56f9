"""A queryset compiled once and run again with new parameters, its rows built as the ORM builds
them.

For the few reads every API client makes all the time (the camera list), the ORM spent more CPU
compiling the query and working out its columns, converters and model layout on every call than
the database spent answering it. Compiling once per database keeps the ORM's own SQL, converters
and ``Model.from_db`` instances, so nothing about the rows changes.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from django.core.exceptions import EmptyResultSet, FullResultSet
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


# A parameter of a shaped query: the index of the caller's value (and the type the ORM gave it:
# psycopg's Int2 for a SmallIntegerField), or a constant of the SQL itself (EXISTS' ``SELECT 1``).
_Slot = tuple[int, type] | tuple[None, Any]


def _sentinel(index: int, value: Any) -> Any:
    """A stand-in for ``value`` of its type that no other parameter equals (and in any column's range)."""
    if isinstance(value, bool) or not isinstance(value, int | str | datetime):
        raise TypeError(f"no stand-in for a {type(value).__name__}")
    if isinstance(value, int):
        return 30000 + index  # a SmallIntegerField's too
    if isinstance(value, str):
        return f"\x00shaped-query-parameter-{index}"
    return datetime(2001, 2, 3, 4, 5, 6, 7000 + index, tzinfo=UTC)


@dataclass(frozen=True)
class _CompiledValues:
    sql: str
    slots: list[_Slot]
    names: list[str]
    converters: RowConverters


_UNSEEN: Any = object()


class ShapedValuesQuery:
    """A ``values()`` query whose SQL is compiled once per *shape* and run again with new values.

    A search's filters vary in structure (how many cameras, which filters at all), so one SQL does
    not fit all: ``shape`` names the structure (any hashable the caller derives from its inputs);
    ``build(values)`` makes the queryset from ``values`` (ints, strings, aware datetimes), using
    each as it is. On a new shape the ORM compiles it once with a stand-in for each value, which
    tells where each value goes among the parameters; a shape whose stand-ins do not each come out
    as one parameter is not kept (the ORM runs it every time). Only SQL is kept: no values, no rows.
    Values must be ones the ORM passes through as they are (ids, lookups' strings, dates in range):
    an out-of-range integer, which the ORM turns into an empty result, would reach the database.
    """

    def __init__(self, *, max_shapes: int = 256) -> None:
        self._max_shapes = max_shapes
        # A shape that cannot be precompiled is kept as None: the ORM runs it, without trying again.
        self._compiled: dict[tuple, _CompiledValues | None] = {}

    def _compile(self, alias: str, connection, values: Sequence[Any], build) -> _CompiledValues | None:
        try:
            sentinels = [_sentinel(index, value) for index, value in enumerate(values)]
            query = build(sentinels).query
            compiler = query.get_compiler(using=alias)
            sql, params = compiler.as_sql()
        except (TypeError, EmptyResultSet, FullResultSet):
            return None
        if query.extra_select:
            return None
        columns = [expression for expression, _sql, _alias in compiler.select[: compiler.col_count]]
        names = list(query.selected) if query.selected else [*query.values_select, *query.annotation_select]
        if len(names) != len(columns):
            return None
        where = {_key(_adapt(s, connection)): index for index, s in enumerate(sentinels)}
        slots: list[_Slot] = []
        for param in params:
            try:
                index = where.get(_key(param))
            except TypeError:  # an unhashable constant (a list)
                return None
            slots.append((index, type(param)) if index is not None else (None, param))
        found = [index for index, _ in slots if index is not None]
        if sorted(found) != list(range(len(values))):
            return None  # a value used twice or not at all, or some other way than as a parameter
        return _CompiledValues(sql=sql, slots=slots, names=names, converters=column_converters(columns, connection))

    def _compiled_for(self, alias: str, shape: Hashable, values: Sequence[Any], build) -> _CompiledValues | None:
        connection = connections[alias]
        key = (alias, connection.vendor, shape)
        compiled = self._compiled.get(key, _UNSEEN)  # one read: another thread may clear the dict
        if compiled is _UNSEEN:
            compiled = self._compile(alias, connection, values, build)
            if len(self._compiled) >= self._max_shapes:
                self._compiled.clear()
            self._compiled[key] = compiled
        return compiled

    def _params(self, compiled: _CompiledValues, values: Sequence[Any], connection) -> list[Any]:
        params = []
        for index, kind in compiled.slots:
            if index is None:
                params.append(kind)
                continue
            value = _adapt(values[index], connection)
            params.append(value if type(value) is kind else kind(value))
        return params

    def sql(
        self, alias: str, *, shape: Hashable, values: Sequence[Any], build: Callable[[Sequence[Any]], QuerySet]
    ) -> tuple[str, list[Any]]:
        """The SQL and parameters of ``build(values)``, compiled once per shape (for a caller that
        runs it itself, e.g. reading binary results; column converters are then its own business)."""
        compiled = self._compiled_for(alias, shape, values, build)
        if compiled is None:
            sql, params = build(values).query.get_compiler(using=alias).as_sql()
            return sql, list(params)
        return compiled.sql, self._params(compiled, values, connections[alias])

    def _fetch(self, alias: str, compiled: _CompiledValues, values: Sequence[Any]) -> list[tuple]:
        connection = connections[alias]
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, self._params(compiled, values, connection))
            return cursor.fetchall()

    def rows(
        self, alias: str, *, shape: Hashable, values: Sequence[Any], build: Callable[[Sequence[Any]], QuerySet]
    ) -> list[dict]:
        """The rows of ``build(values)``, a ``values()`` queryset, as its dicts."""
        compiled = self._compiled_for(alias, shape, values, build)
        if compiled is None:
            return list(build(values))
        fetched = self._fetch(alias, compiled, values)
        names, converters = compiled.names, compiled.converters
        if converters:
            connection = connections[alias]
            return [dict(zip(names, row_convert(row, converters, connection), strict=True)) for row in fetched]
        return [dict(zip(names, row, strict=True)) for row in fetched]

    def tuples(
        self, alias: str, *, shape: Hashable, values: Sequence[Any], build: Callable[[Sequence[Any]], QuerySet]
    ) -> list[tuple]:
        """The rows of ``build(values)``, a ``values_list()`` queryset, as its tuples."""
        compiled = self._compiled_for(alias, shape, values, build)
        if compiled is None:
            return list(build(values))
        fetched = self._fetch(alias, compiled, values)
        if compiled.converters:
            connection = connections[alias]
            return [tuple(row_convert(row, compiled.converters, connection)) for row in fetched]
        return fetched


def _adapt(value: Any, connection) -> Any:
    # As a DateTimeField's lookups prepare a datetime (SQLite: text in UTC).
    return connection.ops.adapt_datetimefield_value(value) if isinstance(value, datetime) else value


def _key(param: Any) -> tuple:
    # psycopg's Int2/Int4 are ints: compare by value within the base type.
    return (str if isinstance(param, str) else int if isinstance(param, int) else type(param), param)
