"""Downloads of a Camio: a zip of its content, built by a task, announced by a signed expiring link.

Who may download: any signed-in user who holds the Camio's view token (long or short) when the
Camio is public (the token already lets them see every item, so a zip widens nothing); when it is
private, only its owner and the owner's guests. A download's status is the requester's alone,
and only while the Camio is alive and theirs to see.

The zip is built item by item into a temporary file (never in memory), then streamed into
``default_storage`` (files locally, multipart upload on S3). Entries are stored, not deflated:
JPEG and MP4 do not compress, and storing keeps the build I/O-bound.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import secrets
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NamedTuple, TypedDict

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core import signing
from django.core.files import File
from django.core.files.storage import default_storage
from django.core.mail import send_mail
from django.db import connections, transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from accounts.models import Guest
from cameras.storage import stored_before
from config.api.dates import camio_date
from config.api.errors import NotFound
from config.tasks import enqueue_on_commit
from search.models import Camio, Download
from search.selectors import camio_content_queryset, camio_for_view_token
from uploads.models import Content
from uploads.streaming import stored_chunks

logger = logging.getLogger(__name__)

_LINK_SALT = "camhub.search.download-link"
# Progress is written at most this often (and at the end): a row update per item would cost more
# than copying a 100 KB image.
_PROGRESS_EVERY_SECONDS = 0.5
# A running build writes its heartbeat every _PROGRESS_EVERY_SECONDS while bytes move (items and
# chunks of items alike, then the upload of the zip); one silent for this long died with its
# worker. Not shorter: a message redelivered while its first build still runs must not start a
# second one.
STALE_BUILD_SECONDS = 2 * 60
# A pending download whose task has not claimed it after this long lost its message.
LOST_MESSAGE_SECONDS = 5 * 60

_EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "video/mp4": "mp4",
    "video/quicktime": "mov",
}


# What no zip entry name may hold: path separators, and what Windows refuses in file names.
_UNSAFE_IN_NAMES = re.compile(r'[/\\:*?"<>|\x00-\x1f\x7f]')
_WINDOWS_DEVICE_NAMES = frozenset(
    {"CON", "PRN", "AUX", "NUL"} | {f"{port}{n}" for port in ("COM", "LPT") for n in range(1, 10)}
)


class DownloadJSON(TypedDict):
    id: str
    status: str
    items_total: int
    items_done: int
    size: int | None
    date_created: str | None
    date_finished: str | None
    error: str
    url: str | None


# --- who may see a Camio ------------------------------------------------------------------------


def camio_viewable_by(*, camio: Camio, user: AbstractBaseUser | None) -> bool:
    """Whether ``user`` (None or anonymous: nobody signed in) may see this Camio's slice.

    Public: anyone holding its token. Private: its owner and the owner's guests, signed in.
    """
    if camio.type == Camio.Type.PUBLIC:
        return True
    if user is None or not user.is_authenticated:
        return False
    if user.pk == camio.owner_id:
        return True
    return Guest.objects.filter(host_id=camio.owner_id, guest_id=user.pk).exists()


def camio_for_viewer(*, token: str, user: AbstractBaseUser | None) -> Camio:
    """The Camio ``token`` opens for ``user``; NotFound when unknown, expired, revoked or not theirs.

    A private Camio the caller may not see answers as an unknown one: the answer tells nothing of
    whether the token exists.
    """
    camio = camio_for_view_token(token)
    if camio is None or not camio_viewable_by(camio=camio, user=user):
        raise NotFound("Unknown, expired or revoked Camio token")
    return camio


# --- requests and status ------------------------------------------------------------------------


def download_create(*, token: str, requester: AbstractBaseUser) -> tuple[Download, bool]:
    """Start (or join) the requester's download of the Camio ``token`` opens.

    Returns ``(download, created)``. A pending or running download of the same Camio by the same
    requester is returned instead of a second one, so repeated clicks build one zip; its task is
    sent again when it may have been lost (still pending, or a build whose heartbeat stopped):
    a build claims the row only once, so a second message costs nothing.
    """
    camio = camio_for_viewer(token=token, user=requester)
    with transaction.atomic():
        # Serializes concurrent requests of one requester (row lock on the user).
        type(requester).objects.select_for_update().filter(pk=requester.pk).first()
        existing = (
            Download.objects.filter(
                camio=camio, requester=requester, status__in=[Download.Status.PENDING, Download.Status.RUNNING]
            )
            .order_by("-created_at")
            .first()
        )
        if existing is not None:
            if existing.status == Download.Status.PENDING or _build_stale(existing, timezone.now()):
                enqueue_on_commit("search.build_download", existing.pk)
            return existing, False
        download = Download.objects.create(camio=camio, requester=requester)
        enqueue_on_commit("search.build_download", download.pk)
    return download, True


def download_get(*, public_id: str, requester: AbstractBaseUser, token: str) -> Download:
    """The requester's download ``public_id`` of the Camio ``token`` opens; NotFound for anyone
    else's, and once the Camio is deleted, expired, revoked or no longer the requester's to see
    (made private, the guest removed): its status is then told no more than the Camio is."""
    camio = camio_for_view_token(token)
    if camio is not None and not camio_viewable_by(camio=camio, user=requester):
        camio = None
    download = (
        Download.objects.filter(public_id=public_id, requester=requester, camio=camio).first() if camio else None
    )
    if download is None:
        # One answer whichever part is unknown: it tells nothing of whether the token exists.
        raise NotFound("Unknown download, or its Camio is expired, revoked or no longer yours to see")
    download.camio = camio
    return download


def download_json(download: Download) -> DownloadJSON:
    """The status resource (the requester's view: a fresh link while the zip is ready)."""
    ready = download.status == Download.Status.READY and download_is_servable(download)
    return {
        "id": download.public_id,
        "status": download.status,
        "items_total": download.items_total,
        "items_done": download.items_done,
        "size": download.size,
        "date_created": camio_date(download.created_at),
        "date_finished": camio_date(download.finished_at),
        "error": download.error,
        "url": download_link(download) if ready else None,
    }


# --- links --------------------------------------------------------------------------------------


def download_link(download: Download) -> str:
    """An absolute, signed link to the zip; it works for ``DOWNLOAD_LINK_SECONDS`` from now."""
    signed = signing.dumps(download.public_id, salt=_LINK_SALT, compress=False)
    return settings.PUBLIC_BASE_URL + reverse("download-file", kwargs={"signed": signed})


def download_for_link(signed: str) -> Download:
    """The ready download a link names. NotFound for a forged, expired or revoked link."""
    try:
        public_id = signing.loads(signed, salt=_LINK_SALT, max_age=settings.DOWNLOAD_LINK_SECONDS)
    except signing.SignatureExpired:
        raise NotFound("This download link has expired") from None
    except signing.BadSignature:
        raise NotFound("Invalid download link") from None
    download = Download.objects.select_related("camio__owner").filter(public_id=public_id).first()
    if download is None or download.status != Download.Status.READY or not download_is_servable(download):
        raise NotFound("This download is no longer available")
    return download


def download_storage_prefix(*, owner_id: int) -> str:
    """Where the zips of one account's Camios are stored, whoever asked for them."""
    return f"downloads/{owner_id}/"


def download_is_servable(download: Download) -> bool:
    """Ready, its Camio still shared, and still the requester's to see: deleting or expiring a
    Camio revokes its downloads too, and so does removing the guest who asked for a private one."""
    camio = download.camio
    return (
        bool(download.storage_key)
        and camio is not None
        and camio_for_view_token(camio.view_token) is not None
        and camio_viewable_by(camio=camio, user=download.requester)
    )


# --- building the zip ---------------------------------------------------------------------------


class ZipItem(NamedTuple):
    """What the zip needs of one content item (plain tuples: no model instances per row)."""

    public_id: str
    storage_key: str
    content_type: str
    captured_at: datetime
    size: int
    camera: str


def zip_items(contents: QuerySet[Content]) -> Iterator[ZipItem]:
    """The items of a content queryset, oldest first, streamed from the database in chunks."""
    rows = contents.order_by("captured_at", "pk").values_list(
        "public_id", "storage_key", "content_type", "captured_at", "size", "camera__name"
    )
    return (ZipItem(*row) for row in rows.iterator(chunk_size=1000))


def _entry_name(item: ZipItem) -> str:
    ext = _EXTENSIONS.get(item.content_type, "bin")
    stamp = item.captured_at.astimezone(UTC).strftime("%Y-%m-%dT%H-%M-%S.%f")[:-3]
    return f"{_folder_name(item.camera)}/{stamp}Z_{item.public_id}.{ext}"


def _folder_name(camera: str) -> str:
    """A camera's name as one folder of the zip, one every system can extract: never a path that
    climbs out of the folder the zip is extracted into (a camera may be named "..", or hold
    slashes or backslashes), no character or name Windows refuses (``:*?"<>|``, control
    characters, a trailing dot or space, ``CON``, ``COM1``…), and never the root
    ``manifest.json`` (a folder and a file of one name cannot both be extracted)."""
    name = _UNSAFE_IN_NAMES.sub("_", camera).strip()
    name = name.rstrip(". ") or name  # Windows drops them, and ".." must stay recognisable below
    stem = name.split(".", 1)[0].strip().upper()
    if not name.strip(".") or stem in _WINDOWS_DEVICE_NAMES or name.lower() == "manifest.json":
        return f"_{name}"
    return name


def zip_contents(contents: Iterable[ZipItem], target, *, on_progress=None, on_chunk=None) -> int:
    """Write ``contents`` (see :func:`zip_items`) as a zip into the binary file ``target``.

    Each item is copied from storage in chunks, so memory stays flat whatever the sizes.
    A ``manifest.json`` at the end lists the entries. Items whose bytes are missing are listed
    there with ``"missing": true`` rather than failing the whole zip. Returns the item count.
    ``on_progress(done)`` is called after each item, ``on_chunk()`` after each chunk copied.
    """
    manifest = []
    done = 0
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for content in contents:
            name = _entry_name(content)
            entry = {
                "id": content.public_id,
                "file": name,
                "camera": content.camera,
                "content_type": content.content_type,
                "date_created": camio_date(content.captured_at),
            }
            try:
                # In chunks (on S3 a streamed GET: opening the object would read it all into memory).
                chunks = stored_chunks(content.storage_key, start=0, length=content.size)
            except FileNotFoundError:
                entry["missing"] = True
                logger.warning("download: content %s has no bytes in storage", content.public_id)
            else:
                info = zipfile.ZipInfo(name, date_time=_zip_time(content))
                info.compress_type = zipfile.ZIP_STORED
                info.file_size = content.size  # lets zipfile choose zip64 up front for huge videos
                with archive.open(info, "w") as sink:
                    for chunk in chunks:
                        sink.write(chunk)
                        if on_chunk is not None:
                            on_chunk()
            manifest.append(entry)
            done += 1
            if on_progress is not None:
                on_progress(done)
        archive.writestr("manifest.json", json.dumps({"items": manifest}))
    return done


def _zip_time(content: ZipItem) -> tuple[int, int, int, int, int, int]:
    t = content.captured_at.astimezone(UTC)
    # Zip timestamps cannot predate 1980.
    return (max(t.year, 1980), t.month, t.day, t.hour, t.minute, t.second)


class _ClaimLost(Exception):
    """The download is no longer this build's: another build took it over, or it was revoked."""


class _BuildClaim:
    """A build's hold on its download row: the heartbeat it last wrote. Every write of the build
    is conditional on it, and a build taking over a stale row, or a revocation, writes another
    (or none): the build that finds it changed knows the download is no longer its own, and
    records nothing more (no second "ready", no second mail, no zip of what was revoked)."""

    def __init__(self, download_id: int, at: datetime):
        self.download_id, self.at = download_id, at

    def _rows(self) -> QuerySet[Download]:
        return Download.objects.filter(pk=self.download_id, status=Download.Status.RUNNING, heartbeat_at=self.at)

    def beat(self, **fields) -> None:
        """Write the heartbeat (and ``fields``); raises ``_ClaimLost`` when the row is not ours."""
        at = timezone.now()
        if not self._rows().update(heartbeat_at=at, **fields):
            raise _ClaimLost
        self.at = at

    def finish(self, **fields) -> bool:
        """Record the outcome (``fields``), if the row is still ours; whether it was."""
        return bool(self._rows().update(finished_at=timezone.now(), **fields))


def download_build(*, download_id: int) -> None:
    """Build the zip of a download, record progress and the result, and email the link.

    Runs in a worker. Claims the row with a conditional update: a pending row, or a running one
    whose heartbeat stopped (its worker died: rebuilt from scratch, into a zip of its own), so a
    duplicate message skips a download another worker is building or has finished. The build
    writes its heartbeat while it zips and while it uploads, and records progress and outcome
    only while the claim is still its own (see ``_BuildClaim``). Any failure is recorded on the
    row, where the requester sees it and may ask again.
    """
    now = timezone.now()
    claimable = Q(status=Download.Status.PENDING) | Q(
        status=Download.Status.RUNNING, heartbeat_at__lt=now - timedelta(seconds=STALE_BUILD_SECONDS)
    )
    claimed = Download.objects.filter(claimable, pk=download_id).update(
        status=Download.Status.RUNNING, items_done=0, error="", heartbeat_at=now
    )
    if not claimed:
        return
    claim = _BuildClaim(download_id, now)
    download = Download.objects.select_related("camio__owner", "requester").get(pk=download_id)
    try:
        _build(download, claim)
    except _ClaimLost:
        logger.info("download %s: taken over or revoked while it was built; this build stops", download.public_id)
    except Exception as exc:  # storage or database failure: record it where the requester sees it
        logger.exception("download %s failed", download.public_id)
        message = f"The zip could not be built ({type(exc).__name__}): request the download again"
        claim.finish(status=Download.Status.FAILED, error=message)


def _build(download: Download, claim: _BuildClaim) -> None:
    camio = download.camio
    if camio is None or camio_for_view_token(camio.view_token) is None:
        claim.finish(status=Download.Status.FAILED, error="The Camio was deleted or has expired")
        return
    contents = camio_content_queryset(camio)
    total = contents.count()
    claim.beat(items_total=total)

    last_write = time.monotonic()
    items_done = 0

    def progress(done: int) -> None:
        nonlocal last_write, items_done
        items_done = done
        now = time.monotonic()
        if now - last_write >= _PROGRESS_EVERY_SECONDS:
            claim.beat(items_done=done)
            last_write = now

    def heartbeat() -> None:  # while a long video copies, and while the zip goes up to storage
        progress(items_done)

    # A key of its own per build: a build taken over may still be storing its zip, and must not
    # overwrite (or, giving up, delete) the zip of the build that took over. The zip of a build
    # that died after storing it goes when a later build of the download records its own.
    folder = download_storage_prefix(owner_id=camio.owner_id)
    key = f"{folder}{download.public_id}-{secrets.token_hex(4)}.zip"
    # A named file in the data dir: local storage then moves it into place (no second copy);
    # S3 streams it up as a multipart upload.
    spool = tempfile.NamedTemporaryFile(dir=settings.DATA_DIR, prefix="download-", suffix=".zip", delete=False)
    try:
        with spool:
            done = zip_contents(zip_items(contents), spool, on_progress=progress, on_chunk=heartbeat)
            size = spool.tell()
        saved_key = _store_keeping_claim(key, spool.name, claim)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(spool.name)

    recorded = False
    try:
        recorded = _record_ready(download, claim, camio=camio, key=saved_key, total=total, done=done, size=size)
    finally:
        if not recorded:  # no row names it: it goes now
            default_storage.delete(saved_key)
    if recorded:
        download.refresh_from_db()
        _email_link(download)
        _other_builds_zips_delete(folder, download=download, keep=saved_key)


def _other_builds_zips_delete(folder: str, *, download: Download, keep: str) -> None:
    """Delete the zips earlier builds of ``download`` stored and never recorded (their worker died
    in between); a build still storing one finds its claim lost and deletes it itself."""
    try:
        _dirs, names = default_storage.listdir(folder.rstrip("/"))
        for name in names:
            if name.startswith(f"{download.public_id}-") and f"{folder}{name}" != keep:
                default_storage.delete(f"{folder}{name}")
    except FileNotFoundError:
        pass
    except Exception:  # the download is ready all the same
        logger.warning(
            "download %s: zips of earlier builds left to purge_orphaned_zips", download.public_id, exc_info=True
        )


def _store_keeping_claim(key: str, path: str, claim: _BuildClaim) -> str:
    """Send the finished zip at ``path`` to storage as ``key``; returns the name it was stored under.

    The upload of a large zip to S3 takes minutes, and a build silent for ``STALE_BUILD_SECONDS``
    is taken for dead and built again: this thread keeps writing the heartbeat while a thread of
    its own uploads (storage backends read the file from threads of theirs, where this build's
    database connection is not). Raises ``_ClaimLost`` (the zip deleted) when the build lost the
    row meanwhile."""

    def upload() -> str:
        try:
            with open(path, "rb") as handle:
                return default_storage.save(key, _BuiltZip(handle, name=key))
        finally:
            connections.close_all()  # this thread's own, should the storage have opened any

    lost = False
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="download-upload") as pool:
        uploading = pool.submit(upload)
        while True:
            try:
                saved_key = uploading.result(timeout=_PROGRESS_EVERY_SECONDS)
                break
            except TimeoutError:
                if not lost:
                    try:
                        claim.beat()
                    except _ClaimLost:
                        lost = True  # an upload cannot be called back: its zip goes once stored
    if lost:
        default_storage.delete(saved_key)
        raise _ClaimLost
    return saved_key


