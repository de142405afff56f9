"""Settings, Upload Token, hint, rotation, guests and notifications."""

import pytest
from django.core import mail

from accounts.models import AccountSettings, Guest, Notification
from accounts.selectors import account_settings_get
from accounts.services import muted_names, notification_send

pytestmark = pytest.mark.django_db
SETTINGS = "/api/users/me/settings"


def test_get_settings_has_the_reference_shape(api, user):
    data = api.get(SETTINGS).json()
    assert set(data) == {"notifications", "upload_token", "recording_enabled"}
    assert set(data["notifications"]) == {
        "motion_alerts",
        "camera_diagnostics",
        "announcements",
        "newsletters",
        "camio_daily",
    }
    for preference in data["notifications"].values():
        assert set(preference) == {"state", "method", "options"}
    assert data["recording_enabled"] is True
    assert data["upload_token"] == account_settings_get(user=user).upload_token


def test_partial_update_keeps_what_it_does_not_name(api):
    before = api.get(SETTINGS).json()
    response = api.post(
        SETTINGS,
        {"notifications": {"motion_alerts": {"options": "mute driveway,street"}}, "upload_token": "IGNORED"},
        format="json",
    )
    assert response.status_code == 200
    after = response.json()
    assert after["notifications"]["motion_alerts"] == {
        **before["notifications"]["motion_alerts"],
        "options": "mute driveway,street",
    }
    assert after["notifications"]["camera_diagnostics"] == before["notifications"]["camera_diagnostics"]
    assert after["upload_token"] == before["upload_token"]
    assert api.get(SETTINGS).json() == after


def test_recording_enabled_and_full_preference(api):
    api.post(SETTINGS, {"recording_enabled": False}, format="json")
    api.post(
        SETTINGS,
        {"notifications": {"camio_daily": {"state": "ON", "method": "PUSH", "options": ""}}},
        format="json",
    )
    data = api.get(SETTINGS).json()
    assert data["recording_enabled"] is False
    assert data["notifications"]["camio_daily"] == {"state": "ON", "method": "PUSH", "options": ""}


@pytest.mark.parametrize(
    "body, fragment",
    [
        ({"recording_enabled": "no"}, "recording_enabled"),
        ({"notifications": {"motion_alerts": {"state": "MAYBE"}}}, "ON or OFF"),
        ({"notifications": {"motion_alerts": {"method": "SMS"}}}, "EMAIL or PUSH"),
        ({"notifications": {"weather": {"state": "ON"}}}, "Unknown notification type"),
        ({"notifications": {"motion_alerts": "ON"}}, "must be an object"),
        ({"notifications": ["motion_alerts"]}, "keyed by notification type"),
        ({"notifications": {"motion_alerts": {"options": 5}}}, "options"),
        ({"notifications": {"motion_alerts": {"options": "shout street"}}}, "mute"),
        ({"notifications": {"motion_alerts": {"colour": "red"}}}, "Unknown field"),
        ({"theme": "dark"}, "Unknown setting"),
    ],
)
def test_invalid_settings_are_400_and_change_nothing(api, body, fragment):
    before = api.get(SETTINGS).json()
    response = api.post(SETTINGS, body, format="json")
    assert response.status_code == 400
    assert fragment in response.json()["message"]
    assert api.get(SETTINGS).json() == before


def test_settings_are_per_user(api, other_api):
    api.post(SETTINGS, {"recording_enabled": False}, format="json")
    assert other_api.get(SETTINGS).json()["recording_enabled"] is True
    assert api.get(SETTINGS).json()["upload_token"] != other_api.get(SETTINGS).json()["upload_token"]


def test_upload_token_is_a_json_string_and_unguessable(api, user):
    response = api.get("/api/users/me/tokens/upload")
    assert response.status_code == 200
    token = response.json()
    assert isinstance(token, str) and len(token) >= 22  # >= 128 bits in URL-safe base64
    assert token == account_settings_get(user=user).upload_token


def test_rotation_kills_the_old_token_at_once(api, anon, user):
    old = api.get("/api/users/me/tokens/upload").json()
    new = api.post("/api/users/me/tokens/upload/rotate").json()
    assert new != old
    assert api.get("/api/users/me/tokens/upload").json() == new
    assert anon.get(f"/api/tokens/{old}/hint").status_code == 404
    assert anon.get(f"/api/tokens/{new}/hint").status_code == 200


