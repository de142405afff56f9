"""Camera writes."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import DateTimeField, Value
from django.db.models.functions import Coalesce, Greatest

from cameras.devices import camera_name_validate
from cameras.models import Camera, Device
from cameras.polling import device_forget
from config.api.errors import Conflict, NotFound
from config.tasks import enqueue_on_commit


@transaction.atomic
def camera_delete(*, camera: Camera) -> None:
    """Delete a camera with its zones, content and events (cascade); its bytes go in a task."""
    owner_id, camera_pk = camera.owner_id, camera.pk
    # Locked first: an upload or an analysis batch committing its rows for the camera while the
    # delete gathers them would leave rows pointing at a deleted camera (a 500, the camera kept).
    # Both wait here instead, and find the camera gone.
    if not Camera.objects.select_for_update().filter(pk=camera_pk).exists():
        return  # deleted meanwhile
    macs = list(Device.objects.filter(camera=camera).values_list("mac_address", flat=True))
    camera.delete()  # its device, if any, stays and polls as unclaimed (SET_NULL)
    # Once this commits the camera is gone, broker or not: its bytes are caught up with by the
    # daily sweep if the purge cannot be sent, and zips holding its recordings are revoked here
    # and now if the revocation cannot be (nothing sweeps for those).
    enqueue_on_commit(
        "cameras.purge_camera_storage", owner_id, camera_pk, if_unsent="log", backstop="cameras.purge_orphaned_storage"
    )
    enqueue_on_commit("search.revoke_owner_downloads", [owner_id], if_unsent="inline")
    for mac in macs:
        # The cached entry still names the camera and token: drop it now and after commit.
        device_forget(mac)
        transaction.on_commit(lambda mac=mac: device_forget(mac))


@transaction.atomic
def camera_rename(*, camera: Camera, name: object) -> Camera:
    """Rename the camera ``name`` (a 400 for a name the API refuses, 409 when the owner has one of
    that name). Its device's next poll carries the new name; what names cameras in other apps
    (Camios, hooks) follows in their tasks, enqueued on commit with the old and new names."""
    name = camera_name_validate(name)
    with transaction.atomic():
        old = Camera.objects.select_for_update().filter(pk=camera.pk).values_list("name", flat=True).first()
        if old is None:
            raise NotFound("Unknown camera")
        camera.name = name
        if old == name:
            return camera
        taken = Conflict(f"A camera named {name!r} already exists")
        if Camera.objects.filter(owner_id=camera.owner_id, name=name).exists():
            raise taken
        try:
            with transaction.atomic():
                Camera.objects.filter(pk=camera.pk).update(name=name)
        except IntegrityError:  # another camera took the name meanwhile
            raise taken from None
        for mac in Device.objects.filter(camera=camera).values_list("mac_address", flat=True):
            # The cached entry carries the old name: drop it now and after commit.
            device_forget(mac)
            transaction.on_commit(lambda mac=mac: device_forget(mac))
        # Nothing sweeps for these: a broker down runs them here rather than lose them. Optional
        # consumers: cameras runs without search or hooks installed.
        for task in ("search.camera_renamed", "hooks.camera_renamed"):
            enqueue_on_commit(task, camera.owner_id, old, name, required=False, if_unsent="inline")
    return camera


def camera_for_upload(*, owner: AbstractBaseUser, name: str, camera_id: str = "") -> Camera:
    """The owner's camera called ``name``, created by its first upload."""
    camera, _ = Camera.objects.get_or_create(owner=owner, name=name, defaults={"camera_id": camera_id})
    return camera


def _upload_sight_due(camera: Camera, at: datetime, width: int | None, height: int | None) -> bool:
    """Whether the row must be written: a new resolution, a first sight, or a stored sight older
    than ``CAMERA_OFFLINE_AFTER_SECONDS / 20`` (5 s by default). Reads only what the instance has
    loaded (a deferred field counts as unknown: written), never the database."""
    known = camera.__dict__
    if width and height and (known.get("resolution_width"), known.get("resolution_height")) != (width, height):
        return True
    seen, uploaded = known.get("last_seen_at"), known.get("last_upload_at")
    if seen is None or uploaded is None:
        return True
    return at - min(seen, uploaded) >= timedelta(seconds=settings.CAMERA_OFFLINE_AFTER_SECONDS / 20)


def camera_record_upload(*, camera: Camera, at: datetime, width: int | None = None, height: int | None = None) -> None:
    """An upload (heartbeat stills included) proves the camera alive; content teaches its resolution.

    Coalesced: a camera sending many stills a second would otherwise write its row on every one
    (a query each, and every upload of the camera queueing on that row's lock). ``camera`` is the
    row as the caller read it; when its sight is at most 1/20 of the offline window old and the
    resolution is unchanged, nothing is written. So the stored sight lags an upload-only camera by
    at most 5 s of its 100 s window (the heartbeat sweep runs every 30 s), and a camera coming
    back after an outage is written at once.

    Written as one UPDATE without reading the row, so concurrent uploads never lose each other's
    sight and never rewrite fields they did not learn.
    """
    if not _upload_sight_due(camera, at, width, height):
        return
    moment = Value(at, output_field=DateTimeField())
    changes: dict = {
        "last_seen_at": Greatest(Coalesce("last_seen_at", moment), moment),
        "last_upload_at": Greatest(Coalesce("last_upload_at", moment), moment),
    }
    if width and height:
        changes.update(resolution_width=width, resolution_height=height)
    Camera.objects.filter(pk=camera.pk).update(**changes)
