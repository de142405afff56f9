"""Admin change lists over tables that grow without bound (content, events, item analyses).

Django's change list counts the whole table on every page (twice, with the full result count),
which at a million rows costs more than the page itself. Unfiltered, on PostgreSQL, the count is
the planner's estimate (``pg_class.reltuples``, kept by autovacuum and ANALYZE) once it is past
``EXACT_UP_TO``; filtered lists, and small tables, are counted exactly. Filters offer constant
choices rather than each value found in the table (``constant_choices_filter``), and the search
box looks up what its indexes answer (``indexed_search_q``).
"""

from __future__ import annotations

from django.contrib.admin import SimpleListFilter
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import Q
from django.utils.functional import cached_property

# Below this many rows (by the estimate) an exact count is cheap enough, and exact.
EXACT_UP_TO = 100_000
# A name shared by more cameras (or accounts) than this searches only the first ones.
SEARCH_NAMES_MAX = 1000


def estimated_rows(model) -> int | None:
    """The planner's estimate of ``model``'s rows on PostgreSQL (None elsewhere, or never analysed)."""
    connection = connections[model.objects.db]
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass", [model._meta.db_table])
        row = cursor.fetchone()
    # -1: never vacuumed nor analysed (PostgreSQL 14+); 0 may be the same on older servers.
    return int(row[0]) if row and row[0] > 0 else None


class LargeTablePaginator(Paginator):
    """A paginator whose count of a whole large table is estimated (see the module docstring)."""

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        query = getattr(queryset, "query", None)
        if query is not None and not query.where and not query.distinct and not query.combinator:
            estimate = estimated_rows(queryset.model)
            if estimate is not None and estimate > EXACT_UP_TO:
                return estimate
        return super().count


def constant_choices_filter(field: str, title: str, choices: list[tuple[str, str]]) -> type:
    """A list filter on ``field`` offering ``choices`` as they are: Django's own filter for a field
    without declared choices lists its values with ``SELECT DISTINCT`` over the whole table."""

    class ConstantChoicesFilter(SimpleListFilter):
        parameter_name = field

        def lookups(self, request, model_admin):
            return choices

        def queryset(self, request, queryset):
            value = self.value()
            return queryset.filter(**{field: value}) if value else queryset

    ConstantChoicesFilter.title = title
    return ConstantChoicesFilter


def indexed_search_q(term: str, *, public_id: str, camera: str, owner: str) -> Q | None:
    """What an operator types into a large table's search box, as conditions its indexes answer:
    the row's exact public id, a camera's name, an account's username or email (the last two
    case-insensitive). Cameras and accounts are looked up first (small tables), so the large table
    gets an index lookup per condition, never a scan joining every row (Django's ``icontains``
    over related names took 9.6 s at a million items). None for an empty term."""
    from django.contrib.auth import get_user_model

    from cameras.models import Camera

    term = term.strip()
    if not term:
        return None
    cameras = list(Camera.objects.filter(name__iexact=term).values_list("pk", flat=True)[:SEARCH_NAMES_MAX])
    owners = list(
        get_user_model()
        .objects.filter(Q(username__iexact=term) | Q(email__iexact=term))
        .values_list("pk", flat=True)[:SEARCH_NAMES_MAX]
    )
    q = Q(**{public_id: term})
    if cameras:
        q |= Q(**{f"{camera}__in": cameras})
    if owners:
        q |= Q(**{f"{owner}__in": owners})
    return q
