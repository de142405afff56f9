"""Camera writes."""

from __future__ import annotations

from django.db import transaction

from cameras.models import Camera


@transaction.atomic
def camera_delete(*, camera: Camera) -> None:
    """Delete a camera with its zones, content and events (cascade); its bytes go in a task."""
    from cameras.tasks import purge_camera_storage

    owner_id, camera_pk = camera.owner_id, camera.pk
    camera.delete()
    purge_camera_storage.delay_on_commit(owner_id, camera_pk)
