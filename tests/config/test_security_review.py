# ruff: noqa: F811 (fixtures imported from other test packages are parameters here)
"""Security review of 2026-12-05: one test per defect found (all fixed).

Each docstring says the attack, what should happen, and what happened before the fix ("now" in
the docstrings). Helpers and fixtures are local so this file runs on its own (SQLite, no servers):

    .venv/bin/python -m pytest -q -p no:cacheprovider tests/config/test_security_findings.py
"""

from __future__ import annotations

import ftplib
import io
import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from accounts.selectors import account_settings_get
from tests.conftest import wait_for
from tests.factories import make_token, make_user
from tests.uploads.conftest import _private_media, gateway  # noqa: F401 (a private MEDIA_ROOT; the FTP gateway)
from tests.uploads.samples import jpeg_bytes

REPO = Path(__file__).resolve().parents[2]


class _Collect(logging.Handler):
    """Every record a logger emits, formatted as the stdout handler would print its message."""

    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(record.getMessage())


@pytest.fixture
def request_log():
    logger = logging.getLogger("camhub.request")
    handler = _Collect()
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield handler.lines
    logger.removeHandler(handler)
    logger.setLevel(previous)


def _upload(user, camera="front", name="a.jpg", body=None):
    upload_token = account_settings_get(user=user).upload_token
    response = Client().generic(
        "PUT",
        f"/api/users/{upload_token}/cameras/{camera}/content/{name}?camera_id=cam-1",
        body or jpeg_bytes(),
        content_type="image/jpeg",
    )
    assert response.status_code == 201, response.content
    return upload_token, response.json()


# --- 1. bearer secrets written to the access log ------------------------------------------------


def _secret_paths(user):
    """(label, secret, request) for each route that carries a bearer secret in its path."""
    from search import camios, downloads
    from search.models import Download

    upload_token = account_settings_get(user=user).upload_token
    camio = camios.camio_create(owner=user, query={}, name="shared")
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    key = default_storage.save(f"downloads/{user.pk}/ready.zip", ContentFile(b"PK\x05\x06" + b"\0" * 18))
    download = Download.objects.create(
        camio=camio, requester=user, status=Download.Status.READY, storage_key=key, size=22
    )
    link = downloads.download_link(download)
    signed = link.rsplit("/", 1)[1]
    api = Client(HTTP_AUTHORIZATION=f"token {make_token(user)}")
    return [
        (
            "upload token (upload)",
            upload_token,
            lambda: Client().generic(
                "PUT",
                f"/api/users/{upload_token}/cameras/front/content/a.jpg?camera_id=cam-1",
                jpeg_bytes(),
                content_type="image/jpeg",
            ),
        ),
        ("upload token (hint)", upload_token, lambda: Client().get(f"/api/tokens/{upload_token}/hint")),
        ("download link signature", signed, lambda: Client().get(f"/downloads/{signed}")),
        ("Camio view token", camio.view_token, lambda: api.post(f"/api/camios/{camio.view_token}/downloads")),
    ]


@pytest.mark.django_db
def test_request_log_never_writes_bearer_secrets_carried_in_the_path(user, request_log):
    """Attack: anyone who can read the web logs (log shipper, SIEM, support staff, a leaked log
    bucket) collects bearer credentials from the one-line-per-request access log. The middleware
    drops the query string ("it may carry an access token") but logs ``request.path`` verbatim,
    and several routes carry a bearer secret *in the path*:

    - ``PUT /api/users/<Upload Token>/cameras/…`` (every camera upload) and
      ``/api/tokens/<Upload Token>/hint``: the Upload Token uploads into the account and logs in
      to the FTP gateway; every camera logs it every few seconds;
    - ``/downloads/<signed>``: the emailed download link, which serves the Camio's zip to anyone
      for DOWNLOAD_LINK_SECONDS (7 days), no sign-in;
    - ``/api/camios/<view token>/downloads``: a public Camio's view token opens its whole slice.

    Should: the log line names the route with those segments redacted (e.g. the URL pattern, or
    ``…`` in place of token/upload_token/signed/camio kwargs). Now: the raw secrets are logged.
    """
    leaked = []
    for label, secret, call in _secret_paths(user):
        request_log.clear()
        call()
        assert request_log, f"no access-log line for {label}"
        if any(secret in line for line in request_log):
            leaked.append(f"{label}: {request_log[-1]}")
    assert not leaked, "bearer secrets in the access log:\n" + "\n".join(leaked)


