"""`manage.py serve` runs web, worker and beat on the embedded default (and the FTP gateway when
configured); Ctrl-C stops them all."""

import ftplib
import io
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); it has exited all the same.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def manage(env, *args) -> str:
    out = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_serve_runs_everything_on_the_embedded_default_and_stops_on_ctrl_c(tmp_path):
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE_URL", "CELERY_", "CACHE_URL", "AWS_", "PUBLIC_BASE_URL"))
    }
    env["CAMHUB_DATA_DIR"] = str(tmp_path)
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "serve", "--port", str(port), "--web-workers", "1", "--concurrency", "1"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    log: list[str] = []
    threading.Thread(target=lambda: [log.append(line) for line in proc.stdout], daemon=True).start()
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        else:
            pytest.fail("serve did not answer /healthz:\n" + "".join(log))
        assert (tmp_path / "db.sqlite3").exists()  # migrations ran on the embedded SQLite file
        ready = httpx.get(f"{base}/readyz", timeout=5)
        assert ready.status_code == 200, ready.text
        # The links handed out point at this serve's port (PUBLIC_BASE_URL unset).
        poll = httpx.get(f"{base}/api/cameras/12:34:56:78:90:12", params={"maker": "Sharx", "model": "SCNC3904"})
        assert poll.status_code == 200 and f"localhost:{port}/api/cameras/" in poll.text, poll.text

        # A real asynchronous task through the embedded broker and worker: deleting a camera
        # purges its stored bytes in a task.
        token = manage(env, "create_dev_token", "owner", "--create").strip().splitlines()[-1]
        code = (
            "from django.contrib.auth.models import User; from cameras.models import Camera; "
            "c = Camera.objects.create(owner=User.objects.get(username='owner'), name='front'); "
            "print(c.owner_id, c.pk)"
        )
        owner_id, camera_pk = manage(env, "shell", "-c", code).strip().splitlines()[-1].split()
        stored = tmp_path / "media" / "content" / owner_id / camera_pk / "2026" / "a.jpg"
        stored.parent.mkdir(parents=True)
        stored.write_bytes(b"jpeg")
        deleted = httpx.delete(f"{base}/api/users/me/cameras/front", headers={"Authorization": f"token {token}"})
        assert deleted.status_code == 204
        deadline = time.monotonic() + 30
        while stored.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not stored.exists(), "the worker did not run the purge task:\n" + "".join(log)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            pytest.fail("serve did not stop on SIGINT:\n" + "".join(log))
    pids = [int(p) for p in re.findall(r"started \w+ \(pid (\d+)\)", "".join(log))]
    assert len(pids) == 3
    time.sleep(0.5)
    assert not [p for p in pids if alive(p)], "children left running"


def test_serve_starts_the_ftp_gateway_when_a_port_is_configured(tmp_path):
    from PIL import Image

    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "CELERY_", "CACHE_URL", "AWS_"))}
    env["CAMHUB_DATA_DIR"] = str(tmp_path)
    ftp_port = free_port()
    env["FTP_GATEWAY_PORT"] = str(ftp_port)
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "serve", "--port", str(free_port()), "--web-workers", "1", "--concurrency", "1"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    log: list[str] = []
    threading.Thread(target=lambda: [log.append(line) for line in proc.stdout], daemon=True).start()
    try:
        deadline = time.monotonic() + 90
        while "camhub is serving" not in "".join(log):  # migrations have run
            if time.monotonic() > deadline or proc.poll() is not None:
                pytest.fail("serve did not start:\n" + "".join(log))
            time.sleep(0.3)
        manage(env, "create_dev_token", "owner", "--create")
        code = (
            "from django.contrib.auth.models import User; from accounts.selectors import account_settings_get; "
            "print(account_settings_get(user=User.objects.get(username='owner')).upload_token)"
        )
        upload_token = manage(env, "shell", "-c", code).strip().splitlines()[-1]
        image = io.BytesIO()
        Image.new("RGB", (32, 24), (200, 0, 0)).save(image, "JPEG")
        deadline = time.monotonic() + 60
        while True:
            try:
                ftp = ftplib.FTP()  # noqa: S321 - the gateway cameras speak plain FTP to
                ftp.connect("127.0.0.1", ftp_port, timeout=5)
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("the FTP gateway did not start:\n" + "".join(log))
                time.sleep(0.3)
        ftp.login(upload_token, "any password")
        ftp.mkd("porch")
        ftp.storbinary("STOR porch/snap.jpg", io.BytesIO(image.getvalue()))
        ftp.quit()
        count = "from uploads.models import Content; print(Content.objects.filter(camera__name='porch').count())"
        deadline = time.monotonic() + 30
        while manage(env, "shell", "-c", count).strip().splitlines()[-1] != "1":
            if time.monotonic() > deadline:
                pytest.fail("the FTP upload was not ingested:\n" + "".join(log))
            time.sleep(0.3)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            pytest.fail("serve did not stop on SIGINT:\n" + "".join(log))
    pids = [int(p) for p in re.findall(r"started \w+ \(pid (\d+)\)", "".join(log))]
    assert len(pids) == 4  # web, worker, beat and ftp
    time.sleep(0.5)
    assert not [p for p in pids if alive(p)], "children left running"


def test_links_point_where_serve_listens_unless_public_base_url_is_set():
    from config.management.commands.serve import public_base_url

    assert public_base_url("127.0.0.1", 41015) == "http://localhost:41015"
    assert public_base_url("0.0.0.0", 8080) == "http://localhost:8080"  # noqa: S104
    assert public_base_url("cams.example.net", 80) == "http://cams.example.net:80"
    assert public_base_url("2001:db8::7", 8000) == "http://[2001:db8::7]:8000"
