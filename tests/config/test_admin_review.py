"""Review of the Django admin (every app, django-oauth-toolkit's models as registered).

The review found seventeen defects, each fixed and kept here as a test: admin actions that change
data (a developer token for any account among them) were offered to staff who could only view;
the owner of a hook or a Camio, and an item's ``alternate_of``, could be moved to another account;
a duplicate camera or content name reached the database as a 500 (read-only keys left the
constraints unchecked); content ``options``/``rotation``/``upload_mode``, Camio names and hook
callback URLs were saved where the API refuses them; deletes of devices, account settings, events,
item analyses and downloads left caches, search or stored zips behind; and the OAuth application
list made one query per row. The tests after the findings pin what the fixes decided beside them
(zone and delivery keys read-only, token revocation needs change, parents still delete their
never-alone rows, re-analysis after deleting an analysis).

Not repeated here (covered elsewhere): Camio query / notification / zone / camera-name checks,
camera owner read-only, camera / content / account deletes through their services, resumed hooks,
the item-analysis changelist's queries, the Upload Token hint, the media 500
(tests/config/test_admin_integrity.py, tests/*/test_admin*.py, tests/accounts/test_account_delete.py).
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.config.test_admin_integrity import (
    _fast_passwords_private_media,  # noqa: F401 (autouse)
    _form_errors,
    form_data,
)
from tests.factories import make_user
from tests.search.test_search_factories import T0, camera, event, item

pytestmark = pytest.mark.django_db


def _staff(username: str, *codenames_or_prefixes: str) -> Client:
    staff = make_user(username, email=f"{username}@example.com")
    staff.is_staff = True
    staff.save()
    for wanted in codenames_or_prefixes:
        if wanted.endswith("_"):
            staff.user_permissions.add(*Permission.objects.filter(codename__startswith=wanted))
        else:
            staff.user_permissions.add(*Permission.objects.filter(codename=wanted))
    browser = Client(raise_request_exception=False)
    browser.force_login(staff)
    return browser


@pytest.fixture
def view_only_staff(db) -> Client:
    """A staff member who may look at everything and change nothing (every ``view_*`` permission)."""
    return _staff("auditor", "view_")


def _edit(browser: Client, url: str, **changes):
    page = browser.get(url)
    assert page.status_code == 200, (url, page.status_code)
    data = form_data(page)
    data.update(changes)
    return browser.post(url, data)


def _offered(browser: Client, changelist: str) -> list[str]:
    page = browser.get(changelist)
    assert page.status_code == 200
    if not page.context.get("action_form"):
        return []
    return [name for name, _label in page.context["action_form"].fields["action"].choices]


def _poll_commands(ipcam) -> dict[str, str]:
    return {c["id"]: c["path"] for c in ipcam.poll().json()["commands"]}


# --- permissions: view-only staff ------------------------------------------------------------------


def test_view_only_staff_cannot_mint_a_developer_token_for_any_account(view_only_staff, user):
    """(1, critical) The "Generate a developer API token" action declared no permission, so a staff
    member with only ``view_user`` was shown a working API token for any account (a superuser's
    too). It now takes change on users and add on access tokens."""
    from oauth2_provider.models import get_access_token_model

    AccessToken = get_access_token_model()
    before = AccessToken.objects.filter(user=user).count()
    response = view_only_staff.post(
        "/admin/auth/user/", {"action": "generate_dev_token", "_selected_action": [user.pk]}, follow=True
    )
    shown = [str(m) for m in response.context["messages"]] if response.context else []
    assert AccessToken.objects.filter(user=user).count() == before, f"token minted by a view-only user: {shown}"
    assert "generate_dev_token" not in _offered(view_only_staff, "/admin/auth/user/")


def test_the_developer_token_action_takes_change_on_users_and_add_on_access_tokens(user):
    """Changing users alone is not enough (the token acts as the account through the API): the
    action is offered, and runs, only with ``add_accesstoken`` too."""
    from oauth2_provider.models import get_access_token_model

    AccessToken = get_access_token_model()
    editor = _staff("editor", "view_user", "change_user")
    assert "generate_dev_token" not in _offered(editor, "/admin/auth/user/")
    editor.post("/admin/auth/user/", {"action": "generate_dev_token", "_selected_action": [user.pk]})
    assert not AccessToken.objects.filter(user=user).exists()

    issuer = _staff("issuer", "view_user", "change_user", "add_accesstoken")
    assert "generate_dev_token" in _offered(issuer, "/admin/auth/user/")
    issuer.post("/admin/auth/user/", {"action": "generate_dev_token", "_selected_action": [user.pk]})
    assert AccessToken.objects.filter(user=user).count() == 1


@pytest.mark.parametrize(
    ("changelist", "action"),
    [
        ("/admin/accounts/accountsettings/", "rotate_upload_token"),
        ("/admin/search/camio/", "expire_now"),
        ("/admin/cameras/device/", "claim_device"),
        ("/admin/cameras/device/", "unclaim_devices"),
        ("/admin/hooks/delivery/", "redeliver"),
        ("/admin/search/event/", "reanalyse"),
        ("/admin/search/itemanalysis/", "reanalyse"),
        ("/admin/uploads/content/", "queue_analysis"),
    ],
)
def test_state_changing_actions_are_not_offered_to_view_only_staff(view_only_staff, changelist, action):
    """(2) None of the project's actions set ``allowed_permissions``: a view-only staff member could
    rotate any account's Upload Token, expire Camios, claim or unclaim devices, redeliver hooks and
    re-run analysis. They now need the model's change permission."""
    assert action not in _offered(view_only_staff, changelist), f"{action} offered to view-only staff on {changelist}"


