"""Input parsing and output shapes of the search and Camio APIs.

Inputs are parsed into typed values with a 400 ``{"message"}`` for anything malformed (nothing is
ignored silently); outputs are the reference's JSON shapes, built by plain functions.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypedDict

import orjson
from django.utils import timezone
from rest_framework import serializers

from config.api.dates import camio_date
from config.api.errors import BadRequest
from config.api.params import query_int
from search.access_tokens import ItemSigner, item_access_signer
from search.models import Camio, InterestLevel
from search.querylang import MAX_YEAR, MIN_YEAR, label_canonical
from uploads.models import Content
from uploads.renditions import RenditionError, content_image_bytes, rendition_params

if TYPE_CHECKING:
    from search.selectors import AnswerItems

logger = logging.getLogger(__name__)

OBJECT_TYPES = ("events", "seconds", "hours", "camios")
SORTS = ("asc", "desc")
CONTENT_TYPES = ("image", "video")
MOTION_TYPES = {
    "all": InterestLevel.ANY,
    "smo": InterestLevel.SIGNIFICANT,
    "imo": InterestLevel.IMPORTANT,
    "lmo": InterestLevel.LABELED,
}
MAX_RESULTS = 100
MAX_LIST_ITEMS = 100
MAX_TERM_LENGTH = 64
MAX_TEXT_LENGTH = 500
# Search parameters we understand; others (access_token, key, format) are left to other layers.
_UNSUPPORTED = {"sxs": "sxs (side by side tags) is not supported"}


# --- dates ---------------------------------------------------------------------------------------


def parse_api_date(raw: str, *, name: str) -> datetime:
    """An ISO 8601 date as the reference writes it (``2014-03-13T11:27:40.929-0000``), or close kin.

    Accepts ``Z``, ``±HH:MM``, ``±HHMM``, no zone (UTC), a space for ``T`` and a bare date
    (midnight UTC). Years MIN_YEAR to MAX_YEAR (1970 to 9998) only. Anything else is a 400 naming the parameter.
    """
    value = (raw or "").strip()
    if not value or len(value) > 40:
        raise BadRequest(f"{name} must be an ISO 8601 date such as 2014-03-13T11:27:40.929-0000")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise BadRequest(f"{name} must be an ISO 8601 date such as 2014-03-13T11:27:40.929-0000, not {raw!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    if not MIN_YEAR <= parsed.year <= MAX_YEAR:
        raise BadRequest(f"{name} is out of range: {raw!r}")
    return parsed.astimezone(UTC)


# --- search parameters ---------------------------------------------------------------------------


def _csv(query: Mapping, name: str, *, lower: bool = False) -> list[str]:
    raw = query.get(name)
    if raw is None:
        return []
    items = [item.strip() for item in str(raw).split(",")]
    items = [item.lower() if lower else item for item in items if item]
    if len(items) > MAX_LIST_ITEMS:
        raise BadRequest(f"{name} lists at most {MAX_LIST_ITEMS} values")
    if any(len(item) > MAX_TERM_LENGTH for item in items):
        raise BadRequest(f"{name}: values are at most {MAX_TERM_LENGTH} characters")
    return list(dict.fromkeys(items))


def _choice(query: Mapping, name: str, choices, default: str) -> str:
    raw = query.get(name)
    if raw is None or str(raw).strip() == "":
        return default
    value = str(raw).strip().lower()
    if value not in choices:
        raise BadRequest(f"{name} must be one of {', '.join(choices)}, not {raw!r}")
    return value


def _bool(query: Mapping, name: str) -> bool:
    raw = query.get(name)
    if raw is None or str(raw).strip() == "":
        return False
    value = str(raw).strip().lower()
    if value in {"true", "1", "yes"}:
        return True
    if value in {"false", "0", "no"}:
        return False
    raise BadRequest(f"{name} must be true or false, not {raw!r}")


def _single(query: Mapping, name: str) -> str | None:
    raw = query.get(name)
    if raw is None:
        return None
    value = str(raw).strip()
    if not value:
        return None
    if len(value) > 200:
        raise BadRequest(f"{name} is too long")
    return value


@dataclass
class SearchParams:
    """``GET /api/search``'s parameters, validated."""

    object_type: str = "events"
    date: datetime | None = None
    event_as_date: str | None = None
    sort: str = "desc"
    sort_given: bool = False
    sources: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    event: str | None = None
    content_type: str = "image"
    motion_type: str = "imo"
    num_results: int = 10
    user: str | None = None
    view_tokens: list[str] = field(default_factory=list)
    text: str | None = None
    fetch_motion_boxes: bool = False
    fetch_cover_thumbnails: bool = False
    fetch_all_thumbnails: bool = False
    fetch_access_tokens: bool = False
    w: int = 150
    h: int = 112
    quality: int = 85

    @property
    def min_level(self) -> int:
        return int(MOTION_TYPES[self.motion_type])

    @property
    def thumbnails(self) -> bool:
        return self.fetch_cover_thumbnails or self.fetch_all_thumbnails