# --- 2. the FTP gateway logs the Upload Token ---------------------------------------------------


@pytest.mark.parametrize("level", [logging.INFO, logging.DEBUG])
def test_ftp_gateway_logs_never_carry_the_upload_token(gateway, settings, level):
    """Attack: read the gateway's logs (stdout at the default LOG_LEVEL=INFO) and take every FTP
    camera's Upload Token. The FTP user name *is* the Upload Token, and pyftpdlib prefixes every
    INFO line with ``[%(username)s]`` and logs ``USER '<token>' logged in.``, ``MKD``/``CWD``/
    ``RNTO`` and each transfer. With the token one can upload fake footage into the account (which
    fires its hooks and motion alerts), log in to the gateway, and read the owner's email hint.

    Should: the gateway's handler overrides ``log_prefix`` (and the login line) so the user name
    is never written, e.g. only the account id or the token's last 4 characters.
    Now: the full token appears in the ``pyftpdlib`` log records.
    """
    from uploads.models import Content

    user = make_user("ftpcam", email="ftpcam@example.com")
    upload_token = account_settings_get(user=user).upload_token
    logger = logging.getLogger("pyftpdlib")
    handler = _Collect()
    logger.addHandler(handler)
    previous = logger.level
    logger.setLevel(level)  # INFO: the service's LOG_LEVEL default; DEBUG logs every command
    try:
        ftp = ftplib.FTP()  # noqa: S321 - the gateway speaks plain FTP
        ftp.connect("127.0.0.1", gateway, timeout=10)
        ftp.login(upload_token, "camio")
        ftp.mkd("front")
        ftp.cwd("front")
        ftp.storbinary("STOR front_20140721_203831.jpg", io.BytesIO(jpeg_bytes()))
        ftp.quit()
        wait_for(lambda: Content.objects.filter(owner=user).exists())
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)
    assert handler.lines, "the gateway logged nothing at INFO"
    leaked = [line for line in handler.lines if upload_token in line]
    assert not leaked, "Upload Token in the FTP gateway's log:\n" + "\n".join(leaked)


# --- 3 and 4. production settings ---------------------------------------------------------------

_PRINT_SECURITY_SETTINGS = """
import json
import config.settings as s
print(json.dumps({
    "DEBUG": s.DEBUG,
    "SESSION_COOKIE_SECURE": getattr(s, "SESSION_COOKIE_SECURE", False),
    "CSRF_COOKIE_SECURE": getattr(s, "CSRF_COOKIE_SECURE", False),
    "SECURE_PROXY_SSL_HEADER": getattr(s, "SECURE_PROXY_SSL_HEADER", None),
}))
"""


def _compose_environment(operator_env: dict[str, str], data_dir: Path) -> dict[str, str]:
    """The camhub containers' environment from docker/compose.yml, interpolated as Compose does."""
    yaml = pytest.importorskip("yaml")
    compose = yaml.safe_load((REPO / "docker" / "compose.yml").read_text())
    raw = compose["x-camhub-environment"]

    def interpolate(value: str) -> str:
        def one(match: re.Match) -> str:
            name, op, default = match.group(1), match.group(2), match.group(3) or ""
            if op == ":-":
                return operator_env.get(name) or default
            return operator_env[name]  # ":?": required

        return re.sub(r"\$\{(\w+)(?:(:-|:\?)([^}]*))?\}", one, str(value))

    env = {key: interpolate(value) for key, value in raw.items()}
    # Paths that exist in the image only; everything else exactly as the containers get it.
    env["CAMHUB_DATA_DIR"] = str(data_dir)
    return env


