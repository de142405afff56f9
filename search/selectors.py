"""Reads of the search app: a Camio's slice (content and events) and Camios by token.

A Camio stores a normalized query (see ``search.camios.camio_query_normalize``)::

    {"cameras": ["front"], "labels": ["people"], "events": ["<event public id>"],
     "start_date": "2026-11-20T10:00:00+00:00" | None, "end_date": … | None, "sort": "desc"}

Every list narrows: cameras are alternatives (empty = all the owner's cameras), labels are all
required (on the item's event), events are alternatives (empty = any event), and the dates bound
the content's capture time, both ends inclusive. An event is in the slice when it overlaps the
dates and holds an item inside them; one the dates cut (begun before start_date or ended after
end_date) is shown with only its in-slice items and a summary made of them (see
``_summarize_cut_events``), so nothing outside the slice leaks.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache, partial
from typing import Any, NotRequired, TypedDict

import orjson
from django.db import connection, connections, router
from django.db.models import (
    BooleanField,
    Case,
    Count,
    Exists,
    Expression,
    F,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    TextField,
    Value,
    When,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast, Trunc
from django.utils import timezone
from rest_framework.exceptions import NotAuthenticated

from accounts.models import Guest
from accounts.selectors import acting_owner
from cameras.models import Camera, Zone
from config.api.dates import CamioDate, camio_date_sql
from config.api.errors import BadRequest, Forbidden, NotFound
from config.postgresql.direct import fetch_binary
from config.precompiled import PrecompiledQuery, ShapedValuesQuery
from search.models import Camio, Event, EventLabel, ItemAnalysis
from search.querylang import ParsedQuery, QueryError, parse_query
from search.similarity import CANDIDATE_WINDOW, rank_packed
from uploads.models import Content

SHORT_TOKEN_LENGTH = 12
# A search's events page (``_page_head``), compiled once per scope (the owner's own, or a view
# token's Camios, whose slices are constant SQL) and shape of its filter; and a view-token page's
# items.
_EVENT_PAGE = ShapedValuesQuery(max_shapes=1024)
_CAMIO_IMAGES = ShapedValuesQuery(max_shapes=1024)
# Events read by public id (a search's ``event`` or ``event_as_date``) or by id (a similarity
# page's), compiled once per scope (``_camios_key``; None: an owner's own) and shape.
_EVENT_READS = ShapedValuesQuery(max_shapes=1024)


@dataclass(frozen=True)
class CamioScope:
    """A Camio's stored query, read back into typed values."""

    owner_id: int
    cameras: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    events: tuple[str, ...] = ()
    start: datetime | None = None
    end: datetime | None = None
    sort: str = "desc"
    extra: dict = field(default_factory=dict)

    @property
    def is_live(self) -> bool:
        """Shared "without any end date (so that they extend to all FUTURE dates)", in the
        reference's words: the live image may be read (with or without a start date)."""
        return self.end is None


def read_stored_date(value) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(value)
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed, UTC)


def camio_scope(camio: Camio) -> CamioScope:
    """The Camio's query as typed values (the stored JSON was validated when it was written)."""
    query = camio.query or {}
    return CamioScope(
        owner_id=camio.owner_id,
        cameras=tuple(query.get("cameras") or ()),
        labels=tuple(label.lower() for label in query.get("labels") or ()),
        events=tuple(query.get("events") or ()),
        start=read_stored_date(query.get("start_date")),
        end=read_stored_date(query.get("end_date")),
        sort=query.get("sort") or "desc",
    )


def _camio_expired(camio: Camio, now: datetime) -> bool:
    return camio.expires_at is not None and camio.expires_at <= now


def camio_is_active(camio: Camio, *, now: datetime | None = None) -> bool:
    """Not expired, and its owner still active."""
    if _camio_expired(camio, now or timezone.now()):
        return False
    owner = camio.owner
    return owner is not None and owner.is_active


# Every view-token request looks its Camio up: compiled once per database (the ORM spent more CPU
# building the query than PostgreSQL answering it); "\x00" stands for the token.
_CAMIO_BY_VIEW_TOKEN = PrecompiledQuery(
    lambda token: Camio.objects.filter(view_token=token, owner__is_active=True), ["\x00"]
)
_CAMIO_BY_SHORT_TOKEN = PrecompiledQuery(
    lambda token: Camio.objects.filter(short_token=token, owner__is_active=True), ["\x00"]
)


def camio_for_view_token(token: str) -> Camio | None:
    """The live Camio a view token (the long one or the 12-character short one) opens, else None.

    None for unknown, expired or revoked (deleted) Camios and for inactive owners. One query, on a
    unique index (which one is told by the token's length: long tokens are 43 characters).
    """
    token = (token or "").strip()
    if not token or len(token) > 64:
        return None
    query = _CAMIO_BY_SHORT_TOKEN if len(token) == SHORT_TOKEN_LENGTH else _CAMIO_BY_VIEW_TOKEN
    found = query.rows(router.db_for_read(Camio), [token])
    camio = found[0] if found else None
    if camio is None or _camio_expired(camio, timezone.now()):
        return None
    return camio


def camio_event_q(scope: CamioScope) -> Q:
    """A ``Q`` on Event for the slice, dates aside (search intersects them with its own window).

    Labels become EXISTS subqueries on EventLabel's (owner, label, event) index, never Python.
    """
    q = Q(owner_id=scope.owner_id)
    if scope.cameras:
        q &= Q(camera__name__in=list(scope.cameras))
    if scope.events:
        q &= Q(public_id__in=list(scope.events))
    for label in scope.labels:
        q &= Q(Exists(EventLabel.objects.filter(owner_id=scope.owner_id, label=label, event_id=OuterRef("pk"))))
    return q


def camio_event_queryset(camio: Camio) -> QuerySet[Event]:
    """The owner's events inside the Camio's slice (by their earliest date); none once expired."""
    if not camio_is_active(camio):
        return Event.objects.none()
    scope = camio_scope(camio)
    qs = Event.objects.filter(camio_event_q(scope))
    if scope.start is not None:
        qs = qs.filter(earliest_date__gte=scope.start)
    if scope.end is not None:
        qs = qs.filter(earliest_date__lte=scope.end)
    return qs


def camio_content_q(scope: CamioScope) -> Q:
    """A ``Q`` on Content for the slice (see :func:`camio_content_queryset`)."""
    q = Q(owner_id=scope.owner_id)
    if scope.cameras:
        q &= Q(camera__name__in=list(scope.cameras))
    if scope.events:
        q &= Q(analysis__event__public_id__in=list(scope.events))
    for label in scope.labels:
        q &= Q(
            Exists(
                EventLabel.objects.filter(owner_id=scope.owner_id, label=label, event_id=OuterRef("analysis__event_id"))
            )
        )
    if scope.start is not None:
        q &= Q(captured_at__gte=scope.start)
    if scope.end is not None:
        q &= Q(captured_at__lte=scope.end)
    return q


def camio_content_queryset(camio: Camio) -> QuerySet[Content]:
    """The Camio's slice of its owner's content (images and videos); none once expired.

    Cameras and dates apply to the item itself (its capture time). Labels and events apply to the
    event the item belongs to, so items not (yet) grouped into an event are in the slice only when
    the Camio names neither labels nor events.
    """
    if not camio_is_active(camio):
        return Content.objects.none()
    return Content.objects.filter(camio_content_q(camio_scope(camio)))


def camio_list(*, owner) -> QuerySet[Camio]:
    """The owner's Camios, newest first (expired ones too: the owner sees and may delete them)."""
    return Camio.objects.filter(owner=owner).order_by("-created_at", "-id")


# --- search ----------------------------------------------------------------------------------------

MS = timedelta(milliseconds=1)


def floor_ms(value: datetime) -> datetime:
    """``value`` truncated to the millisecond: the precision dates are written with."""
    return value.replace(microsecond=value.microsecond - value.microsecond % 1000)


@dataclass
class SearchAuth:
    """Whose data a search reads: one owner (the caller or a host), or the slices of Camios."""

    owners: list[int]
    camios: list[Camio] = field(default_factory=list)
    caller_id: int | None = None

    @property
    def via_view_tokens(self) -> bool:
        return bool(self.camios)


def search_authorize(*, user, host_email: str | None, view_tokens: list[str]) -> SearchAuth:
    """Authorize a search: by view tokens (public: anyone; private: the owner or its signed-in
    guests), else the signed-in caller or, with ``user=``, a host they are a guest of."""
    signed_in = user is not None and user.is_authenticated
    if view_tokens:
        camios: list[Camio] = []
        for token in view_tokens:
            camio = camio_for_view_token(token)
            if camio is None:
                raise Forbidden("Invalid, expired or revoked view token")
            if camio.type == Camio.Type.PRIVATE:
                if not signed_in:
                    raise NotAuthenticated("This Camio is private: sign in as a guest of its owner")
                # Checked by ids, not by e-mail: an owner without one must not open to everybody.
                if user.pk != camio.owner_id and not Guest.objects.filter(host_id=camio.owner_id, guest=user).exists():
                    raise Forbidden("This Camio is private: only its owner's guests may search it")
            camios.append(camio)
        owners = list(dict.fromkeys(c.owner_id for c in camios))
        return SearchAuth(owners=owners, camios=camios, caller_id=user.pk if signed_in else None)
    if not signed_in:
        raise NotAuthenticated("Sign in, or give view_tokens")
    owner = acting_owner(user=user, host_email=host_email)
    return SearchAuth(owners=[owner.pk], caller_id=user.pk)


def _inside_dates_q(scope: CamioScope) -> Q:
    """Events wholly inside the Camio's dates: none of their items is cut off."""
    q = Q()
    if scope.start is not None:
        q &= Q(earliest_date__gte=scope.start)
    if scope.end is not None:
        q &= Q(latest_date__lte=scope.end)
    return q


