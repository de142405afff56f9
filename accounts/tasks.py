"""Account tasks: thin wrappers around services."""

from __future__ import annotations

from celery import shared_task
from oauth2_provider.models import clear_expired


@shared_task(name="accounts.clear_expired_tokens", ignore_result=True)
def clear_expired_tokens() -> None:
    """Daily: expired OAuth access tokens, their refresh tokens once revoked past
    REFRESH_TOKEN_EXPIRE_SECONDS, and expired grants go (django-oauth-toolkit's ``cleartokens``)."""
    clear_expired()
