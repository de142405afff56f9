"""Discovery and claiming of polling devices; the next poll carries the owner's settings."""

import re
import time
from datetime import timedelta
from urllib.parse import quote

import pytest
from django.utils import timezone

from accounts.models import Guest
from accounts.selectors import account_settings_get
from accounts.services import upload_token_rotate
from cameras.models import Camera, Device
from cameras.polling import Poll, poll_record
from tests.cameras.conftest import MAC, MAC_BARE, PUBLIC_IP
from tests.cameras.conftest import Camera as IPCamera
from tests.factories import make_token, make_user

pytestmark = pytest.mark.django_db


def _commands(response) -> dict[str, str]:
    return {c["id"]: c["path"] for c in response.json()["commands"]}


def test_devices_lists_unclaimed_devices_polling_from_my_address(home_api, ipcam):
    ipcam.poll()
    IPCamera("aa:bb:cc:dd:ee:ff", ip="198.51.100.9").poll()  # someone else's network
    listed = home_api.get("/api/users/me/devices")
    assert listed.status_code == 200
    assert [d["mac_address"] for d in listed.json()] == [MAC_BARE]
    device = listed.json()[0]
    assert (device["maker"], device["model"], device["ip_address_local"]) == ("Sharx", "SCNC3904", "192.168.1.51")
    assert device["date_last_seen"].endswith("-0000")


def test_devices_from_elsewhere_are_not_offered(api, ipcam):
    ipcam.poll()
    api.defaults["REMOTE_ADDR"] = "198.51.100.200"
    assert api.get("/api/users/me/devices").json() == []


def test_devices_list_query_count_is_flat(home_api, django_assert_num_queries):
    for i in range(5):
        IPCamera(f"00:00:00:00:00:0{i}").poll()
    # Token lookup, then one query for the devices, however many there are.
    with django_assert_num_queries(2):
        assert len(home_api.get("/api/users/me/devices").json()) == 5


def test_claim_then_poll_carries_the_owners_upload_token(home_api, ipcam, user):
    before = ipcam.poll()
    assert "ftpAlarm" not in _commands(before)
    claimed = home_api.post(f"/api/users/me/devices/{MAC}/claim", {"name": "front door"}, format="json")
    assert claimed.status_code == 201
    assert claimed.json()["name"] == "front door"
    assert claimed.json()["camera_id"] == MAC_BARE
    assert claimed.json()["is_online"] is True  # it was just polling

    after = ipcam.poll(HTTP_IF_NONE_MATCH=before["ETag"])
    assert after.status_code == 200  # the configuration changed, so the old tag does not match
    ftp = _commands(after)["ftpAlarm"]
    token = account_settings_get(user=user).upload_token
    assert f"USERNAME={token}" in ftp
    assert "REMOTEPATH=front%20door" in ftp
    assert "SERVER=localhost&PORT=21" in ftp
    # The device is no longer offered, and the camera is the user's.
    assert home_api.get("/api/users/me/devices").json() == []
    assert home_api.get(f"/api/users/me/cameras/{quote('front door')}").json()["camera_id"] == MAC_BARE
    assert Device.objects.get().camera.owner == user


def test_ftp_gateway_host_and_port_come_from_settings(home_api, ipcam, settings):
    settings.FTP_GATEWAY_HOST, settings.FTP_GATEWAY_PORT = "ftp.example.net", 2121
    ipcam.poll()
    home_api.post(f"/api/users/me/devices/{MAC_BARE}/claim", {"name": "front"}, format="json")
    assert "SERVER=ftp.example.net&PORT=2121&REMOTEPATH=front" in _commands(ipcam.poll())["ftpAlarm"]


def test_claim_links_an_existing_camera_of_that_name(home_api, ipcam, user):
    camera = Camera.objects.create(owner=user, name="front")
    ipcam.poll()
    response = home_api.post(f"/api/users/me/devices/{MAC}/claim", {"name": "front"}, format="json")
    assert response.status_code == 200
    camera.refresh_from_db()
    assert camera.camera_id == MAC_BARE
    assert Device.objects.get().camera == camera


def test_claim_conflicts_with_a_camera_that_has_another_id(home_api, ipcam, user):
    Camera.objects.create(owner=user, name="front", camera_id="something-else")
    ipcam.poll()
    response = home_api.post(f"/api/users/me/devices/{MAC}/claim", {"name": "front"}, format="json")
    assert response.status_code == 409
    assert response.json()["message"]
    assert Device.objects.get().camera is None


