"""Defects a review found in the camera-facing protocol (polling, Upload Tokens, uploads, FTP, live image), fixed.

1. A poll from another network with a claimed camera's MAC was handed the owner's Upload Token.
2. An upload whose body ended before its Content-Length was stored as if complete.
3. A command whose filled-in path changed (camera renamed, FTP gateway or base URL moved) kept its date.
4. An FTP user name with a trailing space logged in, but every upload of the session was refused.
5. The live image of a camera that uploads only video was a 404, though its clips' posters were stored.
6. A guest's upload naming the host's account with ``user=`` was filed in the guest's own account.
"""

from __future__ import annotations

import base64
import ftplib
import io
import time

import av
import numpy as np
import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from accounts.selectors import account_settings_get
from cameras import polling
from cameras.models import Camera
from cameras.polling import Poll, contest_window_seconds, poll_record
from tests.conftest import wait_for
from tests.uploads.samples import jpeg_bytes, mp4_bytes
from uploads.models import Content

MAC = "12:34:56:78:90:12"
HOME_IP = "203.0.113.7"
STRANGER_IP = "198.51.100.66"
SHARX = {"maker": "Sharx", "model": "SCNC3904", "ip_address_local": "192.168.1.51"}


@pytest.fixture
def upload_token(user) -> str:
    return account_settings_get(user=user).upload_token


def _commands(response) -> dict[str, dict]:
    assert response.status_code == 200, response.content
    return {c["id"]: c for c in response.json()["commands"]}


def _claimed_camera(api) -> APIClient:
    """The user's Sharx camera polling from home, claimed as ``front``; returns the camera's client."""
    camera = APIClient(REMOTE_ADDR=HOME_IP, HTTP_USER_AGENT="Wget")
    assert camera.get(f"/api/cameras/{MAC}", SHARX).status_code == 200
    api.defaults["REMOTE_ADDR"] = HOME_IP
    claimed = api.post(f"/api/users/me/devices/{MAC}/claim", {"name": "front"}, format="json")
    assert claimed.status_code == 201, claimed.content
    return camera