def _scope_event_q(auth: SearchAuth, *, kind: str) -> Q:
    """The searched events: the owner's, or those of the Camios' slices.

    A Camio's event is in its slice when it overlaps the dates: wholly inside them, or cut by them
    and holding at least one in-slice item of ``kind`` (an event spanning the slice with no item in
    it shows nothing, so it is not shown at all). Outside the owner's search only.
    """
    if not auth.via_view_tokens:
        return Q(owner_id=auth.owners[0])
    q = Q(pk__in=[])
    for camio in auth.camios:
        scope = camio_scope(camio)
        part = camio_event_q(scope)
        if scope.start is None and scope.end is None:
            q |= part
            continue
        items = Content.objects.filter(analysis__event_id=OuterRef("pk"), kind=kind)
        if scope.start is not None:
            part &= Q(latest_date__gte=scope.start)
            items = items.filter(captured_at__gte=scope.start)
        if scope.end is not None:
            part &= Q(earliest_date__lte=scope.end)
            items = items.filter(captured_at__lte=scope.end)
        q |= part & (_inside_dates_q(scope) | Q(Exists(items)))
    return q


def _camios_cut_events(auth: SearchAuth) -> bool:
    """Whether a Camio of the search has dates, which may cut events (``_whole_q`` is not None)."""
    return any((scope := camio_scope(camio)).start is not None or scope.end is not None for camio in auth.camios)


def _whole_q(auth: SearchAuth) -> Q | None:
    """Events some Camio of the search holds whole (all their items in its slice); None when no
    Camio has dates, so none is ever cut (and the owner's own search never is)."""
    if not _camios_cut_events(auth):
        return None
    q = Q(pk__in=[])
    for scope in (camio_scope(camio) for camio in auth.camios):
        q |= camio_event_q(scope) & _inside_dates_q(scope)
    return q


def _item_camio(auth: SearchAuth) -> int | Expression:
    """The Camio whose slice holds a Content row (the first that does): what its access token is
    bound to. The usual one Camio's id as is (nothing to read); a CASE on the slices for several."""
    if len(auth.camios) == 1:
        return auth.camios[0].pk
    whens = [When(camio_content_q(camio_scope(camio)), then=Value(camio.pk)) for camio in auth.camios]
    return Case(*whens, default=Value(None))


def _scope_content_q(auth: SearchAuth) -> Q | None:
    if not auth.via_view_tokens:
        return None
    q = Q(pk__in=[])
    for camio in auth.camios:
        q |= camio_content_q(camio_scope(camio))
    return q


@dataclass
class SearchPage:
    """One page of results before rendering (``search.serializers.search_response_json``)."""

    bucket_type: str
    rows: list = field(default_factory=list)
    images: dict[int, list[BucketImage]] = field(default_factory=dict)
    # Instead of ``images`` (PostgreSQL, an account's own search): the items as the answer writes them.
    answer_items: dict[int, AnswerItems] | None = None
    scores: dict[int, float] = field(default_factory=dict)
    more_results: bool = False
    date: datetime | None = None
    earliest_date_considered: datetime | None = None
    latest_date_considered: datetime | None = None
    parsed: dict | None = None


def _label_exists(label: str) -> Exists:
    # Both the unique (event, label) index and the (owner, label, event) index can serve this;
    # naming the owner lets the planner drive from the label when it is rare.
    return Exists(EventLabel.objects.filter(event_id=OuterRef("pk"), owner_id=OuterRef("owner_id"), label=label))


def _cursor_bound(name: str, sort: str, date: datetime) -> tuple[str, datetime]:
    """The lookup and value that keep rows strictly before (desc) or after (asc) the millisecond
    ``date``: paging never repeats."""
    if sort == "desc":
        return f"{name}__lt", date
    return f"{name}__gte", floor_ms(date) + MS


def _cursor(qs: QuerySet, name: str, sort: str, date: datetime | None) -> QuerySet:
    """``qs`` from the page cursor ``date`` on (see ``_cursor_bound``)."""
    if date is None:
        return qs
    lookup, value = _cursor_bound(name, sort, date)
    return qs.filter(**{lookup: value})


def _date_of(row, name: str) -> datetime:
    # Rows are ``values()`` dicts (events) or model instances (Camios).
    return row[name] if isinstance(row, dict) else getattr(row, name)


def _page_order(name: str, sort: str) -> tuple[str, str]:
    return (f"-{name}", "-pk") if sort == "desc" else (name, "pk")


def _paging_key(value: datetime, start: datetime | None) -> datetime:
    """The millisecond a row pages at: its date, or in a Camio search whose start cuts events
    (``start``, see ``_camios_window``) that start for a cut event, so that the dates a viewer is
    told and pages from are inside what the Camio shares (``_clamp_to_camios``)."""
    key = floor_ms(value)
    return key if start is None else max(key, floor_ms(start))


def _paging_ms_q(name: str, boundary: datetime, start: datetime | None) -> Q:
    """Rows whose paging key (``_paging_key``) is the millisecond ``boundary``: at the Camio's
    start, also every event its start cuts."""
    if start is not None and boundary <= floor_ms(start):
        return Q(**{f"{name}__lt": boundary + MS})
    return Q(**{f"{name}__gte": boundary, f"{name}__lt": boundary + MS})


def _paging_cursor(sort: str, date: datetime | None, start: datetime | None) -> tuple[datetime | None, bool]:
    """A page cursor on paging keys (``_paging_key``) as one on the rows' own dates: (the cursor,
    whether no row can follow it). Keys are the dates raised to ``start``, in the same order: a
    cursor past the start is the same on both; one at or before it keeps every row (ascending) or
    none (descending), since every key is at least the start."""
    if date is None or start is None:
        return date, False
    if sort == "desc":
        return date, date <= start
    return (date if floor_ms(date) + MS > start else None), False


def _page(
    build: Callable[[], QuerySet],
    name: str,
    sort: str,
    n: int,
    *,
    head: list | None = None,
    start: datetime | None = None,
) -> tuple[list, bool, datetime | None]:
    """The first ``n`` rows in date order, cut so the next page can start at a millisecond.

    Dates are written with millisecond precision, so rows sharing the last millisecond of a page
    with the first row of the next would be lost or repeated: the page stops before that
    millisecond (or, when a whole page shares one, takes all of that millisecond).
    ``build()`` makes the queryset, only when needed: ``head``, when given, is its first ``n + 1``
    rows in ``_page_order``, already read. ``start``: rows page by ``_paging_key`` (a Camio
    search). Returns (rows, more_results, the date to continue from).
    """
    order = _page_order(name, sort)
    rows = list(build().order_by(*order)[: n + 1]) if head is None else head
    if len(rows) <= n:
        return rows, False, None
    boundary = _paging_key(_date_of(rows[n], name), start)
    kept = [r for r in rows[:n] if _paging_key(_date_of(r, name), start) != boundary]
    if kept:
        return kept, True, _paging_key(_date_of(kept[-1], name), start)
    qs = build()
    same = list(qs.filter(_paging_ms_q(name, boundary, start)).order_by(*order))
    _, exhausted = _paging_cursor(sort, boundary, start)
    return same, not exhausted and _cursor(qs, name, sort, boundary).exists(), boundary


def _similarity_window(
    auth: SearchAuth,
    scope_key: tuple | None,
    flt: _EventFilter,
    *,
    kind: str,
    relax_excluded: bool,
    sort: str,
    date: datetime | None,
    paragon_pk: int,
) -> list[tuple]:
    """The similarity search's candidates, ``(pk, descriptor_f64, labels as JSON text)``: the
    searched events (``_searched_events``) but the paragon, at most ``CANDIDATE_WINDOW + 1``.

    On PostgreSQL read in the binary format: the ``bytea`` descriptors then arrive as their bytes,
    not as hex text the server encodes and the client decodes (~1 ms of each per search).
    """
    values, shape, events = _searched_events(
        auth, scope_key, flt, kind=kind, relax_excluded=relax_excluded, sort=sort, date=date
    )
    values.append(paragon_pk)

    def build(vals: Sequence) -> QuerySet:
        # Descriptors as bytes (``Event.descriptor_f64``: one numpy.frombuffer for the window, no
        # JSON); the labels as text, decoded in one call for the window (``decode_json_texts``).
        return (
            events(vals)
            .exclude(pk=vals[-1])
            .order_by(*_page_order("earliest_date", sort))
            .values_list("pk", "descriptor_f64", Cast("labels", TextField()))[: CANDIDATE_WINDOW + 1]
        )

    alias = router.db_for_read(Event)
    conn = connections[alias]
    if conn.vendor != "postgresql":
        return list(build(values))
    sql, params = _EVENT_READS.sql(alias, shape=("window", *shape), values=values, build=build)
    return fetch_binary(conn, sql, params)


def _considered(page: SearchPage, *, sort: str, date, lower, upper, first, last, next_date, now: datetime) -> None:
    """Fill the window of dates the page looked through; the next page starts at its far end."""
    if sort == "desc":
        top = min(d for d in (date, upper) if d is not None) if (date or upper) else max(now, first or now)
        page.latest_date_considered = top
        page.earliest_date_considered = next_date if page.more_results else (lower or last or top)
    else:
        bottom = max(d for d in (date, lower) if d is not None) if (date or lower) else (first or now)
        page.earliest_date_considered = bottom
        page.latest_date_considered = next_date if page.more_results else (upper or max(now, last or now))


@dataclass(frozen=True)
class _Cam:
    pk: int
    name: str
    owner_id: int


