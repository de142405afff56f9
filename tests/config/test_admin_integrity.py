"""The Django admin as an operator uses it saves nothing the API would refuse and breaks nothing:
Camio queries, notification preferences, zones and camera names checked as the API checks them;
a camera keeps its owner; deletes go through the services; a resumed hook starts clean; no
query per row; the Upload Token not shown in clear; a missing file is no 500."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client
from django.utils import timezone

from tests.search.test_search_factories import T0, camera, event, item

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_passwords_private_media(settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "media")},
        },
    }
    settings.MEDIA_ROOT = tmp_path / "media"


def form_data(response) -> dict:
    """What a browser posts back for the admin form in ``response``, unchanged (main form, inlines)."""
    data: dict = {}

    def add(form):
        for name, field in form.fields.items():
            key, value, widget = form.add_prefix(name), form[name].value(), field.widget
            if hasattr(widget, "widgets"):  # split date/time
                parts = value if isinstance(value, list) else widget.decompress(value)
                for i, part in enumerate(parts or [None] * len(widget.widgets)):
                    data[f"{key}_{i}"] = "" if part is None else str(part)
            elif isinstance(value, bool):
                if value:
                    data[key] = "on"
            elif isinstance(value, list | tuple):
                data[key] = [str(v) for v in value]
            elif value is not None:
                data[key] = value if isinstance(value, str) else str(value)
                if field.show_hidden_initial:
                    data[form.add_initial_prefix(name)] = data[key]

    add(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        management = inline.formset.management_form
        for name in management.fields:
            data[management.add_prefix(name)] = str(management[name].value())
        for form in inline.formset.initial_forms:
            add(form)
    return data


def _edit(admin_client, url: str, **changes):
    data = form_data(admin_client.get(url))
    data.update(changes)
    return admin_client.post(url, data)


def _form_errors(response) -> str:
    if response.context is None or "adminform" not in response.context:
        return ""
    return str(response.context["adminform"].form.errors)


def test_camio_admin_blank_query_is_a_form_error_not_a_500(user):
    """Clearing a Camio's query (or typing null) in admin: IntegrityError, a 500 page."""
    from search.models import Camio

    admin = Client(raise_request_exception=False)
    admin.force_login(type(user).objects.create_superuser("root", "root@example.com", "pw-root-12345"))
    camio = Camio.objects.create(owner=user, name="porch", query={"cameras": []})
    url = f"/admin/search/camio/{camio.pk}/change/"
    for blank in ("", "null"):
        response = _edit(admin, url, query=blank)
        assert response.status_code == 200, f"query={blank!r}: {response.status_code}"
        assert _form_errors(response)
    camio.refresh_from_db()
    assert camio.query == {"cameras": []}


@pytest.mark.parametrize("page", ["settings", "user"])
def test_notification_preferences_are_checked_in_admin(admin_client, user, api, page):
    """The admin stores any JSON as notifications; the account's settings API then answers 500."""
    from accounts.selectors import account_settings_get

    row = account_settings_get(user=user)
    before = dict(row.notifications)
    bad = '{"motion_alerts": "ON"}'
    if page == "settings":
        response = _edit(admin_client, f"/admin/accounts/accountsettings/{row.pk}/change/", notifications=bad)
    else:
        response = _edit(
            admin_client, f"/admin/auth/user/{user.pk}/change/", **{"account_settings-0-notifications": bad}
        )
    assert response.status_code == 200, "the admin saved notification preferences the service refuses"
    row.refresh_from_db()
    assert row.notifications == before
    assert api.get("/api/users/me/settings").status_code == 200


def test_zone_admin_checks_polygons_and_name_as_the_api_does(admin_client, user):
    """Zones saved in admin skip zone_polygons_validate/zone_name_validate: a bad point makes every
    motion analysis of the camera raise (ValueError in search.analysis.zones._polygons_key)."""
    from cameras.models import Zone

    cam = camera(user, "front")
    square = [{"points": [{"x": 0.1, "y": 0.1}, {"x": 0.9, "y": 0.1}, {"x": 0.9, "y": 0.9}, {"x": 0.1, "y": 0.9}]}]
    zone = Zone.objects.create(camera=cam, name="drive", polygons=square)
    url = f"/admin/cameras/zone/{zone.pk}/change/"
    for changes in ({"polygons": '[{"points": [{"x": "left"}]}]'}, {"polygons": "{}"}, {"name": "a/b"}):
        response = _edit(admin_client, url, **changes)
        assert response.status_code == 200 and _form_errors(response), f"{changes} was saved"
    zone.refresh_from_db()
    assert (zone.name, zone.polygons) == ("drive", square)


def test_camera_admin_checks_the_name_as_the_api_does(admin_client, user, api):
    """A camera renamed "a/b" in admin can no longer be read, changed or deleted through the API."""
    cam = camera(user, "front")
    response = _edit(admin_client, f"/admin/cameras/camera/{cam.pk}/change/", name="porch/left")
    assert response.status_code == 200 and _form_errors(response)
    cam.refresh_from_db()
    assert cam.name == "front"
    assert api.get("/api/users/me/cameras/front").status_code == 200