def test_claim_from_another_network_is_404(api, ipcam):
    ipcam.poll()
    api.defaults["REMOTE_ADDR"] = "198.51.100.200"
    response = api.post(f"/api/users/me/devices/{MAC}/claim", {"name": "front"}, format="json")
    assert response.status_code == 404
    assert not Camera.objects.exists()


STRANGER_IP = "198.51.100.66"


def test_a_poll_from_another_network_does_not_let_a_stranger_claim_my_camera(home_api, ipcam, user, other_user):
    """A MAC is no secret and the poll is open: a stranger who polls with it once from their own
    network (to pass the same-network check) still cannot claim it, and my camera keeps my token."""
    ipcam.poll()
    stranger_camera = IPCamera(ip=STRANGER_IP)
    assert stranger_camera.poll().status_code == 200
    stranger = home_api.__class__(REMOTE_ADDR=STRANGER_IP)
    stranger.credentials(HTTP_AUTHORIZATION=f"token {make_token(other_user)}")

    claim = stranger.post(f"/api/users/me/devices/{MAC}/claim", {"name": "mine"}, format="json")

    assert claim.status_code == 409
    assert "more than one network" in claim.json()["message"]
    assert not Camera.objects.filter(owner=other_user).exists()
    assert account_settings_get(user=other_user).upload_token not in ipcam.poll().content.decode()


def test_a_contested_device_is_claimable_once_only_my_network_polled_it_for_the_window(home_api, ipcam, user):
    ipcam.poll()
    IPCamera(ip=STRANGER_IP).poll()
    ipcam.poll()  # back home: the last poll is mine, but the stranger's is inside the window
    refused = home_api.post(f"/api/users/me/devices/{MAC}/claim", {"name": "front"}, format="json")
    assert refused.status_code == 409

    # Ten quiet minutes later (only my camera polling), the claim goes through.
    Device.objects.update(ip_address_changed_at=timezone.now() - timedelta(minutes=11))
    ipcam.poll()
    claimed = home_api.post(f"/api/users/me/devices/{MAC}/claim", {"name": "front"}, format="json")
    assert claimed.status_code == 201
    assert account_settings_get(user=user).upload_token in ipcam.poll().content.decode()


def test_a_device_that_never_changed_network_is_claimable_at_once(home_api, ipcam):
    for _ in range(3):
        ipcam.poll()
    assert Device.objects.get().ip_address_changed_at is None
    assert home_api.post(f"/api/users/me/devices/{MAC}/claim", {"name": "front"}, format="json").status_code == 201


def test_someone_elses_device_cannot_be_claimed_or_seen(home_api, ipcam, other_user):
    ipcam.poll()
    assert home_api.post(f"/api/users/me/devices/{MAC}/claim", {"name": "front"}, format="json").status_code == 201
    intruder = home_api.__class__(REMOTE_ADDR=PUBLIC_IP)
    intruder.credentials(HTTP_AUTHORIZATION=f"token {make_token(other_user)}")
    # Same network, but the device is taken: as unknown as a device that never polled.
    again = intruder.post(f"/api/users/me/devices/{MAC}/claim", {"name": "mine"}, format="json")
    assert again.status_code == 404
    assert intruder.get("/api/users/me/cameras/front").status_code == 404
    assert intruder.get("/api/users/me/cameras").json() == []
    assert home_api.post(f"/api/users/me/devices/{MAC}/claim", {"name": "x"}, format="json").status_code == 409


@pytest.mark.parametrize(
    ("mac", "body", "status"),
    [
        (MAC, {}, 400),
        (MAC, {"name": ""}, 400),
        (MAC, {"name": "a/b"}, 400),
        (MAC, {"name": "x" * 65}, 400),
        (MAC, ["front"], 400),
        ("not-a-mac", {"name": "front"}, 400),
        ("ff:ff:ff:ff:ff:ff", {"name": "front"}, 404),
    ],
)
def test_bad_claims(home_api, ipcam, mac, body, status):
    ipcam.poll()
    response = home_api.post(f"/api/users/me/devices/{mac}/claim", body, format="json")
    assert response.status_code == status
    assert response.json()["message"]