def _record_ready(
    download: Download, claim: _BuildClaim, *, camio: Camio, key: str, total: int, done: int, size: int
) -> bool:
    """Record the stored zip ``key`` as the download's, if it is still to be served and the build
    still holds the row; whether it was."""
    if camio_for_view_token(camio.view_token) is None:
        # Deleted or expired while it was built: no "ready" mail with a link that answers 404.
        claim.finish(status=Download.Status.FAILED, error="The Camio was deleted or has expired")
        return False
    requester = type(download.requester).objects.filter(pk=download.requester_id, is_active=True).first()
    if requester is None or not camio_viewable_by(camio=camio, user=requester):
        # The requester lost access meanwhile (a guest removed, an account deactivated): told
        # nothing more of the Camio, and its zip is not kept for them.
        claim.finish(status=Download.Status.FAILED, error="You can no longer see this Camio")
        return False
    # Only the build that still holds the row records it ready (and mails the link).
    return claim.finish(
        status=Download.Status.READY, items_total=max(total, done), items_done=done, storage_key=key, size=size
    )


def downloads_requeue_stuck(*, now: datetime | None = None) -> int:
    """Periodic: send the task again for downloads it will otherwise never reach (a message lost
    while the broker was down, a worker that died mid-build); returns how many."""
    now = now or timezone.now()
    stuck = Download.objects.filter(
        Q(status=Download.Status.PENDING, created_at__lt=now - timedelta(seconds=LOST_MESSAGE_SECONDS))
        | Q(status=Download.Status.RUNNING, heartbeat_at__lt=now - timedelta(seconds=STALE_BUILD_SECONDS))
    )
    ids = list(stuck.values_list("pk", flat=True)[:1000])
    for pk in ids:
        enqueue_on_commit("search.build_download", pk)
    return len(ids)


