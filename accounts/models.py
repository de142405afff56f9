from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models

NOTIFICATION_TYPES = ("motion_alerts", "camera_diagnostics", "announcements", "newsletters", "camio_daily")
NOTIFICATION_STATES = ("ON", "OFF")
NOTIFICATION_METHODS = ("EMAIL", "PUSH")


def default_notifications() -> dict:
    return {
        "motion_alerts": {"state": "ON", "method": "PUSH", "options": ""},
        "camera_diagnostics": {"state": "ON", "method": "EMAIL", "options": ""},
        "announcements": {"state": "ON", "method": "EMAIL", "options": ""},
        "newsletters": {"state": "OFF", "method": "EMAIL", "options": ""},
        "camio_daily": {"state": "OFF", "method": "EMAIL", "options": ""},
    }


def new_upload_token() -> str:
    # 192 random bits, URL-safe: it travels in upload paths and FTP user names.
    return secrets.token_urlsafe(24)


class AccountSettings(models.Model):
    """One row per user: notification preferences, the recording switch and the Upload Token."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="account_settings")
    notifications = models.JSONField(default=default_notifications)
    recording_enabled = models.BooleanField(default=True)
    # Unique index: every upload and FTP login looks the account up by this value.
    upload_token = models.CharField(max_length=64, unique=True, default=new_upload_token)
    upload_token_rotated_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "account settings"
        verbose_name_plural = "account settings"

    def __str__(self) -> str:
        return f"settings of {self.user}"


class Guest(models.Model):
    """A guest account that may read a host account's cameras and content."""

    host = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="guests")
    guest = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="hosts")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["host", "guest"], name="guest_once_per_host"),
            models.CheckConstraint(condition=~models.Q(host=models.F("guest")), name="guest_not_self"),
        ]

    def __str__(self) -> str:
        return f"{self.guest} guest of {self.host}"


class Notification(models.Model):
    """A PUSH notification, recorded for the owner's apps to list (``/api/users/me/notifications``)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=32, choices=[(k, k) for k in NOTIFICATION_TYPES])
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        # Serves the newest-first listing of one user's notifications.
        indexes = [models.Index(fields=["user", "-created_at"], name="notification_user_recent")]

    def __str__(self) -> str:
        return f"{self.kind}: {self.title}"
