"""The parts of an upload before it is stored: its parameters, its spooled body, what the bytes are.

HTTP and the FTP gateway both end in :func:`uploads.services.content_ingest`; these helpers turn
what each transport received into the :class:`UploadParams` and :class:`SpooledBody` it takes.
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import IO

from django.conf import settings
from PIL import Image, UnidentifiedImageError

from config.api.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType
from uploads.media import MediaError, VideoInfo, probe_video

CHUNK_BYTES = 256 * 1024
# Bodies up to this size (stills) are spooled in memory: no temporary file to create, write and
# remove per upload. Larger ones (videos) go to disk.
MEMORY_SPOOL_BYTES = 1024 * 1024
OPTIONS = ("alternate", "no_analysis", "parse_timestamp")
UPLOAD_MODES = ("image", "video")
IMG_TYPES = ("m", "a", "h")
ROTATIONS = (0, 90, 180, 270)

# Accepted media types, with the spellings cameras send for them.
CONTENT_TYPES = {
    "image/jpeg": "image/jpeg",
    "image/jpg": "image/jpeg",
    "image/pjpeg": "image/jpeg",
    "image/png": "image/png",
    "video/mp4": "video/mp4",
    "video/quicktime": "video/quicktime",
}
# A body sent without a usable type (curl -T without -H, FTP) is typed by its bytes.
UNTYPED = {"", "application/octet-stream", "application/x-www-form-urlencoded"}
EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "video/mp4": ".mp4", "video/quicktime": ".mov"}
NAME_UNSAFE = re.compile(r"[\x00-\x1f\x7f]")
_HEX = re.compile(r"^[0-9a-fA-F]+$")


@dataclass(frozen=True)
class UploadParams:
    """What the sender said about an upload (path and query), validated."""

    camera_name: str
    name: str = ""
    content_type: str = ""  # normalised; "" means "type it by its bytes"
    camera_id: str = ""
    upload_mode: str = "image"
    img_type: str = "m"
    rotation: int = 0
    video_length: float | None = None
    options: tuple[str, ...] = ()
    hash: str = ""  # lower-case hex SHA-1 (40) or SHA-256 (64), or ""

    def has(self, option: str) -> bool:
        return option in self.options


def _choice(query: Mapping, name: str, allowed: tuple, default):
    raw = query.get(name)
    if raw is None or str(raw).strip() == "":
        return default
    value = str(raw).strip()
    if value not in allowed:
        raise BadRequest(f"{name} must be one of {', '.join(map(str, allowed))}, not {raw!r}")
    return value


def content_type_normalise(raw: str | None) -> str:
    """The accepted media type a Content-Type header names, "" when untyped; 415 for any other."""
    value = (raw or "").split(";", 1)[0].strip().lower()
    if value in UNTYPED:
        return ""
    if value not in CONTENT_TYPES:
        raise UnsupportedMediaType(
            f"Content-Type {value!r} is not accepted: send image/jpeg, image/png, video/mp4 or video/quicktime"
        )
    return CONTENT_TYPES[value]


def camera_name_check(camera_name: str) -> str:
    camera_name = (camera_name or "").strip()
    if not camera_name or len(camera_name) > 64 or NAME_UNSAFE.search(camera_name):
        raise BadRequest("camera must be a name of 1 to 64 printable characters")
    return camera_name


def upload_params_parse(
    query: Mapping,
    *,
    camera_name: str,
    name: str,
    content_type: str | None,
    camera_id_required: bool = True,
) -> UploadParams:
    """Validate the reference's query parameters (400 ``{"message"}`` naming the bad one)."""
    camera_name = camera_name_check(camera_name)
    name = (name or "").strip()
    if len(name) > 255 or NAME_UNSAFE.search(name):
        raise BadRequest("name must be at most 255 printable characters")
    camera_id = str(query.get("camera_id") or "").strip()
    if not camera_id and camera_id_required:
        raise BadRequest("camera_id is required: any id unique among the account's cameras, e.g. its MAC address")
    if len(camera_id) > 128 or NAME_UNSAFE.search(camera_id):
        raise BadRequest("camera_id must be at most 128 printable characters")
    upload_mode = _choice(query, "upload_mode", UPLOAD_MODES, "image")
    img_type = _choice(query, "img_type", IMG_TYPES, "m")
    rotation = int(_choice(query, "rotation", tuple(str(r) for r in ROTATIONS), "0"))
    video_length = None
    raw_length = query.get("video_length")
    if raw_length is not None and str(raw_length).strip() != "":
        try:
            video_length = float(str(raw_length).strip())
        except ValueError:
            video_length = -1.0
        if not math.isfinite(video_length) or video_length <= 0 or video_length > 7 * 24 * 3600:
            raise BadRequest(f"video_length must be a number of seconds greater than 0, not {raw_length!r}")
    options: list[str] = []
    for item in str(query.get("options") or "").split(","):
        item = item.strip().lower()
        if not item:
            continue
        if item not in OPTIONS:
            raise BadRequest(f"options may list {', '.join(OPTIONS)}; {item!r} is not one of them")
        if item not in options:
            options.append(item)
    digest = str(query.get("hash") or "").strip().lower()
    if digest and (len(digest) not in (40, 64) or not _HEX.match(digest)):
        raise BadRequest("hash must be the hex SHA-1 (40 digits) or SHA-256 (64 digits) of the body")
    return UploadParams(
        camera_name=camera_name,
        name=name,
        content_type=content_type_normalise(content_type),
        camera_id=camera_id,
        upload_mode=upload_mode,
        img_type=img_type,
        rotation=rotation,
        video_length=video_length,
        options=tuple(options),
        hash=digest,
    )


