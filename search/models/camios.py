from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models


def new_view_token() -> str:
    # 256 bits: unguessable, so a public Camio's token is its only key.
    return secrets.token_urlsafe(32)


def new_short_token() -> str:
    # 12 characters of [a-z0-9] (about 62 bits) for links, as the reference's "b1bqks3l76yo".
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(secrets.choice(alphabet) for _ in range(12))


class Camio(models.Model):
    """A shared slice of one account's content: a query, not a list of results.

    ``query`` holds the reference's Query object (``cameras``, ``labels``, ``events``,
    ``start_date``, ``end_date``, ``sort``), normalized. Deleting the row revokes both tokens.
    """

    class Type(models.TextChoices):
        PUBLIC = "public", "public"
        PRIVATE = "private", "private"

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="camios")
    name = models.CharField(max_length=200)
    type = models.CharField(max_length=8, choices=Type.choices, default=Type.PUBLIC)
    query = models.JSONField(default=dict, blank=True)
    view_token = models.CharField(max_length=64, unique=True, default=new_view_token)
    short_token = models.CharField(max_length=12, unique=True, default=new_short_token)
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name


def new_download_id() -> str:
    return secrets.token_urlsafe(16)


class Download(models.Model):
    """A zip of a Camio's content, built by a task; its status is a resource the requester reads."""

    class Status(models.TextChoices):
        PENDING = "pending", "pending"
        RUNNING = "running", "running"
        READY = "ready", "ready"
        FAILED = "failed", "failed"

    public_id = models.CharField(max_length=32, unique=True, default=new_download_id)
    camio = models.ForeignKey(Camio, null=True, on_delete=models.SET_NULL, related_name="downloads")
    requester = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="downloads")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    items_total = models.PositiveIntegerField(default=0)
    items_done = models.PositiveIntegerField(default=0)
    storage_key = models.CharField(max_length=512, blank=True, default="")
    size = models.PositiveBigIntegerField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    # Written when a build claims the row and as it progresses: a running build whose heartbeat
    # stopped (its worker died) may be claimed again (``search.downloads``).
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"download {self.public_id} ({self.status})"
