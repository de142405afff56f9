"""The FTP gateway on loopback: Upload Token as user name, files under /<camera name>/ are ingested."""

from __future__ import annotations

import ftplib
import io
import os
import subprocess
import sys

import pytest

from accounts.selectors import account_settings_get
from cameras.models import Camera
from tests.conftest import REPO, _database_url_for_subprocess, wait_for
from tests.uploads.samples import jpeg_bytes, mp4_bytes
from uploads.models import Content


def login(port: int, user: str) -> ftplib.FTP:
    ftp = ftplib.FTP()  # noqa: S321 - cameras speak plain FTP; this is the gateway they use
    ftp.connect("127.0.0.1", port, timeout=10)
    ftp.login(user, "camio")
    return ftp


def test_a_camera_uploads_by_ftp_with_its_upload_token(gateway, user, other_user, settings):
    token = account_settings_get(user=user).upload_token
    ftp = login(gateway, token)
    ftp.mkd("front")
    ftp.cwd("front")
    image = jpeg_bytes(120, 90)
    ftp.storbinary("STOR front_20140721_203831.jpg", io.BytesIO(image))
    # Upload-then-rename, as many cameras do: the partial name is ignored, the rename ingests.
    clip = mp4_bytes()
    ftp.storbinary("STOR clip.mp4.tmp", io.BytesIO(clip))
    ftp.rename("clip.mp4.tmp", "clip.mp4")
    ftp.quit()

    content = wait_for(lambda: Content.objects.filter(name="front_20140721_203831.jpg").first())
    assert content.owner == user and content.camera.name == "front"
    assert (content.width, content.height) == (120, 90)
    assert content.captured_at.isoformat() == "2014-07-21T20:38:31+00:00"  # parse_timestamp is on for FTP
    video = wait_for(lambda: Content.objects.filter(name="clip.mp4").first())
    assert video.kind == "video" and video.content_type == "video/mp4"
    assert not Content.objects.filter(name__endswith=".tmp").exists()
    assert not Content.objects.filter(owner=other_user).exists()
    # Nothing is left in the gateway's spool once the session ended.
    # (os.walk, not Path.rglob: the session's folder may vanish while it is being listed.)
    wait_for(lambda: not [f for _dir, _subdirs, files in os.walk(settings.DATA_DIR / "ftp") for f in files])


def test_ftp_refuses_unknown_tokens_and_files_outside_a_camera_folder(gateway, user):
    with pytest.raises(ftplib.error_perm, match="530"):
        login(gateway, "not-a-token")
    ftp = login(gateway, account_settings_get(user=user).upload_token)
    # Refused for good, and said so (not "226 Transfer complete", then dropped).
    with pytest.raises(ftplib.error_perm, match="553"):
        ftp.storbinary("STOR loose.jpg", io.BytesIO(jpeg_bytes()))
    ftp.mkd("front")
    with pytest.raises(ftplib.error_perm, match="550 Refused"):
        ftp.storbinary("STOR front/garbage.jpg", io.BytesIO(b"not a jpeg" * 50))
    assert ftp.storbinary("STOR front/good.jpg", io.BytesIO(jpeg_bytes())).startswith("226")
    # An Upload Token grants no reading, by FTP either.
    with pytest.raises(ftplib.error_perm, match="550"):
        ftp.retrbinary("RETR front/good.jpg", lambda _: None)
    ftp.quit()
    wait_for(lambda: Content.objects.filter(name="good.jpg").exists())
    assert list(Content.objects.values_list("name", flat=True)) == ["good.jpg"]
    assert list(Camera.objects.values_list("name", flat=True)) == ["front"]


def test_the_ftp_gateway_command_serves_on_the_given_port(transactional_db, user, tmp_path):
    from tests.config.test_serve import free_port

    port = free_port()
    env = dict(
        os.environ,
        DATABASE_URL=_database_url_for_subprocess(),
        CAMHUB_DATA_DIR=str(tmp_path),
        PYTHONUNBUFFERED="1",
    )
    env.pop("AWS_STORAGE_BUCKET_NAME", None)
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "ftp_gateway", "--host", "127.0.0.1", "--port", str(port)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        seen = [proc.stdout.readline() for _ in range(1)]
        while "FTP gateway listening" not in seen[-1]:  # after any system check warnings
            assert seen[-1] and len(seen) < 50, "".join(seen)
            seen.append(proc.stdout.readline())
        ftp = login(port, account_settings_get(user=user).upload_token)
        ftp.mkd("porch")
        ftp.storbinary("STOR porch/2014-07-21T20:38:32.183-07:00.jpeg", io.BytesIO(jpeg_bytes()))
        ftp.quit()
        content = wait_for(lambda: Content.objects.filter(camera__name="porch").first(), timeout=20)
        assert content.owner == user
        assert (tmp_path / "media" / content.storage_key).exists()
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.mark.django_db(transaction=True)
def test_passive_replies_name_the_masquerade_address_behind_nat(user):
    """In a container or behind NAT the gateway's own address is private: cameras must be told
    the public one (FTP_MASQUERADE_ADDRESS) for their data connections, in the passive range."""
    from tests.uploads.conftest import serving_ftp

    with serving_ftp(passive="30100-30104", masquerade="203.0.113.10") as port:
        ftp = login(port, account_settings_get(user=user).upload_token)
        reply = ftp.sendcmd("PASV")
        ftp.close()
    host, data_port = ftplib.parse227(reply)  # noqa: S321 - the gateway cameras use
    assert host == "203.0.113.10"
    assert 30100 <= data_port <= 30104


def test_a_masquerade_address_that_is_no_ipv4_address_stops_the_service(tmp_path):
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "CAMHUB_DATA_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", "import config.settings"],
        cwd=REPO,
        env={**env, "FTP_MASQUERADE_ADDRESS": "ftp.example.com"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0 and "FTP_MASQUERADE_ADDRESS must be an IPv4 address" in result.stderr