def test_devices_need_credentials_and_refuse_the_upload_token(anon, ipcam, user):
    ipcam.poll()
    token = account_settings_get(user=user).upload_token
    assert anon.get("/api/users/me/devices").status_code == 401
    assert anon.post(f"/api/users/me/devices/{MAC}/claim", {"name": "x"}, format="json").status_code == 401
    # An Upload Token uploads and nothing else: not as a path token, not as a credential.
    assert anon.get(f"/api/users/{token}/devices").status_code in (401, 404)
    anon.credentials(HTTP_AUTHORIZATION=f"token {token}")
    assert anon.get("/api/users/me/devices").status_code == 401
    assert anon.post(f"/api/users/me/devices/{MAC}/claim", {"name": "x"}, format="json").status_code == 401


def test_rotated_upload_token_reaches_the_camera_within_a_write_window(home_api, user, settings):
    IPCamera().poll()
    home_api.post(f"/api/users/me/devices/{MAC}/claim", {"name": "front"}, format="json")
    poll = Poll(MAC_BARE, "Sharx", "SCNC3904", "192.168.1.51", PUBLIC_IP, "Wget")
    now = time.time()
    old = account_settings_get(user=user).upload_token
    assert f"USERNAME={old}" in {c["id"]: c["path"] for c in poll_record(poll, now=now)["commands"]}["ftpAlarm"]
    new = upload_token_rotate(user=user)
    later = poll_record(poll, now=now + settings.CAMERA_HEARTBEAT_WRITE_SECONDS)
    assert f"USERNAME={new}" in {c["id"]: c["path"] for c in later["commands"]}["ftpAlarm"]


def test_deleting_the_camera_releases_the_device(home_api, ipcam):
    ipcam.poll()
    home_api.post(f"/api/users/me/devices/{MAC}/claim", {"name": "front"}, format="json")
    assert "ftpAlarm" in _commands(ipcam.poll())
    assert home_api.delete("/api/users/me/cameras/front").status_code == 204
    assert "ftpAlarm" not in _commands(ipcam.poll())
    assert Device.objects.get().camera is None
    assert [d["mac_address"] for d in home_api.get("/api/users/me/devices").json()] == [MAC_BARE]


def test_camera_list_shows_polling_cameras_online_between_database_writes(home_api, user, settings):
    poll = Poll(MAC_BARE, "Sharx", "SCNC3904", "192.168.1.51", PUBLIC_IP, "Wget")
    now = time.time()
    poll_record(poll, now=now - 260)
    home_api.post(f"/api/users/me/devices/{MAC}/claim", {"name": "front"}, format="json")
    # Written 250 s ago (longer than the offline window), polled since without a write.
    for ago in (250, 170, 90, 10):
        poll_record(poll, now=now - ago)
    camera = Camera.objects.get()
    assert camera.last_seen_at.timestamp() == pytest.approx(now - 250, abs=1)
    assert home_api.get("/api/users/me/cameras").json()[0]["is_online"] is True
    assert home_api.get("/api/users/me/cameras/front").json()["is_online"] is True


def test_camera_list_query_count_is_flat(home_api, user, django_assert_num_queries):
    for i in range(4):
        IPCamera(f"00:00:00:00:00:0{i}").poll()
        home_api.post(f"/api/users/me/devices/00000000000{i}/claim", {"name": f"cam{i}"}, format="json")
    with django_assert_num_queries(2):
        cameras = home_api.get("/api/users/me/cameras").json()
    assert [c["is_online"] for c in cameras] == [True] * 4
    with django_assert_num_queries(3):  # zones prefetched in one query
        home_api.get("/api/users/me/cameras?fetch_zones=true")


def test_guest_reads_host_cameras_but_cannot_claim_for_them(home_api, ipcam, user, other_user, other_api):
    ipcam.poll()
    home_api.post(f"/api/users/me/devices/{MAC}/claim", {"name": "front"}, format="json")
    Guest.objects.create(host=user, guest=other_user)
    listed = other_api.get("/api/users/me/cameras", {"user": user.email}).json()
    assert [c["name"] for c in listed] == ["front"]
    stranger = make_user("carol")
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"token {make_token(stranger)}")
    assert client.get("/api/users/me/cameras", {"user": user.email}).status_code == 403