def size_limit(content_type: str) -> int:
    """The most bytes an upload of this type may have ("" = not yet known: the larger limit)."""
    if content_type.startswith("image/"):
        return settings.UPLOAD_MAX_IMAGE_BYTES
    if content_type.startswith("video/"):
        return settings.UPLOAD_MAX_VIDEO_BYTES
    return max(settings.UPLOAD_MAX_IMAGE_BYTES, settings.UPLOAD_MAX_VIDEO_BYTES)


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"The upload is larger than the {limit} bytes allowed for its type")


@dataclass
class SpooledBody:
    """An upload body, in memory when small and on local disk otherwise, with its size and digests."""

    file: IO[bytes]
    size: int
    sha256: str
    sha1: str
    head: bytes = b""  # the first bytes, for typing
    _path: str = field(default="", repr=False)

    def close(self) -> None:
        try:
            self.file.close()
        finally:
            if self._path:
                try:
                    os.unlink(self._path)
                except FileNotFoundError:
                    pass

    def __enter__(self) -> SpooledBody:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def spool_body(stream: IO[bytes], *, limit: int, declared_length: int | None = None) -> SpooledBody:
    """Copy ``stream`` in chunks, hashing as it goes; 413 past ``limit`` bytes.

    ``declared_length`` (Content-Length) is checked first, so an oversized upload is refused before
    any of it is read, and last: a body that ended before it (a dropped connection) is refused
    (400), never stored as if whole. A body up to ``MEMORY_SPOOL_BYTES`` (a still) stays in
    memory; past that it moves to a temporary file and the rest follows it there, so a video is
    never whole in memory.
    """
    if declared_length is not None and declared_length > limit:
        raise _too_large(limit)
    sha256, sha1 = hashlib.sha256(), hashlib.sha1()  # noqa: S324 - SHA-1 is what senders name bodies by
    size = 0
    head = b""
    out: IO[bytes] = io.BytesIO()
    path = ""
    try:
        while True:
            chunk = stream.read(CHUNK_BYTES)
            if not chunk:
                break
            size += len(chunk)
            if size > limit:
                raise _too_large(limit)
            if len(head) < 64:
                head += chunk[: 64 - len(head)]
            sha256.update(chunk)
            sha1.update(chunk)
            if not path and size > MEMORY_SPOOL_BYTES:
                fd, path = tempfile.mkstemp(prefix="camhub-upload-", dir=settings.FILE_UPLOAD_TEMP_DIR)
                on_disk = os.fdopen(fd, "w+b")
                on_disk.write(out.getbuffer())  # type: ignore[attr-defined]
                out = on_disk
            out.write(chunk)
        if declared_length is not None and size != declared_length:
            # The connection dropped mid-body: the first part of a clip may still decode, but it is
            # not what was sent, and its retry (other bytes) would be a second item.
            raise BadRequest(
                f"The upload is incomplete: the body ended after {size} of the {declared_length} bytes "
                "its Content-Length declared. Send it again."
            )
        out.flush()
        out.seek(0)
    except BaseException:
        out.close()
        if path:
            os.unlink(path)
        raise
    return SpooledBody(file=out, size=size, sha256=sha256.hexdigest(), sha1=sha1.hexdigest(), head=head, _path=path)