def _cameras(auth: SearchAuth, *, with_zones: bool = False) -> tuple[list[_Cam], list[str]]:
    """The searched owners' cameras by name, and (``with_zones``: what ``text`` resolves words to)
    the names of their zones, in one query (hand-written: the ORM costs more than the query).

    A viewer gets only the zones of shared cameras: a word naming another camera's zone is then
    just a label, as for camera names, so text cannot confirm the owner's other zone names."""
    sql, params = _names_sql(auth.owners, with_zones=with_zones)
    with connection.cursor() as cursor:
        cursor.execute(sql + " ORDER BY 1, 3", params)
        return _cameras_of_rows(cursor.fetchall(), auth)


def _names_sql(owners: list[int], *, with_zones: bool) -> tuple[str, list]:
    """The query of ``_cameras``: rows (0, camera id, name, owner) and (1, camera id, zone name, 0)."""
    camera, zone, qn = Camera._meta, Zone._meta, connection.ops.quote_name
    owner_column = qn(camera.get_field("owner").column)
    name_column = qn(camera.get_field("name").column)
    placeholders = ", ".join(["%s"] * len(owners))
    sql = (
        f"SELECT 0, {qn(camera.pk.column)}, {name_column}, {owner_column} "  # noqa: S608
        f"FROM {qn(camera.db_table)} WHERE {owner_column} IN ({placeholders})"
    )
    params = list(owners)
    if with_zones:
        sql += (
            f" UNION ALL SELECT DISTINCT 1, c.{qn(camera.pk.column)}, z.{qn(zone.get_field('name').column)}, 0 "  # noqa: S608
            f"FROM {qn(zone.db_table)} z JOIN {qn(camera.db_table)} c "
            f"ON c.{qn(camera.pk.column)} = z.{qn(zone.get_field('camera').column)} "
            f"WHERE c.{owner_column} IN ({placeholders})"
        )
        params += owners
    return sql, params


def _names_fingerprint_sql(names_sql: str) -> str:
    """PostgreSQL: a digest of the rows of ``_names_sql`` (the same whatever order they come in)."""
    return (
        "(SELECT md5(coalesce(string_agg(concat_ws(':', n.kind, n.id, n.name), E'\\n' "  # noqa: S608
        f"ORDER BY n.kind, n.id, n.name COLLATE \"C\"), '')) FROM ({names_sql}) n(kind, id, name, owner))"
    )


# An account's camera and zone names as its last text search read them, with their digest
# (``_names_fingerprint_sql``), per process: a text search parses with them and its page's
# statement checks the digest; a page read with names since changed is read again.
_TEXT_NAMES: dict[int, tuple[str, list, list[str]]] = {}
_TEXT_NAMES_KEPT = 4096


def _text_names(auth: SearchAuth) -> tuple[str | None, list, list[str]]:
    """(the digest to check the page against, or None when read just now; cameras; zone names)
    of an account's own text search on PostgreSQL."""
    owner = auth.owners[0]
    kept = _TEXT_NAMES.get(owner)
    if kept is not None:
        return kept
    sql, params = _names_sql([owner], with_zones=True)
    with connection.cursor() as cursor:
        digest = _names_fingerprint_sql(sql)
        cursor.execute(f"SELECT n.*, {digest} FROM ({sql}) n ORDER BY 1, 3", params * 2)  # noqa: S608
        rows = cursor.fetchall()
    cameras, zones = _cameras_of_rows([row[:4] for row in rows], auth)
    if len(_TEXT_NAMES) >= _TEXT_NAMES_KEPT:
        _TEXT_NAMES.clear()
    if rows:
        _TEXT_NAMES[owner] = (rows[0][4], cameras, zones)
    return None, cameras, zones


def _cameras_of_rows(rows: list[tuple], auth: SearchAuth) -> tuple[list[_Cam], list[str]]:
    """``_cameras`` of the rows of ``_names_sql``."""
    cameras = [_Cam(pk, name, owner_id) for kind, pk, name, owner_id in rows if kind == 0]
    zone_rows = [(pk, name) for kind, pk, name, _ in rows if kind == 1]
    if auth.via_view_tokens and zone_rows:
        shared = {cam.pk for cam in cameras if _camera_shared(cam, auth)}
        zone_rows = [(pk, name) for pk, name in zone_rows if pk in shared]
    return cameras, list(dict.fromkeys(name for _, name in zone_rows))


def _camera_shared(cam: _Cam, auth: SearchAuth) -> bool:
    """Whether some Camio of the search shares this camera (a Camio naming no camera shares all)."""
    for camio in auth.camios:
        if camio.owner_id == cam.owner_id:
            names = (camio.query or {}).get("cameras") or []
            if not names or cam.name in names:
                return True
    return False


def _resolve_sources(names: list[str], cameras: list[_Cam], auth: SearchAuth, *, what: str) -> list[int]:
    """Camera ids of ``names`` (case-insensitive). Unknown: 400; outside every Camio: 403."""
    by_name: dict[str, list[_Cam]] = {}
    for cam in cameras:
        by_name.setdefault(cam.name.lower(), []).append(cam)
    ids: list[int] = []
    for name in names:
        found = by_name.get(name.lower(), [])
        if auth.via_view_tokens:
            found = [cam for cam in found if _camera_shared(cam, auth)]
            if not found:
                raise Forbidden(f"{what}: {name!r} is outside the shared Camio (viewers may narrow it, not widen it)")
        elif not found:
            raise BadRequest(f"{what}: unknown camera {name!r}")
        ids.extend(cam.pk for cam in found)
    return ids


def _parse_text(text: str, cameras: list[_Cam], zones: list[str], auth: SearchAuth, now: datetime) -> ParsedQuery:
    try:
        # A viewer's words resolve only to shared cameras: another camera's name is just a label
        # (finding nothing), so text can neither widen a Camio nor probe the owner's camera names.
        names = [c.name for c in cameras if not auth.via_view_tokens or _camera_shared(c, auth)]
        return parse_query(text, cameras=names, zones=zones, now=now)
    except QueryError as exc:
        raise BadRequest(f"text: {exc}") from None


def _event_in_scope(
    public_id: str, auth: SearchAuth, scope_key: tuple | None, *fields: str, kind: str, what: str
) -> dict:
    """``fields`` of the event ``public_id`` inside the search's scope (a row, not a model); else 404."""
    if scope_key is None:
        values: list = [auth.owners[0], public_id]

        def build(vals: Sequence) -> QuerySet:
            return Event.objects.filter(owner_id=vals[0], public_id=vals[1]).order_by("pk").values("pk", *fields)[:1]

    else:
        values = [public_id]

        def build(vals: Sequence) -> QuerySet:
            scope_q = _scope_event_q(auth, kind=kind)
            return Event.objects.filter(scope_q, public_id=vals[0]).order_by("pk").values("pk", *fields)[:1]

    shape = ("event", scope_key, kind if scope_key is not None else None, fields)
    found = _EVENT_READS.rows(router.db_for_read(Event), shape=shape, values=values, build=build)
    if not found:
        raise NotFound(f"{what}: unknown event {public_id!r}")
    return found[0]


def _events_for_display(ids: list[int], *, scope_key: tuple | None, whole_q: Callable[[], Q | None]) -> list:
    """The events ``ids`` as ``EventRow``s (``_for_display``), in no order. (``whole_q`` is built
    only when the read is compiled: see ``search_run``.)"""
    ids = list(dict.fromkeys(ids))
    if not ids:
        return []

    def build(vals: Sequence) -> QuerySet:
        return _for_display(Event.objects.filter(pk__in=list(vals)), whole=whole_q()).order_by()

    shape = ("display", scope_key, len(ids))
    return _EVENT_READS.rows(router.db_for_read(Event), shape=shape, values=ids, build=build)


