from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models


def new_session_id() -> str:
    return secrets.token_urlsafe(8)


class Camera(models.Model):
    """A camera of one account, named by the path key ``name`` (unique per account)."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="cameras")
    name = models.CharField(max_length=64)
    # The client's own id for the camera (e.g. its MAC); unique per account when given.
    camera_id = models.CharField(max_length=128, blank=True, default="")
    attribution = models.JSONField(default=dict, blank=True)
    tags = models.JSONField(default=list, blank=True)
    refresh_interval = models.PositiveIntegerField(default=0)
    capabilities = models.JSONField(default=list, blank=True)
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    resolution_width = models.PositiveIntegerField(null=True, blank=True)
    resolution_height = models.PositiveIntegerField(null=True, blank=True)
    session_id = models.CharField(max_length=32, default=new_session_id)
    recording_enabled = models.BooleanField(default=True)
    # Last sight by poll or upload (heartbeats included); written coalesced, see cameras.heartbeat.
    last_seen_at = models.DateTimeField(null=True, blank=True)
    last_upload_at = models.DateTimeField(null=True, blank=True)
    # The online state the heartbeat sweep last recorded; transitions are diffs against it.
    online_state = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            # Serves the path lookup (owner, name) too.
            models.UniqueConstraint(fields=["owner", "name"], name="camera_name_per_owner"),
            models.UniqueConstraint(
                fields=["owner", "camera_id"],
                condition=~models.Q(camera_id=""),
                name="camera_id_per_owner",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Zone(models.Model):
    """A named region of a camera's frame: polygons in normalized coordinates.

    Coordinates are fractions of the frame: x from the left edge (0) to the right (1), y from the
    top edge (0) to the bottom (1), as image pixels are addressed. A name starting with ``-``
    marks a negative zone: motion wholly inside it is ignored.
    """

    camera = models.ForeignKey(Camera, on_delete=models.CASCADE, related_name="zones")
    name = models.CharField(max_length=64)
    polygons = models.JSONField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["camera", "name"], name="zone_name_per_camera")]

    def __str__(self) -> str:
        return self.name

    @property
    def is_negative(self) -> bool:
        return self.name.startswith("-")
