"""Content writes: the one ingest path of HTTP uploads and the FTP gateway.

Durability: the bytes are stored first (outside any transaction: storage is slow I/O), then the
row is written in one short transaction, and only then does the caller answer success. If storage
fails nothing is written (503); if the row cannot be written the stored bytes are removed again.
A retry of the same camera, name and bytes finds the row the first attempt made (without a name,
one made within minutes: later, the same bytes are another capture).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import IO

from django.contrib.auth.models import AbstractBaseUser
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, connections, router, transaction
from django.db.models import Field, QuerySet
from django.utils import timezone

from accounts.models import AccountSettings
from accounts.selectors import account_settings_get
from cameras.models import Camera
from cameras.services import camera_for_upload, camera_record_upload
from cameras.storage import camera_storage_prefix
from config.api.errors import BadRequest, ServiceUnavailable
from config.tasks import enqueue_on_commit
from uploads.ingest import EXTENSIONS, MediaFacts, UploadParams, media_check, size_limit, spool_body
from uploads.media import MediaError, video_poster
from uploads.models import Content, new_public_id
from uploads.selectors import UPLOAD_CAMERA_FIELDS, UploadSender
from uploads.timestamps import capture_time

logger = logging.getLogger(__name__)

# An alternate (options=alternate) supports the item of its camera whose time span overlaps its
# own; spans this close still count as overlapping (clocks of two encoders differ a little).
ALTERNATE_TOLERANCE = timedelta(seconds=2)
ALTERNATE_LOOKBACK = timedelta(hours=1)
# An upload without a name is dated by its arrival, so the same bytes again are a retry only this
# soon after (its answer was lost); later they are another capture of a scene that did not change.
# (No unique index backs it: two copies sent at once may both be kept, a duplicate, never a loss.)
UNNAMED_RETRY_WINDOW = timedelta(minutes=2)


@dataclass(frozen=True)
class IngestResult:
    """What became of an upload: the stored item (``created`` False for a repeat), or not kept."""

    camera_name: str
    content: Content | None = None
    created: bool = False
    kept: bool = True
    reason: str = ""


def _existing(*, camera: Camera, name: str, digest: str, arrived_at: datetime) -> Content | None:
    """The camera's item called ``name`` whose bytes have this SHA-256 or SHA-1: the upload this one
    repeats. Without a name, only one that arrived within ``UNNAMED_RETRY_WINDOW`` before."""
    field = "sha256" if len(digest) == 64 else "sha1"
    # Served by the (camera, name, sha256) unique index; an unnamed item's capture time is its
    # arrival, so its lookup is a short range of the (camera, captured_at) index. Nearly every
    # upload is new: ask for the id alone (a third of the CPU of building the full-row query) and
    # load the row only on a hit.
    same = Content.objects.filter(camera=camera, name=name, **{field: digest})
    if not name:
        window = (arrived_at - UNNAMED_RETRY_WINDOW, arrived_at)
        same = same.filter(captured_at__range=window).order_by("-captured_at")
    found = list(same.values_list("pk", flat=True)[:1])
    if not found:
        return None
    content = Content.objects.filter(pk=found[0]).first()  # None if deleted in between
    if content is not None:
        content.camera = camera
    return content


def _repeat(*, camera: Camera, content: Content, arrived_at: datetime) -> IngestResult:
    """The answer to an upload already stored (a retry): the stored item. A camera whose only
    uploads for a while are retries (its answers were lost) is alive all the same."""
    camera_record_upload(camera=camera, at=arrived_at)
    return IngestResult(camera_name=camera.name, content=content, created=False)


def _camera_get(*, owner: AbstractBaseUser, name: str) -> Camera | None:
    # The (owner, name) unique index; only the fields an upload reads (a cheaper query to build).
    return Camera.objects.filter(owner=owner, name=name).only(*UPLOAD_CAMERA_FIELDS).first()


def _recording_off_reason(*, owner: AbstractBaseUser, account: AccountSettings | None, camera: Camera | None) -> str:
    account = account if account is not None and account.user_id == owner.pk else account_settings_get(user=owner)
    if not account.recording_enabled:
        return "Recording is disabled for this account: the upload was not kept"
    if camera is not None and not camera.recording_enabled:
        return f"Recording is disabled for camera {camera.name!r}: the upload was not kept"
    return ""


def _camera(*, owner: AbstractBaseUser, params: UploadParams) -> Camera:
    try:
        return camera_for_upload(owner=owner, name=params.camera_name, camera_id=params.camera_id)
    except IntegrityError:
        # The camera is new, but its camera_id belongs to another camera of the account.
        raise BadRequest(f"camera_id {params.camera_id!r} is already used by another camera of this account") from None


def _alternate_target(*, camera: Camera, start: datetime, seconds: float | None) -> Content | None:
    """The camera's primary item whose time span overlaps [start, start + seconds], nearest first."""
    end = start + timedelta(seconds=seconds or 0)
    candidates = Content.objects.filter(
        camera=camera,
        alternate_of__isnull=True,
        captured_at__gte=start - ALTERNATE_LOOKBACK,
        captured_at__lte=end + ALTERNATE_TOLERANCE,
    ).order_by("-captured_at")[:50]
    best: tuple[float, Content] | None = None
    for item in candidates:
        if "alternate" in item.options:
            continue  # alternates support primaries, never each other
        item_end = item.captured_at + timedelta(seconds=item.duration or 0)
        if item.captured_at <= end + ALTERNATE_TOLERANCE and item_end >= start - ALTERNATE_TOLERANCE:
            distance = abs((item.captured_at - start).total_seconds())
            if best is None or distance < best[0]:
                best = (distance, item)
    return best[1] if best else None