def search_run(
    *, auth: SearchAuth, params, now: datetime | None = None, by_name: bool = True, names_kept: bool = True
) -> SearchPage:
    """Run ``GET /api/search`` (``params``: ``search.serializers.SearchParams``) inside ``auth``.

    Filters are SQL: the scope (owner, or the union of the Camios' slices), cameras by id, each
    required label an EXISTS on EventLabel, the motion threshold on ``max_interest_level``, and a
    date window on ``earliest_date`` (the indexes ``event_owner_date``/``event_camera_recent``).
    Viewers' parameters are ANDed onto the Camios' slices, so they can only narrow them.
    """
    now = now or timezone.now()
    if auth.via_view_tokens and not params.sort_given:
        # A Camio's own sort is the default order of its viewers.
        params.sort = camio_scope(auth.camios[0]).sort
    if params.object_type == "camios":
        return _search_camios(auth=auth, params=params, now=now)

    # The slices' Qs (label subqueries, cut events) are built only when a query is compiled from
    # them: a new shape of the precompiled reads, or a read the ORM makes every time. Building a
    # Camio's slices cost more CPU than the rest of a view-token search's page.
    scope_q = cache(partial(_scope_event_q, auth, kind=params.content_type))
    whole_q = cache(partial(_whole_q, auth))
    content_q = cache(partial(_scope_content_q, auth))
    # What the Camios' slices are (their SQL is compiled once per Camio): None for the owner's own.
    scope_key = _camios_key(auth) if auth.via_view_tokens else None
    flt = _EventFilter()
    lower: datetime | None = None
    upper: datetime | None = None
    parsed_json = None
    cameras: list[_Cam] = []
    zones: list[str] = []
    # An account's own search of one camera names it in the events query itself, without reading
    # the cameras first (one round trip less). A page with events proves the name; an empty one
    # is searched again by camera ids (``by_name=False``), which tells an unknown camera (400)
    # and finds every camera of the name (in any case).
    one_name = {name.lower() for name in params.sources}
    by_name = (
        by_name
        and len(one_name) == 1
        and next(iter(one_name)).isascii()  # lowered alike by Python and either database
        and not params.text
        and not auth.via_view_tokens
    )
    # An account's own text search parses with the names its last one read (``_TEXT_NAMES``),
    # checked by the page's own statement: one round trip, not two.
    names_check = None
    alias = router.db_for_read(Event)
    kept_names = (
        names_kept
        and bool(params.text)
        and not params.sources
        and not auth.via_view_tokens
        and params.object_type == "events"
        and not params.event
        and not params.event_as_date
        and connections[alias].vendor == "postgresql"
    )
    if kept_names:
        names_check, cameras, zones = _text_names(auth)
    elif (params.sources and not by_name) or params.text:
        cameras, zones = _cameras(auth, with_zones=bool(params.text))
    if by_name:
        flt.add("camera named", auth.owners[0], one_name.pop())
    elif params.sources:
        flt.add("cameras", *_resolve_sources(params.sources, cameras, auth, what="sources"))
    required = list(params.labels)
    excluded: list[str] = []
    if params.text:
        parsed = _parse_text(params.text, cameras, zones, auth, now)
        parsed_json = parsed.as_json()
        if parsed.sources:
            flt.add("cameras", *_resolve_sources(parsed.sources, cameras, auth, what="text"))
        if parsed.excluded_sources:
            flt.add("not cameras", *(c.pk for c in cameras if c.name in set(parsed.excluded_sources)))
        required += [label.lower() for label in parsed.required_labels]
        excluded += [label.lower() for label in parsed.excluded_labels]
        lower, upper = parsed.start, parsed.end
    # Required labels and the motion level hold for an event whenever they hold for its in-slice
    # items, so they filter every event here; cut events are checked again on those items.
    for label in dict.fromkeys(required):
        flt.add("label", label)
    if params.min_level > 0:
        flt.add("level", params.min_level)
    if params.content_type == Event.Basis.VIDEO:
        flt.add("has video")  # every event holding a video: image events with a backing one too
    else:
        flt.add("basis", params.content_type)
    if lower is not None:
        flt.add("from", lower)
    if upper is not None:
        flt.add("until", upper)
    for label in dict.fromkeys(excluded):
        flt.add("not label", label)

    # A Camio whose start cuts events pages them at that start (``_paging_key``): the cursor the
    # viewer gives is one on those keys, read as one on the events' own dates.
    start = _camios_window(auth)[0]
    date = params.date
    if params.event_as_date:
        date = _event_in_scope(
            params.event_as_date, auth, scope_key, "earliest_date", kind=params.content_type, what="event_as_date"
        )["earliest_date"]
        if start is not None and date < start:
            date = start

    if params.object_type in ("seconds", "hours"):
        page = _search_timeline(
            q=_timeline_events_q(scope_q(), whole_q(), flt, content_q(), kind=params.content_type, excluded=excluded),
            content_q=content_q(),
            auth=auth,
            params=params,
            date=date,
            lower=lower,
            upper=upper,
            now=now,
        )
        if by_name and not page.rows:
            return search_run(auth=auth, params=params, now=now, by_name=False)
        page.parsed = parsed_json
        if auth.via_view_tokens:
            _clamp_to_camios(page, auth)
        return page

    page = SearchPage(bucket_type="event", date=date, parsed=parsed_json)
    cursor, exhausted = _paging_cursor(params.sort, date, start)

    def events() -> QuerySet[Event]:
        # The ORM's read of the page (``_page``'s rare second read, when a whole page shares one
        # millisecond), built only then: filtering compiles the labels' subqueries at once.
        q, excluded_q = flt.q()
        events_q = _searched_events_q(scope_q(), whole_q(), q, excluded_q, relax_excluded=bool(excluded))
        return _cursor(Event.objects.filter(events_q), "earliest_date", params.sort, cursor)

    paragon = None
    if params.event:
        paragon = _event_in_scope(
            params.event, auth, scope_key, "descriptor_f64", "labels", kind=params.content_type, what="event"
        )
    first = last = next_date = None
    if exhausted:
        pass  # a descending cursor at or before the Camio's start: nothing it shares is older
    elif paragon is not None:
        first, last, next_date = _similarity_page(
            page,
            auth=auth,
            scope_key=scope_key,
            whole_q=whole_q,
            flt=flt,
            params=params,
            relax_excluded=bool(excluded),
            cursor=cursor,
            start=start,
            paragon=paragon,
        )
    else:

        def display() -> QuerySet:
            return _for_display(events(), whole=whole_q())

        image_columns = _image_columns(files=params.thumbnails, boxes=params.fetch_motion_boxes)
        answer_items = _answer_items_wanted(alias, auth, params)
        head = _page_head(
            auth,
            scope_key,
            flt,
            kind=params.content_type,
            relax_excluded=bool(excluded),
            sort=params.sort,
            n=params.num_results,
            date=cursor,
            images=image_columns,
            content_q=content_q if auth.via_view_tokens else None,
            item_camio=_item_camio(auth) if auth.via_view_tokens else None,
            names_of=auth.owners[0] if names_check is not None else None,
            answer_items=answer_items,
        )
        if names_check is not None:
            seen = [row.pop(_HEAD_NAMES) for row in head]
            if not seen or seen[0] != names_check:  # renamed since (or no row to tell): read again
                _TEXT_NAMES.pop(auth.owners[0], None)
                return search_run(auth=auth, params=params, now=now, by_name=by_name, names_kept=False)
        rows, page.more_results, next_date = _page(
            display, "earliest_date", params.sort, params.num_results, head=head, start=start
        )
        page.rows = rows
        if rows:
            first, last = rows[0]["earliest_date"], rows[-1]["earliest_date"]
        if rows and all(_HEAD_IMAGES in row for row in rows):
            if answer_items:
                page.answer_items = {row["id"]: _answer_items_of(row.pop(_HEAD_IMAGES)) for row in rows}
            else:
                page.images = _bucket_images_of_head(rows)
    _considered(
        page,
        sort=params.sort,
        date=date,
        lower=lower,
        upper=upper,
        first=first,
        last=last,
        next_date=next_date,
        now=now,
    )
    if by_name and not page.rows:
        return search_run(auth=auth, params=params, now=now, by_name=False)
    if page.answer_items is None:
        page.images = page.images or _bucket_images(
            [e["id"] for e in page.rows],
            content_q=content_q if auth.via_view_tokens else None,
            scope_key=scope_key,
            item_camio=_item_camio(auth) if auth.via_view_tokens else None,
            kind=params.content_type,
            boxes=params.fetch_motion_boxes,
            files=params.thumbnails,
        )
    if _camios_cut_events(auth):
        _summarize_cut_events(page, min_level=params.min_level, required=required, excluded=excluded)
        _clamp_to_camios(page, auth)
    return page


def _similarity_page(
    page: SearchPage,
    *,
    auth: SearchAuth,
    scope_key: tuple | None,
    whole_q: Callable[[], Q | None],
    flt: _EventFilter,
    params,
    relax_excluded: bool,
    cursor: datetime | None,
    start: datetime | None,
    paragon: dict,
) -> tuple[datetime | None, datetime | None, datetime | None]:
    """A similarity search's page (``event=``): the best ``num_results`` of one window of
    candidates (``_similarity_window``), into ``page``. Returns the window's first and last dates
    and the date the next page continues from (None: no more).

    The window ends before a millisecond it would split with the next window (as ``_page`` does
    for pages), which it then leaves whole to the next page; a window wholly inside one
    millisecond is all of that millisecond. Only the window's ends' dates are read (with the
    page's rows), and the candidates of the split millisecond only when there is one.
    """
    kind, sort = params.content_type, params.sort
    rows = _similarity_window(
        auth,
        scope_key,
        flt,
        kind=kind,
        relax_excluded=relax_excluded,
        sort=sort,
        date=cursor,
        paragon_pk=paragon["pk"],
    )
    # More beyond the window: the next page ranks the next window (from the date considered).
    full = len(rows) > CANDIDATE_WINDOW
    window = rows[:CANDIDATE_WINDOW]
    after = [rows[CANDIDATE_WINDOW][0]] if full else []

    def show(window: list[tuple], extra: list[int]) -> tuple[list[tuple[int, float]], dict[int, dict]]:
        labels = decode_json_texts([lb for _, _, lb in window])
        candidates = [(row[0], row[1], lb) for row, lb in zip(window, labels, strict=True)]
        top = rank_packed(paragon["descriptor_f64"], paragon["labels"], candidates)[: params.num_results]
        # The window's two ends (for the dates considered) come with the page's rows: no date is
        # read for the hundreds of candidates in between.
        ends = [window[0][0], window[-1][0]] if window else []
        shown = _events_for_display([pk for pk, _ in top] + ends + extra, scope_key=scope_key, whole_q=whole_q)
        return top, {e["id"]: e for e in shown}

    def date_of(by_pk: dict[int, dict], pk: int) -> datetime | None:
        # (An event deleted meanwhile leaves its date unknown, as an empty window would.)
        row = by_pk.get(pk)
        return row["earliest_date"] if row else None

    top, by_pk = show(window, after)
    next_date = None
    if full:
        last, edge = date_of(by_pk, window[-1][0]), date_of(by_pk, after[0])
        if last is not None:
            next_date = _paging_key(last, start)
        if last is not None and edge is not None and next_date == _paging_key(edge, start):
            # The next window would start past the millisecond this one shares with it.
            window, full, next_date = _similarity_window_cut(
                window,
                auth=auth,
                scope_key=scope_key,
                flt=flt,
                kind=kind,
                relax_excluded=relax_excluded,
                sort=sort,
                cursor=cursor,
                start=start,
                paragon_pk=paragon["pk"],
                boundary=next_date,
            )
            top, by_pk = show(window, [])
            if next_date is None:
                last = date_of(by_pk, window[-1][0])
                next_date = _paging_key(last, start) if last is not None else None
    page.scores = dict(top)
    page.rows = [by_pk[pk] for pk, _ in top if pk in by_pk]
    page.more_results = full
    if not window:
        return None, None, None
    return date_of(by_pk, window[0][0]), date_of(by_pk, window[-1][0]), next_date