def _build_stale(download: Download, now: datetime) -> bool:
    return (
        download.status == Download.Status.RUNNING
        and download.heartbeat_at is not None
        and download.heartbeat_at < now - timedelta(seconds=STALE_BUILD_SECONDS)
    )


def downloads_purge(*, now: datetime | None = None) -> int:
    """Delete the zips past their keeping time, or of Camios since deleted; returns how many.

    A zip is kept ``DOWNLOAD_LINK_SECONDS`` after it was built (the life of the emailed link).
    The row stays, without its file, so the requester's status says to ask again.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.DOWNLOAD_LINK_SECONDS)
    stale = Download.objects.exclude(storage_key="").filter(
        Q(finished_at__lt=cutoff) | Q(camio__isnull=True), status=Download.Status.READY
    )
    return zips_drop(stale, reason="The zip was deleted after its link expired: request a new download")


# A spool file this old belongs to no running build: a build writes its spool as bytes arrive,
# then sends it to storage (which, for a very large zip, may take hours).
SPOOL_ABANDONED_AFTER = timedelta(hours=24)


def orphaned_zips_purge(
    *, older_than: datetime, progress: Callable[[int, int], None] | None = None, now: datetime | None = None
) -> int:
    """Delete what no download refers to: zips in storage older than ``older_than`` that no row
    names (their account was deleted while the message to remove them was lost, or a build
    stored its zip and then died), and spool files of builds killed mid-way (``DATA_DIR``,
    after ``SPOOL_ABANDONED_AFTER``). Returns how many files were removed; ``progress(done,
    total)`` after each account's folder."""
    now = now or timezone.now()
    try:
        owners, _files = default_storage.listdir("downloads")
    except FileNotFoundError:
        owners = []
    folders = [f"downloads/{name}" for name in sorted(owners)]
    removed = 0
    for done, folder in enumerate(folders, 1):
        try:
            _dirs, names = default_storage.listdir(folder)
        except FileNotFoundError:
            names = []
        keys = [f"{folder}/{name}" for name in names]
        named = set(Download.objects.filter(storage_key__in=keys).values_list("storage_key", flat=True))
        for key in keys:
            if key not in named and stored_before(key, older_than):
                default_storage.delete(key)
                logger.warning("removed zip %s: no download refers to it", key)
                removed += 1
        if progress is not None:
            progress(done, len(folders))
    abandoned = (now - SPOOL_ABANDONED_AFTER).timestamp()
    for spool in Path(settings.DATA_DIR).glob("download-*.zip"):
        with contextlib.suppress(FileNotFoundError):
            if spool.stat().st_mtime < abandoned:
                spool.unlink()
                logger.warning("removed %s: the build writing it died", spool)
                removed += 1
    return removed


