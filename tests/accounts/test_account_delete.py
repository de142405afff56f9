# ruff: noqa: F811 (fixtures imported from other test packages are parameters here)
"""Deleting an account (Django admin, through ``accounts.deletion.account_delete``) leaves nothing of
it behind: rows, OAuth credentials, stored content, download zips, devices' cached claims; and
touches nothing of any other account."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.files.storage import default_storage
from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_grant_model, get_refresh_token_model

from accounts.models import AccountSettings
from accounts.selectors import account_settings_get
from accounts.services import oauth_application_create
from cameras.devices import device_claim
from cameras.models import Camera, Device
from search.models import Camio, Download
from tests.cameras.conftest import Camera as IPCamera
from tests.factories import make_user
from tests.search.test_share_helpers import hours_ago, make_camera, make_camio, make_content
from tests.uploads.conftest import (
    _private_media,  # noqa: F401 (autouse: a private MEDIA_ROOT)
    files_under,
)
from tests.uploads.samples import jpeg_bytes
from uploads.models import Content

User = get_user_model()
AccessToken, RefreshToken, Grant = get_access_token_model(), get_refresh_token_model(), get_grant_model()


@pytest.fixture(autouse=True)
def _test_settings(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.PUBLIC_BASE_URL = "http://testserver"


def upload(client, owner, name: str, *, color=(200, 30, 30)):
    token = account_settings_get(user=owner).upload_token
    return client.generic(
        "PUT",
        f"/api/users/{token}/cameras/front/content/{name}?camera_id=1234",
        jpeg_bytes(120, 90, color=color),
        content_type="image/jpeg",
    )


def delete_in_admin(admin_client, user, capture) -> None:
    """The operator's delete: the confirmation page, then its POST, committed (tasks run)."""
    page = admin_client.get(f"/admin/auth/user/{user.pk}/delete/")
    assert page.status_code == 200 and not page.context["perms_lacking"]
    with capture(execute=True):
        assert admin_client.post(f"/admin/auth/user/{user.pk}/delete/", {"post": "yes"}).status_code == 302
    assert not User.objects.filter(pk=user.pk).exists()