def _similarity_window_cut(
    window: list[tuple],
    *,
    auth: SearchAuth,
    scope_key: tuple | None,
    flt: _EventFilter,
    kind: str,
    relax_excluded: bool,
    sort: str,
    cursor: datetime | None,
    start: datetime | None,
    paragon_pk: int,
    boundary: datetime,
) -> tuple[list[tuple], bool, datetime | None]:
    """A full window whose last millisecond (``boundary``, a paging key) goes on past it: the
    window without that millisecond, more to come, the next date unknown (its new last row's);
    or, when the whole window is that millisecond, all of it, whether more follows, and the
    boundary. The ORM's read (rare: compiled per call)."""
    values, _, events = _searched_events(
        auth, scope_key, flt, kind=kind, relax_excluded=relax_excluded, sort=sort, date=cursor
    )
    searched = events(values).exclude(pk=paragon_pk)
    same = list(
        searched.filter(_paging_ms_q("earliest_date", boundary, start))
        .order_by(*_page_order("earliest_date", sort))
        .values_list("pk", "descriptor_f64", Cast("labels", TextField()))
    )
    at_boundary = {pk for pk, _, _ in same}
    kept = [row for row in window if row[0] not in at_boundary]
    if kept:
        return kept, True, None
    _, exhausted = _paging_cursor(sort, boundary, start)
    more = not exhausted and _cursor(searched, "earliest_date", sort, boundary).exists()
    return [(pk, bytes(descriptor or b""), labels) for pk, descriptor, labels in same], more, boundary


def _camios_window(auth: SearchAuth) -> tuple[datetime | None, datetime | None]:
    """The union of the search's Camios' date windows (an end open in one Camio is open)."""
    if not auth.via_view_tokens:
        return None, None
    scopes = [camio_scope(camio) for camio in auth.camios]
    starts = [s.start for s in scopes]
    ends = [s.end for s in scopes]
    return (None if None in starts else min(starts)), (None if None in ends else max(ends))


def _clamp_to_camios(page: SearchPage, auth: SearchAuth) -> None:
    """A Camio's viewers are told no date outside what it shares: an event it cuts pages at the
    Camio's start (``_paging_key``), not at its own earliest date (the capture time of an item
    before the start), and an ``event_as_date`` of one sets the date there too. The page's dates
    are brought inside the union of the Camios' date windows (a window open at one end leaves
    that end as it is); the date to continue from is already inside."""
    start, end = _camios_window(auth)

    def inside(value: datetime | None) -> datetime | None:
        if value is None:
            return None
        if start is not None and value < start:
            return start
        if end is not None and value > end:
            return end
        return value

    page.date = inside(page.date)
    page.earliest_date_considered = inside(page.earliest_date_considered)
    page.latest_date_considered = inside(page.latest_date_considered)


def _camera_named(owner: int, lower_name: str) -> RawSQL:
    """The id of the owner's one camera named ``lower_name`` in any case; NULL (no events) for
    none or several. A scalar: the events' (camera, date) index then reads a page in date order
    however many events the camera has.

    Also NULL when the owner has a camera named with other than ASCII: the database's LOWER and
    Python's ``str.lower`` (which the search by ids uses) may disagree on it (SQLite lowers ASCII
    only), so such an owner's search takes the way by ids."""
    camera, qn = Camera._meta, connection.ops.quote_name
    name = qn(camera.get_field("name").column)
    if connection.vendor == "postgresql":
        not_ascii = f"OCTET_LENGTH({name}) <> CHAR_LENGTH({name})"
    else:
        not_ascii = f"LENGTH(CAST({name} AS BLOB)) <> LENGTH({name})"
    sql = (
        f"(SELECT CASE WHEN COUNT(*) = 1 AND MAX(CASE WHEN {not_ascii} THEN 1 ELSE 0 END) = 0 "  # noqa: S608
        f"THEN MIN({qn(camera.pk.column)}) END FROM {qn(camera.db_table)} "
        f"WHERE {qn(camera.get_field('owner').column)} = %s AND (LOWER({name}) = %s OR {not_ascii}))"
    )
    return RawSQL(sql, [owner, lower_name], output_field=camera.pk)  # noqa: S611 (names from the model)


class _EventFilter:
    """The searched events' filter beyond their scope, as parts ``(kind, values)`` in SQL order.

    ``q()`` builds it for the ORM; ``shape`` and ``values`` are what the owner's events page is
    precompiled by (``_searched_events``): one source for both, so they cannot disagree.
    """

    def __init__(self) -> None:
        self.parts: list[tuple[str, tuple]] = []

    def add(self, kind: str, *values) -> None:
        self.parts.append((kind, values))

    @property
    def shape(self) -> tuple:
        return tuple((kind, len(values)) for kind, values in self.parts)

    @property
    def values(self) -> list:
        return [value for _, values in self.parts for value in values]

    def q(self, values: Sequence | None = None) -> tuple[Q, Q]:
        """(the filter, the excluded labels' filter), with ``values`` (in ``self.values``' order)
        in place of the parts' own when given."""
        given = iter(self.values if values is None else values)
        q, excluded_q = Q(), Q()
        for kind, own in self.parts:
            vals = [next(given) for _ in own]
            if kind == "cameras":
                q &= Q(camera_id__in=vals)
            elif kind == "camera named":  # (owner, a name in lower case)
                q &= Q(camera_id=_camera_named(vals[0], vals[1]))
            elif kind == "not cameras":
                q &= ~Q(camera_id__in=vals)
            elif kind == "label":
                q &= Q(_label_exists(vals[0]))
            elif kind == "level":
                q &= Q(max_interest_level__gte=vals[0])
            elif kind == "basis":
                q &= Q(basis=vals[0])
            elif kind == "has video":
                q &= Q(has_video=True)
            elif kind == "from":
                q &= Q(earliest_date__gte=vals[0])
            elif kind == "until":
                q &= Q(earliest_date__lt=vals[0])
            elif kind == "not label":
                excluded_q &= ~Q(_label_exists(vals[0]))
            else:
                raise ValueError(f"unknown filter part {kind!r}")
        return q, excluded_q


def _searched_events_q(scope_q: Q, whole_q: Q | None, q: Q, excluded_q: Q, *, relax_excluded: bool) -> Q:
    """The events a search reads: its scope, its filter, and the excluded labels' filter, which an
    event a Camio cuts escapes here (its in-slice items' labels are checked after the read: an
    out-of-slice label must not hide it, as that would tell the viewer it is there).
    (``Q() | x`` is ``x``: with no label excluded there is nothing to relax.)"""
    if whole_q is None or not relax_excluded:
        return scope_q & q & excluded_q
    return scope_q & q & (excluded_q | ~whole_q)


def _camios_key(auth: SearchAuth) -> tuple:
    """What makes a view-token search's slice SQL: each Camio and its stored query."""
    return tuple((camio.pk, camio.owner_id, json.dumps(camio.query, sort_keys=True)) for camio in auth.camios)


def _searched_events(
    auth: SearchAuth,
    scope_key: tuple | None,
    flt: _EventFilter,
    *,
    kind: str,
    relax_excluded: bool,
    sort: str,
    date: datetime | None,
) -> tuple[list, tuple, Callable[[Sequence], QuerySet]]:
    """The events a search reads, as ``search_run``'s ORM read has them (the scope of
    ``_scope_event_q``, the filter, ``_searched_events_q``, the ``_cursor``), built from values so
    that each read of them is compiled once per shape (``config.precompiled.ShapedValuesQuery``):
    the ORM spent more CPU building and compiling these queries than the database running them.

    Returns ``(values, shape, events)``: ``events(values)`` is the queryset (a caller may append
    values of its own); ``shape`` names its structure. The owner's id is a value; a view token's
    Camios (``scope_key``, see ``_camios_key``) are constants of the SQL.
    """
    values: list = [auth.owners[0]] if scope_key is None else []
    values += flt.values
    filtered = len(values)
    if date is not None:
        # The cursor's own bound is the value (``_cursor`` would derive it from the stand-in).
        lookup, bound = _cursor_bound("earliest_date", sort, date)
        values.append(bound)

    def events(vals: Sequence) -> QuerySet:
        if scope_key is None:
            scope_q, whole_q, flt_values = Q(owner_id=vals[0]), None, vals[1:filtered]
        else:
            scope_q, whole_q, flt_values = _scope_event_q(auth, kind=kind), _whole_q(auth), vals[:filtered]
        q, excluded_q = flt.q(flt_values)
        qs = Event.objects.filter(_searched_events_q(scope_q, whole_q, q, excluded_q, relax_excluded=relax_excluded))
        return qs.filter(**{lookup: vals[filtered]}) if date is not None else qs

    shape = (scope_key, kind if scope_key is not None else None, relax_excluded, sort, date is not None, flt.shape)
    return values, shape, events


