"""Shared helpers for the search tests: real JPEG scenes and content items stored as ingest does.

``scene_jpeg`` draws a fixed textured background (the same every call, so two frames differ only
where something was drawn) with coloured rectangles on it; ``store_content`` writes bytes to the
default storage and makes the ``Content`` row, without enqueueing analysis (tests call the task or
service themselves). Stored files are deleted after the test.
"""

from __future__ import annotations

import io
import socket
import uuid
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image, ImageDraw, ImageFilter

from cameras.services import camera_for_upload
from uploads.models import Content

RED_RECT = (0.40, 0.35, 0.10, 0.30, "red")
T0 = datetime(2026, 11, 20, 12, 0, 0, tzinfo=UTC)

COLOURS = {
    "red": (220, 20, 20),
    "blue": (20, 40, 220),
    "green": (30, 180, 40),
    "yellow": (240, 220, 30),
    "white": (250, 250, 250),
    "black": (10, 10, 10),
}


def _background(width: int, height: int) -> Image.Image:
    # A gray-green gradient with fixed mild texture: a plausible, deterministic empty scene.
    rng = np.random.default_rng(7)
    y = np.linspace(0, 1, height)[:, None]
    x = np.linspace(0, 1, width)[None, :]
    base = np.stack([100 + 40 * y + 0 * x, 120 + 30 * x + 0 * y, 90 + 20 * y + 10 * x], axis=2)
    base = base + rng.normal(0, 3, size=(height, width, 3))
    return Image.fromarray(np.clip(base, 0, 255).astype(np.uint8), "RGB")


def scene_image(
    rects: list[tuple[float, float, float, float, str]] = (), *, width: int = 640, height: int = 360
) -> Image.Image:
    """The background with rectangles ``(x, y, w, h, colour)`` in normalized coordinates."""
    img = _background(width, height)
    draw = ImageDraw.Draw(img)
    for x, y, w, h, colour in rects:
        fill = COLOURS.get(colour, colour)
        draw.rectangle([x * width, y * height, (x + w) * width - 1, (y + h) * height - 1], fill=fill)
    return img


def draw_person(img: Image.Image, x: float, bottom: float, height: float) -> Image.Image:
    """A standing figure (head, shirt with arms, trousers with legs apart), softly blurred.

    Its proportions are an adult's, which is what the HOG people detector keys on; ``x`` is the
    figure's horizontal centre, ``bottom`` its feet, ``height`` its height (normalized).
    """
    width_px, height_px = img.size
    h = height * height_px
    w, box_h = int(h * 0.6), int(h / 0.76)
    left, top_px = int(x * width_px - w / 2), int(bottom * height_px - box_h * 0.88)
    # The figure is drawn over the very patch of scene it stands in: only the figure differs.
    fig = img.crop((left, top_px, left + w, top_px + box_h))
    d = ImageDraw.Draw(fig)
    cx, top, hh = w / 2, box_h * 0.12, box_h * 0.76
    head = hh * 0.065
    d.ellipse([cx - head, top, cx + head, top + 2.3 * head], fill=(200, 160, 130))
    neck, sw = top + 2.3 * head, hh * 0.13
    hip = neck + hh * 0.38
    shirt, trousers = (40, 60, 160), (40, 40, 40)
    d.polygon(
        [(cx - sw, neck + hh * 0.02), (cx + sw, neck + hh * 0.02), (cx + sw * 0.75, hip), (cx - sw * 0.75, hip)],
        fill=shirt,
    )
    arm, spread = hh * 0.045, hh * 0.08
    d.polygon(
        [
            (cx - sw, neck + hh * 0.02),
            (cx - sw - arm, neck + hh * 0.04),
            (cx - sw - arm - spread, hip + hh * 0.02),
            (cx - sw - spread + arm * 0.2, hip + hh * 0.03),
        ],
        fill=shirt,
    )
    d.polygon(
        [
            (cx + sw, neck + hh * 0.02),
            (cx + sw + arm, neck + hh * 0.04),
            (cx + sw + arm + spread, hip + hh * 0.02),
            (cx + sw + spread - arm * 0.2, hip + hh * 0.03),
        ],
        fill=shirt,
    )
    foot, leg, apart = top + hh, hh * 0.06, hh * 0.10
    d.polygon(
        [(cx - sw * 0.75, hip), (cx - 1, hip), (cx - apart + leg, foot), (cx - apart - leg * 0.5, foot)], fill=trousers
    )
    d.polygon(
        [(cx + 1, hip), (cx + sw * 0.75, hip), (cx + apart + leg * 0.5, foot), (cx + apart - leg, foot)], fill=trousers
    )
    img.paste(fig.filter(ImageFilter.GaussianBlur(1)), (left, top_px))
    return img