@dataclass(frozen=True)
class _ContentInsert:
    """``INSERT INTO content (every column) VALUES (…) RETURNING id``, written once per database
    from the model's metadata.

    Every upload runs it, and ``Content.objects.create`` spends about 0.9 ms of CPU building it
    (measured: create in a transaction 1.0 to 1.3 ms, the transaction alone 0.1 ms). Values go
    through each field's ``pre_save`` and ``get_db_prep_save`` as the ORM's insert would (Content
    has no save() override and no signal receivers); IntegrityError is raised as by the ORM.
    """

    sql: str
    fields: list[Field]
    returning: bool

    @classmethod
    def build(cls, alias: str) -> _ContentInsert:
        connection = connections[alias]
        quote = connection.ops.quote_name
        meta = Content._meta
        fields = [f for f in meta.concrete_fields if f is not meta.pk]
        returning = connection.features.can_return_columns_from_insert
        # Only quoted identifiers from the model's metadata are interpolated; values are parameters.
        sql = (
            f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "  # noqa: S608
            f"VALUES ({', '.join(['%s'] * len(fields))})"
        )
        if returning:
            sql += f" RETURNING {quote(meta.pk.column)}"
        return cls(sql=sql, fields=fields, returning=returning)

    def run(self, alias: str, content: Content) -> None:
        connection = connections[alias]
        params = [f.get_db_prep_save(f.pre_save(content, True), connection) for f in self.fields]
        with connection.cursor() as cursor:
            cursor.execute(self.sql, params)
            if self.returning:
                pk = cursor.fetchone()[0]
            else:
                pk = connection.ops.last_insert_id(cursor, Content._meta.db_table, Content._meta.pk.column)
        content.pk = pk
        content._state.adding = False
        content._state.db = alias


_content_inserts: dict[tuple[str, str], _ContentInsert] = {}


def _content_insert(content: Content) -> None:
    """Insert a new, unsaved Content row (its id is set on it)."""
    alias = router.db_for_write(Content)
    key = (alias, connections[alias].vendor)
    insert = _content_inserts.get(key)
    if insert is None:
        insert = _content_inserts[key] = _ContentInsert.build(alias)
    insert.run(alias, content)


def _store(key: str, file) -> str:
    """Save to the default storage; any failure of the store is a 503 the sender can retry."""
    try:
        return default_storage.save(key, file)
    except Exception as exc:
        # Disk full, S3 down or refusing: transient for the sender, whatever the backend's error type.
        logger.exception("storing %s failed", key)
        raise ServiceUnavailable("Content storage is unavailable: the upload was not kept, try again") from exc


def _delete_quietly(*keys: str) -> None:
    for key in keys:
        if not key:
            continue
        try:
            default_storage.delete(key)
        except Exception:
            logger.exception("could not remove %s from storage", key)


