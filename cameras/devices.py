"""Polling devices: discovery from the caller's network, claiming (naming the camera it becomes)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import DateTimeField, QuerySet, Value
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from cameras.models import Camera, Device
from cameras.polling import contest_window_seconds, device_forget, devices_polled_at, mac_normalize
from config.api.errors import BadRequest, Conflict, NotFound


def discovery_since() -> datetime:
    """Devices seen after this are offered for claiming, and a device whose address changed after
    this is contested (``cameras.polling.contest_window_seconds``)."""
    return timezone.now() - timedelta(seconds=contest_window_seconds())


def devices_near(*, ip_address: str | None) -> QuerySet[Device]:
    """Unclaimed devices recently seen polling from ``ip_address`` (the caller's own network)."""
    if not ip_address:
        return Device.objects.none()
    return Device.objects.filter(
        camera__isnull=True, ip_address=ip_address, last_seen_at__gte=discovery_since()
    ).order_by("-last_seen_at")


def camera_name_validate(name: object) -> str:
    if not isinstance(name, str) or not 1 <= len(name) <= 64:
        raise BadRequest("name must be 1 to 64 characters")
    if not name.isprintable() or name != name.strip() or "/" in name:
        raise BadRequest("name must be printable characters, without '/' or surrounding spaces")
    return name


@transaction.atomic
def device_claim(
    *, owner: AbstractBaseUser, mac_address: str, name: object, near_ip: str | None = None, check_near: bool = True
) -> tuple[Camera, bool]:
    """Make the polling device ``mac_address`` the owner's camera ``name``.

    Creates the camera, or links the owner's camera of that name, with ``camera_id`` = the MAC.
    A user may claim only a device polling from their own public address (``near_ip``), and not
    while it is contested (it polled from another address within the discovery window), so a
    known MAC alone cannot divert someone else's camera; admin passes ``check_near=False``.
    Returns the camera and whether it was created. The device's next poll carries the owner's
    settings (its cached entry is dropped).
    """
    mac = mac_normalize(mac_address)
    name = camera_name_validate(name)
    device = Device.objects.select_for_update().filter(mac_address=mac).first()
    unknown = NotFound("No unclaimed device with that MAC address is polling from your network")
    if device is None:
        raise unknown
    if device.camera_id is not None:
        if Camera.objects.filter(pk=device.camera_id, owner=owner).exists():
            raise Conflict("You have already claimed this device")
        raise unknown  # someone else's: say no more than for an unknown device
    # The row's sight is written coalesced; the cache holds the latest poll (dropped below).
    polled = devices_polled_at([mac]).get(mac)
    seen = max((d for d in (device.last_seen_at, polled) if d is not None), default=None)
    if check_near:
        since = discovery_since()
        if device.ip_address is None or device.ip_address != near_ip or seen is None or seen < since:
            raise unknown
        if device.ip_address_changed_at is not None and device.ip_address_changed_at >= since:
            # Someone who knows the MAC may have polled with it from their own network to pass
            # the check above: nobody claims it by address until one network has it to itself.
            minutes = round((timezone.now() - since).total_seconds() / 60)
            raise Conflict(
                f"This device has polled from more than one network in the last {minutes} minutes. "
                f"It can be claimed once it has polled only from yours for {minutes} minutes, "
                "or by an administrator."
            )
    camera = _claimable_camera(owner=owner, name=name, mac=mac)
    created = camera is None
    if created:
        try:
            with transaction.atomic():
                camera = Camera.objects.create(owner=owner, name=name, camera_id=mac, last_seen_at=seen)
        except IntegrityError:
            # Another claim, or the first upload of a camera of that name, created it meanwhile:
            # link to it as to any existing camera, or refuse as then.
            camera = _claimable_camera(owner=owner, name=name, mac=mac)
            if camera is None:
                raise Conflict("Another of your cameras already has this MAC address as its camera_id") from None
            created = False
    if not created:
        changes: dict = {"camera_id": mac}
        if seen is not None:
            moment = Value(seen, output_field=DateTimeField())
            changes["last_seen_at"] = Greatest(Coalesce("last_seen_at", moment), moment)
        Camera.objects.filter(pk=camera.pk).update(**changes)
        camera.refresh_from_db()
    device.camera = camera
    device.claimed_at = timezone.now()
    device.save(update_fields=["camera", "claimed_at"])
    # Now (so this process's next poll sees it) and after commit (a poll in between cached the old claim).
    device_forget(mac)
    transaction.on_commit(lambda: device_forget(mac))
    return camera, created


def _claimable_camera(*, owner: AbstractBaseUser, name: str, mac: str) -> Camera | None:
    """The owner's camera ``name``, locked, when a claim of ``mac`` may link it; None if there is
    none. Conflict when it has another camera_id or device, or another camera has this MAC."""
    camera = Camera.objects.select_for_update().filter(owner=owner, name=name).first()
    if camera is not None:
        if camera.camera_id not in ("", mac):
            raise Conflict(f"Camera {name!r} already has the camera_id {camera.camera_id!r}")
        if Device.objects.filter(camera=camera).exists():
            raise Conflict(f"Camera {name!r} is already linked to another device")
    if Camera.objects.filter(owner=owner, camera_id=mac).exclude(pk=getattr(camera, "pk", None)).exists():
        raise Conflict("Another of your cameras already has this MAC address as its camera_id")
    return camera


@transaction.atomic
def device_unclaim(*, device: Device) -> None:
    """Unlink a device from its camera (the camera and its content stay); it polls as unclaimed."""
    Device.objects.filter(pk=device.pk).update(camera=None, claimed_at=None)
    device_forget(device.mac_address)
    transaction.on_commit(lambda: device_forget(device.mac_address))


def devices_delete(*, devices: QuerySet[Device]) -> int:
    """Delete devices (a claimed one's camera and content stay); their cached poll entries (a
    claimed one's holds the owner's Upload Token) are forgotten now and after commit, as
    ``device_unclaim`` does: a poll that read a row before the delete commits must not keep it.
    Returns how many were deleted."""
    macs = list(devices.values_list("mac_address", flat=True))
    deleted, _ = devices.delete()
    devices_forget(mac_addresses=macs)
    transaction.on_commit(lambda: devices_forget(mac_addresses=macs))
    return deleted


def devices_forget_for_owner(*, owner_id: int) -> int:
    """Drop the cached entries of the owner's claimed devices, so their next poll reloads the
    account's settings (after an Upload Token rotation: the camera must not keep the dead token
    until its next coalesced write). Returns how many devices were forgotten."""
    macs = Device.objects.filter(camera__owner_id=owner_id).values_list("mac_address", flat=True)
    return devices_forget(mac_addresses=macs)


def devices_forget(*, mac_addresses: Iterable[str]) -> int:
    """Drop the cached entries (and start a new generation) of the devices ``mac_addresses``, so
    their next poll reloads their claim from the database. For devices whose claim went with
    rows that no longer exist (a deleted account's cameras: the owner cannot be looked up any
    more, so the caller collected the MACs before the delete). Returns how many."""
    macs = sorted(set(mac_addresses))  # as stored: normalized
    for mac in macs:
        device_forget(mac)
    return len(macs)


def device_find(*, mac_address: str) -> Device:
    device = Device.objects.filter(mac_address=mac_normalize(mac_address)).first()
    if device is None:
        raise NotFound("No device with that MAC address")
    return device
