"""JPEG renditions of content: an image fitted inside a wxh box, a video's poster.

Content never changes after upload, so a rendition is cached under the content's public id and
the requested size and quality, with no invalidation needed (a deleted item's entry just expires).
"""

from __future__ import annotations

import io
from collections.abc import Mapping

from django.core.cache import cache
from django.core.files.storage import default_storage
from PIL import Image, ImageOps

from config.api.params import query_int
from uploads.media import MediaError, video_poster
from uploads.models import Content
from uploads.streaming import STORE_ERRORS, store_missing

MAX_SIDE = 4096
DEFAULT_QUALITY = 85
# Small renditions (thumbnails, live images) are what gets asked for again and again; a full-size
# re-encode of a large image is not worth the cache memory.
CACHE_MAX_BYTES = 512 * 1024
CACHE_SECONDS = 24 * 3600


class RenditionError(Exception):
    """The stored bytes cannot be turned into a JPEG: missing from storage, undecodable, or (with
    ``store_down``) the store cannot be reached right now, which callers answer with a 503."""

    def __init__(self, message: str, *, store_down: bool = False) -> None:
        super().__init__(message)
        self.store_down = store_down


def _store_failure(what: str, exc: BaseException) -> RenditionError:
    if store_missing(exc):
        return RenditionError(f"stored bytes missing for {what}: {exc}")
    return RenditionError(f"the store cannot be read for {what}: {exc}", store_down=True)


def rendition_params(
    query: Mapping, *, default_w: int | None, default_h: int | None
) -> tuple[int | None, int | None, int]:
    """``(w, h, quality)`` from a request's query: w and h in 1..4096 (None: no bound), quality 1..100."""
    w = query_int(query, "w", default_w, low=1, high=MAX_SIDE)
    h = query_int(query, "h", default_h, low=1, high=MAX_SIDE)
    quality = query_int(query, "quality", DEFAULT_QUALITY, low=1, high=100)
    return w, h, quality  # type: ignore[return-value]


def _read(key: str) -> bytes:
    try:
        with default_storage.open(key, "rb") as f:
            return f.read()
    except STORE_ERRORS as exc:
        raise _store_failure(repr(key), exc) from None


def _source_bytes(content: Content) -> bytes:
    """The image bytes a rendition starts from: the image itself, or the video's poster JPEG."""
    if content.kind == Content.Kind.IMAGE:
        return _read(content.storage_key)
    if content.poster_key:
        return _read(content.poster_key)
    # A video without a stored poster (its probe failed at upload): make one now.
    try:
        with default_storage.open(content.storage_key, "rb") as f:
            return video_poster(f)
    except MediaError as exc:
        raise RenditionError(f"no poster for video {content.public_id}: {exc}") from None
    except STORE_ERRORS as exc:
        raise _store_failure(f"video {content.public_id}", exc) from None


# EXIF orientations that turn the stored picture a quarter (its width is shown as height).
_QUARTER_TURNS = {5, 6, 7, 8}


def _decode_reduced(img: Image.Image, w: int | None, h: int | None) -> None:
    """Let a JPEG decode at 1/2, 1/4 or 1/8 scale when that still covers the box ``w`` x ``h``
    (libjpeg's DCT scaling): a 150x112 thumbnail of a 1080p frame then decodes a 240x135 picture,
    not two million pixels (10 ms instead of 29). Other formats decode as they are."""
    width, height = w or img.width, h or img.height
    if img.getexif().get(0x0112) in _QUARTER_TURNS:  # the box is in shown orientation
        width, height = height, width
    img.draft("RGB", (width, height))


def _fit(data: bytes, w: int | None, h: int | None, quality: int) -> bytes:
    try:
        with Image.open(io.BytesIO(data)) as img:
            if w or h:
                _decode_reduced(img, w, h)
            img = ImageOps.exif_transpose(img)
            if w or h:
                box = (w or img.width, h or img.height)
                # Keeps the aspect ratio and never enlarges: the result fits inside the box.
                img.thumbnail(box, Image.Resampling.LANCZOS)
            out = io.BytesIO()
            img.convert("RGB").save(out, "JPEG", quality=quality, optimize=False)
            return out.getvalue()
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise RenditionError(f"cannot decode the stored image: {exc}") from None


def content_image_bytes(
    content: Content, *, w: int | None = None, h: int | None = None, quality: int = DEFAULT_QUALITY
) -> bytes:
    """A JPEG of ``content`` fitted inside ``w`` x ``h`` (None: that side unbounded); a video's poster.

    A full-size request at the default quality of a JPEG (image or poster) returns the stored bytes
    unchanged. Raises RenditionError when the stored bytes are missing or unreadable.
    """
    original_jpeg = content.kind == Content.Kind.VIDEO or content.content_type == "image/jpeg"
    if not w and not h and quality == DEFAULT_QUALITY and original_jpeg and content.kind == Content.Kind.IMAGE:
        return _read(content.storage_key)
    key = f"rendition:v1:{content.public_id}:{w or 0}x{h or 0}:q{quality}"
    cached = cache.get(key)
    if cached is not None:
        return cached
    source = _source_bytes(content)
    if not w and not h and quality == DEFAULT_QUALITY and original_jpeg:
        data = source
    else:
        data = _fit(source, w, h, quality)
    if len(data) <= CACHE_MAX_BYTES:
        cache.set(key, data, CACHE_SECONDS)
    return data