def content_delete(*, contents: QuerySet[Content]) -> int:
    """Delete content items, their stored bytes (after commit) and what analysis kept of them:
    the events they belonged to are rebuilt from the items left, or removed when none is
    (``search.rebuild_events``, by name: analysis is the search app's). Returns how many."""
    with transaction.atomic():
        # The cameras locked first, as analysis locks them to place items: an analysis committing
        # for these items meanwhile would otherwise fail this delete (or it, the batch).
        cameras_owners = set(contents.values_list("camera_id", "owner_id"))
        camera_ids = sorted(camera for camera, _owner in cameras_owners)
        owner_ids = sorted({owner for _camera, owner in cameras_owners})
        list(Camera.objects.select_for_update().filter(pk__in=camera_ids).order_by("pk").values_list("pk"))
        rows = list(contents.values_list("pk", "storage_key", "poster_key", "analysis__event_id"))
        ids = [pk for pk, _key, _poster, _event in rows]
        # Their alternates go by the cascade: their bytes must go too.
        alternates = list(
            Content.objects.filter(alternate_of__in=ids)
            .exclude(pk__in=ids)
            .values_list("pk", "storage_key", "poster_key", "analysis__event_id")
        )
        Content.objects.filter(pk__in=ids).delete()
        keys = [key for _pk, storage_key, poster_key, _event in rows + alternates for key in (storage_key, poster_key)]
        transaction.on_commit(lambda: _delete_quietly(*keys))
        event_ids = sorted({event for *_rest, event in rows + alternates if event is not None})
        # Neither has a sweep to catch up with it: with the broker down they run here, after commit.
        if event_ids:
            enqueue_on_commit("search.rebuild_events", event_ids, if_unsent="inline")
        if ids:
            # Zips built before hold the deleted items: the owners' downloads are asked for again.
            enqueue_on_commit("search.revoke_owner_downloads", owner_ids, if_unsent="inline")
    return len(ids)


def content_ingest(
    *,
    owner: AbstractBaseUser,
    params: UploadParams,
    stream: IO[bytes],
    declared_length: int | None = None,
    arrived_at: datetime | None = None,
    sender: UploadSender | None = None,
) -> IngestResult:
    """Store one upload for ``owner``: check it, store its bytes, write its row, hand it to analysis.

    ``stream`` is read in chunks, to memory or a temporary file (``declared_length`` is checked
    against the limit before reading). Raises BadRequest (400), PayloadTooLarge (413),
    UnsupportedMediaType (415) and ServiceUnavailable (503, storage failed: nothing kept).
    ``sender`` is the owner's settings row and camera when the caller already has them (the
    Upload Token lookup of ``uploads.selectors.upload_sender_get``), saving their queries.
    """
    arrived_at = arrived_at or timezone.now()
    account = sender.account if sender is not None and sender.account.user_id == owner.pk else None
    if sender is not None and account is not None and sender.camera_name == params.camera_name:
        camera = sender.camera  # None: the account has no camera of that name yet
    else:
        camera = _camera_get(owner=owner, name=params.camera_name)
    reason = _recording_off_reason(owner=owner, account=account, camera=camera)
    if reason:
        if camera is not None:
            camera_record_upload(camera=camera, at=arrived_at)  # still a sign of life
        return IngestResult(camera_name=params.camera_name, kept=False, reason=reason)
    if params.hash and camera is not None:
        # A retry that names its bytes is answered before they are read again.
        existing = _existing(camera=camera, name=params.name, digest=params.hash, arrived_at=arrived_at)
        if existing is not None:
            return _repeat(camera=camera, content=existing, arrived_at=arrived_at)

    limit = size_limit(params.content_type)
    with spool_body(stream, limit=limit, declared_length=declared_length) as body:
        if params.hash and params.hash not in (body.sha1, body.sha256):
            raise BadRequest("hash does not match the body: it was damaged or truncated on the way")
        facts = media_check(body, claimed=params.content_type)
        if camera is not None and (facts.video is not None or not params.name):
            # A video's retry is found before its bytes are stored again. A named still's (small,
            # and nearly every still is new) is found by the unique index when its row is written,
            # which saves every other still this query; its second copy is then removed. Unnamed
            # uploads have no such index (their retries are found by time): asked first.
            existing = _existing(camera=camera, name=params.name, digest=body.sha256, arrived_at=arrived_at)
            if existing is not None:
                return _repeat(camera=camera, content=existing, arrived_at=arrived_at)
        created_camera = camera is None
        camera = camera or _camera(owner=owner, params=params)
        try:
            return _store_and_record(
                owner=owner, camera=camera, params=params, body=body, facts=facts, arrived_at=arrived_at
            )
        except ServiceUnavailable:
            if created_camera:
                # The camera was made for this upload only: nothing of it may remain.
                Camera.objects.filter(pk=camera.pk).exclude(contents__isnull=False).delete()
            raise