def _page_head(
    auth: SearchAuth,
    scope_key: tuple | None,
    flt: _EventFilter,
    *,
    kind: str,
    relax_excluded: bool,
    sort: str,
    n: int,
    date: datetime | None,
    images: tuple[str, ...] | None = None,
    content_q: Callable[[], Q] | None = None,
    item_camio: int | Expression | None = None,
    names_of: int | None = None,
    answer_items: bool = False,
) -> list:
    """The first ``n + 1`` rows of a search's events page (``_page``'s ``head``), ``_for_display``.

    ``images`` (``_image_columns``): on PostgreSQL each row also carries its items of ``kind``
    under ``_HEAD_IMAGES`` (``_bucket_images_of_head``), read by the same statement: a page is then
    one round trip to the database instead of two. In a Camio search, only the items of its slice
    (``content_q``), each with the Camio holding it (``item_camio``), as ``_bucket_images`` reads.
    ``names_of`` (PostgreSQL): each row also carries the digest of that account's camera and zone
    names under ``_HEAD_NAMES`` (``_text_names``). ``answer_items`` (an account's own search, no
    thumbnails): the items come as the answer writes them (``_answer_items_sql``), not as rows,
    and the labels as their JSON text (``_for_display``'s ``labels_json``).
    """
    values, shape, events = _searched_events(
        auth, scope_key, flt, kind=kind, relax_excluded=relax_excluded, sort=sort, date=date
    )
    alias = router.db_for_read(Event)
    if images is not None and connections[alias].vendor == "postgresql":
        values = [*values, kind]  # after the events' own values, which ``events`` reads by index
    else:
        images = None
    if names_of is not None:
        values = [*values, names_of, names_of]  # (the names query names its owner twice)

    def build(vals: Sequence) -> QuerySet:
        qs = _for_display(events(vals), whole=_whole_q(auth), labels_json=answer_items)
        if names_of is not None:
            names_sql, _ = _names_sql([names_of], with_zones=True)
            digest = RawSQL(_names_fingerprint_sql(names_sql), vals[-2:], output_field=TextField())  # noqa: S611
            qs = qs.annotate(**{_HEAD_NAMES: digest})
            vals = vals[:-2]  # the kind (below) comes before them
        if images is not None and answer_items:
            boxes = "analysis__motion_boxes" in images
            qs = qs.annotate(**{_HEAD_IMAGES: _answer_items_sql(boxes=boxes, kind=vals[-1])})
        elif images is not None and content_q is None:
            qs = qs.annotate(**{_HEAD_IMAGES: _event_images_json(images, kind=vals[-1])})
        elif images is not None:
            items = _camio_event_items(content_q(), images, kind=vals[-1], item_camio=item_camio)
            qs = qs.annotate(**{_HEAD_IMAGES: _ItemsJson(items, keys=_item_keys(images, item_camio))})
        return qs.order_by(*_page_order("earliest_date", sort))[: n + 1]

    shape = (n, images, answer_items, names_of is not None, *shape)
    return _EVENT_PAGE.rows(alias, shape=shape, values=values, build=build)


def _summarize_cut_events(page: SearchPage, *, min_level: int, required: list[str], excluded: list[str]) -> None:
    """Rewrite each cut event's summary from its in-slice items; drop it if these miss the filters.

    The rule (view-token searches): an event no Camio of the search holds whole shows the
    ``earliest_date``/``latest_date`` of its in-slice items, their highest ``interest_level`` as
    ``max_interest_level``, the union of their labels as ``labels`` (so the event's other items'
    labels, and its direction labels, do not leak), and as cover the most interesting of them (the
    event cover's rule: highest level, then score, then the earliest). ``labels``/``text`` labels
    and ``motion_type`` are then judged on that summary, as the viewer sees it. Events held whole
    keep their own values. Dropping one after the page was cut may leave fewer than
    ``num_results`` buckets; the dates considered (and so the next page) stay those of the read.
    """
    need, refuse = set(required), set(excluded)
    kept = []
    for row in page.rows:
        if row.pop("whole"):
            kept.append(row)
            continue
        images = page.images.get(row["id"]) or []
        if not images:
            continue  # its in-slice items went meanwhile
        labels = sorted({label for image in images for label in image["labels"] or ()})
        level = max(image["interest_level"] for image in images)
        lowered = {label.lower() for label in labels}
        if level < min_level or not need <= lowered or lowered & refuse:
            continue
        # max() keeps the first of equals: images are in capture order, so ties go to the earliest.
        cover = max(images, key=lambda image: (image["interest_level"], image["interest_score"]))
        row.update(
            labels=labels,
            earliest_text=images[0]["date_created"],
            latest_text=images[-1]["date_created"],
            max_interest_level=level,
            cover_public_id=cover["public_id"],
        )
        kept.append(row)
    page.rows = kept


class BucketImage(TypedDict):
    """One item of a bucket as read for the answer (a row, not a model: 100 of them per page)."""

    public_id: str
    content_type: str
    date_created: str  # its capture date as the answer writes it (``CamioDate``)
    event_id: int
    labels: list
    interest_level: int
    interest_score: float
    # In a Camio search: the Camio whose slice holds the item (its access token is bound to it).
    camio_id: NotRequired[int | None]
    # Read only for thumbnails (what a rendition opens) and for fetch_motion_boxes.
    id: NotRequired[int]
    kind: NotRequired[str]
    storage_key: NotRequired[str]
    poster_key: NotRequired[str]
    motion_boxes: NotRequired[list]


class EventRow(TypedDict):
    """An event as a bucket shows it (a ``values()`` row: the descriptor is never read for display).

    ``earliest_date`` pages; the texts are the dates as the answer writes them (``CamioDate``).
    """

    id: int
    public_id: str
    labels: NotRequired[list]
    labels_json: NotRequired[str]  # instead of ``labels``, where the answer takes their text
    earliest_date: datetime
    earliest_text: str
    latest_text: str
    max_interest_level: int
    source_name: str
    cover_public_id: str | None


def _for_display(events: QuerySet[Event], *, whole: Q | None = None, labels_json: bool = False) -> QuerySet:
    """Events as ``EventRow``s: the camera's name and the cover's public id joined in, one query.

    ``whole`` (Camio searches whose dates may cut events): adds ``whole``, whether a Camio holds the
    event whole (see ``_summarize_cut_events``). ``labels_json``: the labels as their JSON text
    (``labels_json``), which the answer takes as it is, instead of ``labels``.
    """
    extra: dict[str, Any] = {}
    if whole is not None:
        extra["whole"] = Case(When(whole, then=Value(True)), default=Value(False), output_field=BooleanField())
    if labels_json:
        extra["labels_json"] = Cast("labels", TextField())
    return events.values(
        "id",
        "public_id",
        *(() if labels_json else ("labels",)),
        "earliest_date",
        "max_interest_level",
        earliest_text=CamioDate("earliest_date"),
        latest_text=CamioDate("latest_date"),
        source_name=F("camera__name"),
        cover_public_id=F("cover__public_id"),
        **extra,
    )


def decode_json_texts(texts: list[str | None]) -> list:
    """JSON column values read as text, decoded in one ``json.loads`` (None stays None).

    A JSONField decodes each value on its own; for hundreds of rows the per-call overhead is
    most of the cost. PostgreSQL and SQLite both write valid JSON text for a JSON column.
    """
    if not texts:
        return []
    text = "[" + ",".join("null" if t is None else t for t in texts) + "]"
    try:
        return orjson.loads(text)  # ~3x json's speed on a page's items
    except orjson.JSONDecodeError:  # what orjson refuses and json takes (a lone surrogate escaped)
        return json.loads(text)


# The columns of a bucket's item, in the order both reads below return them. The capture date is
# read as the answer's text (``_DATE_COLUMNS``): it is only echoed.
_IMAGE_COLUMNS = (
    "public_id",
    "content_type",
    "captured_at",
    "analysis__event_id",
    "analysis__labels",
    "analysis__interest_level",
    "analysis__interest_score",
)
_FILE_COLUMNS = ("id", "kind", "storage_key", "poster_key")  # what a thumbnail opens
_JSON_COLUMNS = {"analysis__labels", "analysis__motion_boxes"}  # read as text, decoded at once
_DATE_COLUMNS = {"captured_at"}  # read as camio_date's text (``CamioDate``)


def _image_columns(*, files: bool, boxes: bool) -> tuple[str, ...]:
    return _IMAGE_COLUMNS + (_FILE_COLUMNS if files else ()) + (("analysis__motion_boxes",) if boxes else ())


def _read_as_text(path: str) -> str | Expression:
    """A column of ``_IMAGE_COLUMNS`` as the ORM read of ``_bucket_images`` selects it."""
    if path in _JSON_COLUMNS:
        return Cast(path, TextField())
    if path in _DATE_COLUMNS:
        return CamioDate(path)
    return path


def _image_column_sql(path: str) -> str:
    """A column of ``_image_columns`` in the hand-written reads: Content as ``c``, its analysis ``a``."""
    content, analysis, qn = Content._meta, ItemAnalysis._meta, connection.ops.quote_name
    if path.startswith("analysis__"):
        return f"a.{qn(analysis.get_field(path.removeprefix('analysis__')).column)}"
    if path in _DATE_COLUMNS:
        return camio_date_sql(f"c.{qn(content.get_field(path).column)}", connection=connection)
    return f"c.{qn(content.get_field(path).column)}"


def _image_from_sql(event_condition: Callable[[str], str]) -> tuple[str, str]:
    """The ``FROM … WHERE`` and the ``ORDER BY`` (capture order) of an events' items read: Content
    ``c`` with its analysis ``a``, whose event column meets ``event_condition(column)``, of the
    kind given as a parameter."""
    content, analysis, qn = Content._meta, ItemAnalysis._meta, connection.ops.quote_name
    event = f"a.{qn(analysis.get_field('event').column)}"
    where = (
        f"FROM {qn(content.db_table)} c "
        f"JOIN {qn(analysis.db_table)} a ON a.{qn(analysis.pk.column)} = c.{qn(content.pk.column)} "
        f"WHERE {event_condition(event)} AND c.{qn(content.get_field('kind').column)} = %s"
    )
    return where, f"c.{qn(content.get_field('captured_at').column)}, c.{qn(content.pk.column)}"


