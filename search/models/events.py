from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models

from cameras.models import Camera
from search.similarity import descriptor_pack
from uploads.models import Content


def new_event_id() -> str:
    return secrets.token_urlsafe(16)


class PackedDescriptorField(models.BinaryField):
    """``Event.descriptor`` packed as float64 bytes (``search.similarity.descriptor_pack``), for the
    similarity search to read without decoding JSON.

    Derived from ``descriptor`` whenever the row is written (``save``, ``create``, ``bulk_create``;
    ``save(update_fields=…)`` must name both), so the two never disagree.
    """

    def pre_save(self, model_instance, add):
        value = descriptor_pack(model_instance.descriptor)
        setattr(model_instance, self.attname, value)
        return value


class InterestLevel(models.IntegerChoices):
    """The reference's ``motion_type`` filters, in increasing importance (all < smo < imo < lmo)."""

    ANY = 0, "all motion"
    SIGNIFICANT = 1, "significant motion (smo)"
    IMPORTANT = 2, "important motion (imo)"
    LABELED = 3, "labeled motion (lmo)"


class Event(models.Model):
    """A camera's items close together in time, seen as one happening.

    ``labels`` is the sorted union of its items' labels; ``EventLabel`` holds the same set one row
    per label so that search filters with indexes, not in Python.
    """

    class Basis(models.TextChoices):
        IMAGE = "image", "image"
        VIDEO = "video", "video"

    public_id = models.CharField(max_length=32, unique=True, default=new_event_id)
    # No single-column indexes of their own: the composite indexes below lead with them (deletes
    # and joins use those), and every event written would pay for two more.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="events", db_index=False
    )
    camera = models.ForeignKey(Camera, on_delete=models.CASCADE, related_name="events", db_index=False)
    basis = models.CharField(max_length=8, choices=Basis.choices, default=Basis.IMAGE)
    # Holds a video item: its basis is video, or a video uploaded in image mode backs its images.
    # What ``content_type=video`` searches find (a backing video is reachable no other way).
    has_video = models.BooleanField(default=False)
    earliest_date = models.DateTimeField()
    latest_date = models.DateTimeField()
    labels = models.JSONField(default=list, blank=True)
    max_interest_level = models.PositiveSmallIntegerField(choices=InterestLevel.choices, default=InterestLevel.ANY)
    max_interest_score = models.FloatField(default=0.0)
    cover = models.ForeignKey(Content, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    item_count = models.PositiveIntegerField(default=0)
    # Compact visual descriptor for similarity search (see search.similarity).
    descriptor = models.JSONField(default=list, blank=True)
    # The same descriptor as bytes: what similarity search reads (see PackedDescriptorField).
    descriptor_f64 = PackedDescriptorField(default=b"", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-latest_date"]
        indexes = [
            models.Index(fields=["owner", "-earliest_date"], name="event_owner_date"),
            models.Index(fields=["camera", "-latest_date"], name="event_camera_recent"),
            # sources=: a camera's events in date order, however busy the account's other cameras.
            models.Index(fields=["camera", "-earliest_date"], name="event_camera_date"),
            models.Index(fields=["owner", "max_interest_level", "-earliest_date"], name="event_owner_level_date"),
            # content_type=video: the few events holding a video, without reading the account's
            # image events in between (only video events enter it: image ingest pays nothing).
            models.Index(
                fields=["owner", "-earliest_date"], condition=models.Q(has_video=True), name="event_owner_video_date"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.camera} {self.earliest_date:%Y-%m-%d %H:%M:%S}"


class EventLabel(models.Model):
    """One label of one event (lower case): the index behind ``labels=`` and text search."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="label_rows")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    label = models.CharField(max_length=64)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["event", "label"], name="event_label_once")]
        indexes = [models.Index(fields=["owner", "label", "event"], name="eventlabel_owner_label")]

    def __str__(self) -> str:
        return self.label


class ItemAnalysis(models.Model):
    """What analysis found in one content item, and the event it belongs to."""

    class Status(models.TextChoices):
        PENDING = "pending", "pending"
        DONE = "done", "done"
        SKIPPED = "skipped", "skipped"  # heartbeat stills, alternates
        FAILED = "failed", "failed"

    content = models.OneToOneField(Content, primary_key=True, on_delete=models.CASCADE, related_name="analysis")
    event = models.ForeignKey(Event, null=True, blank=True, on_delete=models.SET_NULL, related_name="items")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    interest_score = models.FloatField(default=0.0)
    interest_level = models.PositiveSmallIntegerField(choices=InterestLevel.choices, default=InterestLevel.ANY)
    labels = models.JSONField(default=list, blank=True)
    # [{"x": .., "y": .., "w": .., "h": ..}, …] in normalized frame coordinates (origin top left).
    motion_boxes = models.JSONField(default=list, blank=True)
    descriptor = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True, default="")
    analyzed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "item analyses"
        indexes = [models.Index(fields=["event", "interest_level"], name="item_event_level")]

    def __str__(self) -> str:
        return f"analysis of {self.content_id}"