def test_hint_shows_the_local_part_and_hides_the_domain(anon, user):
    token = account_settings_get(user=user).upload_token
    for method in (anon.get, anon.post):
        response = method(f"/api/tokens/{token}/hint")
        assert response.status_code == 200
        assert response.json() == {"email": "alice@..."}
    assert "example.com" not in anon.get(f"/api/tokens/{token}/hint").content.decode()


def test_hint_of_unknown_token_is_404(anon, db):
    response = anon.get("/api/tokens/not-a-token/hint")
    assert response.status_code == 404
    assert response.json()["message"]


def test_an_upload_token_cannot_read_settings_or_tokens(anon, user):
    token = account_settings_get(user=user).upload_token
    assert anon.get(SETTINGS, HTTP_AUTHORIZATION=f"token {token}").status_code == 401
    assert anon.get(f"/api/users/{token}/settings").status_code == 401
    assert anon.get(f"/api/users/me/tokens/upload?access_token={token}").status_code == 401


def test_settings_require_auth(anon):
    assert anon.get(SETTINGS).status_code == 401
    assert anon.post(SETTINGS, {}, format="json").status_code == 401


def test_guests_can_be_added_listed_and_removed(api, other_api, user, other_user):
    response = api.post("/api/users/me/guests", {"email": "BOB@example.com"}, format="json")
    assert response.status_code == 201
    assert response.json()["email"] == "bob@example.com"
    assert [g["email"] for g in api.get("/api/users/me/guests").json()] == ["bob@example.com"]
    assert other_api.get("/api/users/me/cameras?user=alice@example.com").status_code == 200
    assert api.delete("/api/users/me/guests/bob@example.com").status_code == 204
    assert other_api.get("/api/users/me/cameras?user=alice@example.com").status_code == 403
    assert api.delete("/api/users/me/guests/bob@example.com").status_code == 404


@pytest.mark.parametrize(
    "body, status", [({"email": "nobody@example.com"}, 404), ({"email": "alice@example.com"}, 400), ({}, 400)]
)
def test_bad_guest_requests(api, body, status):
    response = api.post("/api/users/me/guests", body, format="json")
    assert response.status_code == status
    assert response.json()["message"]
    assert not Guest.objects.exists()


def test_notifications_follow_the_preference(user, api, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert notification_send(user=user, kind="motion_alerts", title="Motion at front") == "PUSH"
    assert notification_send(user=user, kind="camera_diagnostics", title="front is offline") == "EMAIL"
    assert notification_send(user=user, kind="camio_daily", title="Your day") is None  # OFF by default
    assert [m.subject for m in mail.outbox] == ["front is offline"]
    listed = api.get("/api/users/me/notifications").json()
    assert [(n["type"], n["title"], n["read"]) for n in listed] == [("motion_alerts", "Motion at front", False)]
    assert api.post(f"/api/users/me/notifications/{listed[0]['id']}/read").status_code == 204
    assert api.get("/api/users/me/notifications?unread=true").json() == []


def test_notifications_are_private(api, other_api, user):
    notification_send(user=user, kind="motion_alerts", title="Motion at front")
    note = Notification.objects.get()
    assert other_api.get("/api/users/me/notifications").json() == []
    assert other_api.post(f"/api/users/me/notifications/{note.pk}/read").status_code == 404
    assert Notification.objects.get().read_at is None


def test_muted_names(user):
    AccountSettings.objects.filter(user=user).delete()
    row = account_settings_get(user=user)
    row.notifications["motion_alerts"]["options"] = "mute Driveway, street"
    row.save()
    assert muted_names(user=user) == {"Driveway", "street"}


def test_admin_rotates_upload_tokens_and_never_edits_them(user, admin_client):
    row = account_settings_get(user=user)
    old = row.upload_token
    page = admin_client.get(f"/admin/accounts/accountsettings/{row.pk}/change/")
    assert page.status_code == 200
    # Read-only, and shown only by its last characters (it is a credential).
    assert "upload_token" not in page.context["adminform"].form.fields
    assert old not in page.content.decode() and f"…{old[-4:]}" in page.content.decode()
    admin_client.post(
        "/admin/accounts/accountsettings/", {"action": "rotate_upload_token", "_selected_action": [row.pk]}
    )
    assert account_settings_get(user=user).upload_token != old