def search_params_parse(query: Mapping) -> SearchParams:
    """Validate the query string of ``GET /api/search``; raises BadRequest on any bad value."""
    for name, message in _UNSUPPORTED.items():
        if query.get(name):
            raise BadRequest(message)
    p = SearchParams()
    p.object_type = _choice(query, "object_type", OBJECT_TYPES, "events")
    p.sort = _choice(query, "sort", SORTS, "desc")
    p.sort_given = bool(str(query.get("sort") or "").strip())
    p.content_type = _choice(query, "content_type", CONTENT_TYPES, "image")
    p.motion_type = _choice(query, "motion_type", tuple(MOTION_TYPES), "imo")
    if (raw := _single(query, "date")) is not None:
        p.date = parse_api_date(raw, name="date")
    p.event_as_date = _single(query, "event_as_date")
    if p.date is not None and p.event_as_date is not None:
        raise BadRequest("Give either date or event_as_date, not both")
    p.sources = _csv(query, "sources")
    p.labels = list(dict.fromkeys(label_canonical(label) for label in _csv(query, "labels")))
    p.event = _single(query, "event")
    p.num_results = query_int(query, "num_results", p.num_results, low=1, high=MAX_RESULTS)
    p.user = _single(query, "user")
    p.view_tokens = _csv(query, "view_tokens")
    if p.user and p.view_tokens:
        raise BadRequest("Give either user or view_tokens, not both")
    text = query.get("text")
    if text is not None:
        if len(str(text)) > MAX_TEXT_LENGTH:
            raise BadRequest(f"text is at most {MAX_TEXT_LENGTH} characters")
        p.text = str(text).strip() or None
    p.fetch_motion_boxes = _bool(query, "fetch_motion_boxes")
    p.fetch_cover_thumbnails = _bool(query, "fetch_cover_thumbnails")
    p.fetch_all_thumbnails = _bool(query, "fetch_all_thumbnails")
    p.fetch_access_tokens = _bool(query, "fetch_access_tokens")
    w, h, quality = rendition_params(query, default_w=150, default_h=112)
    p.w, p.h, p.quality = int(w or 150), int(h or 112), quality
    if p.object_type == "camios" and (p.sources or p.labels or p.event or p.event_as_date):
        raise BadRequest("object_type camios takes no sources, labels, event or event_as_date")
    if p.event and p.object_type != "events":
        raise BadRequest("Similarity search (event) is for object_type events")
    return p


def search_query_json(p: SearchParams, *, date: datetime | None, parsed: dict | None) -> dict[str, Any]:
    """The ``query`` member: the search as the server understood it."""
    out: dict[str, Any] = {
        # null when none was given: the page's own dates are ``*_date_considered`` (a date made up
        # here, "now", would pin a client's next call that resends this query to this moment).
        "date": camio_date(date),
        "sort": p.sort,
        "motion_type": p.motion_type,
        "object_type": p.object_type,
        "content_type": p.content_type,
        "num_results": p.num_results,
    }
    for name in ("sources", "labels"):
        if getattr(p, name):
            out[name] = getattr(p, name)
    for name in ("event", "event_as_date", "user"):
        if getattr(p, name):
            out[name] = getattr(p, name)
    if p.view_tokens:
        out["view_tokens"] = len(p.view_tokens)  # how many; the tokens themselves stay out of echoes
    if p.text is not None:
        out["text"] = p.text
        out["parsed"] = parsed
    return out


# --- Camios --------------------------------------------------------------------------------------


