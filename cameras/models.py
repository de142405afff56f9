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
        indexes = [
            # Serves the heartbeat sweep: cameras whose recorded state may be stale.
            models.Index(fields=["online_state", "last_seen_at"], name="camera_state_seen"),
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


class Device(models.Model):
    """A polling IP camera known by its MAC address; claimed once a user names the camera it becomes.

    ``last_seen_at`` and the addresses are written coalesced (see ``cameras.polling``): the cache
    holds every poll, the row at most every ``CAMERA_HEARTBEAT_WRITE_SECONDS`` or on a change.
    """

    # Twelve lowercase hex digits, no separators: the form the poll answers with.
    mac_address = models.CharField(max_length=12, unique=True)
    maker = models.CharField(max_length=64)
    model = models.CharField(max_length=64)
    user_agent = models.CharField(max_length=200, blank=True, default="")
    ip_address = models.GenericIPAddressField(null=True, blank=True, help_text="Public address, as the server saw it")
    ip_address_local = models.CharField(max_length=64, blank=True, default="")
    # A MAC is no secret (sticker, box, LAN broadcast) and the poll is open: anyone can poll with
    # it from elsewhere. Polls from a new public address mark the device contested for a while,
    # and a contested device cannot be claimed by address (``cameras.devices.device_claim``).
    ip_address_changed_at = models.DateTimeField(
        null=True, blank=True, help_text="When polls last came from a different public address than before"
    )
    first_seen_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    camera = models.OneToOneField(Camera, null=True, blank=True, on_delete=models.SET_NULL, related_name="device")
    claimed_at = models.DateTimeField(null=True, blank=True)
    # Per configuration command: a fingerprint of the filled-in text last answered and that
    # answer's date, ``{"ftpAlarm": ["<fingerprint>", <epoch ms>]}``, so a date moves exactly when
    # the text does (``cameras.commands``). NULL: the device was answered before dates were recorded.
    command_dates = models.JSONField(null=True, default=dict, editable=False)

    class Meta:
        ordering = ["-last_seen_at"]
        indexes = [
            # Serves the discovery list: unclaimed devices recently seen from one public address.
            models.Index(fields=["ip_address", "last_seen_at"], name="device_ip_recent"),
        ]

    def __str__(self) -> str:
        return ":".join(self.mac_address[i : i + 2] for i in range(0, 12, 2))


class CommandTemplate(models.Model):
    """One configuration command for the cameras of a maker (and a model, or all its models).

    ``path`` keeps the camera-side placeholders ``$(hwaddr)`` and ``$(localip)`` verbatim: the
    camera fills them. Server-side placeholders in braces are filled per device (see
    ``cameras.commands.SERVER_PLACEHOLDERS``); those naming the owner are sent to claimed devices only.
    """

    AUDIENCE_ALL = "all"
    AUDIENCE_CLAIMED = "claimed"

    maker = models.CharField(max_length=64)
    model = models.CharField(max_length=64, blank=True, default="", help_text="Empty: every model of the maker")
    command_id = models.CharField("id", max_length=64)
    method = models.CharField(max_length=8, default="GET", choices=[(m, m) for m in ("GET", "POST", "PUT")])
    path = models.TextField()
    is_auth_required = models.BooleanField(default=True)
    regex_response = models.CharField(max_length=200, blank=True, default="")
    audience = models.CharField(
        max_length=8,
        default=AUDIENCE_ALL,
        choices=[(AUDIENCE_ALL, "every polling device"), (AUDIENCE_CLAIMED, "claimed devices only")],
    )
    position = models.PositiveSmallIntegerField(default=0)
    enabled = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["maker", "model", "position", "command_id"]
        constraints = [
            models.UniqueConstraint(fields=["maker", "model", "command_id"], name="command_id_per_maker_model"),
        ]

    def __str__(self) -> str:
        return f"{self.maker} {self.model or '*'}: {self.command_id}"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        from cameras.commands import OWNER_PLACEHOLDERS, SERVER_PLACEHOLDERS, placeholders_in

        unknown = placeholders_in(self.path) - SERVER_PLACEHOLDERS
        if unknown:
            raise ValidationError({"path": f"Unknown placeholder {{{sorted(unknown)[0]}}}"})
        if placeholders_in(self.path) & OWNER_PLACEHOLDERS and self.audience != self.AUDIENCE_CLAIMED:
            raise ValidationError({"audience": "A command naming the owner's settings is for claimed devices only"})


class StatusTransition(models.Model):
    """A camera going online or offline, as the heartbeat sweep saw it; offline ones carry the alert."""

    ALERT_NONE = "none"  # online transitions: nothing to tell
    ALERT_PENDING = "pending"  # offline, grace period running
    ALERT_SENDING = "sending"  # being sent; taken over if still so after the send lease (its run died)
    ALERT_SENT = "sent"
    ALERT_SKIPPED = "skipped"  # back online within the grace period, or muted / notifications off

    camera = models.ForeignKey(Camera, on_delete=models.CASCADE, related_name="transitions")
    is_online = models.BooleanField()
    at = models.DateTimeField()
    # The sight that decided it: the last one before going offline, the first one back.
    last_seen_at = models.DateTimeField(null=True, blank=True)
    alert = models.CharField(
        max_length=8,
        default=ALERT_NONE,
        choices=[(v, v) for v in (ALERT_NONE, ALERT_PENDING, ALERT_SENDING, ALERT_SENT, ALERT_SKIPPED)],
    )
    alerted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            # Serves a camera's transition history, newest first.
            models.Index(fields=["camera", "-at"], name="transition_camera_recent"),
            # Serves the sweep's lookup of outages whose grace period may be over.
            models.Index(fields=["alert", "at"], name="transition_alert_due"),
        ]

    def __str__(self) -> str:
        return f"{self.camera} {'online' if self.is_online else 'offline'} at {self.at:%Y-%m-%d %H:%M:%S}"