def _store_and_record(
    *, owner: AbstractBaseUser, camera: Camera, params: UploadParams, body, facts: MediaFacts, arrived_at: datetime
) -> IngestResult:
    captured_at = capture_time(params.name, parse_free_text=params.has("parse_timestamp"), arrived_at=arrived_at)
    public_id = new_public_id()
    prefix = camera_storage_prefix(owner_id=owner.pk, camera_pk=camera.pk)
    key = f"{prefix}{captured_at:%Y/%m/%d}/{public_id}{EXTENSIONS[facts.content_type]}"
    poster = b""
    if facts.video is not None:
        try:
            poster = video_poster(body.file)
        except MediaError:
            logger.warning("no poster frame for %s", key)
        body.file.seek(0)

    upload = File(body.file, name=key)
    upload.size = body.size  # known: the storage need not seek to the end to find it
    stored_key = _store(key, upload)
    poster_key = ""
    committed: list[bool] = []
    try:
        if poster:
            poster_key = _store(f"{prefix}{captured_at:%Y/%m/%d}/{public_id}.poster.jpg", ContentFile(poster))
        # A still has no length, whatever a camera sends: a video_length on one would stretch its
        # event over later, unrelated captures.
        duration = None
        if facts.kind == "video":
            duration = params.video_length or (facts.video.duration if facts.video else None)
        with transaction.atomic():
            alternate_of = None
            if params.has("alternate"):
                alternate_of = _alternate_target(camera=camera, start=captured_at, seconds=duration)
            content = Content(
                public_id=public_id,
                owner=owner,
                camera=camera,
                kind=facts.kind,
                content_type=facts.content_type,
                name=params.name,
                storage_key=stored_key,
                size=body.size,
                sha256=body.sha256,
                sha1=body.sha1,
                captured_at=captured_at,
                img_type=params.img_type,
                upload_mode=params.upload_mode,
                rotation=params.rotation,
                options=list(params.options),
                width=facts.width,
                height=facts.height,
                duration=duration,
                codec=facts.video.codec if facts.video else "",
                poster_key=poster_key,
                alternate_of=alternate_of,
            )
            _content_insert(content)
            camera_record_upload(camera=camera, at=arrived_at, width=facts.width, height=facts.height)
            # Registered first, so it runs before the hand-off below: from here on the row is durable.
            transaction.on_commit(lambda: committed.append(True))
            # One message per camera while one is pending: its task takes the camera's backlog.
            enqueue_on_commit("search.analyze_content", content.pk, coalesce=f"analysis:camera:{camera.pk}")
    except IntegrityError:
        _delete_quietly(stored_key, poster_key)
        # A concurrent retry of the same upload committed first: that row is the answer.
        existing = _existing(camera=camera, name=params.name, digest=body.sha256, arrived_at=arrived_at)
        if existing is None:
            if not Camera.objects.filter(pk=camera.pk).exists():
                # The owner deleted the camera while this upload was stored: nothing is kept. Sent
                # again, it makes the camera anew, as a first upload does (FTP: 451, send again).
                raise ServiceUnavailable(
                    f"Camera {camera.name!r} was deleted while this upload was stored: send it again"
                ) from None
            raise
        return _repeat(camera=camera, content=existing, arrived_at=arrived_at)
    except Exception:
        if not committed:
            _delete_quietly(stored_key, poster_key)
            raise
        # Stored and committed; only the hand-off to analysis failed (broker down). The upload
        # stands; the sweep for items stored without analysis (search.requeue_unanalysed)
        # queues it once the broker is back.
        logger.exception("content %s stored, but its analysis could not be enqueued", public_id)
    content.camera = camera
    return IngestResult(camera_name=camera.name, content=content, created=True)
