"""Account services: developer tokens and partner OAuth applications."""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from oauth2_provider.generators import generate_client_secret
from oauth2_provider.models import get_access_token_model, get_application_model, set_token_value

Application = get_application_model()
AccessToken = get_access_token_model()

DEV_TOKEN_APPLICATION = "Developer tokens"  # noqa: S105 (a name)


def _dev_token_application() -> Application:
    """The internal application that developer tokens belong to (created on first use)."""
    app, _ = Application.objects.get_or_create(
        name=DEV_TOKEN_APPLICATION,
        user=None,
        defaults={
            "client_type": Application.CLIENT_CONFIDENTIAL,
            "authorization_grant_type": Application.GRANT_AUTHORIZATION_CODE,
            "redirect_uris": "",
            "skip_authorization": False,
        },
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


def notification_send(
    *, user: AbstractBaseUser, kind: str, title: str, body: str = "", data: dict | None = None
) -> str | None:
    """Notify ``user`` of ``kind`` (one of NOTIFICATION_TYPES) as their preferences say.

    OFF: nothing. EMAIL: a mail through Django's mail backend (skipped if the user has no email).
    PUSH: a Notification row the API lists. Returns the method used, or None when nothing was sent.
    Callers de-duplicate (one alert per outage, per event): this function sends what it is given.
    """
    from django.core.mail import send_mail

    from accounts.models import NOTIFICATION_TYPES, Notification
    from accounts.selectors import account_settings_get

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


def muted_names(*, user: AbstractBaseUser, kind: str = "motion_alerts") -> set[str]:
    """Camera or zone names muted by an ``options`` value such as ``mute driveway,street``."""
    from accounts.selectors import account_settings_get

    options = account_settings_get(user=user).notifications.get(kind, {}).get("options", "") or ""
    options = options.strip()
    if not options.lower().startswith("mute"):
        return set()
    return {name.strip().lower() for name in options[4:].split(",") if name.strip()}
