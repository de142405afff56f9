"""Real media for the upload tests, made with Pillow and PyAV (no binary fixtures in the repo)."""

from __future__ import annotations

import io
from pathlib import Path

import av
import numpy as np
from PIL import Image


def jpeg_bytes(width: int = 64, height: int = 48, *, color=(200, 30, 30), quality: int = 90, pad_to: int = 0) -> bytes:
    """A JPEG; ``pad_to`` appends a comment segment so the file reaches that size."""
    img = Image.new("RGB", (width, height), color)
    out = io.BytesIO()
    extra = {}
    if pad_to:
        # A COM segment holds at most 65533 bytes; noise in the pixels makes the rest.
        arr = np.random.default_rng(1).integers(0, 255, (height, width, 3), dtype=np.uint8)
        img = Image.fromarray(arr)
    img.save(out, "JPEG", quality=quality, **extra)
    data = out.getvalue()
    if pad_to and len(data) < pad_to:
        # Bytes after the EOI marker are ignored by decoders.
        data += b"\0" * (pad_to - len(data))
    return data


def png_bytes(width: int = 40, height: int = 30, color=(10, 120, 240)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "PNG")
    return out.getvalue()


def mp4_bytes(
    *, seconds: float = 2.0, fps: int = 10, width: int = 160, height: int = 120, container: str = "mp4"
) -> bytes:
    """An H.264 clip (MPEG-4 part 2 when no H.264 encoder is bundled) with a square moving across."""
    out = io.BytesIO()
    with av.open(out, mode="w", format=container) as video:
        try:
            stream = video.add_stream("libx264", rate=fps)
        except Exception:
            stream = video.add_stream("mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        frames = int(seconds * fps)
        for i in range(frames):
            arr = np.zeros((height, width, 3), dtype=np.uint8)
            x = int((width - 20) * i / max(1, frames - 1))
            arr[40:60, x : x + 20] = (255, 255, 0)
            for packet in stream.encode(av.VideoFrame.from_ndarray(arr, format="rgb24")):
                video.mux(packet)
        for packet in stream.encode():
            video.mux(packet)
    return out.getvalue()


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