def _import_settings(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", _PRINT_SECURITY_SETTINGS],
        cwd=REPO,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_shape_behind_tls_marks_session_and_csrf_cookies_secure(tmp_path):
    """Attack: an admin signed in at https://camhub.example.com follows any plain ``http://``
    link to the host (or an attacker on the network injects one); the browser sends the
    ``sessionid`` cookie in clear and the on-path attacker takes over the Django admin session
    (the admin manages every account, token and camera). Nothing else stops this: there is no
    ``SECURE_SSL_REDIRECT`` and no HSTS either.

    The production shape is docker/compose.yml with the variables its header says to set behind
    the TLS proxy (ALLOWED_HOSTS, CSRF_TRUSTED_ORIGINS, PUBLIC_BASE_URL=https://…,
    USE_X_FORWARDED_PROTO=true). Compose never passes SESSION_COOKIE_SECURE/CSRF_COOKIE_SECURE,
    and config/settings.py defaults both to False even with DEBUG=false behind a TLS proxy.

    Should: with DEBUG=false and TLS in front (USE_X_FORWARDED_PROTO=true, or an https
    PUBLIC_BASE_URL), both cookies are Secure by default. Now: both are False.
    """
    operator_env = {
        "SECRET_KEY": "k" * 20 + "Q7v9zP2mX4rT8wY1bN6cL3hJ5dF0sG",
        "ALLOWED_HOSTS": "camhub.example.com",
        "CSRF_TRUSTED_ORIGINS": "https://camhub.example.com",
        "PUBLIC_BASE_URL": "https://camhub.example.com",
        "USE_X_FORWARDED_PROTO": "true",
    }
    env = _compose_environment(operator_env, tmp_path)
    result = _import_settings(env)
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.strip().splitlines()[-1])
    assert values["DEBUG"] is False and values["SECURE_PROXY_SSL_HEADER"], values
    assert values["SESSION_COOKIE_SECURE"] is True, values
    assert values["CSRF_COOKIE_SECURE"] is True, values


def test_production_refuses_the_placeholder_secret_key_from_env_example(tmp_path):
    """Attack: an operator does what the README says ("see .env.example for every one") and
    copies it (e.g. to docker/.env, which Compose reads), keeping
    ``SECRET_KEY=change-me-to-50-random-characters``; compose's ``${SECRET_KEY:?…}`` guard is
    satisfied. Anyone who has read the public repository then knows the key and can forge every
    signed value: per-item content access tokens (``search.access_tokens``: a token with the
    legacy issuer ``0`` is accepted with no Camio/guest liveness check at all), emailed download
    links (``/downloads/<signed>``), password-reset tokens and the session auth hashes.

    Should: with DEBUG=false, settings refuse (ImproperlyConfigured) a SECRET_KEY that is the
    documented placeholder, or too short/low-entropy (Django's own check --deploy W009 flags it,
    but nothing enforces it). Now: the placeholder is accepted and the service starts.
    """
    placeholder = next(
        line.split("=", 1)[1]
        for line in (REPO / ".env.example").read_text().splitlines()
        if line.startswith("SECRET_KEY=")
    )
    result = _import_settings({"SECRET_KEY": placeholder, "DEBUG": "false", "CAMHUB_DATA_DIR": str(tmp_path)})
    assert result.returncode != 0, f"SECRET_KEY={placeholder!r} was accepted with DEBUG=false"
    assert "SECRET_KEY" in result.stderr


# --- 5. OAuth token in the query string of a DELETE ---------------------------------------------


@pytest.mark.django_db
def test_access_token_in_the_query_string_does_not_authorize_a_delete(user):
    """Attack: an OAuth token that travels in URLs (the reference allows ``?access_token=`` for
    GET only: "you must supply the access token in the HTTP Authorization header for
    POST/PUT/PATCH commands. For HTTP GET commands, you can supply &access_token="; the README
    says "GET calls may use ?access_token=") is accepted on DELETE too
    (``config/api/authentication.py`` ``_QUERY_METHODS = {"GET", "HEAD", "DELETE"}``). A URL
    such as ``DELETE /api/users/me/camios/<id>?access_token=…`` (or a hook, camera, zone, guest
    delete) ends up in proxy/CDN/browser logs and history as a replayable destructive request,
    and a token leaked from a GET URL is enough to destroy data without ever needing the header.

    Should: 401 (the header is required for anything but GET/HEAD); the Camio survives.
    Now: 204 and the Camio is deleted.
    """
    from search import camios
    from search.models import Camio

    camio = camios.camio_create(owner=user, query={}, name="keep me")
    token = make_token(user)
    response = Client().delete(f"/api/users/me/camios/{camio.short_token}?access_token={token}")
    assert response.status_code == 401, response.status_code
    assert Camio.objects.filter(pk=camio.pk).exists()