def test_changing_a_cameras_owner_in_admin_does_not_hand_over_the_old_owners_content(
    admin_client, user, other_user, other_api
):
    """Camera.owner is editable; its content and events keep the old owner, and the new owner's
    live image (content_live looks by camera only) shows the previous owner's last picture."""
    cam = camera(user, "front")
    event(cam, T0, labels=["people"], items=2, stored=True)
    _edit(admin_client, f"/admin/cameras/camera/{cam.pk}/change/", owner=str(other_user.pk))
    cam.refresh_from_db()
    assert not cam.contents.exclude(owner=cam.owner).exists(), "content no longer belongs to its camera's owner"
    assert not cam.events.exclude(owner=cam.owner).exists()
    if cam.owner == other_user:
        assert other_api.get("/api/content/live/front").status_code == 404


def test_deleting_a_camera_in_admin_removes_its_stored_bytes(admin_client, user, django_capture_on_commit_callbacks):
    """The API's delete (cameras.services.camera_delete) purges the camera's storage prefix and
    forgets its device; the admin's delete (page and action) only deletes rows."""
    from cameras.storage import camera_storage_prefix

    cam = camera(user, "front")
    key = default_storage.save(
        camera_storage_prefix(owner_id=user.pk, camera_pk=cam.pk) + "2026/11/20/a.jpg", ContentFile(b"jpeg")
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(f"/admin/cameras/camera/{cam.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not type(cam).objects.filter(pk=cam.pk).exists()
    assert not default_storage.exists(key), "the deleted camera's images stay in storage"


def test_resuming_and_repointing_a_hook_in_admin_starts_a_clean_record(admin_client, user, settings):
    """The API's resume / new callback_url clears failing_since and the streak and moves pending
    deliveries to the new receiver; the admin keeps them (and shows them read-only), so the next
    hooks_disable_failing run disables the hook again at once and mails its owner."""
    from hooks import services
    from hooks.models import Delivery, Hook

    cam = camera(user, "front")
    long_ago = timezone.now() - timedelta(days=settings.HOOK_DISABLE_AFTER_DAYS + 3)
    hook = Hook.objects.create(
        owner=user,
        callback_url="http://old.example.com/cb",
        query="people",
        disabled_reason=Hook.DisabledReason.FAILING,
        disabled_at=timezone.now() - timedelta(days=1),
        failing_since=long_ago,
        failure_streak=40,
        last_status="503",
    )
    pending = Delivery.objects.create(
        hook=hook, event=event(cam, T0, labels=["people"]), body="{}", receiver="http://old.example.com:80"
    )
    response = _edit(
        admin_client,
        f"/admin/hooks/hook/{hook.pk}/change/",
        callback_url="http://new.example.com/cb",
        disabled_reason="",
    )
    assert response.status_code == 302, _form_errors(response)
    hook.refresh_from_db()
    assert hook.active and hook.callback_url == "http://new.example.com/cb"
    assert (hook.failing_since, hook.failure_streak) == (None, 0)
    pending.refresh_from_db()
    assert pending.receiver == services._receiver(hook)
    assert services.hooks_disable_failing() == []


def test_item_analysis_changelist_makes_no_query_per_row(admin_client, user):
    """Each row's event column prints Event.__str__, which reads event.camera: one query per row."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert admin_client.get("/admin/search/itemanalysis/").status_code == 200
        return len(captured.captured_queries)

    event(camera(user, "cam0"), T0, items=1)
    one = queries()
    for i in range(1, 20):
        event(camera(user, f"cam{i}"), T0 + timedelta(minutes=i), items=1)
    assert queries() <= one + 2


def test_upload_token_is_not_shown_in_clear(admin_client, user):
    """The Upload Token (uploads and FTP logins into the account) is printed whole on the account
    settings page and on every user's page (the inline), where hook secrets and OAuth tokens are not."""
    from accounts.selectors import account_settings_get

    token = account_settings_get(user=user).upload_token
    row = account_settings_get(user=user)
    for url in (f"/admin/accounts/accountsettings/{row.pk}/change/", f"/admin/auth/user/{user.pk}/change/"):
        page = admin_client.get(url)
        assert page.status_code == 200
        assert token not in page.content.decode(), url


def test_content_media_link_without_bytes_is_not_a_500(user):
    """The change page's "open the original" link: missing bytes (or S3 down) raise
    ServiceUnavailable, an API exception nothing turns into a response outside /api/: a 500 page."""
    admin = Client(raise_request_exception=False)
    admin.force_login(type(user).objects.create_superuser("root", "root@example.com", "pw-root-12345"))
    content = item(camera(user, "front"), T0)  # a row whose bytes are not in storage
    response = admin.get(f"/admin/uploads/content/{content.pk}/media/")
    assert response.status_code in (404, 503), response.status_code
