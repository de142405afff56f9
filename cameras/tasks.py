from dataclasses import asdict

from celery import shared_task
from django.utils import timezone

from cameras import devices, heartbeat
from cameras.storage import (
    ORPHAN_GRACE,
    camera_storage_prefix,
    orphaned_content_purge,
    owner_storage_prefix,
    storage_delete_prefix,
)


@shared_task(name="cameras.purge_camera_storage", autoretry_for=(OSError,), max_retries=5, retry_backoff=True)
def purge_camera_storage(owner_id: int, camera_pk: int) -> int:
    """Remove the stored bytes of a deleted camera."""
    return storage_delete_prefix(camera_storage_prefix(owner_id=owner_id, camera_pk=camera_pk))


# Daily (beat): the backstop of the two purges above when their message was lost.
@shared_task(name="cameras.purge_orphaned_storage", autoretry_for=(OSError,), max_retries=3, retry_backoff=True)
def purge_orphaned_storage() -> int:
    """Remove the stored bytes of cameras and accounts deleted while their purge could not be sent."""
    return orphaned_content_purge(older_than=timezone.now() - ORPHAN_GRACE)


# Beat sends one every 30 s; a sweep still queued when the next is due is pointless, so it expires.
@shared_task(name="cameras.heartbeat_sweep", expires=25)
def heartbeat_sweep() -> dict:
    """Record online/offline transitions and send due camera_diagnostics alerts."""
    return asdict(heartbeat.heartbeat_sweep())


# Enqueued (by name, on commit) when an account's Upload Token changes: accounts sits below cameras.
@shared_task(name="cameras.owner_devices_forget")
def owner_devices_forget(owner_id: int) -> int:
    """Make the owner's claimed devices reload the account's settings on their next poll."""
    return devices.devices_forget_for_owner(owner_id=owner_id)


# Enqueued (by name, on commit) when an account is deleted: accounts sits below cameras.
@shared_task(name="cameras.purge_owner_storage", autoretry_for=(OSError,), max_retries=5, retry_backoff=True)
def purge_owner_storage(owner_id: int) -> int:
    """Remove the stored bytes of every camera of a deleted account."""
    return storage_delete_prefix(owner_storage_prefix(owner_id=owner_id))


# Enqueued (by name, on commit) when an account is deleted: its cameras are gone, so the caller
# collected the MACs of their devices before the delete.
@shared_task(name="cameras.devices_forget")
def devices_forget(mac_addresses: list[str]) -> int:
    """Make these devices reload their claim (now none) on their next poll."""
    return devices.devices_forget(mac_addresses=mac_addresses)