# The key of each of ``_image_columns`` in a ``BucketImage``.
_BUCKET_IMAGE_KEYS = {
    "captured_at": "date_created",
    "analysis__event_id": "event_id",
    "analysis__labels": "labels",
    "analysis__interest_level": "interest_level",
    "analysis__interest_score": "interest_score",
    "analysis__motion_boxes": "motion_boxes",
}


def _event_images_json(columns: tuple[str, ...], *, kind: str) -> RawSQL:
    """PostgreSQL: an event's items of ``kind`` as the text of a JSON array of ``BucketImage``s
    (the ``columns``, in capture order), for ``_page_head``: the items of ``_image_rows_sql``, read
    as a column of the events query, which the JSON decoder turns into the answer's rows at once.
    NULL for an event with none."""
    qn = connection.ops.quote_name
    event = f"{qn(Event._meta.db_table)}.{qn(Event._meta.pk.column)}"
    pairs = ", ".join(f"'{_BUCKET_IMAGE_KEYS.get(path, path)}', {_image_column_sql(path)}" for path in columns)
    where, order = _image_from_sql(lambda column: f"{column} = {event}")
    sql = f"(SELECT json_agg(json_build_object({pairs}) ORDER BY {order})::text {where})"
    return RawSQL(sql, [kind], output_field=TextField())  # noqa: S611 (names from the models, kind a parameter)


@dataclass(frozen=True)
class AnswerItems:
    """An event's items already written as the answer's ``images`` array by PostgreSQL
    (``_answer_items_sql``): what an account's own search shows when no item needs Python's work
    (no thumbnails, no access tokens). The text goes into the answer as it is (``orjson.Fragment``)."""

    count: int
    json: str

    @property
    def first_id(self) -> str | None:
        """The first item's id (a bucket's cover when its event has none)."""
        if not self.count:
            return None
        # The array opens with it: [{"id":"…",
        end = self.json.find('"', 8)
        value = self.json[8:end]
        if end < 0 or "\\" in value:  # an id JSON had to escape: decode the item
            return orjson.loads(self.json)[0]["id"]
        return value


_NO_ANSWER_ITEMS = AnswerItems(count=0, json="[]")


def _answer_items_sql(*, boxes: bool, kind: str) -> RawSQL:
    """PostgreSQL: an event's items of a kind as ``search.serializers._image_json`` writes them
    (id, content_type, date_created, labels, interest_level, interest_score to 3 places, then
    ``motion_boxes`` when asked), in capture order, after their count: ``"<count>[{…},…]"``
    (``_answer_items_of``); NULL for an event with none.

    Written by concatenation, which costs PostgreSQL less than ``json_build_object``, and the score
    rounded in float8 (``numeric``'s ``round`` cost as much as the rest of the item): the same
    digits as Python's ``round`` but for a score within a rounding error of a halfway point.
    """
    qn = connection.ops.quote_name
    event = f"{qn(Event._meta.db_table)}.{qn(Event._meta.pk.column)}"
    column = _image_column_sql
    score = column("analysis__interest_score")
    thousandths = f"round({score} * 1000)"
    # As orjson writes Python's float: a whole number with ``.0``; NaN and infinities as null.
    score_json = (
        f"CASE WHEN {score} IN ('NaN', 'Infinity', '-Infinity') THEN 'null' "
        f"WHEN abs({score}) < 1e15 AND {thousandths} / 1000 = trunc({thousandths} / 1000) "
        f"THEN trunc({thousandths} / 1000)::bigint::text || '.0' "
        f"ELSE ({thousandths} / 1000)::text END"
    )

    def json_list(path: str) -> str:  # as ``list(value or [])``: a JSON null (or other non-list) is []
        return f"CASE WHEN jsonb_typeof({column(path)}) = 'array' THEN {column(path)}::text ELSE '[]' END"

    # Every column is NOT NULL (a NULL would drop the item from string_agg); ids and content
    # types are escaped by to_json, dates are digits, the JSON columns are JSON already.
    item = (
        f"""'{{"id":' || to_json({column("public_id")})::text"""
        f""" || ',"content_type":' || to_json({column("content_type")})::text"""
        f""" || ',"date_created":"' || {column("captured_at")}"""
        f""" || '","labels":' || {json_list("analysis__labels")}"""
        f""" || ',"interest_level":' || {column("analysis__interest_level")}::text"""
        f""" || ',"interest_score":' || {score_json}"""
        + (f""" || ',"motion_boxes":' || {json_list("analysis__motion_boxes")}""" if boxes else "")
        + " || '}'"
    )
    where, order = _image_from_sql(lambda col: f"{col} = {event}")
    sql = f"(SELECT count(*)::text || '[' || string_agg({item}, ',' ORDER BY {order}) || ']' {where})"
    return RawSQL(sql, [kind], output_field=TextField())  # noqa: S611 (names from the models, kind a parameter)


def _answer_items_wanted(alias: str, auth: SearchAuth, params) -> bool:
    """Whether a page's items are written by the database as the answer's text: on PostgreSQL,
    when no Python hand touches them (no thumbnail, no access token, not a Camio's slice).
    Decoding them and encoding them again was a third of the CPU of an account's own search."""
    return (
        connections[alias].vendor == "postgresql"
        and not auth.via_view_tokens
        and not params.fetch_access_tokens
        and not params.thumbnails
    )


def _answer_items_of(text: str | None) -> AnswerItems:
    if text is None:
        return _NO_ANSWER_ITEMS
    split = text.index("[")
    return AnswerItems(count=int(text[:split]), json=text[split:])


def _item_keys(columns: tuple[str, ...], item_camio: int | Expression | None) -> list[str]:
    """The ``BucketImage`` keys a Camio search's items carry, in ``_camio_event_items``' order."""
    return [_BUCKET_IMAGE_KEYS.get(path, path) for path in columns] + (["camio_id"] if item_camio is not None else [])


def _camio_event_items(
    content_q: Q, columns: tuple[str, ...], *, kind: str, item_camio: int | Expression | None
) -> QuerySet:
    """The outer event's items of ``kind`` in a Camio's slice, as the rows ``_ItemsJson`` turns
    into ``BucketImage``s: ``_item_keys``' columns (as ``k0``, ``k1``, …), then their order."""
    fields: dict[str, Any] = {}
    for path in columns:
        fields[f"k{len(fields)}"] = CamioDate(path) if path in _DATE_COLUMNS else F(path)
    if item_camio is not None:
        fields[f"k{len(fields)}"] = item_camio if isinstance(item_camio, Expression) else Value(item_camio)
    return (
        Content.objects.filter(content_q, analysis__event_id=OuterRef("pk"), kind=kind)
        .order_by()
        .values(**fields, o_date=F("captured_at"), o_id=F("pk"))
    )


class _ItemsJson(Subquery):
    """PostgreSQL: the rows of ``_camio_event_items`` as the text of a JSON array of objects keyed
    by ``keys``, in capture order (NULL for none): ``_event_images_json`` for a Camio's slice."""

    output_field = TextField()

    def __init__(self, queryset: QuerySet, *, keys: list[str]) -> None:
        pairs = ", ".join(f"'{key}', r.k{index}" for index, key in enumerate(keys))
        # The keys are ours (``_item_keys``); the subquery's values are its parameters.
        agg = f"json_agg(json_build_object({pairs}) ORDER BY r.o_date, r.o_id)"
        template = f"(SELECT {agg}::text FROM (%(subquery)s) r)"  # noqa: S608
        super().__init__(queryset, template=template)


def _image_rows_sql(event_ids: list[int], *, kind: str, columns: tuple[str, ...]) -> list[tuple]:
    """The items of the events as plain rows, by hand-written SQL on the (event, level) index.

    The owner's own search needs no other filter (the events are already scoped), and this query
    is most of a page's cost when built by the ORM: compiling it costs more than running it.
    """
    select = ", ".join(_image_column_sql(path) for path in columns)
    placeholders = ", ".join(["%s"] * len(event_ids))
    where, order = _image_from_sql(lambda column: f"{column} IN ({placeholders})")
    sql = f"SELECT {select} {where} ORDER BY {order}"  # names from the models, values as parameters
    with connection.cursor() as cursor:
        cursor.execute(sql, [*event_ids, kind])
        return cursor.fetchall()  # JSON comes back as text from both backends


def _bucket_images(
    event_ids: list[int],
    *,
    content_q: Callable[[], Q] | None,
    kind: str,
    scope_key: tuple | None = None,
    item_camio: int | Expression | None = None,
    boxes: bool = False,
    files: bool = False,
) -> dict[int, list[BucketImage]]:
    """The items of the events (one query), in capture order; in a Camio search, only its slice.

    Only what the answer shows is read (``files``: what thumbnails need; ``boxes``: motion boxes),
    as tuples, with the JSON lists decoded in one call per column. ``item_camio`` (Camio searches)
    reads each item's Camio as ``camio_id``. ``content_q`` (Camio searches; None for an account's
    own) makes the slices' Q, when the read is compiled. ``scope_key`` (``_camios_key``) names
    what it and ``item_camio`` stand for: the query is then compiled once per Camio and shape.
    """
    if not event_ids:
        return {}
    columns = _image_columns(files=files, boxes=boxes)
    camios: list[int | None] | None = None
    read_camio = item_camio is not None and not isinstance(item_camio, int)
    if content_q is None:
        rows = _image_rows_sql(event_ids, kind=kind, columns=columns)
    else:
        # A Camio's slice is a Q (cameras, dates, label subqueries): the ORM builds it.
        def build(vals: Sequence) -> QuerySet:
            qs = Content.objects.filter(content_q(), analysis__event_id__in=vals[:-1], kind=vals[-1])
            if read_camio:
                qs = qs.annotate(item_camio=item_camio)
            return qs.order_by("captured_at", "id").values_list(
                *(_read_as_text(c) for c in columns),
                *(("item_camio",) if read_camio else ()),
            )

        if scope_key is None:
            rows = list(build([*event_ids, kind]))
        else:
            shape = (scope_key, len(event_ids), columns, read_camio)
            alias = router.db_for_read(Content)
            rows = _CAMIO_IMAGES.tuples(alias, shape=shape, values=[*event_ids, kind], build=build)
        if read_camio:
            camios = [row[-1] for row in rows]
            rows = [row[:-1] for row in rows]
        elif item_camio is not None:
            camios = [item_camio] * len(rows)
    labels = decode_json_texts([row[4] for row in rows])
    motion_boxes = decode_json_texts([row[-1] for row in rows]) if boxes else None
    out: dict[int, list[BucketImage]] = {pk: [] for pk in event_ids}
    for i, row in enumerate(rows):
        item = _bucket_image(row, labels[i], files=files)
        if motion_boxes is not None:
            item["motion_boxes"] = motion_boxes[i]
        if camios is not None:
            item["camio_id"] = camios[i]
        out[row[3]].append(item)
    return out