def test_admin_claims_and_unclaims_a_device(client, ipcam, user):
    from django.contrib.auth import get_user_model

    admin = get_user_model().objects.create_superuser("root", "root@example.com", "pw-root-12345")
    client.force_login(admin)
    ipcam.poll()
    device = Device.objects.get()
    url = "/admin/cameras/device/"
    form = client.post(url, {"action": "claim_device", "_selected_action": [device.pk]})
    assert form.status_code == 200 and b"Claim device" in form.content
    done = client.post(
        url,
        {"action": "claim_device", "_selected_action": [device.pk], "apply": "1", "owner": user.email, "name": "gate"},
        follow=True,
    )
    assert done.status_code == 200
    device.refresh_from_db()
    assert device.camera.name == "gate" and device.camera.owner == user
    assert "ftpAlarm" in _commands(ipcam.poll())
    client.post(url, {"action": "unclaim_devices", "_selected_action": [device.pk]})
    assert "ftpAlarm" not in _commands(ipcam.poll())


def test_admin_pages_render(client, ipcam, home_api):
    from django.contrib.auth import get_user_model

    ipcam.poll()
    home_api.post(f"/api/users/me/devices/{MAC}/claim", {"name": "front"}, format="json")
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "pw-root-12345")
    client.force_login(admin)
    camera = Camera.objects.get()
    for path in (
        "/admin/cameras/camera/",
        f"/admin/cameras/camera/{camera.pk}/change/",
        "/admin/cameras/camera/?online_state__exact=1",
        "/admin/cameras/device/",
        "/admin/cameras/device/?q=1234",
        "/admin/cameras/commandtemplate/",
        "/admin/cameras/statustransition/",
        "/admin/cameras/zone/",
    ):
        assert client.get(path).status_code == 200, path


def test_admin_template_edit_reaches_the_next_poll(client, ipcam):
    from django.contrib.auth import get_user_model

    from cameras.models import CommandTemplate

    admin = get_user_model().objects.create_superuser("root", "root@example.com", "pw-root-12345")
    client.force_login(admin)
    ipcam.poll()
    template = CommandTemplate.objects.get(maker="Sharx", command_id="time")
    response = client.post(
        f"/admin/cameras/commandtemplate/{template.pk}/change/",
        {
            "maker": "Sharx",
            "model": "",
            "command_id": "time",
            "method": "GET",
            "is_auth_required": "on",
            "regex_response": "000 Success",
            "path": "/form/setNtp?ENABLE=1&SERVER=pool.ntp.org",
            "audience": "all",
            "position": "20",
            "enabled": "on",
        },
    )
    assert response.status_code == 302
    assert _commands(ipcam.poll())["time"] == "/form/setNtp?ENABLE=1&SERVER=pool.ntp.org"


def test_rotating_the_upload_token_reaches_the_camera_at_its_next_poll(
    home_api, user, django_capture_on_commit_callbacks
):
    IPCamera().poll()
    home_api.post(f"/api/users/me/devices/{MAC}/claim", {"name": "front"}, format="json")
    poll = Poll(MAC_BARE, "Sharx", "SCNC3904", "192.168.1.51", PUBLIC_IP, "Wget")
    now = time.time()
    poll_record(poll, now=now)
    with django_capture_on_commit_callbacks(execute=True):
        answer = home_api.post("/api/users/me/tokens/upload/rotate")
    assert answer.status_code == 200
    new = answer.json()
    following = poll_record(poll, now=now + 30)  # well inside the write window
    assert f"USERNAME={new}" in {c["id"]: c["path"] for c in following["commands"]}["ftpAlarm"]


def test_admin_lists_show_polls_the_cache_holds_between_writes(client, ipcam, home_api):
    from django.contrib.auth import get_user_model

    ipcam.poll()
    home_api.post(f"/api/users/me/devices/{MAC}/claim", {"name": "front"}, format="json")
    ipcam.poll()
    # The rows' sights are old as far as the database knows; the cache holds this poll.
    Camera.objects.update(last_seen_at=None)
    Device.objects.update(last_seen_at=None)
    ipcam.poll()
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "pw-root-12345")
    client.force_login(admin)
    cameras = client.get("/admin/cameras/camera/").content.decode()
    assert re.search(r'class="field-online"><span [^>]*>online<', cameras)
    devices = client.get("/admin/cameras/device/").content.decode()
    assert re.search(r'class="field-last_seen[^"]*">[A-Z][a-z]{2}', devices)  # a date, not the empty "-"
