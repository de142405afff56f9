"""Configuration commands: templates per maker and model, expanded for one polling device.

Two kinds of placeholder live in a template's ``path``:

- camera-side ``$(hwaddr)`` and ``$(localip)``: kept verbatim, the camera's firmware fills them;
- server-side ``{name}`` (names in ``SERVER_PLACEHOLDERS``): filled here, URL-quoted. Those in
  ``OWNER_PLACEHOLDERS`` carry an account's settings (the reference's ``ftpAlarm`` command:
  ``REMOTEPATH={camera_name}&USERNAME={upload_token}``), so their templates go to claimed
  devices only, and an unclaimed device gets only what keeps it polling.
"""

from __future__ import annotations

import re
import threading
import time
from datetime import UTC, datetime
from typing import TypedDict
from urllib.parse import quote, urlsplit

from django.conf import settings
from django.core.cache import cache

from cameras.models import CommandTemplate
from config.api.dates import camio_date

OWNER_PLACEHOLDERS = frozenset({"upload_token", "camera_name"})
FTP_PLACEHOLDERS = frozenset({"ftp_host", "ftp_port"})
SERVER_PLACEHOLDERS = (
    frozenset({"ftp_host", "ftp_port", "poll_url", "poll_interval", "mac_address", "maker", "model"})
    | OWNER_PLACEHOLDERS
)
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")

# Bumped on every template change; each process reloads its templates when it moves.
TEMPLATES_VERSION_KEY = "cameras:tpl:ver"


class CommandJSON(TypedDict):
    date_updated: str | None
    id: str
    is_auth_required: bool
    method: str
    path: str
    regex_response: str


class ClaimInfo(TypedDict):
    """What a claimed device's commands need of its account (cached with the device)."""

    camera_pk: int
    camera_name: str
    owner_id: int
    upload_token: str
    # Epoch seconds: the commands naming the owner changed then (claim, token rotation).
    changed_at: float


def placeholders_in(path: str) -> set[str]:
    return set(_PLACEHOLDER.findall(path))


def poll_url() -> str:
    """The poll endpoint as the reference's ``ping`` command writes it: no scheme, no MAC."""
    parts = urlsplit(settings.PUBLIC_BASE_URL)
    return f"{parts.netloc}{parts.path.rstrip('/')}/api/cameras"


def expand(path: str, values: dict[str, str]) -> str:
    """Fill the server-side placeholders of ``path``; anything else (``$(hwaddr)``) stays verbatim."""

    def fill(match: re.Match) -> str:
        name = match.group(1)
        if name not in values:
            return match.group(0)
        return quote(values[name], safe=":/")

    return _PLACEHOLDER.sub(fill, path)


class _Template(TypedDict):
    id: str
    method: str
    path: str
    is_auth_required: bool
    regex_response: str
    claimed_only: bool
    uses_ftp: bool  # sent only while an FTP gateway is configured (FTP_GATEWAY_PORT)
    updated_at: float


# Per process: (maker, model) -> templates, valid for one TEMPLATES_VERSION_KEY value. Polls read
# the version with the device's cache entry (one round trip), so a template edit in admin reaches
# every web process on the next poll without a database query per poll.
_local: dict[tuple[str, str], tuple[object, list[_Template]]] = {}
_local_lock = threading.Lock()


def templates_version_bump() -> None:
    """Make every process reload its templates (call after any template change)."""
    cache.set(TEMPLATES_VERSION_KEY, time.time_ns(), timeout=None)


def templates_version() -> object:
    version = cache.get(TEMPLATES_VERSION_KEY)
    if version is None:
        version = time.time_ns()
        cache.add(TEMPLATES_VERSION_KEY, version, timeout=None)
        version = cache.get(TEMPLATES_VERSION_KEY, version)
    return version


def templates_for(*, maker: str, model: str, version: object) -> list[_Template]:
    """The enabled templates of ``maker``/``model`` (and of every model of the maker), in order."""
    key = (maker.lower(), model.lower())
    hit = _local.get(key)
    if hit is not None and hit[0] == version:
        return hit[1]
    rows = CommandTemplate.objects.filter(maker__iexact=maker, enabled=True).exclude(model="")
    rows = list(rows.filter(model__iexact=model)) + list(
        CommandTemplate.objects.filter(maker__iexact=maker, model="", enabled=True)
    )
    # A model-specific command replaces the maker-wide one of the same id.
    by_id: dict[str, CommandTemplate] = {}
    for row in rows:
        by_id.setdefault(row.command_id, row)
    templates = [
        _Template(
            id=row.command_id,
            method=row.method,
            path=row.path,
            is_auth_required=row.is_auth_required,
            regex_response=row.regex_response,
            claimed_only=row.audience == CommandTemplate.AUDIENCE_CLAIMED
            or bool(placeholders_in(row.path) & OWNER_PLACEHOLDERS),
            uses_ftp=bool(placeholders_in(row.path) & FTP_PLACEHOLDERS),
            updated_at=row.updated_at.timestamp(),
        )
        for row in sorted(by_id.values(), key=lambda r: (r.position, r.command_id))
    ]
    with _local_lock:
        _local[key] = (version, templates)
    return templates


def commands_for(
    *, templates: list[_Template], mac_address: str, maker: str, model: str, claim: ClaimInfo | None
) -> list[CommandJSON]:
    """The reference's ``commands`` for one device: owner commands only once it is claimed, and
    commands naming the FTP gateway only while one is configured (``FTP_GATEWAY_PORT``): a camera
    told to send to a gateway nobody runs loses every upload."""
    ftp = settings.FTP_GATEWAY_PORT > 0
    values = {
        "ftp_host": settings.FTP_GATEWAY_HOST,
        "ftp_port": str(settings.FTP_GATEWAY_PORT),
        "poll_url": poll_url(),
        "poll_interval": str(settings.CAMERA_POLL_INTERVAL_SECONDS),
        "mac_address": mac_address,
        "maker": maker,
        "model": model,
    }
    if claim is not None:
        values["upload_token"] = claim["upload_token"]
        values["camera_name"] = claim["camera_name"]
    commands: list[CommandJSON] = []
    for template in templates:
        if template["uses_ftp"] and not ftp:
            continue
        updated = template["updated_at"]
        if template["claimed_only"]:
            if claim is None:
                continue
            # The camera re-applies a command whose date moved: a new claim or Upload Token does that.
            updated = max(updated, claim["changed_at"])
        commands.append(
            CommandJSON(
                date_updated=camio_date(datetime.fromtimestamp(updated, tz=UTC)),
                id=template["id"],
                is_auth_required=template["is_auth_required"],
                method=template["method"],
                path=expand(template["path"], values),
                regex_response=template["regex_response"],
            )
        )
    return commands
