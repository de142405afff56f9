"""Rows for search tests, made through the ORM: cameras, content with stored JPEG bytes, events.

(No tests here; the module name keeps it among the search tests' files.)
"""

from __future__ import annotations

import hashlib
import io
import itertools
from datetime import UTC, datetime, timedelta

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image

from cameras.models import Camera
from search.models import Event, EventLabel, ItemAnalysis
from uploads.models import Content

_seq = itertools.count(1)
T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def jpeg(width: int = 640, height: int = 480, color=(200, 40, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "JPEG", quality=90)
    return out.getvalue()


def camera(owner, name: str = "front") -> Camera:
    return Camera.objects.get_or_create(owner=owner, name=name)[0]


def item(cam: Camera, at: datetime, *, kind: str = "image", stored: bool = False, size=(640, 480)) -> Content:
    n = next(_seq)
    key = f"test/{cam.owner_id}/{cam.name}/{n}.jpg"
    data = jpeg(*size) if stored else b"x"
    if stored:
        default_storage.save(key, ContentFile(data))
    return Content.objects.create(
        owner=cam.owner,
        camera=cam,
        kind=kind,
        content_type="image/jpeg" if kind == "image" else "video/mp4",
        name=f"{n}.jpg",
        storage_key=key,
        size=len(data),
        sha256=hashlib.sha256(data + str(n).encode()).hexdigest(),
        captured_at=at,
    )


def event(
    cam: Camera,
    at: datetime,
    *,
    labels=(),
    level: int = 2,
    items: int = 2,
    descriptor=(),
    stored: bool = False,
    basis: str = "image",
    spacing: timedelta = timedelta(seconds=1),
) -> Event:
    """An event of ``items`` content items from ``at`` on, each with its analysis."""
    labels = sorted({label.lower() for label in labels})
    ev = Event.objects.create(
        owner=cam.owner,
        camera=cam,
        basis=basis,
        has_video=basis == "video",  # its items are videos (see below)
        earliest_date=at,
        latest_date=at + spacing * max(items - 1, 0),
        labels=labels,
        max_interest_level=level,
        max_interest_score=0.5,
        item_count=items,
        descriptor=list(descriptor),
    )
    EventLabel.objects.bulk_create([EventLabel(event=ev, owner=cam.owner, label=label) for label in labels])
    contents = []
    for i in range(items):
        c = item(cam, at + spacing * i, kind="video" if basis == "video" else "image", stored=stored)
        ItemAnalysis.objects.create(
            content=c,
            event=ev,
            status="done",
            interest_level=level,
            interest_score=0.25 + 0.1 * i,
            labels=labels,
            motion_boxes=[{"x": 0.1, "y": 0.2, "w": 0.3, "h": 0.4}],
        )
        contents.append(c)
    if contents:
        ev.cover = contents[0]
        ev.save(update_fields=["cover"])
    return ev
