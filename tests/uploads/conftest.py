"""Fixtures of the uploads tests: storage in a private folder per test, the FTP gateway."""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path

import pytest


def files_under(path: Path) -> list[str]:
    """Every file under ``path`` (a private MEDIA_ROOT), relative to it, sorted."""
    return sorted(str(p.relative_to(path)) for p in path.rglob("*") if p.is_file()) if path.exists() else []


@pytest.fixture(autouse=True)
def _private_media(settings, tmp_path):
    """Each test stores its bytes under its own folder (local filesystem storage)."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "media")},
        },
    }
    settings.MEDIA_ROOT = tmp_path / "media"
    return tmp_path / "media"


@contextlib.contextmanager
def serving_ftp(**options):
    """The FTP gateway (``uploads.ftp.ftp_server(**options)``) serving on a free loopback port in
    a thread, for the block; yields the port."""
    from uploads.ftp import ftp_server

    server = ftp_server(host="127.0.0.1", port=0, **options)
    port = server.socket.getsockname()[1]
    stop = threading.Event()

    def run():
        while not stop.is_set():
            server.serve_forever(timeout=0.05, blocking=False, handle_exit=False)
        server.close_all()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield port
    finally:
        stop.set()
        thread.join(10)


@pytest.fixture
def gateway(transactional_db, settings, tmp_path):
    """The FTP gateway serving on a free loopback port (in a thread); yields the port."""
    settings.DATA_DIR = tmp_path / "data"
    with serving_ftp() as port:
        yield port