def sniff_content_type(head: bytes) -> str:
    """The accepted type the first bytes show, or "" for anything else."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if len(head) >= 12 and head[4:8] == b"ftyp":
        # QuickTime's brand is "qt  "; every other ISO-BMFF brand is served as MP4.
        return "video/quicktime" if head[8:12] == b"qt  " else "video/mp4"
    if len(head) >= 8 and head[4:8] in (b"moov", b"mdat", b"wide", b"free", b"skip"):
        return "video/quicktime"  # old QuickTime files start with an atom, no ftyp
    return ""


@dataclass(frozen=True)
class MediaFacts:
    content_type: str
    kind: str  # image | video
    width: int | None
    height: int | None
    video: VideoInfo | None = None


def media_check(body: SpooledBody, *, claimed: str) -> MediaFacts:
    """Check the bytes are the media they claim to be and read their dimensions (400 otherwise)."""
    if body.size == 0:
        raise BadRequest("The upload is empty: send the file as the request body (curl -T file)")
    sniffed = sniff_content_type(body.head)
    if claimed and not sniffed:
        raise BadRequest(f"The body is not a valid {claimed} file")
    if not claimed and not sniffed:
        raise UnsupportedMediaType("The body is not a JPEG, PNG, MP4 or QuickTime file")
    # MP4 and QuickTime share one container family; a mislabelled one is still the same bytes.
    same_family = {claimed, sniffed} <= {"video/mp4", "video/quicktime"}
    if claimed and claimed != sniffed and not same_family:
        raise BadRequest(f"The body is not a valid {claimed} file (it looks like {sniffed})")
    content_type = claimed or sniffed
    if body.size > size_limit(content_type):
        raise _too_large(size_limit(content_type))
    body.file.seek(0)
    if content_type.startswith("image/"):
        try:
            with Image.open(body.file) as img:
                expected = "JPEG" if content_type == "image/jpeg" else "PNG"
                if img.format != expected:
                    raise BadRequest(f"The body is not a valid {content_type} file")
                width, height = img.size
                if expected == "JPEG":
                    # Decoding the whole file is what finds a truncated or corrupt one; at 1/8 scale
                    # every entropy-coded byte is still read, at a fraction of the cost.
                    img.draft("RGB", (max(1, width // 8), max(1, height // 8)))
                img.load()
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
            raise BadRequest(f"The body is not a valid {content_type} file") from None
        finally:
            body.file.seek(0)
        return MediaFacts(content_type=content_type, kind="image", width=width, height=height)
    try:
        info = probe_video(body.file)
    except MediaError:
        raise BadRequest(f"The body is not a valid {content_type} file") from None
    finally:
        body.file.seek(0)
    if "mp4" not in info.container and "mov" not in info.container:
        raise BadRequest(f"The body is not a valid {content_type} file")
    return MediaFacts(content_type=content_type, kind="video", width=info.width, height=info.height, video=info)
