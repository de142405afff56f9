"""Video helpers on PyAV (which bundles FFmpeg): probe, evenly spaced frames, a poster JPEG.

Every function takes a filesystem path or an open binary file (a Django storage ``File`` works:
PyAV reads through ``read``/``seek``), so local files and S3 objects go through the same code.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import IO

import av
from PIL import Image

Source = str | Path | IO[bytes]

# Clips shorter than this are decoded in one pass; longer ones seek to each sample instead.
_SEQUENTIAL_DECODE_SECONDS = 60.0


class MediaError(ValueError):
    """The bytes are not a video PyAV can read (corrupt, truncated, or not video at all)."""


@dataclass(frozen=True)
class VideoInfo:
    duration: float | None  # seconds; None when the container does not say and no frame has a time
    width: int
    height: int
    codec: str  # FFmpeg's codec name: h264, hevc, mpeg4, mjpeg …
    container: str = ""  # FFmpeg's demuxer name; "mov,mp4,m4a,3gp,3g2,mj2" for MP4 and QuickTime


def _open(source: Source):
    if hasattr(source, "seek"):
        source.seek(0)  # type: ignore[union-attr]
    try:
        return av.open(source if hasattr(source, "read") else str(source), mode="r")
    except (av.FFmpegError, OSError, ValueError) as exc:  # FFmpeg errors subclass OSError/ValueError
        raise MediaError(f"not a readable video: {exc}") from None


def _video_stream(container):
    if not container.streams.video:
        raise MediaError("the file has no video stream")
    stream = container.streams.video[0]
    # Let FFmpeg use threads for decoding: frames are taken in order, so frame threading is safe.
    stream.thread_type = "AUTO"
    return stream


def _duration(container, stream) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        seconds = float(stream.duration * stream.time_base)
        if seconds > 0:
            return seconds
    if container.duration is not None and container.duration > 0:
        return container.duration / av.time_base
    return None


def probe_video(source: Source) -> VideoInfo:
    """Duration, resolution and codec of a video; raises MediaError for anything unreadable.

    One frame is decoded, so a file whose header is fine but whose data is garbage is refused too.
    """
    with _open(source) as container:
        stream = _video_stream(container)
        try:
            frame = next(container.decode(stream), None)
        except (av.FFmpegError, OSError, ValueError) as exc:
            raise MediaError(f"the video cannot be decoded: {exc}") from None
        if frame is None:
            raise MediaError("the video has no frames")
        ctx = stream.codec_context
        return VideoInfo(
            duration=_duration(container, stream),
            width=int(ctx.width or frame.width),
            height=int(ctx.height or frame.height),
            codec=str(ctx.name or ""),
            container=str(container.format.name or ""),
        )


def _targets(duration: float, count: int) -> list[float]:
    # The middle of each of ``count`` equal slices: never the very first (often black) frame.
    return [(i + 0.5) * duration / count for i in range(count)]


def _frame_time(frame, stream) -> float | None:
    if frame.pts is None:
        return None
    base = frame.time_base or stream.time_base or Fraction(1, 1)
    return float(frame.pts * base)


def sample_video_frames(source: Source, count: int) -> list[Image.Image]:
    """``count`` RGB frames evenly spaced over the video (fewer if the video has fewer frames)."""
    if count < 1:
        return []
    with _open(source) as container:
        stream = _video_stream(container)
        duration = _duration(container, stream)
        try:
            if duration is None or duration <= _SEQUENTIAL_DECODE_SECONDS:
                return _sample_sequential(container, stream, count, duration)
            return _sample_seeking(container, stream, count, duration)
        except (av.FFmpegError, OSError, ValueError) as exc:
            raise MediaError(f"the video cannot be decoded: {exc}") from None


def _sample_sequential(container, stream, count: int, duration: float | None) -> list[Image.Image]:
    if duration is None:
        # No duration known: decode everything once, then pick evenly by index.
        frames = [f.to_image() for f in container.decode(stream)]
        if len(frames) <= count:
            return frames
        return [frames[int((i + 0.5) * len(frames) / count)] for i in range(count)]
    targets = _targets(duration, count)
    picked: list[Image.Image] = []
    last = None
    for frame in container.decode(stream):
        last = frame
        t = _frame_time(frame, stream)
        if t is None:
            continue
        if t >= targets[len(picked)]:
            picked.append(frame.to_image())
        if len(picked) == count:
            break
    if not picked and last is not None:
        picked.append(last.to_image())
    return picked


def _sample_seeking(container, stream, count: int, duration: float) -> list[Image.Image]:
    picked: list[Image.Image] = []
    for target in _targets(duration, count):
        # Seek to the keyframe at or before the target, then decode forward to it.
        container.seek(int(target / stream.time_base), stream=stream, backward=True, any_frame=False)
        chosen = None
        for frame in container.decode(stream):
            chosen = frame
            t = _frame_time(frame, stream)
            if t is None or t >= target:
                break
        if chosen is not None:
            picked.append(chosen.to_image())
    return picked


def video_poster(source: Source, *, quality: int = 85) -> bytes:
    """A JPEG of the frame in the middle of the video, for thumbnails and the live image."""
    frames = sample_video_frames(source, 1)
    if not frames:
        raise MediaError("the video has no frames")
    out = io.BytesIO()
    frames[0].convert("RGB").save(out, "JPEG", quality=quality)
    return out.getvalue()
