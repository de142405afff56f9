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