def _bucket_image(row: Sequence, labels: list | None, *, files: bool) -> BucketImage:
    """An item of a bucket from a row of ``_image_columns`` (``labels``: its labels, decoded)."""
    item: BucketImage = {
        "public_id": row[0],
        "content_type": row[1],
        "date_created": row[2],
        "event_id": row[3],
        "labels": labels,
        "interest_level": row[5],
        "interest_score": row[6],
    }
    if files:
        item["id"], item["kind"], item["storage_key"], item["poster_key"] = row[7:11]
    return item


# The columns of ``_page_head``'s rows holding their items (``_event_images_json``) and the digest
# of the account's names (``_text_names``).
_HEAD_IMAGES = "images_json"
_HEAD_NAMES = "names_digest"


def _bucket_images_of_head(rows: list[dict]) -> dict[int, list[BucketImage]]:
    """``_bucket_images`` of a page whose head read its items (``_page_head``), taken off its rows."""
    arrays = decode_json_texts([row.pop(_HEAD_IMAGES) for row in rows])
    return {row["id"]: items or [] for row, items in zip(rows, arrays, strict=True)}


TIMELINE_ROUNDS = 6  # windows of 4, 32, 256, … pages' worth of periods, then no bound at all


def _timeline_rows(items: QuerySet, unit: str, sort: str, n: int) -> list[dict]:
    period = Trunc("captured_at", unit, tzinfo=UTC)
    return list(
        items.annotate(period=period)
        .values("period")
        .annotate(
            count=Count("id"),
            earliest=Min("captured_at"),
            latest=Max("captured_at"),
            level=Max("analysis__interest_level"),
        )
        .order_by("-period" if sort == "desc" else "period")[: n + 1]
    )


class _ListHolds(Expression):
    """Whether the JSON list in ``column`` holds ``text``, case-insensitively (as the summaries of
    cut events compare labels: ``_summarize_cut_events``). SQLite lowers ASCII letters only."""

    output_field = BooleanField()

    def __init__(self, column: str, text: str) -> None:
        super().__init__()
        self.column, self.text = F(column), text.lower()

    def get_source_expressions(self) -> list:
        return [self.column]

    def set_source_expressions(self, exprs: list) -> None:
        (self.column,) = exprs

    def as_sql(self, compiler, connection):
        column, params = compiler.compile(self.column)
        sql = (
            "EXISTS (SELECT 1 FROM jsonb_array_elements_text(CASE jsonb_typeof({0}) WHEN 'array' THEN {0} "
            "ELSE '[]'::jsonb END) AS held(value) WHERE lower(held.value) = %s)"
        )
        return sql.format(column), [*params, *params, self.text]

    def as_sqlite(self, compiler, connection):
        column, params = compiler.compile(self.column)
        sql = f"EXISTS (SELECT 1 FROM json_each({column}) AS held WHERE lower(held.value) = %s)"  # noqa: S608
        return sql, [*params, self.text]


def _timeline_events_q(
    scope_q: Q, whole_q: Q | None, flt: _EventFilter, content_q: Q | None, *, kind: str, excluded: list[str]
) -> Q:
    """The events whose items a timeline counts: those the events search shows. An event held
    whole is judged by its labels and level; one a Camio cuts by its in-slice items, as the events
    search judges its summary (``_summarize_cut_events``): each required label on one of them,
    one at the motion level, none with an excluded label. Its other items' labels and level are
    not shared, so they must not decide what the viewer's timeline counts."""
    q, excluded_q = flt.q()
    narrowing = [(part, values[0]) for part, values in flt.parts if part in ("label", "level")]
    if whole_q is None or not (narrowing or excluded):
        return scope_q & q & excluded_q
    items = Content.objects.filter(content_q, analysis__event_id=OuterRef("pk"), kind=kind)
    held = Q()
    for part, value in narrowing:
        if part == "label":
            held &= Q(Exists(items.filter(_ListHolds("analysis__labels", value))))
        else:
            held &= Q(Exists(items.filter(analysis__interest_level__gte=value)))
    for label in dict.fromkeys(excluded):
        held &= ~Q(Exists(items.filter(_ListHolds("analysis__labels", label))))
    return scope_q & q & ((whole_q & excluded_q) | (~whole_q & held))


def _search_timeline(*, q: Q, content_q: Q | None, auth: SearchAuth, params, date, lower, upper, now) -> SearchPage:
    """``seconds``/``hours``: the matching events' items counted per second or hour of capture.

    Items are found through the cameras' (camera, captured_at) index inside a window that starts
    at the cursor and widens (x8) until a page is full or nothing older (newer) is left, so an
    account with a million images never has all of them grouped for one page.
    """
    unit = "second" if params.object_type == "seconds" else "hour"
    step = timedelta(seconds=1 if unit == "second" else 3600)
    n, desc = params.num_results, params.sort == "desc"
    page = SearchPage(bucket_type=unit, date=date)
    camera_ids = [c.pk for c in _cameras(auth)[0]]
    items = Content.objects.filter(
        camera_id__in=camera_ids,
        kind=params.content_type,
        analysis__event__in=Event.objects.filter(q).values("pk"),
    )
    if content_q is not None:
        items = items.filter(content_q)
    if lower is not None:
        items = items.filter(captured_at__gte=lower)
    if upper is not None:
        items = items.filter(captured_at__lt=upper)
    items = _cursor(items, "captured_at", params.sort, date)

    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    if desc:
        anchor = date or upper or now
        # No item is newer than the cameras' newest (their (camera, captured_at) index): the first
        # window starts there, not at "now" with weeks of empty windows widening in between.
        newest = (
            Content.objects.filter(camera_id__in=camera_ids, kind=params.content_type)
            .order_by("-captured_at")
            .values_list("captured_at", flat=True)
            .first()
        )
        if newest is not None and newest + step < anchor:
            anchor = newest + step
    else:
        anchor = (floor_ms(date) + MS) if date else lower
        if anchor is None:
            # No item is older than the earliest matching event's start (the owner/date index).
            first = Event.objects.filter(q).order_by("earliest_date").values_list("earliest_date", flat=True).first()
            anchor = first or now
    span = step * (n + 1) * 4
    rows: list[dict] | None = None
    for _ in range(TIMELINE_ROUNDS):
        # Window edges on whole periods, so every bucket inside is complete.
        try:
            if desc:
                edge = epoch + ((anchor - span) - epoch) // step * step
            else:
                edge = epoch + -((epoch - (anchor + span)) // step) * step
        except OverflowError:
            break  # the window reaches past the calendar's end: it would hold every item
        if desc:
            if lower is not None and edge <= lower:
                break
            window, beyond = items.filter(captured_at__gte=edge), items.filter(captured_at__lt=edge)
        else:
            if upper is not None and edge >= upper:
                break
            window, beyond = items.filter(captured_at__lt=edge), items.filter(captured_at__gte=edge)
        rows = _timeline_rows(window, unit, params.sort, n)
        if len(rows) > n or not beyond.exists():
            break
        rows = None
        span *= 8
    if rows is None:
        rows = _timeline_rows(items, unit, params.sort, n)
    page.more_results = len(rows) > n
    page.rows = rows[:n]
    # A bucket is a whole period, so the next page starts past the last bucket's far item.
    edge = None
    if page.more_results:
        edge = floor_ms(page.rows[-1]["earliest"] if desc else page.rows[-1]["latest"])
    _considered(
        page,
        sort=params.sort,
        date=date,
        lower=lower,
        upper=upper,
        first=page.rows[0]["latest" if desc else "earliest"] if page.rows else None,
        last=page.rows[-1]["earliest" if desc else "latest"] if page.rows else None,
        next_date=edge,
        now=now,
    )
    return page


def _search_camios(*, auth: SearchAuth, params, now: datetime) -> SearchPage:
    """``camios``: the caller's own Camios (or those of the view tokens), by creation date."""
    if auth.via_view_tokens:
        qs = Camio.objects.filter(pk__in=[c.pk for c in auth.camios])
    else:
        if auth.owners != [auth.caller_id]:
            raise Forbidden("A host's Camios are not listed for guests")
        qs = Camio.objects.filter(owner_id=auth.caller_id)
    if params.text:
        qs = qs.filter(name__icontains=params.text)
    page = SearchPage(bucket_type="camio", date=params.date)
    rows, page.more_results, next_date = _page(
        lambda: _cursor(qs, "created_at", params.sort, params.date), "created_at", params.sort, params.num_results
    )
    page.rows = rows
    _considered(
        page,
        sort=params.sort,
        date=params.date,
        lower=None,
        upper=None,
        first=rows[0].created_at if rows else None,
        last=rows[-1].created_at if rows else None,
        next_date=next_date,
        now=now,
    )
    return page
