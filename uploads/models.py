from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models

from cameras.models import Camera


def new_public_id() -> str:
    # Opaque ids in URLs and search results (as Camio's): no counts leak, no guessing.
    return secrets.token_urlsafe(16)


class Content(models.Model):
    """One uploaded image or video: its bytes in storage and what is known of them.

    Analysis results (interest, labels, motion boxes, the event) belong to the search app, which
    refers to this row; uploads knows nothing of them.
    """

    class Kind(models.TextChoices):
        IMAGE = "image", "image"
        VIDEO = "video", "video"

    class ImgType(models.TextChoices):
        MOTION = "m", "motion"
        AUDIO = "a", "audio"
        HEARTBEAT = "h", "heartbeat"

    public_id = models.CharField(max_length=32, unique=True, default=new_public_id)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="contents")
    camera = models.ForeignKey(Camera, on_delete=models.CASCADE, related_name="contents")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    content_type = models.CharField(max_length=64)  # image/jpeg, image/png, video/mp4, video/quicktime
    name = models.CharField(max_length=255, blank=True, default="")  # the uploaded file name
    storage_key = models.CharField(max_length=512, unique=True)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    # Kept so a retry that names its body by SHA-1 (``hash=``) is recognised before it is re-sent.
    sha1 = models.CharField(max_length=40, blank=True, default="")
    captured_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    img_type = models.CharField(max_length=1, choices=ImgType.choices, default=ImgType.MOTION)
    upload_mode = models.CharField(max_length=8, default="image")  # image | video (basis of events)
    rotation = models.PositiveSmallIntegerField(default=0)
    options = models.JSONField(default=list, blank=True)  # alternate, no_analysis, parse_timestamp
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    duration = models.FloatField(null=True, blank=True)  # seconds, video only
    codec = models.CharField(max_length=32, blank=True, default="")
    # A video's poster frame (JPEG) in storage, for thumbnails and analysis.
    poster_key = models.CharField(max_length=512, blank=True, default="")
    # Alternate media (options=alternate) points at the item it supports.
    alternate_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="alternates")

    class Meta:
        constraints = [
            # A retried upload of the same camera, name and bytes is the same content. Unnamed
            # uploads are dated by their arrival: the same bytes later are another capture (a
            # static scene), so their retries are found by time (uploads.services._existing).
            models.UniqueConstraint(
                fields=["camera", "name", "sha256"],
                condition=~models.Q(name=""),
                name="content_once_per_camera_named_bytes",
            ),
        ]
        indexes = [
            # Serves "the camera's previous frames" for motion analysis and the live image.
            models.Index(fields=["camera", "-captured_at"], name="content_camera_recent"),
            # Serves the sweep for items stored without their analysis (search.analysis.requeue).
            models.Index(fields=["created_at"], name="content_created"),
        ]

    def __str__(self) -> str:
        return f"{self.camera} {self.captured_at:%Y-%m-%d %H:%M:%S} {self.kind}"