class ApiDateField(serializers.Field):
    """A date in the reference's ISO 8601 form (see :func:`parse_api_date`)."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            raise serializers.ValidationError("must be an ISO 8601 date string")
        try:
            return parse_api_date(data, name=self.field_name)
        except BadRequest as exc:
            raise serializers.ValidationError(exc.message) from None

    def to_representation(self, value):
        return camio_date(value)


class _StrictSerializer(serializers.Serializer):
    """Unknown members are an error, not silently dropped."""

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            unknown = set(data) - set(self.fields)
            if unknown:
                message = f"unknown member(s): {', '.join(sorted(map(str, unknown)))}"
                raise serializers.ValidationError({"non_field_errors": [message]})
        return super().to_internal_value(data)


_term = serializers.CharField(max_length=MAX_TERM_LENGTH, trim_whitespace=True)


class CamioQueryInput(_StrictSerializer):
    """The reference's Query object."""

    cameras = serializers.ListField(child=_term, required=False, default=list, max_length=MAX_LIST_ITEMS)
    labels = serializers.ListField(
        child=serializers.CharField(max_length=MAX_TERM_LENGTH), required=False, default=list, max_length=MAX_LIST_ITEMS
    )
    events = serializers.ListField(
        child=serializers.CharField(max_length=32), required=False, default=list, max_length=1000
    )
    start_date = ApiDateField(required=False, allow_null=True, default=None)
    end_date = ApiDateField(required=False, allow_null=True, default=None)
    sort = serializers.ChoiceField(choices=SORTS, required=False, default="desc")

    def validate(self, attrs):
        if attrs["start_date"] and attrs["end_date"] and attrs["end_date"] < attrs["start_date"]:
            raise serializers.ValidationError("end_date is before start_date")
        return attrs


class CamioCreateInput(_StrictSerializer):
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    type = serializers.ChoiceField(choices=Camio.Type.choices, required=False, default=Camio.Type.PUBLIC)
    # Required, as the reference lists it (name and type are "Optional"): a body without one would
    # publicly share all of the account's content. ``{}`` shares everything, explicitly.
    query = CamioQueryInput()
    # Either an absolute date or a number of seconds from now; both optional, not both.
    expires_at = ApiDateField(required=False, allow_null=True, default=None)
    expiry = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=60)

    def validate(self, attrs):
        if attrs["expires_at"] is not None and attrs["expiry"] is not None:
            raise serializers.ValidationError("Give either expires_at or expiry, not both")
        if attrs["expiry"] is not None:
            if attrs["expiry"] > 10 * 365 * 86400:
                raise serializers.ValidationError("expiry is at most ten years (in seconds)")
            attrs["expires_at"] = timezone.now() + timedelta(seconds=attrs["expiry"])
        if attrs["expires_at"] is not None and attrs["expires_at"] <= timezone.now():
            raise serializers.ValidationError("expires_at must be in the future")
        return attrs


class CamioJSON(TypedDict):
    view_token: str
    short_token: str
    name: str
    date_created: str | None
    type: str
    expires_at: str | None
    query: dict


def camio_json(camio: Camio) -> CamioJSON:
    """The reference's Camio (view_token, name, date_created, type) plus short_token, expiry, query."""
    return {
        "view_token": camio.view_token,
        "short_token": camio.short_token,
        "name": camio.name,
        "date_created": camio_date(camio.created_at),
        "type": camio.type,
        "expires_at": camio_date(camio.expires_at),
        "query": camio.query,
    }


# --- search results ------------------------------------------------------------------------------


def _image_json(item: dict, p: SearchParams, *, with_bytes: bool, sign: ItemSigner | None) -> dict[str, Any]:
    """One image of a bucket, from a ``search.selectors.BucketImage`` row."""
    out: dict[str, Any] = {
        "id": item["public_id"],
        "content_type": item["content_type"],
        "date_created": item["date_created"],
        "labels": list(item["labels"] or []),
        "interest_level": item["interest_level"],
        "interest_score": round(float(item["interest_score"]), 3),
    }
    if p.fetch_motion_boxes:
        out["motion_boxes"] = list(item.get("motion_boxes") or [])
    if with_bytes:
        content = Content(
            id=item["id"],
            public_id=item["public_id"],
            kind=item["kind"],
            content_type=item["content_type"],
            storage_key=item["storage_key"],
            poster_key=item["poster_key"],
        )
        try:
            data = content_image_bytes(content, w=p.w, h=p.h, quality=p.quality)
        except RenditionError as exc:
            # One unreadable item must not fail the page; the client sees the item without bytes.
            logger.warning("no thumbnail for %s: %s", item["public_id"], exc)
        else:
            out["image_bytes"] = base64.b64encode(data).decode("ascii")
    if sign is not None:
        # Bound to the Camio that shared the item (a private one's also to the searcher it let
        # in), or to the signed-in searcher and the owner: deleting the Camio, removing the guest
        # or deactivating either account revokes it.
        out["access_token"] = sign(item["public_id"], item.get("camio_id"))
    return out


