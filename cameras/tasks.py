from celery import shared_task

from cameras.storage import camera_storage_prefix, storage_delete_prefix


@shared_task(name="cameras.purge_camera_storage", autoretry_for=(OSError,), max_retries=5, retry_backoff=True)
def purge_camera_storage(owner_id: int, camera_pk: int) -> int:
    """Remove the stored bytes of a deleted camera."""
    return storage_delete_prefix(camera_storage_prefix(owner_id=owner_id, camera_pk=camera_pk))
