"""Configuration commands: templates per maker and model, expanded for one polling device.

Two kinds of placeholder live in a template's ``path``:

- camera-side ``$(hwaddr)`` and ``$(localip)``: kept verbatim, the camera's firmware fills them;
- server-side ``{name}`` (names in ``SERVER_PLACEHOLDERS``): filled here, URL-quoted. Those in
  ``OWNER_PLACEHOLDERS`` carry an account's settings (the reference's ``ftpAlarm`` command:
  ``REMOTEPATH={camera_name}&USERNAME={upload_token}``), so their templates go to claimed
  devices only, and an unclaimed device gets only what keeps it polling.

A camera re-applies a command whose ``date_updated`` moved, and may apply only those dated after its
last apply. So a command's date moves forward whenever its filled-in text does, whatever filled it
in: the template, a claim or Upload Token, the camera's name, the FTP gateway, ``PUBLIC_BASE_URL``,
the poll interval; and it stays put while the text does, in every process, across restarts and a
lost cache (each date that moves makes every camera re-apply, often with a reboot). The device's
row keeps, per command id, a fingerprint of the text last answered and its date
(``Device.command_dates``, carried in the poll's cached entry). A text that differs from the
fingerprint is dated strictly after every date the device was answered before, and at least the
poll's time; the date answered is never earlier than the template's edit or the claim.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import TypedDict
from urllib.parse import quote, urlsplit

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from cameras.models import CommandTemplate, Device
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
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# ``Device.command_dates``: command id -> [fingerprint of the filled-in text last answered, its date
# in epoch milliseconds]. None: a device answered before dates were recorded.
CommandDates = dict[str, list]


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


def command_fingerprint(command: CommandJSON) -> str:
    """A digest of everything a camera applies of ``command``: its date moves when this does."""
    filled = "\n".join(
        (command["id"], command["method"], command["path"], str(command["is_auth_required"]), command["regex_response"])
    )
    return hashlib.blake2b(filled.encode(), digest_size=12).hexdigest()


def command_dates_stamp(dates: CommandDates | None) -> int | None:
    """The latest date in ``dates`` (epoch ms). Recording only ever raises it (see
    ``command_dates_record``), so it tells an answer built from older dates."""
    return max((date for _, date in dates.values()), default=None) if dates else None


def _ms(seconds: float) -> int:
    # Through whole microseconds: float seconds times 1000 can fall just short of an exact millisecond.
    return round(seconds * 1_000_000) // 1000


def command_dates_record(*, device_id: int, answered: dict[str, tuple[str, int]], now: float) -> CommandDates:
    """Record what device ``device_id`` is answered (command id -> (fingerprint, the date's floor in
    epoch ms)) and return its dates. A command whose text is not the one recorded (or new to the
    device) is dated at least ``now`` and strictly after every date the device was answered before,
    so a camera that applies what changed since its last apply applies it. A device answered before
    dates were recorded keeps the dates it had (the floors: its template's edit, the claim), as its
    camera applied them. The row is locked for the read-modify-write: a process building the same
    answer at the same moment waits, then finds this date recorded and answers it too.
    """
    with transaction.atomic():
        found = list(
            Device.objects.select_for_update().filter(pk=device_id).order_by().values_list("command_dates", flat=True)
        )
        stored = found[0] if found else {}
        dates = dict(stored or {})
        # Floors count as answered dates: a claim or template edit may have moved a date past the stored one.
        latest = max([date for _, date in dates.values()] + [floor for _, floor in answered.values()], default=0)
        moved = False
        for command_id, (fingerprint, floor) in answered.items():
            known = dates.get(command_id)
            if known is not None and known[0] == fingerprint:
                continue
            dates[command_id] = [fingerprint, floor if stored is None else max(_ms(now), latest + 1)]
            moved = True
        if moved and found:
            Device.objects.filter(pk=device_id).update(command_dates=dates)
    return dates


def _recorded(dates: CommandDates | None, fingerprints: dict[str, str]) -> bool:
    return dates is not None and all(
        (dates.get(command_id) or (None,))[0] == fingerprint for command_id, fingerprint in fingerprints.items()
    )


def commands_for(
    *,
    templates: list[_Template],
    mac_address: str,
    maker: str,
    model: str,
    claim: ClaimInfo | None,
    device_id: int,
    dates: CommandDates | None,
    now: float,
) -> tuple[list[CommandJSON], CommandDates | None]:
    """The reference's ``commands`` for one device: owner commands only once it is claimed, and
    commands naming the FTP gateway only while one is configured (``FTP_GATEWAY_PORT``): a camera
    told to send to a gateway nobody runs loses every upload.

    ``dates``: the device's ``command_dates`` as the caller last read them. Where they hold every
    command's text this costs no query; otherwise the dates are recorded (``command_dates_record``,
    ``now`` the poll's time) and returned second, for the caller to keep; None when unchanged.
    """
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
    fingerprints = {command["id"]: command_fingerprint(command) for command in commands}
    recorded = None
    if commands and not _recorded(dates, fingerprints):
        answered = {
            command["id"]: (fingerprints[command["id"]], _ms(floor))
            for command, floor in zip(commands, floors, strict=True)
        }
        dates = recorded = command_dates_record(device_id=device_id, answered=answered, now=now)
    for command, floor in zip(commands, floors, strict=True):
        date = max(_ms(floor), dates[command["id"]][1])
        command["date_updated"] = camio_date(_EPOCH + timedelta(milliseconds=date))
    return commands, recorded