def zips_drop(downloads: QuerySet[Download], *, reason: str) -> int:
    """Delete these downloads' zips; the rows stay, saying ``reason``, so their requesters are told
    to ask again. Returns how many were dropped."""
    dropped = 0
    for pk, key in downloads.exclude(storage_key="").values_list("pk", "storage_key").iterator():
        default_storage.delete(key)  # no error when already gone
        # (A rebuild that stored another zip meanwhile keeps it.)
        dropped += Download.objects.filter(pk=pk, storage_key=key).update(storage_key="", error=reason)
    return dropped


def downloads_revoke_for_owners(*, owner_ids: list[int]) -> int:
    """Content of these accounts was deleted: no zip of their Camios may go on serving it.

    Builds under way are taken from their builders (which then record nothing, see
    ``_BuildClaim``) and built again from what is left: their zips may hold the deleted items.
    Then the zips already built are dropped; those rows stay, so their requesters are told to
    ask again (a new zip leaves the deleted items out). Returns how many downloads were revoked.
    """
    running = Download.objects.filter(camio__owner_id__in=owner_ids, status=Download.Status.RUNNING)
    restarted = [
        pk
        for pk in list(running.values_list("pk", flat=True))
        if Download.objects.filter(pk=pk, status=Download.Status.RUNNING).update(
            status=Download.Status.PENDING, heartbeat_at=None, items_done=0
        )
    ]
    # After the builds were stopped (a zip one of them recorded just before is dropped here), and
    # before they are built again (the new zips are kept).
    dropped = zips_drop(
        Download.objects.filter(camio__owner_id__in=owner_ids),
        reason="Content of this Camio was deleted since: request a new download",
    )
    for pk in restarted:
        enqueue_on_commit("search.build_download", pk, if_unsent="log", backstop="search.requeue_stuck_downloads")
    return len(restarted) + dropped


class _BuiltZip(File):
    """The finished zip on local disk; FileSystemStorage moves a file that names its path."""

    def temporary_file_path(self) -> str:
        return self.file.name


def _email_link(download: Download) -> None:
    requester = download.requester
    if not requester.email:
        return
    # One line whatever the name holds (a subject with a line break is refused by Django's mail).
    camio_name = " ".join((download.camio.name if download.camio else "your Camio").split())
    hours = max(1, settings.DOWNLOAD_LINK_SECONDS // 3600)
    body = (
        f"Your download of {camio_name} is ready: {download.items_done} items, {download.size} bytes.\n\n"
        f"{download_link(download)}\n\n"
        f"The link works for about {hours} hour(s)."
    )
    try:
        send_mail(f"Your download of {camio_name} is ready", body, settings.DEFAULT_FROM_EMAIL, [requester.email])
    except (OSError, ValueError):  # ValueError: BadHeaderError, an address Django refuses
        # The zip is ready either way: the status resource carries a fresh link.
        logger.exception("download %s: the email could not be sent", download.public_id)