# --- ownership edits that hand one account's data to another ----------------------------------------


def test_changing_a_hooks_owner_does_not_hand_over_the_previous_owners_deliveries(root, user, other_user, other_api):
    """(3) A hook's owner was editable: moved to another account, the hook took its deliveries (the
    previous owner's event ids, times, bodies) with it, to be listed and redelivered there. The
    owner of an existing hook is now read-only."""
    from hooks.models import Delivery, Hook

    cam = camera(user, "front")
    hook = Hook.objects.create(owner=user, callback_url="http://example.com/cb", query="people")
    ev = event(cam, T0, labels=["people"])
    Delivery.objects.create(hook=hook, event=ev, body='{"hook_id":"1"}', state="succeeded")
    _edit(root, f"/admin/hooks/hook/{hook.pk}/change/", owner=str(other_user.pk))
    listing = other_api.get(f"/api/users/me/hooks/{hook.pk}/deliveries")
    seen = listing.json() if listing.status_code == 200 else []
    assert ev.public_id not in json.dumps(seen), "the new owner reads the previous owner's deliveries"


def test_changing_a_camios_owner_does_not_make_its_view_token_share_another_accounts_content(
    root, user, other_user, anon
):
    """(4) A Camio's owner was editable: the view token and short link one account had handed out
    then showed another account's recordings. The owner of an existing Camio is now read-only."""
    from search.models import Camio

    camera(user, "front")
    theirs = event(camera(other_user, "front"), T0, labels=["people"], items=1)
    camio = Camio.objects.create(owner=user, name="porch", query={})
    _edit(root, f"/admin/search/camio/{camio.pk}/change/", owner=str(other_user.pk))
    shared = anon.get("/api/search", {"view_tokens": camio.view_token, "motion_type": "all"})
    assert theirs.public_id not in shared.content.decode(), "the old link now shows another account's events"


def test_content_cannot_be_made_an_alternate_of_another_accounts_item(root, user, other_user, api):
    """(5) ``alternate_of`` was an editable raw id with no check: another account's item made an
    alternate of this one's was deleted (bytes left behind) with this account's camera, through
    the cascade. It is now read-only (the ingest links items of one camera)."""
    from uploads.models import Content

    mine = item(camera(user, "front"), T0)
    theirs = item(camera(other_user, "back"), T0)
    _edit(root, f"/admin/uploads/content/{theirs.pk}/change/", alternate_of=str(mine.pk))
    assert api.delete("/api/users/me/cameras/front").status_code == 204
    assert Content.objects.filter(pk=theirs.pk).exists(), "another account's content went with this camera"


# --- bad input that becomes a 500 ------------------------------------------------------------------


