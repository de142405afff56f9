"""Data for the shared-content tests: cameras, stored content, Camios, guests (no tests here)."""

from __future__ import annotations

import io
from datetime import datetime, timedelta

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone
from PIL import Image

from accounts.models import Guest
from cameras.models import Camera
from config.api.dates import camio_date
from search.models import Camio, Event, ItemAnalysis
from uploads.models import Content


def jpeg_bytes(color=(200, 30, 30), size=(320, 240), quality=90) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "JPEG", quality=quality)
    return out.getvalue()


def make_camera(owner, name: str = "front") -> Camera:
    return Camera.objects.get_or_create(owner=owner, name=name)[0]


def make_content(
    owner,
    camera: Camera,
    *,
    at: datetime | None = None,
    data: bytes | None = None,
    content_type: str = "image/jpeg",
    kind: str = "image",
    size=(320, 240),
) -> Content:
    """A content row whose bytes are really in storage."""
    data = data if data is not None else jpeg_bytes(size=size)
    at = at or timezone.now()
    content = Content(
        owner=owner,
        camera=camera,
        kind=kind,
        content_type=content_type,
        name=f"{at.isoformat()}.bin",
        size=len(data),
        sha256=f"{hash(data) & 0xFFFFFFFF:x}-{at.timestamp()}",
        captured_at=at,
        width=size[0],
        height=size[1],
    )
    ext = "mp4" if kind == "video" else "jpg"
    key = f"content/{owner.pk}/{camera.pk}/{content.public_id}.{ext}"
    content.storage_key = default_storage.save(key, ContentFile(data))
    content.save()
    return content


def make_event(owner, camera: Camera, items: list[Content], *, labels=("walkway",), level: int = 2) -> Event:
    """An event grouping ``items`` (as analysis would), so search can find them: a video event when
    they are all videos, else an image event (backed by any video among them)."""
    event = Event.objects.create(
        owner=owner,
        camera=camera,
        earliest_date=min(c.captured_at for c in items),
        latest_date=max(c.captured_at for c in items),
        labels=sorted(labels),
        max_interest_level=level,
        max_interest_score=0.7,
        cover=items[0],
        item_count=len(items),
        has_video=any(c.kind == "video" for c in items),
        basis="video" if all(c.kind == "video" for c in items) else "image",
    )
    for label in labels:
        event.label_rows.create(owner=owner, label=label)
    for c in items:
        ItemAnalysis.objects.create(
            content=c,
            event=event,
            status=ItemAnalysis.Status.DONE,
            interest_level=level,
            interest_score=0.7,
            labels=sorted(labels),
        )
    return event


def make_camio(
    owner,
    *,
    cameras=(),
    labels=(),
    events=(),
    start: datetime | None = None,
    end: datetime | None = None,
    type: str = "public",
    expires_at: datetime | None = None,
    name: str = "Shared",
) -> Camio:
    """A Camio with its query in the normalized form ``search.selectors`` reads."""
    query = {
        "cameras": list(cameras),
        "labels": list(labels),
        "events": list(events),
        "start_date": camio_date(start),
        "end_date": camio_date(end),
        "sort": "asc",
    }
    return Camio.objects.create(owner=owner, name=name, type=type, query=query, expires_at=expires_at)


def make_guest(host, guest) -> Guest:
    return Guest.objects.create(host=host, guest=guest)


def hours_ago(n: float) -> datetime:
    return timezone.now() - timedelta(hours=n)
