"""Findings of an end-to-end check of the production shape (README "Production shape", docker/).

The deployment was run as the README says: gunicorn, `celery -A config worker --queues celery,hooks`
and `celery -A config beat` on PostgreSQL, Redis (cache and broker), S3 (moto's server), with
DEBUG=false, PUBLIC_BASE_URL and HOOKS_ALLOW_PRIVATE_NETWORKS=1; then a user's journey over HTTP.
Each test below was one defect found that way (2026-12-05, all fixed), reduced to what the suite
can run here; the docstrings tell what happened before the fix.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cameras.conftest import MAC, PUBLIC_IP
from tests.cameras.conftest import Camera as IPCamera

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_a_claimed_camera_is_not_told_to_ftp_its_uploads_to_localhost(api, settings):
    """The operator deploys the production shape with the variables README's table lists
    (PUBLIC_BASE_URL=https://camhub.example.com, ...); the README's three processes and
    docker/compose.yml run no FTP gateway and set no FTP_GATEWAY_*. A user claims a polling Sharx
    camera. Its next poll should not send it somewhere nothing listens. It carries the seeded
    `ftpAlarm` command with `SERVER=localhost&PORT=21`: the camera's own loopback, so every alarm
    snapshot it uploads is lost. (Seen on the live deployment:
    `.../setFtpAlarmSending/?...&SERVER=localhost&PORT=21&REMOTEPATH=front&...`.)"""
    settings.PUBLIC_BASE_URL = "https://camhub.example.com"
    settings.FTP_GATEWAY_PORT = 0  # no gateway configured, as in compose
    camera = IPCamera()
    camera.poll()
    api.defaults["REMOTE_ADDR"] = PUBLIC_IP
    assert api.post(f"/api/users/me/devices/{MAC}/claim", {"name": "front"}, format="json").status_code == 201
    commands = {c["id"]: c["path"] for c in camera.poll().json()["commands"]}
    assert "ftpAlarm" not in commands, commands["ftpAlarm"]
    assert commands  # the rest of its commands still come

    # With a gateway configured, the camera is told where it is.
    settings.FTP_GATEWAY_PORT, settings.FTP_GATEWAY_HOST = 2121, "camhub.example.com"
    from cameras.commands import templates_version_bump

    templates_version_bump()
    commands = {c["id"]: c["path"] for c in camera.poll().json()["commands"]}
    assert "SERVER=camhub.example.com&PORT=2121" in commands["ftpAlarm"], commands["ftpAlarm"]


def test_the_ftp_gateway_host_defaults_to_the_public_host(tmp_path):
    """Unset, FTP_GATEWAY_HOST was "localhost": the camera's own loopback."""
    code = "import config.settings as s; print(s.FTP_GATEWAY_HOST)"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "CAMHUB_DATA_DIR": str(tmp_path),
        "PUBLIC_BASE_URL": "https://camhub.example.com",
    }
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "camhub.example.com"


_PUBLISH_TIMING = """
import json, time
from config.celery import app
spent = []
for _ in range(2):
    started = time.perf_counter()
    try:
        app.send_task("search.requeue_unanalysed")
    except Exception:
        pass
    spent.append(time.perf_counter() - started)
print(json.dumps(min(spent)))
"""


def test_publishing_to_an_unreachable_broker_gives_up_after_about_0_2_s(tmp_path):
    """README: "Uploads keep being accepted while only the broker is down (publishing gives up
    after ~0.2 s)". With the broker unreachable, each upload (PUT .../content/...) on the live
    deployment took 630-820 ms, and a bare `app.send_task` takes 0.60 s: settings tune the broker
    *connection* retries (CELERY_BROKER_TRANSPORT_OPTIONS) but not Celery's *publish* retry
    policy, whose default (3 retries, sleeping 0 + 0.2 + 0.4 s) is what a publish pays. Each web
    worker thread is held three times as long as documented during an outage."""
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "CAMHUB_DATA_DIR": str(tmp_path),
        "SECRET_KEY": "Zq8vN3kR7tW1yB5mC9xL2hJ6dF4sG0pA-_uE8iO3nT7rV1wY5z",
        "CACHE_URL": "locmem://",
        "CELERY_BROKER_URL": f"redis://127.0.0.1:{port}/0",
    }
    result = subprocess.run(
        [sys.executable, "-c", _PUBLISH_TIMING], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    seconds = json.loads(result.stdout.strip().splitlines()[-1])
    assert seconds < 0.4, f"a publish to an unreachable broker took {seconds:.2f} s, not ~0.2 s"


def _readme_production_block() -> str:
    readme = (REPO / "README.md").read_text()
    section = readme.split("## Production shape", 1)[1]
    return re.search(r"```sh\n(.*?)```", section, re.S).group(1)


def test_readme_web_command_serves_requests_concurrently_like_the_image():
    """The operator starts the web process with README's line `gunicorn config.wsgi:application
    --bind 0.0.0.0:8000`: one sync worker. On the live deployment a camera trickling a 5 KB clip
    over a slow uplink (~40 s) held that worker: /healthz (and every poll and API call) waited
    30 s, then gunicorn's 30 s timeout SIGKILLed the worker mid-upload ("WORKER TIMEOUT", the
    upload lost, the camera got a broken pipe). The Dockerfile's CMD (`--workers 3 --threads 4`)
    served /healthz at once and stored the same slow upload (201 after 40 s). The README's command
    should give the same concurrency as the image it says to run."""
    web = next(line for line in _readme_production_block().splitlines() if line.startswith("gunicorn"))
    args = shlex.split(web.split("#", 1)[0])
    assert "--threads" in args, f"README's web command has no threads: {args}"


def test_compose_proxy_instructions_keep_the_clients_address(tmp_path):
    """docker/compose.yml says: "put a TLS proxy in front and set ALLOWED_HOSTS,
    CSRF_TRUSTED_ORIGINS, PUBLIC_BASE_URL and USE_X_FORWARDED_PROTO=true". Doing exactly that leaves
    USE_X_FORWARDED_FOR=false (the README never mentions it), so every request's address is the
    proxy's: device discovery (GET /api/users/me/devices) offers every user every unclaimed camera
    polling anywhere, and the claim's "same network" check passes for anyone (seen live: all
    requests from one address, every polling device listed). Following the proxy instructions
    should make the client's address the one the proxy forwards."""
    from tests.config.test_docker import _environment, _import_settings, interpolate

    yaml = pytest.importorskip("yaml")
    raw = yaml.safe_load((REPO / "docker" / "compose.yml").read_text())
    operator = {
        "SECRET_KEY": "Zq8vN3kR7tW1yB5mC9xL2hJ6dF4sG0pA-_uE8iO3nT7rV1wY5z",
        "ALLOWED_HOSTS": "camhub.example.com",
        "CSRF_TRUSTED_ORIGINS": "https://camhub.example.com",
        "PUBLIC_BASE_URL": "https://camhub.example.com",
        "USE_X_FORWARDED_PROTO": "true",
    }
    web = _environment(interpolate(raw, operator)["services"]["web"])
    web["CAMHUB_DATA_DIR"] = str(tmp_path)  # a path of the image's; everything else as compose sets it
    assert _import_settings(web)["use_x_forwarded_for"] is True