@pytest.mark.parametrize("field", ["name", "camera_id"])
def test_renaming_a_camera_to_a_name_its_owner_already_uses_is_a_form_error_not_a_500(root, user, field):
    """(6) With the owner read-only, Django left the per-owner unique constraints out of the form's
    checks: a taken name or camera_id was an IntegrityError, a 500 page. Now a form error."""
    from cameras.models import Camera

    taken = camera(user, "front")
    Camera.objects.filter(pk=taken.pk).update(camera_id="aabbccddeeff")
    other = camera(user, "back")
    value = "front" if field == "name" else "aabbccddeeff"
    response = _edit(root, f"/admin/cameras/camera/{other.pk}/change/", **{field: value})
    assert response.status_code == 200, f"saving a taken {field}: {response.status_code}"
    assert _form_errors(response)


def test_renaming_content_to_a_name_its_camera_already_has_for_the_same_bytes_is_not_a_500(root, user):
    """(7) With ``camera`` and ``sha256`` read-only, ``content_once_per_camera_name_bytes`` went
    unchecked: a duplicate name for the same bytes was a 500 page. Now a form error."""
    from uploads.models import Content

    cam = camera(user, "front")
    first, second = item(cam, T0), item(cam, T0 + timedelta(seconds=1))
    Content.objects.filter(pk=second.pk).update(sha256=first.sha256)
    response = _edit(root, f"/admin/uploads/content/{second.pk}/change/", name=first.name)
    assert response.status_code == 200, f"duplicate name: {response.status_code}"
    assert _form_errors(response)


def test_content_options_rotation_and_upload_mode_are_checked_as_the_ingest_checks_them(root, user, anon):
    """(8) ``options``, ``rotation`` and ``upload_mode`` were saved unchecked (``options = 5``,
    ``rotation = 45``, ``upload_mode = "zzz"``): the camera's retry of the upload then answered
    500 and the item's analysis raised. Each is now a form error, as the upload endpoint's 400."""
    from accounts.selectors import account_settings_get
    from tests.uploads.samples import jpeg_bytes
    from tests.uploads.test_admin import upload

    body = jpeg_bytes(400, 300)
    content = upload(anon, user, "a.jpg", body, "image/jpeg")
    url = f"/admin/uploads/content/{content.pk}/change/"
    saved = {}
    for changes in ({"options": "5"}, {"rotation": "45"}, {"upload_mode": "zzz"}):
        response = _edit(root, url, **changes)
        saved[next(iter(changes))] = response.status_code == 302
        content.refresh_from_db()
    token = account_settings_get(user=user).upload_token
    retry = anon.generic(
        "PUT", f"/api/users/{token}/cameras/front/content/a.jpg?camera_id=1", body, content_type="image/jpeg"
    )
    assert retry.status_code < 500, "the camera's retry of an upload answers 500"
    assert not any(saved.values()), f"saved values the ingest refuses: {saved}"


# --- edits the API would refuse --------------------------------------------------------------------


def test_camio_name_is_checked_as_the_api_checks_it(root, user):
    """(9) A Camio name with a line break or control character was saved, though ``camio_create``
    refuses it (it heads the "download ready" mail's subject). Now a form error."""
    from search.models import Camio

    camera(user, "front")
    camio = Camio.objects.create(owner=user, name="porch", query={})
    response = _edit(root, f"/admin/search/camio/{camio.pk}/change/", name="porch\r\nBcc: victim@example.com")
    camio.refresh_from_db()
    assert camio.name == "porch", f"saved {camio.name!r} ({response.status_code})"


@pytest.mark.parametrize("callback_url", ["http://127.0.0.1:8000/cb", "http://169.254.169.254/latest/meta-data/"])
def test_hook_admin_refuses_callback_urls_the_api_refuses(root, user, api, callback_url):
    """(15) The hook form ran only the URL's form check; loopback and link-local (metadata)
    addresses, which the API answers 400 for, were saved. It now runs the API's check."""
    from hooks.models import Hook

    camera(user, "front")
    assert (
        api.post(
            "/api/users/me/hooks", {"callback_url": callback_url, "query": "people", "type": "label_hit"}, format="json"
        ).status_code
        == 400
    )
    hook = Hook.objects.create(owner=user, callback_url="http://example.com/cb", query="people")
    _edit(root, f"/admin/hooks/hook/{hook.pk}/change/", callback_url=callback_url)
    hook.refresh_from_db()
    assert hook.callback_url == "http://example.com/cb", f"admin saved {hook.callback_url}"


# --- deletes and edits that leave derived data behind ----------------------------------------------


