"""What an end-to-end run of the README's embedded default (`manage.py serve` on SQLite, the
filesystem broker and ./var) found: a hang-up left web, worker and beat running, and
`serve --host <address>` refused requests to the very address it advertised.

Same shape as tests/config/test_serve.py: a real `serve` in a subprocess on a private data folder.
"""

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

from tests.config.test_serve import alive, free_port

REPO = Path(__file__).resolve().parents[2]


def _embedded_env(data_dir: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE_URL", "CELERY_", "CACHE_URL", "AWS_", "PUBLIC_BASE_URL", "ALLOWED_HOSTS"))
    }
    env["CAMHUB_DATA_DIR"] = str(data_dir)
    return env


def _start_serve(env: dict[str, str], *args: str) -> tuple[subprocess.Popen, list[str]]:
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "serve", "--web-workers", "1", "--concurrency", "1", *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    log: list[str] = []
    threading.Thread(target=lambda: [log.append(line) for line in proc.stdout], daemon=True).start()
    deadline = time.monotonic() + 90
    while "camhub is serving" not in "".join(log):
        if time.monotonic() > deadline or proc.poll() is not None:
            _stop(proc, log)
            pytest.fail("serve did not start:\n" + "".join(log))
        time.sleep(0.3)
    return proc, log


def _child_pids(log: list[str]) -> list[int]:
    return [int(p) for p in re.findall(r"started \w+ \(pid (\d+)\)", "".join(log))]


def _stop(proc: subprocess.Popen, log: list[str]) -> None:
    """Stop serve, then whatever of its children outlived it (each leads its own session)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    for pid in _child_pids(log):
        if alive(pid):
            try:
                os.killpg(pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
    deadline = time.monotonic() + 20
    while any(alive(p) for p in _child_pids(log)) and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid in _child_pids(log):
        if alive(pid):
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def test_serve_stops_every_child_when_its_terminal_hangs_up(tmp_path):
    """Closing the terminal (or losing the SSH session) that runs `manage.py serve` sends it SIGHUP.

    Before: serve handled only SIGINT and SIGTERM, so SIGHUP killed serve outright and its
    children (sessions of their own: no SIGHUP for them) kept running: gunicorn kept the port, and
    the next `serve` failed with "Connection in use"."""
    proc, log = _start_serve(_embedded_env(tmp_path), "--port", str(free_port()))
    try:
        pids = _child_pids(log)
        assert len(pids) == 3
        proc.send_signal(signal.SIGHUP)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            pytest.fail("serve did not exit on SIGHUP:\n" + "".join(log))
        deadline = time.monotonic() + 20
        while any(alive(p) for p in pids) and time.monotonic() < deadline:
            time.sleep(0.3)
        left = [p for p in pids if alive(p)]
        assert not left, f"children left running after serve got SIGHUP: {left}"
    finally:
        _stop(proc, log)


def test_serve_answers_on_the_address_it_advertises(tmp_path):
    """`serve --host <address>` hands out links (camera poll command, download links, emails) on
    that address. Before, ALLOWED_HOSTS kept its embedded default (localhost, 127.0.0.1, [::1],
    testserver), so every request to that very URL was a 400 (DisallowedHost): /healthz, the
    API, admin, cameras' polls; the case of `serve --host <LAN address>` for cameras on the LAN.
    """
    try:
        with socket.socket() as s:
            s.bind(("127.0.0.2", 0))
    except OSError:
        pytest.skip("127.0.0.2 is not bindable here")
    port = free_port()
    proc, log = _start_serve(_embedded_env(tmp_path), "--host", "127.0.0.2", "--port", str(port))
    try:
        advertised = re.search(r"camhub is serving on (\S+?)/? ", "".join(log)).group(1)
        assert advertised == f"http://127.0.0.2:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                health = httpx.get(f"{advertised}/healthz", timeout=2)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    pytest.fail("serve did not answer:\n" + "".join(log))
                time.sleep(0.3)
        assert health.status_code == 200, f"{advertised}/healthz answered {health.status_code}: {health.text[:200]}"
        poll = httpx.get(
            f"{advertised}/api/cameras/12:34:56:78:90:12", params={"maker": "Sharx", "model": "SCNC3904"}, timeout=5
        )
        assert poll.status_code == 200, f"a camera polling the advertised address got {poll.status_code}: {poll.text}"
    finally:
        _stop(proc, log)


def test_serve_killed_outright_takes_its_children_along(tmp_path):
    """SIGKILL gives serve no chance to stop anything: the kernel sends its children SIGTERM
    (PR_SET_PDEATHSIG), so none is left holding the port or consuming ./var."""
    if not sys.platform.startswith("linux"):
        pytest.skip("the parent-death signal is Linux's")
    proc, log = _start_serve(_embedded_env(tmp_path), "--port", str(free_port()))
    try:
        pids = _child_pids(log)
        assert len(pids) == 3
        proc.kill()
        proc.wait(10)
        deadline = time.monotonic() + 30
        while any(alive(p) for p in pids) and time.monotonic() < deadline:
            time.sleep(0.3)
        assert not [p for p in pids if alive(p)], "children outlived a killed serve"
    finally:
        _stop(proc, log)


def test_allowed_hosts_follow_the_address_serve_listens_on():
    from config.management.commands.serve import allowed_hosts

    embedded = ["localhost", "127.0.0.1", "[::1]", "testserver"]
    assert allowed_hosts("127.0.0.1", embedded) == embedded
    assert allowed_hosts("192.0.2.2", embedded) == [*embedded, "192.0.2.2"]
    assert allowed_hosts("fe80::1", embedded) == [*embedded, "[fe80::1]"]
    assert allowed_hosts("0.0.0.0", embedded) == ["*"]  # noqa: S104 (every interface: any of its names)


def test_what_serve_writes_is_readable_by_its_user_alone(tmp_path):
    """The database, recordings and the broker's messages under ./var were world-readable (644)
    while the secret key file was 600: another local user could read every account's data."""
    proc, log = _start_serve(_embedded_env(tmp_path), "--port", str(free_port()))
    _stop(proc, log)
    database = tmp_path / "db.sqlite3"
    assert database.exists()
    assert database.stat().st_mode & 0o077 == 0, oct(database.stat().st_mode)