def person_jpeg(*, x: float = 0.5, bottom: float = 0.95, height: float = 0.7) -> bytes:
    return jpeg_bytes(draw_person(scene_image(), x, bottom, height))


def jpeg_bytes(img: Image.Image, quality: int = 90) -> bytes:
    out = io.BytesIO()
    img.save(out, "JPEG", quality=quality)
    return out.getvalue()


def scene_jpeg(rects=(), *, width: int = 640, height: int = 360, quality: int = 90) -> bytes:
    return jpeg_bytes(scene_image(rects, width=width, height=height), quality)


def scene_mp4(frames: list[list[tuple]], *, fps: int = 5, width: int = 640, height: int = 360) -> bytes:
    """An H.264 MP4 (PyAV) whose frames are ``scene_image(rects)`` for each list of rects."""
    import av

    out = io.BytesIO()
    with av.open(out, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"crf": "18", "preset": "ultrafast"}
        for rects in frames:
            frame = av.VideoFrame.from_image(scene_image(rects, width=width, height=height))
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return out.getvalue()


@pytest.fixture
def camera(user):
    return camera_for_upload(owner=user, name="front")


@pytest.fixture
def store_content():
    """``store(camera, data, at=…, **fields) -> Content``: bytes into storage, a Content row."""
    keys: list[str] = []

    def store(
        camera,
        data: bytes,
        *,
        at: datetime | float = T0,
        kind: str = "image",
        content_type: str = "image/jpeg",
        **fields,
    ) -> Content:
        if not isinstance(at, datetime):
            at = T0 + timedelta(seconds=at)
        ext = {"image/jpeg": "jpg", "image/png": "png", "video/mp4": "mp4"}.get(content_type, "bin")
        key = default_storage.save(f"test/{camera.owner_id}/{camera.pk}/{uuid.uuid4().hex}.{ext}", ContentFile(data))
        keys.append(key)
        width = height = None
        if kind == "image" and "width" not in fields:
            with Image.open(io.BytesIO(data)) as img:
                width, height = img.size
        return Content.objects.create(
            owner_id=camera.owner_id,
            camera=camera,
            kind=kind,
            content_type=content_type,
            name=fields.pop("name", key.rsplit("/", 1)[-1]),
            storage_key=key,
            size=len(data),
            sha256=uuid.uuid4().hex,
            captured_at=at,
            width=fields.pop("width", width),
            height=fields.pop("height", height),
            **fields,
        )

    yield store
    for key in keys:
        default_storage.delete(key)


@pytest.fixture
def unreachable_storage(settings):
    """Content storage on an S3 endpoint on loopback that nobody listens on: every read fails at
    connect (a storage outage, as analysis meets it)."""
    from botocore.config import Config

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "uploads.storage.ContentS3Storage",
            "OPTIONS": {
                "bucket_name": "camhub-test",
                "endpoint_url": f"http://127.0.0.1:{port}",
                "access_key": "test",
                "secret_key": "test",
                "region_name": "us-east-1",
                "client_config": Config(retries={"total_max_attempts": 1}, connect_timeout=1, read_timeout=1),
            },
        },
    }