def test_deleting_a_claimed_device_in_admin_stops_handing_out_the_owners_upload_token(root, user, settings):
    """(10) Deleting a claimed device kept its poll-cache entry: its next polls were still answered
    with the owner's Upload Token. The delete (page and bulk) now forgets the device."""
    from cameras.models import Device
    from tests.cameras.conftest import Camera as IPCamera

    settings.FTP_GATEWAY_PORT, settings.FTP_GATEWAY_HOST = 21, "localhost"
    ipcam = IPCamera()
    ipcam.poll()
    device = Device.objects.get()
    root.post(
        "/admin/cameras/device/",
        {"action": "claim_device", "_selected_action": [device.pk], "apply": "1", "owner": user.email, "name": "gate"},
    )
    assert "ftpAlarm" in _poll_commands(ipcam)
    assert root.post(f"/admin/cameras/device/{device.pk}/delete/", {"post": "yes"}).status_code == 302
    assert "ftpAlarm" not in _poll_commands(ipcam), "a deleted device is still told the owner's Upload Token"


def test_deleting_account_settings_in_admin_does_not_silently_rotate_the_upload_token(root, user, settings):
    """(11) Account settings could be deleted on their own: the preferences and recording switch
    were reset and a new Upload Token made without the rotation's bookkeeping, so claimed cameras
    were told a dead token. The row is no longer deletable alone (it goes with the account)."""
    from accounts.selectors import account_settings_get
    from cameras.models import Device
    from tests.cameras.conftest import Camera as IPCamera

    settings.FTP_GATEWAY_PORT, settings.FTP_GATEWAY_HOST = 21, "localhost"
    ipcam = IPCamera()
    ipcam.poll()
    root.post(
        "/admin/cameras/device/",
        {
            "action": "claim_device",
            "_selected_action": [Device.objects.get().pk],
            "apply": "1",
            "owner": user.email,
            "name": "gate",
        },
    )
    row = account_settings_get(user=user)
    row.recording_enabled = False
    row.save()
    assert f"USERNAME={row.upload_token}" in _poll_commands(ipcam)["ftpAlarm"]
    assert root.post(f"/admin/accounts/accountsettings/{row.pk}/delete/", {"post": "yes"}).status_code == 403
    current = account_settings_get(user=user)
    assert current.recording_enabled is False, "the account's settings were reset by deleting the row"
    assert f"USERNAME={current.upload_token}" in _poll_commands(ipcam)["ftpAlarm"], "the camera is told a dead token"


def test_deleting_an_event_in_admin_does_not_hide_its_items_from_search_for_good(root, user, api):
    """(12) Deleting an event left its items analysed (``done``) in no event: gone from search,
    Camios and hooks for good. Events are no longer deletable alone (they go with their content,
    camera or account)."""
    cam = camera(user, "front")
    ev = event(cam, T0, labels=["people"], items=2)
    images = list(ev.items.values_list("content__public_id", flat=True))

    def found() -> str:
        return api.get("/api/search", {"motion_type": "all"}).content.decode()

    assert all(public_id in found() for public_id in images)
    assert root.post(f"/admin/search/event/{ev.pk}/delete/", {"post": "yes"}).status_code == 403
    missing = [public_id for public_id in images if public_id not in found()]
    assert not missing, f"items no longer found by search after the event was deleted in admin: {missing}"


def test_deleting_an_item_analysis_in_admin_leaves_its_event_consistent(root, user):
    """(13) Deleting an item's analysis left its event counting it, with its labels and cover. The
    delete now rebuilds the event (and queues the item's analysis again)."""
    from search.models import ItemAnalysis

    ev = event(camera(user, "front"), T0, labels=["people"], items=2)
    analysis = ItemAnalysis.objects.filter(event=ev).first()
    assert root.post(f"/admin/search/itemanalysis/{analysis.pk}/delete/", {"post": "yes"}).status_code == 302
    ev.refresh_from_db()
    assert ev.item_count == ItemAnalysis.objects.filter(event=ev).count() == 1


def test_editing_captured_at_in_admin_keeps_the_item_in_its_events_span(root, user, api):
    """(14) ``captured_at`` was editable and nothing rebuilt the item's event, whose span then missed
    the item. It is now read-only, as the upload's other facts."""
    ev = event(camera(user, "front"), T0, labels=["people"], items=1)
    content = ev.cover
    _edit(root, f"/admin/uploads/content/{content.pk}/change/", captured_at_0="2027-01-05", captured_at_1="10:00:00")
    content.refresh_from_db()
    ev.refresh_from_db()
    assert content.captured_at == T0
    assert ev.earliest_date <= content.captured_at <= ev.latest_date, (content.captured_at, ev.earliest_date)