def fragmented_mp4(*, seconds: float = 4.0, fps: int = 10, width: int = 160, height: int = 120) -> bytes:
    """A fragmented MP4 (moov first, then one fragment per keyframe), as many IP cameras record."""
    out = io.BytesIO()
    with av.open(out, mode="w", format="mp4", options={"movflags": "frag_keyframe+empty_moov"}) as video:
        try:
            stream = video.add_stream("libx264", rate=fps)
        except Exception:
            stream = video.add_stream("mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.gop_size = fps  # a keyframe (and so a fragment) every second
        noise = np.random.default_rng(7)
        for _ in range(int(seconds * fps)):
            arr = noise.integers(0, 255, (height, width, 3), dtype=np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(arr, format="rgb24")):
                video.mux(packet)
        for packet in stream.encode():
            video.mux(packet)
    return out.getvalue()


# --- one account's data reachable by another -------------------------------------------------------


def _admin_rename(client, camera: Camera, name: str) -> None:
    """An admin renames ``camera`` to ``name`` on its change page."""
    renamed = client.post(
        f"/admin/cameras/camera/{camera.pk}/change/",
        {
            "name": name,
            "camera_id": camera.camera_id,
            "attribution": "{}",
            "tags": "[]",
            "refresh_interval": 0,
            "capabilities": "[]",
            "recording_enabled": "on",
            "zones-TOTAL_FORMS": 0,
            "zones-INITIAL_FORMS": 0,
            "transitions-TOTAL_FORMS": 0,
            "transitions-INITIAL_FORMS": 0,
        },
    )
    assert renamed.status_code == 302, renamed.content[:500]
    assert Camera.objects.get(pk=camera.pk).name == name


def test_a_poll_from_another_network_with_my_cameras_mac_is_not_handed_my_upload_token(api, user, db, ftp_configured):
    """(1) A stranger who knows my camera's MAC (sticker, box, LAN broadcast) polls
    ``GET /api/cameras/<mac>?maker=Sharx&model=…`` once from their own network.

    It used to be answered with my camera's configuration, whose ``ftpAlarm`` command carried
    ``USERNAME=<my Upload Token>``: enough to upload forged snapshots into my account and fire my
    hooks. Now a poll from a new public address makes the device contested (as it already did for
    claiming), and a contested device is answered as an unclaimed one: no command naming the owner.
    """
    home_camera = _claimed_camera(api)
    token = account_settings_get(user=user).upload_token
    assert token in _commands(home_camera.get(f"/api/cameras/{MAC}", SHARX))["ftpAlarm"]["path"]

    stranger = APIClient(REMOTE_ADDR=STRANGER_IP, HTTP_USER_AGENT="curl/8.0")
    answer = stranger.get(f"/api/cameras/{MAC}", SHARX)

    assert answer.status_code == 200
    assert token not in answer.content.decode(), "a stranger's poll was handed the owner's Upload Token"
    assert "front" not in answer.content.decode(), "a stranger's poll was told the camera's name"
    assert "ftpAlarm" not in _commands(answer)
    # Neither does the stranger get it by polling again while my camera polls from home.
    assert "ftpAlarm" not in _commands(home_camera.get(f"/api/cameras/{MAC}", SHARX))
    assert token not in stranger.get(f"/api/cameras/{MAC}", SHARX).content.decode()


def test_my_camera_gets_its_commands_back_once_only_my_network_polled_for_the_window(api, user, db, ftp_configured):
    """(1) What withholding the owner's commands costs the real camera: after a stranger's poll it
    gets them again once it has polled from home alone for the contest window, with the date it
    had (it re-applies nothing)."""
    home_camera = _claimed_camera(api)
    before = _commands(home_camera.get(f"/api/cameras/{MAC}", SHARX))["ftpAlarm"]
    home = Poll("123456789012", "Sharx", "SCNC3904", "192.168.1.51", HOME_IP, "Wget")
    now = time.time()
    poll_record(home._replace(ip_address=STRANGER_IP, user_agent="curl/8.0"), now=now)
    assert "ftpAlarm" not in {c["id"] for c in poll_record(home, now=now + 30)["commands"]}
    assert "ftpAlarm" not in {c["id"] for c in poll_record(home, now=now + 60)["commands"]}

    later = {c["id"]: c for c in poll_record(home, now=now + 30 + contest_window_seconds() + 1)["commands"]}

    assert later["ftpAlarm"]["path"] == before["path"]
    assert later["ftpAlarm"]["date_updated"] == before["date_updated"]


# --- data lost or corrupted ---------------------------------------------------------------------------


def test_an_upload_whose_body_ends_before_its_content_length_is_refused_not_stored(anon, upload_token):
    """(2) A camera PUTs a 4 s fragmented MP4 clip (``Content-Length`` = its full size) and its
    connection drops halfway: the server reads end-of-stream after half of the declared bytes.

    It used to be stored (201) as a Content row of half the declared size (the first fragments
    decode), and the camera's retry became a second item. Now a body shorter than its declared
    ``Content-Length`` is refused as incomplete (400 ``{"message"}``) and nothing is stored.
    """
    clip = fragmented_mp4()
    received = clip[: len(clip) // 2]

    response = anon.generic(
        "PUT",
        f"/api/users/{upload_token}/cameras/front/content/clip.mp4?camera_id=1234&upload_mode=video",
        received,
        content_type="video/mp4",
        **{"wsgi.input": io.BytesIO(received), "CONTENT_LENGTH": str(len(clip))},
    )

    assert 400 <= response.status_code < 500, (response.status_code, response.content[:200])
    assert response.json()["message"]
    assert not Content.objects.exists()


def test_renaming_a_claimed_camera_moves_the_date_of_its_ftp_command(api, client, db, ftp_configured):
    """(3) An admin renames the claimed camera ``front`` to ``porch`` (Django admin).

    The next poll's ``ftpAlarm`` said ``REMOTEPATH=porch`` under the date it had: a camera
    re-applies a command whose date moved, so it kept sending files to ``/front/`` and the FTP
    gateway filed them under a new camera ``front``. Now a command's date is when its filled-in
    form was first answered to the device, so the new path carries a newer date.
    """
    camera = _claimed_camera(api)
    before = _commands(camera.get(f"/api/cameras/{MAC}", SHARX))["ftpAlarm"]
    assert "REMOTEPATH=front&" in before["path"]

    admin = get_user_model().objects.create_superuser("root", "root@example.com", "pw-root-12345")
    client.force_login(admin)
    front = Camera.objects.get(name="front")
    _admin_rename(client, front, "porch")

    after = _commands(camera.get(f"/api/cameras/{MAC}", SHARX))["ftpAlarm"]
    assert "REMOTEPATH=porch&" in after["path"]
    assert after["date_updated"] > before["date_updated"], "the path changed but its date did not"


@pytest.mark.parametrize(
    ("setting", "value", "command"),
    [
        ("FTP_GATEWAY_HOST", "ftp.example.net", "ftpAlarm"),
        ("FTP_GATEWAY_PORT", 2121, "ftpAlarm"),
        ("PUBLIC_BASE_URL", "https://cams.example.net", "ping"),
        ("CAMERA_POLL_INTERVAL_SECONDS", 60, "ping"),
    ],
)
def test_a_changed_gateway_or_poll_setting_moves_the_date_of_the_commands_it_fills(
    api, db, ftp_configured, settings, setting, value, command
):
    """(3) The same for the server's settings a command is filled in with: moving the FTP gateway,
    the public URL or the poll interval used to change the path under the old date (the camera kept
    the old server); now the date moves. Commands the setting does not fill keep theirs, and an
    answer built again for the same configuration (another web process) carries the same dates."""
    camera = _claimed_camera(api)
    before = _commands(camera.get(f"/api/cameras/{MAC}", SHARX))
    polling._answers.clear()  # another process building the same answer
    assert _commands(camera.get(f"/api/cameras/{MAC}", SHARX)) == before

    setattr(settings, setting, value)
    after = _commands(camera.get(f"/api/cameras/{MAC}", SHARX))

    assert after[command]["path"] != before[command]["path"]
    assert after[command]["date_updated"] > before[command]["date_updated"]
    assert after["time"] == before["time"]


def test_an_ftp_user_name_with_a_trailing_space_is_checked_alike_at_login_and_upload(gateway, user):
    """(4) An installer types the Upload Token into the camera's FTP user field with a trailing
    space (``USER <token> ``), as pasting often does.

    The login was accepted (checked stripped) but every stored file was refused with ``530 Not
    logged in: the Upload Token is no longer valid`` (checked unstripped): nothing was ever kept.
    Now login and upload check the same stripped name, and the upload is kept (226).
    """
    token = account_settings_get(user=user).upload_token
    ftp = ftplib.FTP()  # noqa: S321 - cameras speak plain FTP; this is the gateway they use
    ftp.connect("127.0.0.1", gateway, timeout=10)
    ftp.login(f"{token} ", "camio")
    ftp.mkd("front")
    try:
        reply = ftp.storbinary("STOR front/snap.jpg", io.BytesIO(jpeg_bytes()))
    finally:
        ftp.close()
    assert reply.startswith("226"), reply
    content = wait_for(lambda: Content.objects.filter(name="snap.jpg").first())
    assert content.owner == user


# --- wrong answers vs the reference -------------------------------------------------------------------


def test_the_live_image_of_a_camera_that_uploads_only_video_is_its_newest_clips_frame(anon, api, upload_token):
    """(5) A camera records only MP4 clips (``upload_mode=video``, the reference's first example);
    its owner asks for ``GET /api/content/live/:camera/``.

    It used to answer 404 "This camera has no live image yet", however many clips it uploaded,
    although each clip's poster frame is stored. Now the live image is the newest item with a
    picture, here the newest clip's poster frame (200, a JPEG).
    """
    stored = anon.generic(
        "PUT",
        f"/api/users/{upload_token}/cameras/driveway/content/2014-07-21T20:38:31.000-07:00.mp4"
        "?camera_id=1234&upload_mode=video",
        mp4_bytes(seconds=2),
        content_type="video/mp4",
    )
    assert stored.status_code == 201, stored.content

    live = api.get("/api/content/live/driveway/")

    assert live.status_code == 200, live.content
    assert base64.b64decode(live.json()["image_bytes"]).startswith(b"\xff\xd8\xff")
    jpeg = api.get("/api/content/live/driveway/?output=jpeg")
    assert jpeg.status_code == 200 and jpeg["Content-Type"] == "image/jpeg"


def test_a_guests_upload_naming_the_hosts_account_is_refused_not_filed_in_the_guests_own(
    api, other_api, user, other_user
):
    """(6) Bob is Alice's guest. He uploads as ``me`` with ``?user=alice@example.com`` (the
    parameter that selects the host's cameras everywhere else), meaning Alice's camera ``front``.

    It used to be stored (201) in Bob's own account, under a camera ``front`` made for it there,
    and Alice had nothing. Now it is refused as every other write naming another account with
    ``user=`` is (403 ``{"message"}``: guests only read), and nothing is stored in either account.
    """
    added = api.post("/api/users/me/guests", {"email": "bob@example.com"}, format="json")
    assert added.status_code == 201, added.content

    response = other_api.generic(
        "PUT",
        "/api/users/me/cameras/front/content/snap.jpg?camera_id=1234&user=alice@example.com",
        jpeg_bytes(),
        content_type="image/jpeg",
    )

    assert response.status_code == 403, (response.status_code, response.content[:200])
    assert response.json()["message"]
    assert not Content.objects.exists()
    assert not Camera.objects.filter(owner=other_user).exists()
