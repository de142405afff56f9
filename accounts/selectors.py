"""Account reads shared by every app: whose data a request acts on, settings of a user."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser

from accounts.models import AccountSettings, Guest
from config.api.errors import Forbidden

User = get_user_model()


def account_settings_get(*, user: AbstractBaseUser) -> AccountSettings:
    """The user's settings row, created with defaults (and a fresh Upload Token) on first use."""
    row, _ = AccountSettings.objects.get_or_create(user=user)
    return row


def account_for_upload_token(*, token: str) -> AccountSettings | None:
    """The settings (with user) that own an Upload Token, or None."""
    if not token:
        return None
    return AccountSettings.objects.select_related("user").filter(upload_token=token, user__is_active=True).first()


def own_account(*, user: AbstractBaseUser, host_email: str | None, reading: bool = False) -> AbstractBaseUser:
    """Whose data a request *changes* (or, ``reading``, reads where a host's data is none of a
    guest's business: settings, tokens, guests, hooks, Camios): always the caller's own. ``user=``
    naming another account is refused, not quietly applied to (or answered with) the caller's own
    data."""
    if not host_email or host_email.strip().lower() == (user.email or "").lower():
        return user
    if reading:
        raise Forbidden("This is private to its account: guests (user=) read a host's cameras, content and search only")
    raise Forbidden("Only the owner of an account can change it; guests (user=) can only read")


def acting_owner(*, user: AbstractBaseUser, host_email: str | None) -> AbstractBaseUser:
    """Whose data a request reads: the caller, or with ``user=<host email>`` a host they are a guest of.

    Raises Forbidden unless the caller is that host or one of its guests.
    """
    if not host_email or host_email.strip().lower() == (user.email or "").lower():
        return user
    guest_of = (
        Guest.objects.select_related("host")
        .filter(guest=user, host__email__iexact=host_email.strip(), host__is_active=True)
        .first()
    )
    if guest_of is None:
        raise Forbidden("You are not a guest of that account")
    return guest_of.host
