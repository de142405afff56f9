"""Configuration commands: templates per maker and model, expanded for one polling device.

Two kinds of placeholder live in a template's ``path``:

- camera-side ``$(hwaddr)`` and ``$(localip)``: kept verbatim, the camera's firmware fills them;
- server-side ``{name}`` (names in ``SERVER_PLACEHOLDERS``): filled here, URL-quoted. Those in
  ``OWNER_PLACEHOLDERS`` carry an account's settings (the reference's ``ftpAlarm`` command:
  ``REMOTEPATH={camera_name}&USERNAME={upload_token}``), so their templates go to claimed
  devices only, and an unclaimed device gets only what keeps it polling.

A camera re-applies a command whose ``date_updated`` moved. So the date moves whenever the filled-in
command does, whatever filled it in: the template, a claim or Upload Token, the camera's name, the
FTP gateway, ``PUBLIC_BASE_URL``, the poll interval. Each filled-in form a device is answered gets
the moment it was first answered to that device (recorded in the cache, first writer wins, so every
web process answers the same date), and never earlier than its template's edit or the claim.
"""

from __future__ import annotations

import hashlib
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
# Per device and filled-in command: when it was first answered (epoch seconds). Kept without
# expiry: one that expired while a process still answered its old date from memory would let two
# processes answer two dates for one command, and the camera re-apply it on every alternation.
COMMAND_DATE_TIMEOUT = None


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


def command_date_key(mac_address: str, command: CommandJSON) -> str:
    """The cache key of the first answer of this filled-in ``command`` to device ``mac_address``."""
    filled = "\n".join(
        (command["id"], command["method"], command["path"], str(command["is_auth_required"]), command["regex_response"])
    )
    digest = hashlib.blake2b(filled.encode(), digest_size=12).hexdigest()
    return f"cameras:cmd:{mac_address}:{digest}"


def _first_answered(*, mac_address: str, commands: list[CommandJSON], now: float) -> list[float]:
    """When each of ``commands``, filled in as it is, was first answered to the device; ``now`` for
    a form never answered before (recorded: a process answering it at the same moment reads the
    first writer's date). One cache round trip, plus one per new form."""
    keys = [command_date_key(mac_address, command) for command in commands]
    found = cache.get_many(keys)
    dates: list[float] = []
    for key in keys:
        first = found.get(key)
        if first is None:
            first = now if cache.add(key, now, timeout=COMMAND_DATE_TIMEOUT) else cache.get(key, now)
        dates.append(float(first))
    return dates


def commands_for(
    *,
    templates: list[_Template],
    mac_address: str,
    maker: str,
    model: str,
    claim: ClaimInfo | None,
    now: float,
) -> list[CommandJSON]:
    """The reference's ``commands`` for one device: owner commands only once it is claimed, and
    commands naming the FTP gateway only while one is configured (``FTP_GATEWAY_PORT``): a camera
    told to send to a gateway nobody runs loses every upload. ``now``: the poll's time, the date
    of a command filled in as never before (see the module's docstring)."""
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
    floors: list[float] = []
    for template in templates:
        if template["uses_ftp"] and not ftp:
            continue
        floor = template["updated_at"]
        if template["claimed_only"]:
            if claim is None:
                continue
            # A new claim or Upload Token moves the date even where the filled-in text is as before.
            floor = max(floor, claim["changed_at"])
        floors.append(floor)
        commands.append(
            CommandJSON(
                date_updated=None,
                id=template["id"],
                is_auth_required=template["is_auth_required"],
                method=template["method"],
                path=expand(template["path"], values),
                regex_response=template["regex_response"],
            )
        )
    if commands:
        for command, floor, first in zip(
            commands, floors, _first_answered(mac_address=mac_address, commands=commands, now=now), strict=True
        ):
            command["date_updated"] = camio_date(datetime.fromtimestamp(max(floor, first), tz=UTC))
    return commands