def _event_bucket(
    event: dict,
    images: list[dict],
    p: SearchParams,
    *,
    sign: ItemSigner | None,
    score: float | None,
    answer: AnswerItems | None = None,
) -> dict:
    """One event bucket, from a ``search.selectors.EventRow``; ``answer``: its items as the
    database wrote them for the answer (``search.selectors.AnswerItems``), instead of ``images``."""
    if answer is not None:
        bucket = _bucket_head(event, cover_id=event["cover_public_id"] or answer.first_id)
        bucket["images"] = orjson.Fragment(answer.json) if answer.count else []
        bucket["count"] = answer.count
    else:
        bucket = _bucket_head(event, cover_id=event["cover_public_id"] or (images[0]["public_id"] if images else None))
        bucket["images"] = [
            _image_json(
                item,
                p,
                with_bytes=p.fetch_all_thumbnails
                or (p.fetch_cover_thumbnails and item["public_id"] == bucket["cover_image_id"]),
                sign=sign,
            )
            for item in images
        ]
        bucket["count"] = len(images)
    if score is not None:
        bucket["similarity"] = score
    return bucket


def _labels_json(event: dict) -> list | orjson.Fragment:
    """An event's labels; as their JSON text (``labels_json``) when the page read them so."""
    text = event.get("labels_json")
    if text is None:
        return list(event["labels"] or [])
    return orjson.Fragment(text) if text.startswith("[") else list(orjson.loads(text) or [])


def _bucket_head(event: dict, *, cover_id: str | None) -> dict[str, Any]:
    """A bucket's fields before its images, in the answer's order."""
    return {
        "bucket_id": event["public_id"],
        "source": event["source_name"],
        "labels": _labels_json(event),
        "earliest_date": event["earliest_text"],
        "latest_date": event["latest_text"],
        "max_interest_level": event["max_interest_level"],
        "cover_image_id": cover_id,
        # Camio's annotations are side-by-side (sxs) tags, which this service does not keep.
        "annotations": [],
    }


def _timeline_bucket(row: dict) -> dict:
    return {
        "bucket_id": camio_date(row["period"]),
        "earliest_date": camio_date(row["earliest"]),
        "latest_date": camio_date(row["latest"]),
        "max_interest_level": row["level"] or 0,
        "count": row["count"],
    }


def _camio_bucket(camio: Camio, *, held: set[str] | None) -> dict:
    """A Camio as a search result. A view-token search (``held``: the tokens the viewer sent) names
    it by the token the viewer holds and no other: a short token's holder is not handed the long
    one, nor the reverse (the owner chose which to give out)."""
    out = {**camio_json(camio)}
    if held is not None:
        out["view_token"] = camio.view_token if camio.view_token in held else camio.short_token
        out["short_token"] = camio.short_token if camio.short_token in held else None
    return {"bucket_id": out["view_token"], **out}


def search_response_json(
    page,
    p: SearchParams,
    *,
    via_view_tokens: bool,
    viewer: tuple[int, int] | None = None,
    camios: Sequence[Camio] = (),
    holder: int | None = None,
) -> dict[str, Any]:
    """The reference's search response for a ``search.selectors.SearchPage``; ``viewer`` (the
    searcher, the owner searched) is what a signed-in search's item tokens are issued to, and
    ``camios`` (with ``holder``, the signed-in searcher a private one let in) a view-token search's."""
    # One signer for the page: its key is derived once, not once per item.
    sign = (
        item_access_signer(viewer=viewer, camios=camios, holder=holder)
        if via_view_tokens or p.fetch_access_tokens
        else None
    )
    if page.bucket_type == "event":
        buckets = [
            _event_bucket(
                e,
                page.images.get(e["id"], []),
                p,
                sign=sign,
                score=page.scores.get(e["id"]),
                answer=None if page.answer_items is None else page.answer_items[e["id"]],
            )
            for e in page.rows
        ]
    elif page.bucket_type == "camio":
        held = set(p.view_tokens) if via_view_tokens else None
        buckets = [_camio_bucket(c, held=held) for c in page.rows]
    else:
        buckets = [_timeline_bucket(row) for row in page.rows]
    return {
        "query": search_query_json(p, date=page.date, parsed=page.parsed),
        "result": {
            "bucket_type": page.bucket_type,
            "buckets": buckets,
            "count": len(buckets),
            "more_results": page.more_results,
            "earliest_date_considered": camio_date(page.earliest_date_considered),
            "latest_date_considered": camio_date(page.latest_date_considered),
        },
    }
