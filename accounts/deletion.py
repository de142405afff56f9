"""Deleting an account: its rows (by cascade), its OAuth credentials, and, after commit, what the
other apps keep of it outside the database (stored bytes, download zips, devices' cached claims).

``accounts`` sits below the apps that hold the account's data, so it does not import them: it
reads what their cleanups need through the user's reverse relations before the rows go, and hands
the cleanups to their tasks by name.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from oauth2_provider.models import (
    get_access_token_model,
    get_application_model,
    get_device_grant_model,
    get_grant_model,
    get_id_token_model,
    get_refresh_token_model,
)

from config.tasks import enqueue_on_commit


def oauth_models() -> list[type]:
    """django-oauth-toolkit's models holding an account's credentials and applications, in the
    order :func:`account_delete` removes them."""
    return [
        get_refresh_token_model(),
        get_access_token_model(),
        get_id_token_model(),
        get_grant_model(),
        get_device_grant_model(),
        get_application_model(),
    ]


def account_delete(*, user: AbstractBaseUser) -> None:
    """Delete the account ``user`` and everything that is its, leaving nothing behind.

    In one transaction: its OAuth tokens, grants and ID tokens (and other accounts' tokens for the
    applications it registered), its applications, then the user row, whose cascade takes the
    rest (settings, guests, cameras, content, events, Camios, downloads, hooks …). After commit,
    by task: its stored content (the ``content/<id>/`` prefix), the zips of its Camios and of the
    downloads it asked for, and the cached claims of the devices it had claimed (which would
    otherwise keep handing its Upload Token to those cameras for a few minutes). With the broker
    down the delete still stands; daily sweeps catch up with the bytes and zips.
    """
    with transaction.atomic():
        # The user row locked first: an upload, claim or download committing a row that points at
        # the account meanwhile would fail the delete; they wait here and then find it gone.
        if not type(user).objects.select_for_update().filter(pk=user.pk).exists():
            return  # deleted meanwhile
        owner_id = user.pk
        # Its cameras too, as deleting one camera does: uploads and analysis lock the camera
        # they write under, not the user.
        list(user.cameras.select_for_update().order_by("pk").values_list("pk", flat=True))
        # What the cleanups need and the cascade removes: collected now.
        macs = list(user.cameras.filter(device__isnull=False).values_list("device__mac_address", flat=True))
        zips = sorted(set(user.downloads.exclude(storage_key="").values_list("storage_key", flat=True)))

        # Deleted here rather than by the cascade alone: the admin lets a cascade go only over
        # models it may delete, and django-oauth-toolkit's token admins refuse that to everyone
        # (they revoke instead). A deleted account needs no revoked tombstones.
        # (Its applications take other accounts' tokens for them along.)
        for model in oauth_models():
            model.objects.filter(user_id=owner_id).delete()
        user.delete()

        # The account is gone once this commits: a broker that cannot be reached then must not
        # turn that into an error. The daily sweeps remove what the lost messages would have,
        # and the devices' cached claims lapse by themselves (cameras.polling).
        enqueue_on_commit(
            "cameras.purge_owner_storage", owner_id, if_unsent="log", backstop="cameras.purge_orphaned_storage"
        )
        enqueue_on_commit(
            "search.delete_account_downloads", owner_id, zips, if_unsent="log", backstop="search.purge_orphaned_zips"
        )
        if macs:
            enqueue_on_commit("cameras.devices_forget", macs, if_unsent="log", backstop="the poll cache's expiry")
