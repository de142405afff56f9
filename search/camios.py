"""Camio services: create (with a normalized query and a default name), delete (revokes at once).

A Camio shares a *query*, not a list of results: content that arrives later and matches is in it
(until ``end_date``). Viewers holding its token may narrow the query, never widen it (see
``search.selectors.search_run``).
"""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from cameras.models import Camera
from config.api.dates import camio_date
from config.api.errors import BadRequest, NotFound
from search.models import Camio, Event
from search.querylang import ParsedQuery, label_canonical
from search.selectors import SHORT_TOKEN_LENGTH, read_stored_date


def camio_query_normalize(*, owner: AbstractBaseUser, query: dict) -> dict:
    """The stored form of a validated Query: canonical camera names, lower-case labels, known events.

    Unknown cameras or events of the owner are a 400 (a Camio naming nothing would share nothing
    by mistake).
    """
    names = list(dict.fromkeys(query.get("cameras") or []))
    cameras: list[str] = []
    if names:
        cameras = list(dict.fromkeys(_camera_names_resolve(owner=owner, names=names)))
    events = list(dict.fromkeys(query.get("events") or []))
    if events:
        found = set(Event.objects.filter(owner=owner, public_id__in=events).values_list("public_id", flat=True))
        missing = [e for e in events if e not in found]
        if missing:
            raise BadRequest(f"Unknown event(s): {', '.join(missing[:5])}")
    labels = list(dict.fromkeys(label_canonical(label) for label in query.get("labels") or [] if label.strip()))
    return {
        "cameras": cameras,
        "labels": labels,
        "events": events,
        "start_date": camio_date(query.get("start_date")),
        "end_date": camio_date(query.get("end_date")),
        "sort": query.get("sort") or "desc",
    }


def _camera_names_resolve(*, owner: AbstractBaseUser, names: list[str]) -> list[str]:
    """Each name as the owner's camera spells it: the camera of exactly that name, else the one
    camera whose name differs only in case. Names are case-sensitive (``Front`` and ``front`` can
    both exist): a name matching several only by case is a 400 rather than a guess, since the
    Camio would publicly share whichever camera the guess picked."""
    existing = list(Camera.objects.filter(owner=owner).values_list("name", flat=True))
    exact = set(existing)
    by_case: dict[str, list[str]] = {}
    for name in existing:
        by_case.setdefault(name.lower(), []).append(name)
    resolved, missing = [], []
    for name in names:
        if name in exact:
            resolved.append(name)
            continue
        candidates = by_case.get(name.lower(), [])
        if not candidates:
            missing.append(name)
        elif len(candidates) > 1:
            raise BadRequest(f"Camera {name!r} matches {', '.join(sorted(candidates))} but none exactly: name one")
        else:
            resolved.append(candidates[0])
    if missing:
        raise BadRequest(f"Unknown camera(s): {', '.join(missing)}")
    return resolved


def camio_describe(query: dict) -> str:
    """A default name: the query's description (the same words the query language uses)."""

    parsed = ParsedQuery(
        sources=list(query["cameras"]),
        labels=list(query["labels"]),
        start=read_stored_date(query["start_date"]),
        end=read_stored_date(query["end_date"]),
    )
    text = parsed.describe()
    if query["events"]:
        count = len(query["events"])
        events = f"{count} event" + ("s" if count != 1 else "")
        text = events if text == "everything" else f"{text}, {events}"
    return text[:200]


def camio_name_clean(name: str) -> str:
    """A Camio's name, stripped; 400 unless printable: it heads the "download ready" mail's
    subject (a line break there is a header injection), the viewer's title and zip folder names."""
    name = (name or "").strip()
    if not name.isprintable():
        raise BadRequest("name must be printable characters, without line breaks or control characters")
    return name


def camio_create(
    *,
    owner: AbstractBaseUser,
    query: dict,
    name: str | None = None,
    type: str = Camio.Type.PUBLIC,
    expires_at: datetime | None = None,
) -> Camio:
    """Share the slice ``query`` of the owner's content; returns the Camio with its tokens."""
    normalized = camio_query_normalize(owner=owner, query=query)
    name = camio_name_clean((name or "").strip() or camio_describe(normalized))
    with transaction.atomic():
        return Camio.objects.create(owner=owner, name=name, type=type, query=normalized, expires_at=expires_at)


@transaction.atomic
def camios_camera_renamed(*, owner_id: int, old: str, new: str) -> int:
    """The owner's Camios sharing the camera renamed ``old`` → ``new`` share it under its new name
    (a Camio stores names: else it would share nothing, or a camera named ``old`` later); a name
    that was the default (the query's description) follows the query. How many changed.

    Enqueued on commit by the rename, at least once: a Camio already rewritten names ``old`` no
    more. Skipped while the owner has a camera named ``old`` again (created since by an upload
    under the old name): the Camios name that one."""
    if Camera.objects.filter(owner_id=owner_id, name=old).exists():
        return 0
    changed = 0
    for camio in Camio.objects.select_for_update().filter(owner_id=owner_id).order_by("pk"):
        names = camio.query.get("cameras") or []
        if old not in names:
            continue
        query = {**camio.query, "cameras": list(dict.fromkeys(new if n == old else n for n in names))}
        if camio.name == _default_name(camio.query):
            camio.name = _default_name(query) or camio.name
        camio.query = query
        camio.save(update_fields=["query", "name"])
        changed += 1
    return changed


def _default_name(query: dict) -> str | None:
    """The name a Camio of ``query`` gets when none is given; None for a query stored before
    queries were normalized (it has no description)."""
    try:
        return camio_name_clean(camio_describe(query))
    except (KeyError, TypeError, BadRequest):
        return None


def camio_get_owned(*, owner: AbstractBaseUser, token: str) -> Camio:
    """One of the owner's Camios by its view token or short token (expired ones too); else 404."""
    field = "short_token" if len(token) == SHORT_TOKEN_LENGTH else "view_token"
    camio = Camio.objects.filter(owner=owner, **{field: token}).first()
    if camio is None:
        raise NotFound("Unknown Camio")
    return camio


def camio_delete(*, owner: AbstractBaseUser, token: str) -> None:
    """Delete the owner's Camio: both its tokens stop working at once (they are looked up live)."""
    camio_get_owned(owner=owner, token=token).delete()