@pytest.mark.django_db
def test_deleting_an_account_removes_its_stored_content_and_no_one_elses(
    admin_client, anon, user, other_user, _private_media, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        for owner in (user, other_user):
            for i in range(2):
                assert upload(anon, owner, f"2026-11-20T12:00:0{i}Z.jpg", color=(i * 90, 30, 30)).status_code == 201
    bobs = sorted(Content.objects.filter(owner=other_user).values_list("storage_key", flat=True))
    assert len(files_under(_private_media)) == 4

    delete_in_admin(admin_client, user, django_capture_on_commit_callbacks)

    assert files_under(_private_media) == bobs, "only the other account's bytes stay"
    assert not Content.objects.filter(owner_id=user.pk).exists() and not Camera.objects.filter(owner_id=user.pk)
    assert Content.objects.filter(owner=other_user).count() == 2 and Camera.objects.filter(owner=other_user).exists()
    assert all(default_storage.exists(key) for key in bobs)
    # The other account goes on uploading, and its bytes stay put.
    with django_capture_on_commit_callbacks(execute=True):
        assert upload(anon, other_user, "2026-11-20T12:00:05Z.jpg").status_code == 201
    assert len(files_under(_private_media)) == 3


@pytest.mark.django_db
def test_an_operator_can_delete_an_account_that_used_the_api(
    admin_client, api, other_api, user, other_user, django_capture_on_commit_callbacks
):
    """Developer tokens, a partner's OAuth tokens and grants, and applications the account
    registered: the token admins refuse deleting tokens, but not deleting the account."""
    assert api.get("/api/users/me/cameras").status_code == 200  # its developer token works
    partner, _ = oauth_application_create(name="Partner", redirect_uris=["https://partner.example.com/cb"])
    own_app, _ = oauth_application_create(name="Alice's", redirect_uris=["https://alice.example.com/cb"], owner=user)
    expires = timezone.now() + timedelta(hours=1)
    access = AccessToken.objects.create(user=user, application=partner, token="alice-partner", expires=expires)
    RefreshToken.objects.create(user=user, application=partner, token="alice-refresh", access_token=access)
    Grant.objects.create(
        user=user,
        application=partner,
        code="alice-code",
        expires=expires,
        redirect_uri="https://partner.example.com/cb",
    )
    # Bob authorized Alice's application: his token for it goes with the application.
    AccessToken.objects.create(user=other_user, application=own_app, token="bob-on-alices-app", expires=expires)

    page = admin_client.get(f"/admin/auth/user/{user.pk}/delete/")
    assert page.status_code == 200 and not page.context["perms_lacking"]
    listed = page.content.decode()
    assert "Access token" in listed and "Refresh token" in listed and "Grant" in listed, "the page lists them"

    with django_capture_on_commit_callbacks(execute=True):
        assert admin_client.post(f"/admin/auth/user/{user.pk}/delete/", {"post": "yes"}).status_code == 302

    assert not User.objects.filter(pk=user.pk).exists()
    assert not AccountSettings.objects.filter(user_id=user.pk).exists()
    assert not AccessToken.objects.filter(user_id=user.pk).exists() and not RefreshToken.objects.exists()
    assert not Grant.objects.exists() and not type(own_app).objects.filter(pk=own_app.pk).exists()
    assert not AccessToken.objects.filter(token="bob-on-alices-app").exists()
    assert api.get("/api/users/me/cameras").status_code == 401
    # Bob's own developer token and the partner application are untouched.
    assert other_api.get("/api/users/me/cameras").status_code == 200
    assert type(partner).objects.filter(pk=partner.pk).exists()


@pytest.mark.django_db
def test_staff_without_the_token_models_delete_permission_cannot_delete_an_account_with_tokens(client, user, token):
    """Only the token admins' blanket refusal is lifted, not the models' permissions."""
    staff = make_user("operator")
    staff.is_staff = True
    staff.save()
    staff.user_permissions.add(*Permission.objects.filter(codename__in=["view_user", "change_user", "delete_user"]))
    client.force_login(staff)

    lacking = client.get(f"/admin/auth/user/{user.pk}/delete/").context["perms_lacking"]
    assert "access token" in {str(name) for name in lacking}
    assert client.post(f"/admin/auth/user/{user.pk}/delete/", {"post": "yes"}).status_code == 403
    assert User.objects.filter(pk=user.pk).exists()


@pytest.mark.django_db
def test_deleting_a_requester_removes_their_zips_and_not_the_owners(
    admin_client, api, other_api, user, other_user, django_capture_on_commit_callbacks
):
    """Bob downloads Alice's public Camio (his zip lives under Alice's prefix), and so does Alice;
    deleting Bob removes his zip at once, and Alice's stays and is still served."""
    front = make_camera(user, "front")
    for i in range(2):
        make_content(user, front, at=hours_ago(2 - i))
    camio = make_camio(user, cameras=["front"], start=hours_ago(24))
    with django_capture_on_commit_callbacks(execute=True):
        assert other_api.post(f"/api/camios/{camio.view_token}/downloads").status_code == 200
        assert api.post(f"/api/camios/{camio.view_token}/downloads").status_code == 200
    bobs, alices = Download.objects.get(requester=other_user), Download.objects.get(requester=user)
    assert bobs.status == alices.status == Download.Status.READY
    assert bobs.storage_key.startswith(f"downloads/{user.pk}/")
    assert default_storage.exists(bobs.storage_key) and default_storage.exists(alices.storage_key)

    delete_in_admin(admin_client, other_user, django_capture_on_commit_callbacks)

    assert not default_storage.exists(bobs.storage_key), "the deleted requester's zip stays in storage"
    assert default_storage.exists(alices.storage_key)
    status = api.get(f"/api/camios/{camio.view_token}/downloads/{alices.public_id}")
    assert status.status_code == 200 and status.json()["url"]


@pytest.mark.django_db
def test_deleting_a_camio_owner_removes_the_zips_of_its_camios_whoever_asked(
    admin_client, api, other_api, user, other_user, django_capture_on_commit_callbacks
):
    """Bob downloads Alice's public Camio and his own; deleting Alice removes every zip of her
    Camios (Bob's included: they are hers), and Bob's zip of his own Camio stays."""
    front = make_camera(user, "front")
    make_content(user, front, at=hours_ago(1))
    back = make_camera(other_user, "back")
    make_content(other_user, back, at=hours_ago(1))
    alices = make_camio(user, cameras=["front"], start=hours_ago(24))
    bobs = make_camio(other_user, cameras=["back"], start=hours_ago(24))
    with django_capture_on_commit_callbacks(execute=True):
        assert api.post(f"/api/camios/{alices.view_token}/downloads").status_code == 200
        assert other_api.post(f"/api/camios/{alices.view_token}/downloads").status_code == 200
        assert other_api.post(f"/api/camios/{bobs.view_token}/downloads").status_code == 200
    of_alices = list(Download.objects.filter(camio=alices).values_list("storage_key", flat=True))
    of_bobs = Download.objects.get(camio=bobs).storage_key
    assert len(of_alices) == 2 and all(default_storage.exists(key) for key in [*of_alices, of_bobs])

    delete_in_admin(admin_client, user, django_capture_on_commit_callbacks)

    assert not any(default_storage.exists(key) for key in of_alices), "zips of the deleted account's Camios stay"
    assert not Camio.objects.filter(owner_id=user.pk).exists()
    assert default_storage.exists(of_bobs)
    assert other_api.get(
        f"/api/camios/{bobs.view_token}/downloads/{Download.objects.get(camio=bobs).public_id}"
    ).json()["url"]


@pytest.mark.django_db
def test_a_deleted_accounts_devices_are_not_told_its_upload_token_and_camera(
    admin_client, user, other_user, settings, django_capture_on_commit_callbacks
):
    """Claimed cameras poll every ~30 s and are answered from a cached entry carrying the owner's
    Upload Token and camera name. Deleted with admin's "delete selected" action (the bulk path)."""
    settings.FTP_GATEWAY_PORT, settings.FTP_GATEWAY_HOST = 21, "localhost"
    alices_cam, bobs_cam = IPCamera("12:34:56:78:90:12"), IPCamera("12:34:56:78:90:34")
    for cam, owner in ((alices_cam, user), (bobs_cam, other_user)):
        cam.poll()
        device_claim(owner=owner, mac_address=cam.mac, name="front", check_near=False)
    alices_token = account_settings_get(user=user).upload_token
    bobs_token = account_settings_get(user=other_user).upload_token
    assert alices_token in alices_cam.poll().content.decode()  # cached from here on
    assert bobs_token in bobs_cam.poll().content.decode()

    selected = {"action": "delete_selected", "_selected_action": [user.pk]}
    page = admin_client.post("/admin/auth/user/", selected)
    assert page.status_code == 200 and not page.context["perms_lacking"]
    with django_capture_on_commit_callbacks(execute=True):
        assert admin_client.post("/admin/auth/user/", {**selected, "post": "yes"}).status_code == 302
    assert not User.objects.filter(pk=user.pk).exists()

    answer = alices_cam.poll().content.decode()
    assert alices_token not in answer, "the deleted account's Upload Token is still sent"
    assert Device.objects.get(mac_address="123456789012").camera_id is None
    assert bobs_token in bobs_cam.poll().content.decode()
    assert Device.objects.get(mac_address="123456789034").camera.owner == other_user


@pytest.mark.django_db
def test_deleting_an_account_with_nothing_stored_works(admin_client, django_capture_on_commit_callbacks):
    """A fresh account: no cameras, no downloads, no devices, no tokens."""
    fresh = make_user("fresh")
    delete_in_admin(admin_client, fresh, django_capture_on_commit_callbacks)
    assert not AccountSettings.objects.filter(user_id=fresh.pk).exists()
