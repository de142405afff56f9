"""Reading a content item's pixels for analysis: small BGR frames, decoded once and cached.

Analysis works on a reduced frame (``WORK_WIDTH`` pixels wide). JPEGs are decoded straight at 1/2,
1/4 or 1/8 scale (libjpeg's DCT scaling), which is cheaper than a full decode. The last items'
reduced frames stay in the worker process, so the next item of a camera finds its reference
there; a worker that has not seen it reads and decodes the reference again (a reduced decode,
about as cheap as a round trip to a shared cache, and nothing to keep consistent).
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict

import cv2
import numpy as np
from django.core.files.storage import default_storage

from uploads.models import Content

logger = logging.getLogger(__name__)

WORK_WIDTH = 160
VIDEO_SAMPLE_FRAMES = 6
_REDUCED = {
    1: cv2.IMREAD_COLOR,
    2: cv2.IMREAD_REDUCED_COLOR_2,
    4: cv2.IMREAD_REDUCED_COLOR_4,
    8: cv2.IMREAD_REDUCED_COLOR_8,
}
_ROTATE = {90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_COUNTERCLOCKWISE}


class TransientAnalysisError(Exception):
    """Storage could not be read right now (timeout, throttling, a busy disk): retry later."""


class UnreadableContentError(Exception):
    """The item's bytes are gone or cannot be decoded: retrying will not help."""


def _is_transient(exc: Exception) -> bool:
    if isinstance(exc, FileNotFoundError | PermissionError | IsADirectoryError):
        return False
    if isinstance(exc, OSError | TimeoutError | ConnectionError):
        return True
    try:  # S3 through boto3: network trouble and 5xx/throttling pass, 4xx (no such key) does not.
        from botocore.exceptions import BotoCoreError, ClientError
    except ImportError:  # pragma: no cover - boto3 is a dependency
        return False
    if isinstance(exc, ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        code = exc.response.get("Error", {}).get("Code", "")
        return status >= 500 or code in {"SlowDown", "Throttling", "RequestTimeout"}
    return isinstance(exc, BotoCoreError)


def storage_read(key: str) -> bytes:
    """The bytes stored under ``key``; transient failures raise ``TransientAnalysisError``."""
    try:
        with default_storage.open(key, "rb") as fh:
            return fh.read()
    except Exception as exc:
        if _is_transient(exc):
            raise TransientAnalysisError(f"reading {key}: {exc}") from exc
        raise UnreadableContentError(f"reading {key}: {exc}") from exc


def _reduction_for(width: int | None) -> int:
    if not width:
        return 1
    factor = 1
    while factor < 8 and width // (factor * 2) >= WORK_WIDTH:
        factor *= 2
    return factor


def decode_image(
    data: bytes, *, width_hint: int | None = None, reduce: bool = True, reduction: int | None = None
) -> np.ndarray:
    """A BGR frame from JPEG/PNG bytes; with ``reduce``, at the smallest scale ≥ ``WORK_WIDTH``;
    ``reduction`` (1, 2, 4 or 8) asks for that scale instead (PNGs are always full size)."""
    buf = np.frombuffer(data, dtype=np.uint8)
    if reduction is not None:
        flag = _REDUCED[reduction]
    else:
        flag = _REDUCED[_reduction_for(width_hint)] if reduce else cv2.IMREAD_COLOR
    frame = cv2.imdecode(buf, flag)
    if frame is None:
        raise UnreadableContentError("the bytes are not a decodable image")
    return frame


def work_frame(frame: np.ndarray, rotation: int = 0) -> np.ndarray:
    """``frame`` turned upright (the upload's ``rotation``) and scaled to ``WORK_WIDTH`` wide."""
    if rotation in _ROTATE:
        frame = cv2.rotate(frame, _ROTATE[rotation])
    h, w = frame.shape[:2]
    if w != WORK_WIDTH:
        frame = cv2.resize(frame, (WORK_WIDTH, max(1, round(h * WORK_WIDTH / w))), interpolation=cv2.INTER_AREA)
    return frame


def _cache_key(content: Content) -> str:
    return f"analysis:frame:v1:{content.public_id}:{content.rotation}"


def _to_bgr(frame) -> np.ndarray:
    """Accept what a video sampler may hand back: a BGR/RGB array, a PIL image or JPEG bytes."""
    if isinstance(frame, bytes | bytearray | memoryview):
        return decode_image(bytes(frame), reduce=False)
    if hasattr(frame, "to_ndarray"):  # a PyAV VideoFrame
        return frame.to_ndarray(format="bgr24")
    if hasattr(frame, "convert"):  # a PIL image
        return cv2.cvtColor(np.asarray(frame.convert("RGB")), cv2.COLOR_RGB2BGR)
    return np.asarray(frame)


def video_frames(content: Content) -> list[np.ndarray]:
    """Sampled frames of a video (full size, upright not applied), else its poster, else none."""
    try:
        from uploads.media import sample_video_frames
    except ImportError:
        sample_video_frames = None
    if sample_video_frames is not None:
        try:
            with default_storage.open(content.storage_key, "rb") as fh:
                frames = [_to_bgr(f) for f in sample_video_frames(fh, VIDEO_SAMPLE_FRAMES)]
            if frames:
                return frames
        except Exception as exc:
            if _is_transient(exc):
                raise TransientAnalysisError(f"reading {content.storage_key}: {exc}") from exc
            logger.info("video %s: no sampled frames (%s); trying the poster", content.pk, exc)
    if content.poster_key:
        return [decode_image(storage_read(content.poster_key), reduce=False)]
    return []


class _RecentFrames:
    """The last few items' work frames in this process: the next item of a camera finds its
    reference here without reading storage again (the common case: a worker takes a camera's
    items one after the other). Keyed by the item's random public id, never reused."""

    def __init__(self, size: int = 64):
        self.size = size
        self.items: OrderedDict[str, list[np.ndarray]] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: str) -> list[np.ndarray] | None:
        with self.lock:
            frames = self.items.get(key)
            if frames is not None:
                self.items.move_to_end(key)
            return frames

    def put(self, key: str, frames: list[np.ndarray]) -> None:
        with self.lock:
            self.items[key] = frames
            self.items.move_to_end(key)
            while len(self.items) > self.size:
                self.items.popitem(last=False)