# --- 6. stored content served with whatever content_type the row holds -------------------------


@pytest.mark.django_db
def test_stored_content_is_never_served_as_html(user):
    """Attack (stored XSS on the site's origin, staff privilege escalation): a staff member who
    may only change Content sets an item's ``content_type`` to ``text/html`` in admin (it was a
    free CharField). The item is a valid JPEG whose COM segment holds ``<script>…</script>``;
    ``uploads.views.ranged_response`` served the stored bytes with the stored type verbatim, so
    the admin's "open the original" link, ``/api/content/<id>?access_token=…`` and the OAuth
    content fetch delivered an HTML page on the camhub origin (``nosniff`` does not help when the
    declared type is text/html).

    Now: what the bytes are is read-only in admin (a posted ``content_type`` is ignored), and a
    row naming any type uploads do not accept is served as ``application/octet-stream``, as an
    attachment.
    """
    from django import forms
    from django.contrib.auth.models import Permission

    from uploads.models import Content

    jpeg = jpeg_bytes()
    polyglot = jpeg[:2] + b"\xff\xfe\x00\x30<script>alert(document.domain)</script>........" + jpeg[2:]
    _token, answer = _upload(user, body=polyglot)
    content = Content.objects.get(public_id=answer["id"])

    staff = make_user("editor", email="editor@example.com")
    staff.is_staff = True
    staff.save()
    staff.user_permissions.add(*Permission.objects.filter(codename__in=["view_content", "change_content"]))
    editor = Client()
    editor.force_login(staff)
    page = editor.get(f"/admin/uploads/content/{content.pk}/change/")
    assert page.status_code == 200
    form = page.context["adminform"].form
    assert "content_type" not in form.fields and "owner" not in form.fields
    data = {}
    for name, field in form.fields.items():
        value = form[name].value()
        if value is None:
            continue
        if isinstance(field, forms.MultiValueField):  # captured_at: a date and a time input
            for i, part in enumerate(field.widget.decompress(value)):
                data[f"{name}_{i}"] = "" if part is None else str(part)
            continue
        data[name] = value
    data["options"] = json.dumps(content.options)
    data["content_type"] = "text/html"
    saved = editor.post(f"/admin/uploads/content/{content.pk}/change/", data)
    assert saved.status_code == 302, saved.context["adminform"].form.errors if saved.context else saved.content
    content.refresh_from_db()
    assert content.content_type == "image/jpeg"

    admin = make_user("root", email="root@example.com")
    admin.is_staff = admin.is_superuser = True
    admin.save()
    browser = Client()
    browser.force_login(admin)
    media = browser.get(f"/admin/uploads/content/{content.pk}/media/")
    assert media["Content-Type"] == "image/jpeg"
    # A row saying text/html anyway (an older admin, a script): never served as a page.
    Content.objects.filter(pk=content.pk).update(content_type="text/html")
    media = browser.get(f"/admin/uploads/content/{content.pk}/media/")
    body = b"".join(media.streaming_content) if media.streaming else media.content
    assert body == polyglot
    assert media["Content-Type"] == "application/octet-stream"
    assert media["Content-Disposition"] == "attachment"


def test_djangos_own_error_log_names_no_secret_of_the_path(user):
    """Django logs each 500 on ``django.request`` with the request's path: an upload failing with a
    500 wrote its Upload Token there. The path goes out as the request line has it."""
    from django.test import RequestFactory
    from django.urls import resolve

    from config.log_redaction import SecretPathLogFilter

    upload_token = account_settings_get(user=user).upload_token
    request = RequestFactory().put(f"/api/users/{upload_token}/cameras/front/content/a.jpg")
    request.resolver_match = resolve(request.path)
    record = logging.LogRecord("django.request", logging.ERROR, __file__, 1, "%s: %s", None, None)
    record.args = ("Internal Server Error", request.path)
    record.request = request
    assert SecretPathLogFilter().filter(record)
    assert record.getMessage() == "Internal Server Error: /api/users/…/cameras/front/content/a.jpg"
    from config.log_redaction import loggable_path

    me = RequestFactory().get("/api/users/me/cameras/front")
    me.resolver_match = resolve(me.path)
    assert loggable_path(me) == "/api/users/me/cameras/front"  # nothing secret: kept readable