def test_deleting_a_download_in_admin_removes_its_zip(root, user):
    """(16) Deleting a download kept its zip in storage forever (the purge finds zips through their
    rows). The delete now removes the zip too."""
    from search.models import Camio, Download

    camio = Camio.objects.create(owner=user, name="porch", query={})
    key = default_storage.save(f"downloads/{user.pk}/porch.zip", ContentFile(b"PK zip"))
    download = Download.objects.create(camio=camio, requester=user, status="ready", storage_key=key)
    assert root.post(f"/admin/search/download/{download.pk}/delete/", {"post": "yes"}).status_code == 302
    assert not default_storage.exists(key), "the deleted download's zip stays in storage"


# --- changelist cost -------------------------------------------------------------------------------


def test_api_key_changelist_makes_no_query_per_row(root):
    """(17) The OAuth application changelist made one query per row for its nullable ``user`` (3
    applications: 9 queries, 30: 36). The user is now joined."""
    from accounts.services import oauth_application_create

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert root.get("/admin/oauth2_provider/application/").status_code == 200
        return len(captured.captured_queries)

    def apps(start: int, n: int) -> None:
        for i in range(start, start + n):
            owner = make_user(f"partner{i}")
            oauth_application_create(name=f"app{i}", redirect_uris=["https://example.com/cb"], owner=owner)

    apps(0, 3)
    few = queries()
    apps(3, 27)
    assert queries() <= few + 2, "one query per application row"


# --- what the fixes decided beside the findings -------------------------------------------------


@pytest.mark.parametrize("changelist", ["/admin/oauth2_provider/accesstoken/", "/admin/oauth2_provider/refreshtoken/"])
def test_revoking_oauth_tokens_is_not_offered_to_view_only_staff(view_only_staff, changelist):
    """django-oauth-toolkit's token admins offered "revoke" to anyone who could see the tokens
    (upstream code: re-registered here with the change permission)."""
    assert "revoke_tokens" not in _offered(view_only_staff, changelist)


def test_a_zones_camera_and_a_deliverys_hook_are_read_only_once_they_exist(root, user, other_user):
    """A zone could be moved to another account's camera, a delivery to another account's hook
    (showing it this account's event): both keys are now read-only on the change page."""
    from cameras.models import Zone
    from hooks.models import Delivery, Hook

    square = [{"points": [{"x": 0.1, "y": 0.1}, {"x": 0.9, "y": 0.1}, {"x": 0.9, "y": 0.9}, {"x": 0.1, "y": 0.9}]}]
    zone = Zone.objects.create(camera=camera(user, "front"), name="drive", polygons=square)
    theirs = camera(other_user, "back")
    assert _edit(root, f"/admin/cameras/zone/{zone.pk}/change/", camera=str(theirs.pk)).status_code == 302
    zone.refresh_from_db()
    assert zone.camera.owner == user

    ev = event(camera(user, "front"), T0, labels=["people"])
    delivery = Delivery.objects.create(
        hook=Hook.objects.create(owner=user, callback_url="http://example.com/cb", query="people"),
        event=ev,
        body="{}",
        state="succeeded",
    )
    their_hook = Hook.objects.create(owner=other_user, callback_url="http://example.com/cb", query="people")
    assert _edit(root, f"/admin/hooks/delivery/{delivery.pk}/change/", hook=str(their_hook.pk)).status_code == 302
    delivery.refresh_from_db()
    assert delivery.hook.owner == user


def test_a_zone_renamed_to_a_name_its_camera_already_has_is_a_form_error(root, user):
    """With the zone's camera read-only, "one name per camera" is still checked (no 500)."""
    from cameras.models import Zone

    cam = camera(user, "front")
    square = [{"points": [{"x": 0.1, "y": 0.1}, {"x": 0.9, "y": 0.1}, {"x": 0.9, "y": 0.9}, {"x": 0.1, "y": 0.9}]}]
    Zone.objects.create(camera=cam, name="drive", polygons=square)
    porch = Zone.objects.create(camera=cam, name="porch", polygons=square)
    response = _edit(root, f"/admin/cameras/zone/{porch.pk}/change/", name="drive")
    assert response.status_code == 200 and _form_errors(response)
    porch.refresh_from_db()
    assert porch.name == "porch"


