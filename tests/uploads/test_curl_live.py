"""The reference's curl commands, run verbatim (host and token replaced) against a live server."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

import httpx
import pytest

from accounts.selectors import account_settings_get
from tests.config.test_serve import free_port
from tests.conftest import REPO, _database_url_for_subprocess
from tests.uploads.samples import jpeg_bytes, mp4_bytes
from uploads.models import Content

pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")


def curl(cwd, *args: str) -> tuple[int, dict]:
    out = subprocess.run(
        ["curl", "-sS", "-w", "\n%{http_code}", *args], cwd=cwd, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    body, _, status = out.stdout.rpartition("\n")
    return int(status), json.loads(body) if body else {}


def test_the_references_curl_commands_upload_video_and_images(live_server, transactional_db, user, tmp_path):
    token = account_settings_get(user=user).upload_token
    base = f"{live_server.url}/api/users/{token}/cameras/front/content"
    (tmp_path / "2014-07-21T20:38:31.000-07:00.mp4").write_bytes(mp4_bytes(seconds=2))
    (tmp_path / "2014-07-21T20:38:32.183-07:00.jpeg").write_bytes(jpeg_bytes(320, 180))
    (tmp_path / "filename.mp4").write_bytes(mp4_bytes(seconds=1))

    # "Recording Video and Images"
    status, video = curl(
        tmp_path,
        "-H",
        "Content-Type: video/mp4",
        "-X",
        "PUT",
        "-T",
        "2014-07-21T20:38:31.000-07:00.mp4",
        f"{base}/2014-07-21T20:38:31.000-07:00.mp4?camera_id=1234&upload_mode=video",
    )
    assert status == 201, video
    assert video["content_type"] == "video/mp4" and video["date_created"] == "2014-07-22T03:38:31.000-0000"
    status, image = curl(
        tmp_path,
        "-H",
        "Content-Type: image/jpeg",
        "-X",
        "PUT",
        "-T",
        "2014-07-21T20:38:32.183-07:00.jpeg",
        f"{base}/2014-07-21T20:38:32.183-07:00.jpeg?camera_id=1234",
    )
    assert status == 201, image
    assert (image["width"], image["height"]) == (320, 180)

    # "Upload Content": POST, and a URL ending in content/ (curl appends the file name to it).
    status, posted_video = curl(
        tmp_path,
        "-H",
        "Content-Type:video/mp4",
        "-X",
        "POST",
        "-T",
        "filename.mp4",
        f"{base}/?camera_id=1234&upload_mode=video",
    )
    assert status == 201, posted_video
    assert posted_video["upload_mode"] == "video"
    status, posted_image = curl(
        tmp_path,
        "-H",
        "Content-Type:image/jpeg",
        "-X",
        "POST",
        "-T",
        "2014-07-21T20:38:32.183-07:00.jpeg",
        f"{base}/2014-07-21T20:38:32.183-07:00.jpeg?camera_id=1234",
    )
    # The same camera, name and bytes as the PUT above: the same item, not a second one.
    assert status == 200 and posted_image["id"] == image["id"] and posted_image["duplicate"] is True
    assert Content.objects.count() == 3


def test_a_wrong_token_over_the_wire_is_a_json_401(live_server, transactional_db, tmp_path):
    (tmp_path / "a.jpeg").write_bytes(jpeg_bytes())
    status, answer = curl(
        tmp_path,
        "-H",
        "Content-Type:image/jpeg",
        "-X",
        "POST",
        "-T",
        "a.jpeg",
        f"{live_server.url}/api/users/nope/cameras/front/content/a.jpeg?camera_id=1",
    )
    assert status == 401 and answer == {"message": "Unknown Upload Token"}


@pytest.fixture
def gunicorn(transactional_db, tmp_path):
    """The service under gunicorn (as deployed) on the test database, with a 50 KB image limit."""
    port = free_port()
    env = dict(
        os.environ,
        DATABASE_URL=_database_url_for_subprocess(),
        CAMHUB_DATA_DIR=str(tmp_path),
        UPLOAD_MAX_IMAGE_BYTES="50000",
        CELERY_TASK_ALWAYS_EAGER="true",
    )
    env.pop("AWS_STORAGE_BUCKET_NAME", None)
    argv = [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind", f"127.0.0.1:{port}"]
    proc = subprocess.Popen([*argv, "--threads", "2"], cwd=REPO, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{base}/healthz", timeout=1)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        proc.wait(10)


def test_chunked_uploads_stream_and_are_cut_off_at_the_limit_under_gunicorn(gunicorn, user):
    token = account_settings_get(user=user).upload_token
    url = f"{gunicorn}/api/users/{token}/cameras/front/content"
    image = jpeg_bytes(100, 80)

    def chunks(data: bytes, size: int = 1000):
        for i in range(0, len(data), size):
            yield data[i : i + size]

    # No Content-Length: the body arrives in chunks (curl -T - does this too).
    ok = httpx.put(f"{url}/a.jpg?camera_id=1", content=chunks(image), headers={"Content-Type": "image/jpeg"})
    assert ok.status_code == 201, ok.text
    assert ok.json()["size"] == len(image)
    big = jpeg_bytes(64, 64, pad_to=80_000)
    refused = httpx.put(f"{url}/b.jpg?camera_id=1", content=chunks(big), headers={"Content-Type": "image/jpeg"})
    assert refused.status_code == 413 and "50000" in refused.json()["message"]
    declared = httpx.put(f"{url}/c.jpg?camera_id=1", content=big, headers={"Content-Type": "image/jpeg"})
    assert declared.status_code == 413
    assert list(Content.objects.values_list("name", flat=True)) == ["a.jpg"]