_recent = _RecentFrames()


def content_work_frames(content: Content, *, data: bytes | None = None) -> list[np.ndarray]:
    """The item's upright work frames: one for an image, a few for a video. Cached per item.

    ``data`` is the image's bytes when the caller has read them already.
    """
    key = _cache_key(content)
    cached = _recent.get(key)
    if cached is not None:
        return cached
    if content.kind == Content.Kind.VIDEO:
        frames = [work_frame(f, content.rotation) for f in video_frames(content)]
    else:
        if data is None:
            data = storage_read(content.storage_key)
        frames = [work_frame(decode_image(data, width_hint=content.width), content.rotation)]
    if frames:
        _recent.put(key, frames)
    return frames


def content_full_frame(
    content: Content, *, index: int = 0, data: bytes | None = None, reduction: int = 1
) -> np.ndarray | None:
    """The item's upright full-size frame (a video's ``index``-th sample); people need the pixels.

    For an image, ``data`` is its bytes when the caller has them, and ``reduction`` (2, 4, 8)
    decodes a JPEG at that fraction of its size (libjpeg's DCT scaling: cheaper than full size).
    """
    if content.kind == Content.Kind.VIDEO:
        frames = video_frames(content)
        frame = frames[min(index, len(frames) - 1)] if frames else None
    else:
        if data is None:
            data = storage_read(content.storage_key)
        frame = decode_image(data, reduction=reduction)
    if frame is not None and content.rotation in _ROTATE:
        frame = cv2.rotate(frame, _ROTATE[content.rotation])
    return frame