def test_valid_content_options_are_saved_normalised_with_a_reminder_to_re_analyse(root, user):
    """Editing what analysis reads stays possible with values the ingest accepts (normalised as it
    does); the operator is told to re-analyse the item so its event follows."""
    content = item(camera(user, "front"), T0)
    response = _edit(
        root, f"/admin/uploads/content/{content.pk}/change/", options='["No_Analysis", "no_analysis"]', rotation="90"
    )
    assert response.status_code == 302
    content.refresh_from_db()
    assert (content.options, content.rotation) == (["no_analysis"], 90)
    shown = [str(m) for m in root.get(response.url).context["messages"]]
    assert any("re-analyse" in m for m in shown), shown


def test_cameras_and_accounts_with_never_alone_rows_are_still_deleted_in_admin(
    root, user, django_capture_on_commit_callbacks
):
    """Events and account settings refuse deletion on their own; the camera's and the account's
    deletes (through camera_delete / account_delete) still take them along."""
    from accounts.selectors import account_settings_get
    from cameras.models import Camera
    from search.models import Event

    cam = camera(user, "front")
    event(cam, T0, labels=["people"])
    account_settings_get(user=user)
    with django_capture_on_commit_callbacks(execute=True):
        assert root.post(f"/admin/cameras/camera/{cam.pk}/delete/", {"post": "yes"}).status_code == 302
    assert not Camera.objects.filter(pk=cam.pk).exists() and not Event.objects.filter(owner=user).exists()

    event(camera(user, "back"), T0, labels=["people"])
    with django_capture_on_commit_callbacks(execute=True):
        assert root.post(f"/admin/auth/user/{user.pk}/delete/", {"post": "yes"}).status_code == 302
    assert not type(user).objects.filter(pk=user.pk).exists()


def test_deleting_an_item_analysis_queues_the_item_for_analysis_again(root, user, django_capture_on_commit_callbacks):
    """The item whose analysis was deleted is analysed again after the commit (placed in an event),
    so it is not lost to search."""
    from search.models import ItemAnalysis

    ev = event(camera(user, "front"), T0, labels=["people"], items=2, stored=True)
    analysis = ItemAnalysis.objects.filter(event=ev).first()
    with django_capture_on_commit_callbacks(execute=True):
        root.post(f"/admin/search/itemanalysis/{analysis.pk}/delete/", {"post": "yes"})
    again = ItemAnalysis.objects.get(pk=analysis.pk)
    assert again.status == "done" and again.event_id is not None


def test_deleting_many_item_analyses_sends_one_message_per_camera(
    root, user, django_capture_on_commit_callbacks, monkeypatch
):
    """A bulk delete of item analyses queued one analysis message per item (thousands for a big
    selection); it now starts one chain per camera, and still every item is analysed again."""
    from search.models import ItemAnalysis
    from search.tasks.analysis import analyze_content

    sent: list[tuple] = []
    real = analyze_content.apply_async

    def counted(args=None, kwargs=None, **options):
        sent.append((args, kwargs))
        return real(args=args, kwargs=kwargs, **options)

    monkeypatch.setattr(analyze_content, "apply_async", counted)
    front = event(camera(user, "front"), T0, labels=["people"], items=3, stored=True)
    back = event(camera(user, "back"), T0 + timedelta(minutes=5), labels=["car"], items=3, stored=True)
    ids = list(ItemAnalysis.objects.filter(event__in=[front, back]).values_list("pk", flat=True))
    with django_capture_on_commit_callbacks(execute=True):
        answer = root.post(
            "/admin/search/itemanalysis/", {"action": "delete_selected", "_selected_action": ids, "post": "yes"}
        )
    assert answer.status_code == 302
    assert len(sent) == 2, sent  # one per camera; each batch takes the camera's three items
    assert {kwargs["coalesced"] for _args, kwargs in sent} == {
        f"analysis:camera:{front.camera_id}",
        f"analysis:camera:{back.camera_id}",
    }
    analyses = ItemAnalysis.objects.filter(pk__in=ids)
    assert analyses.count() == 6 and all(a.status == "done" and a.event_id for a in analyses)
