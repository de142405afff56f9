"""Account services: tokens, OAuth applications, settings, guests and notifications."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from oauth2_provider.generators import generate_client_secret
from oauth2_provider.models import get_access_token_model, get_application_model, set_token_value

from accounts.models import (
    NOTIFICATION_METHODS,
    NOTIFICATION_STATES,
    NOTIFICATION_TYPES,
    AccountSettings,
    Guest,
    Notification,
    new_upload_token,
)
from accounts.selectors import account_settings_get
from config.api.errors import BadRequest, NotFound
from config.tasks import enqueue_on_commit

Application = get_application_model()
AccessToken = get_access_token_model()

DEV_TOKEN_APPLICATION = "Developer tokens"  # noqa: S105 (a name)


def _dev_token_application() -> Application:
    """The internal application that developer tokens belong to (created on first use).

    The oldest one if two first uses at once each made one (nothing makes the name unique in
    django-oauth-toolkit's table): a ``get`` would fail every later token with two of them.
    """
    app = Application.objects.filter(name=DEV_TOKEN_APPLICATION, user=None).order_by("pk").first()
    if app is None:
        app = Application.objects.create(
            name=DEV_TOKEN_APPLICATION,
            user=None,
            client_type=Application.CLIENT_CONFIDENTIAL,
            authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
            redirect_uris="",
            skip_authorization=False,
        )
    return app


@transaction.atomic
def dev_token_create(*, user: AbstractBaseUser) -> str:
    """Issue a long-lived developer access token for ``user`` (Camio's "Generate" button).

    Returns the raw token; only its checksum is stored, so it cannot be shown again.
    """
    raw = secrets.token_urlsafe(32)
    token = AccessToken(
        user=user,
        application=_dev_token_application(),
        expires=timezone.now() + timedelta(days=settings.DEV_TOKEN_EXPIRE_DAYS),
        scope="user",
    )
    set_token_value(token, raw)
    token.save()
    return raw


def oauth_application_create(
    *, name: str, redirect_uris: list[str], owner: AbstractBaseUser | None = None
) -> tuple[Application, str]:
    """Register a partner application for the authorization-code flow.

    Returns the application and its client secret in clear (stored hashed, shown only now).
    """
    secret = generate_client_secret()
    app = Application(
        name=name,
        user=owner,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=" ".join(redirect_uris),
        client_secret=secret,
    )
    app.full_clean(exclude=["client_secret"])
    app.save()
    return app, secret


def notification_send_lease() -> timedelta:
    """How long one ``notification_send`` may take, with margin: a claim to send a notification
    (a motion alert, a daily summary, an offline alert) still "being sent" after this was left by
    a run that died while sending, and is taken over. A send is SMTP's connection and a few
    commands, each within ``EMAIL_TIMEOUT``, or one row (PUSH)."""
    return timedelta(seconds=max(600, 10 * settings.EMAIL_TIMEOUT))


def notification_send(
    *, user: AbstractBaseUser, kind: str, title: str, body: str = "", data: dict | None = None
) -> str | None:
    """Notify ``user`` of ``kind`` (one of NOTIFICATION_TYPES) as their preferences say.

    OFF: nothing. EMAIL: a mail through Django's mail backend (skipped if the user has no email).
    PUSH: a Notification row the API lists. Returns the method used, or None when nothing was sent.
    Callers de-duplicate (one alert per outage, per event): this function sends what it is given.
    """

    if kind not in NOTIFICATION_TYPES:
        raise ValueError(f"unknown notification kind {kind!r}")
    preference = account_settings_get(user=user).notifications.get(kind, {})
    if preference.get("state") != "ON":
        return None
    if preference.get("method") == "EMAIL":
        if not user.email:
            return None
        send_mail(title, body or title, settings.DEFAULT_FROM_EMAIL, [user.email], fail_silently=False)
        return "EMAIL"
    Notification.objects.create(user=user, kind=kind, title=title, body=body, data=data or {})
    return "PUSH"


# The reference's only form of ``options``: "mute driveway,street" (camera or label names).
_MUTE_OPTIONS = re.compile(r"^mute\s+[^,]*[^,\s][^,]*(?:,[^,]*[^,\s][^,]*)*,?\s*$", re.IGNORECASE)


def muted_names(*, user: AbstractBaseUser, kind: str = "motion_alerts") -> set[str]:
    """Camera, zone or label names muted by an ``options`` value such as ``mute driveway,street``,
    as written (``camera_is_muted`` matches cameras; zones and labels ignore case)."""

    options = account_settings_get(user=user).notifications.get(kind, {}).get("options", "") or ""
    options = options.strip()
    if not _MUTE_OPTIONS.match(options):
        return set()
    return {name.strip() for name in options[4:].split(",") if name.strip()}


def camera_is_muted(name: str, *, muted: set[str], camera_names: Iterable[str]) -> bool:
    """Whether the camera ``name`` is muted. Camera names are case-sensitive ("Front" and "front"
    are two cameras): a muted name matches its camera exactly, and ignores case only when no
    camera of the account (``camera_names``) has exactly that name."""
    if name in muted:
        return True
    folded = name.casefold()
    alike = [m for m in muted if m.casefold() == folded]
    return bool(alike) and not set(alike) & set(camera_names)


def account_settings_update(*, user: AbstractBaseUser, data: object) -> AccountSettings:
    """Apply a partial settings update (the reference's POST body); what it does not name is kept.

    ``upload_token`` is read-only and ignored. Unknown keys and invalid values raise BadRequest,
    and nothing is written unless everything is valid.
    """

    if not isinstance(data, dict):
        raise BadRequest("The body must be a JSON object")
    unknown = set(data) - {"notifications", "recording_enabled", "upload_token"}
    if unknown:
        raise BadRequest(f"Unknown setting {sorted(unknown)[0]!r}")
    recording = data.get("recording_enabled")
    if "recording_enabled" in data and not isinstance(recording, bool):
        raise BadRequest("recording_enabled must be true or false")
    changes = notifications_validate(data.get("notifications", {}))

    account_settings_get(user=user)  # make sure the row exists before locking it
    with transaction.atomic():
        row = AccountSettings.objects.select_for_update().get(user=user)
        row.notifications = notifications_merge(row.notifications, changes)
        if "recording_enabled" in data:
            row.recording_enabled = recording
        row.save(update_fields=["notifications", "recording_enabled", "updated_at"])
    return row


def notifications_merge(current: dict, changes: dict) -> dict:
    """``current`` preferences with (validated) ``changes`` applied; what they do not name is kept."""
    merged = dict(current)
    for kind, preference in changes.items():
        merged[kind] = {**merged.get(kind, {"state": "OFF", "method": "EMAIL", "options": ""}), **preference}
    return merged


def notifications_validate(changes: object) -> dict:
    """Notification preferences as the settings API takes them (a partial update); BadRequest
    says what is wrong. The admin checks what it saves with the same rules."""
    if not isinstance(changes, dict):
        raise BadRequest("notifications must be an object keyed by notification type")
    for kind, preference in changes.items():
        if kind not in NOTIFICATION_TYPES:
            raise BadRequest(f"Unknown notification type {kind!r}; known: {', '.join(NOTIFICATION_TYPES)}")
        if not isinstance(preference, dict):
            raise BadRequest(f"notifications.{kind} must be an object with state, method and options")
        extra = set(preference) - {"state", "method", "options"}
        if extra:
            raise BadRequest(f"Unknown field notifications.{kind}.{sorted(extra)[0]}")
        if "state" in preference and preference["state"] not in NOTIFICATION_STATES:
            raise BadRequest(f"notifications.{kind}.state must be ON or OFF")
        if "method" in preference and preference["method"] not in NOTIFICATION_METHODS:
            raise BadRequest(f"notifications.{kind}.method must be EMAIL or PUSH")
        options = preference.get("options", "")
        if not isinstance(options, str) or len(options) > 500:
            raise BadRequest(f"notifications.{kind}.options must be a string of at most 500 characters")
        if options.strip() and not _MUTE_OPTIONS.match(options.strip()):
            raise BadRequest(
                f"notifications.{kind}.options must be empty or 'mute' and comma-separated names, "
                "like 'mute driveway,street'"
            )
    return changes


def upload_token_rotate(*, user: AbstractBaseUser) -> str:
    """Give the account a new Upload Token (a new "upload code"); the old one stops working at once."""

    account_settings_get(user=user)
    token = new_upload_token()
    AccountSettings.objects.filter(user=user).update(
        upload_token=token, upload_token_rotated_at=timezone.now(), updated_at=timezone.now()
    )
    # Claimed cameras must get the new token at their next poll, not after the poll cache's write
    # window: cameras (above accounts) forgets them, handed over by task name.
    enqueue_on_commit(
        "cameras.owner_devices_forget", user.pk, required=False, if_unsent="log", backstop="the poll cache's expiry"
    )
    return token


def upload_token_hint(*, email: str) -> str:
    """The reference's hint: the address's local part, the domain hidden (``test@...``)."""
    local = (email or "").partition("@")[0]
    return f"{local}@..."


def guest_add(*, host: AbstractBaseUser, email: object) -> tuple[Guest, bool]:
    """Share the host's cameras and content, read-only, with the account using ``email``.

    Returns the guest row and whether it is new (adding a guest again changes nothing)."""

    if not isinstance(email, str) or "@" not in email or len(email) > 254:
        raise BadRequest("email must be an email address")
    email = email.strip()
    if email.lower() == (host.email or "").lower():
        raise BadRequest("You cannot be your own guest")
    guest = get_user_model().objects.filter(email__iexact=email, is_active=True).order_by("pk").first()
    if guest is None:
        raise NotFound("No account uses that email address")
    return Guest.objects.get_or_create(host=host, guest=guest)


def guest_remove(*, host: AbstractBaseUser, email: str) -> None:

    deleted, _ = Guest.objects.filter(host=host, guest__email__iexact=email.strip()).delete()
    if not deleted:
        raise NotFound("No guest with that email address")


def notification_mark_read(*, user: AbstractBaseUser, notification_id: int) -> None:

    updated = Notification.objects.filter(user=user, pk=notification_id).update(read_at=timezone.now())
    if not updated:
        raise NotFound("No such notification")
