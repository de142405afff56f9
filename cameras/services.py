"""Camera writes."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import DateTimeField, Value
from django.db.models.functions import Coalesce, Greatest

from cameras.models import Camera, Device
from cameras.polling import device_forget


@transaction.atomic
def camera_delete(*, camera: Camera) -> None:
    """Delete a camera with its zones, content and events (cascade); its bytes go in a task."""
    from cameras.tasks import purge_camera_storage

    owner_id, camera_pk = camera.owner_id, camera.pk
    macs = list(Device.objects.filter(camera=camera).values_list("mac_address", flat=True))
    camera.delete()  # its device, if any, stays and polls as unclaimed (SET_NULL)
    purge_camera_storage.delay_on_commit(owner_id, camera_pk)
    for mac in macs:
        # The cached entry still names the camera and token: drop it now and after commit.
        device_forget(mac)
        transaction.on_commit(lambda mac=mac: device_forget(mac))


def camera_for_upload(*, owner: AbstractBaseUser, name: str, camera_id: str = "") -> Camera:
    """The owner's camera called ``name``, created by its first upload."""
    camera, _ = Camera.objects.get_or_create(owner=owner, name=name, defaults={"camera_id": camera_id})
    return camera


def camera_record_upload(*, camera: Camera, at: datetime, width: int | None = None, height: int | None = None) -> None:
    """An upload (heartbeat stills included) proves the camera alive; content teaches its resolution.

    Written as one UPDATE without reading the row, so concurrent uploads never lose each other's
    sight and never rewrite fields they did not learn.
    """
    moment = Value(at, output_field=DateTimeField())
    changes: dict = {
        "last_seen_at": Greatest(Coalesce("last_seen_at", moment), moment),
        "last_upload_at": Greatest(Coalesce("last_upload_at", moment), moment),
    }
    if width and height:
        changes.update(resolution_width=width, resolution_height=height)
    Camera.objects.filter(pk=camera.pk).update(**changes)
