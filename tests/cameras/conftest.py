"""Fixtures for the cameras tests: polling a device as an IP camera does (no credentials)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

MAC = "12:34:56:78:90:12"
MAC_BARE = "123456789012"
PUBLIC_IP = "203.0.113.7"


class Camera:
    """An IP camera on a home network whose public address is ``ip``."""

    def __init__(self, mac: str = MAC, *, ip: str = PUBLIC_IP, maker: str = "Sharx", model: str = "SCNC3904"):
        self.client = APIClient(REMOTE_ADDR=ip, HTTP_USER_AGENT="Wget")
        self.mac, self.maker, self.model = mac, maker, model

    def poll(self, *, method: str = "get", local: str = "192.168.1.51", **headers):
        params = {"maker": self.maker, "model": self.model, "ip_address_local": local}
        call = getattr(self.client, method)
        if method == "get":
            return call(f"/api/cameras/{self.mac}", params, **headers)
        return call(
            f"/api/cameras/{self.mac}?maker={self.maker}&model={self.model}&ip_address_local={local}", **headers
        )


@pytest.fixture
def ipcam(db) -> Camera:
    return Camera()


@pytest.fixture
def home_api(api) -> APIClient:
    """The user's API client, calling from the same public address as their camera."""
    api.defaults["REMOTE_ADDR"] = PUBLIC_IP
    return api


@pytest.fixture(autouse=True)
def _ftp_gateway_configured(settings):
    # Cameras get the FTP upload command only while a gateway is configured; these tests' devices
    # are told where it is.
    settings.FTP_GATEWAY_PORT, settings.FTP_GATEWAY_HOST = 21, "localhost"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Users are made with passwords; PBKDF2's deliberate slowness buys these tests nothing.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _sharx_command_templates(request):
    """The reference's Sharx commands are rows a migration seeds: a transactional test run before
    (of any folder, in whatever order the tests were asked for) flushed them with the rest of the
    database. Put back for the tests here that poll."""
    marker = request.node.get_closest_marker("django_db")
    transactional = marker is not None and bool(marker.kwargs.get("transaction") or (marker.args and marker.args[0]))
    if transactional or "transactional_db" in request.fixturenames:
        request.getfixturevalue("transactional_db")
    elif marker is not None or "db" in request.fixturenames:
        request.getfixturevalue("db")
    else:
        return
    import importlib

    from django.apps import apps

    from cameras.commands import templates_version_bump
    from cameras.models import CommandTemplate

    if not CommandTemplate.objects.exists():
        importlib.import_module("cameras.migrations.0003_seed_sharx_templates").seed(apps, None)
        templates_version_bump()
