"""Reading stored bytes in chunks, whole or a byte range, without holding a video in memory.

django-storages' S3 file object downloads the whole object on first read (into memory unless
AWS_S3_MAX_MEMORY_SIZE is set); for S3 a ranged GET streams just the bytes asked for instead.
"""

from __future__ import annotations

from collections.abc import Iterator

from botocore.exceptions import BotoCoreError, ClientError
from django.core.files.storage import default_storage

CHUNK = 256 * 1024
# What reading from the store raises: the file system's errors, S3's (botocore's are no OSError).
STORE_ERRORS = (OSError, BotoCoreError, ClientError)


def store_missing(exc: BaseException) -> bool:
    """Whether a store error says the object is not there (rather than the store being unreachable)."""
    if isinstance(exc, FileNotFoundError):
        return True
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return error.get("Code") in {"NoSuchKey", "404", "NotFound"}
    return False


def stored_chunks(key: str, *, start: int, length: int) -> Iterator[bytes]:
    """``length`` bytes of the stored file ``key`` from offset ``start``, in chunks.

    Opening happens before the first chunk is asked for, so a missing file raises
    FileNotFoundError (on S3 too), or the store's error, to the caller rather than mid-response.
    """
    bucket = getattr(default_storage, "bucket", None)
    if bucket is not None and hasattr(default_storage, "_normalize_name"):
        from storages.utils import clean_name

        # The object key exactly as S3Storage itself derives it (location prefix included).
        name = default_storage._normalize_name(clean_name(key))
        try:
            body = bucket.Object(name).get(Range=f"bytes={start}-{start + length - 1}")["Body"]
        except ClientError as exc:
            if store_missing(exc):
                raise FileNotFoundError(key) from exc  # as the file system says it
            raise
        return _drain(body, length)
    handle = default_storage.open(key, "rb")
    handle.seek(start)
    return _drain(handle, length)


def _drain(handle, length: int) -> Iterator[bytes]:
    remaining = length
    try:
        while remaining > 0:
            chunk = handle.read(min(CHUNK, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            yield chunk
    finally:
        handle.close()
