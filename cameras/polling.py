"""Configuration polling: each poll answers the device's commands and counts as a heartbeat.

Writes are coalesced. The cache holds, per device, its last poll (rewritten on every poll) and an
entry with what was last written (addresses, agent) and the claim its commands need. The
database row is written only when something changed (first sight, maker/model/agent/address, a
claim), when the device comes back after ``CAMERA_OFFLINE_AFTER_SECONDS`` of silence, or when
the last write is older than ``CAMERA_HEARTBEAT_WRITE_SECONDS``. So a steady poll costs no query
and, on Redis, one round trip (read the entry, swap the last poll); readers of "online" (the
camera API, admin, the heartbeat sweep) merge the cache's last poll in (``polled_at``), which
keeps ``is_online`` right between writes.

The poll is open and a MAC is no secret (sticker, box, LAN broadcast), and the reference protocol
gives a device no secret of its own. So a claimed device that is contested (it polled from a new
public address within ``contest_window_seconds``, see ``Device.ip_address_changed_at``) is answered
as an unclaimed one: without the commands for claimed devices, which name the owner (Upload Token,
camera name). A stranger polling once with the MAC gets nothing of the account, and while the real
camera keeps polling from home each of the stranger's polls contests the device again. What this
does not stop: a stranger polling persistently while the real camera is offline for longer than
the window, who then is the device's only address and gets its commands. A camera whose address
really changed (DHCP, a new ISP) keeps the settings it applied and gets the commands again once
it has polled from its new address alone for the window.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import re
import threading
import time
from datetime import UTC, datetime
from typing import NamedTuple, TypedDict

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from django.core.exceptions import ObjectDoesNotExist
from django.db import IntegrityError, transaction
from django.db.models import DateTimeField, Value
from django.db.models.functions import Coalesce, Greatest
from redis.connection import Connection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError
from redis.exceptions import TimeoutError as RedisTimeoutError

from accounts.selectors import account_settings_get
from cameras.commands import (
    TEMPLATES_VERSION_KEY,
    ClaimInfo,
    CommandDates,
    CommandJSON,
    command_dates_stamp,
    commands_for,
    templates_for,
    templates_version,
)
from cameras.models import Camera, Device
from config.api.errors import BadRequest

_MAC = re.compile(r"^(?:[0-9a-f]{2}:){5}[0-9a-f]{2}$|^[0-9a-f]{12}$")
# An entry outlives any sensible poll interval; a device silent this long reloads from the database.
ENTRY_TTL_SECONDS = 7 * 24 * 3600


class DeviceEntry(TypedDict):
    id: int
    maker: str
    model: str
    user_agent: str
    ip: str | None
    local: str
    written_at: float  # epoch seconds of the last database write of the sight
    claim: ClaimInfo | None
    # Epoch seconds of ``Device.ip_address_changed_at`` (None: never changed): the device is
    # contested until ``contest_window_seconds`` after it (see the module's docstring).
    ip_changed_at: float | None
    # ``device_forget``'s mark when the entry's database read began: an entry read before the
    # device was last forgotten is outdated, however recently written (see ``_heartbeat``).
    generation: int | None
    # ``Device.command_dates`` and their latest date (epoch ms): an answer whose texts they hold is
    # built without a query (``cameras.commands.commands_for``). Absent from entries cached before.
    commands: CommandDates | None
    commands_at: int | None


class PollAnswer(TypedDict):
    commands: list[CommandJSON]
    ip_address: str
    mac_address: str
    maker: str
    model: str
    user_agent: str


class Poll(NamedTuple):
    """One validated poll. A tuple: built and hashed (as a key of the answers) on every poll."""

    mac_address: str
    maker: str
    model: str
    ip_address_local: str
    ip_address: str | None
    user_agent: str


def mac_normalize(raw: str) -> str:
    """``12:34:56:78:90:12`` or ``123456789012`` (any case) as twelve lowercase hex digits."""
    value = (raw or "").strip().lower()
    if not _MAC.match(value):
        raise BadRequest("mac_address must look like 12:34:56:78:90:12 or 123456789012")
    return value.replace(":", "")


def contest_window_seconds() -> float:
    """How long a device polled from a new public address is contested (not claimable by address,
    not told its owner's settings); also how recent a sight device discovery offers, as the row's
    sight may lag by a write window."""
    return max(600, 2 * settings.CAMERA_HEARTBEAT_WRITE_SECONDS)


def device_contested(entry: DeviceEntry, now: float) -> bool:
    """Whether the device polled from a new public address within the contest window before ``now``."""
    changed = entry.get("ip_changed_at")  # absent from entries cached before it was recorded
    return changed is not None and now - changed < contest_window_seconds()


def device_key(mac_address: str) -> str:
    return f"cameras:dev:{mac_address}"


def seen_key(mac_address: str) -> str:
    return f"cameras:seen:{mac_address}"


def generation_key(mac_address: str) -> str:
    return f"cameras:gen:{mac_address}"


def device_forget(mac_address: str) -> None:
    """Drop a device's cached entry: its next poll reloads the claim from the database.

    A new generation too: a poll that read the database before the change (a claim, a rotated
    Upload Token) and writes its entry after this call would otherwise serve the old claim until
    its next due write, minutes later; its entry carries the older generation, so the poll after
    it reloads.
    """
    cache.set(generation_key(mac_address), time.time_ns(), timeout=ENTRY_TTL_SECONDS)
    cache.delete(device_key(mac_address))


def _text(params, name: str, *, required: bool, limit: int = 64) -> str:
    value = params.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise BadRequest(f"{name} is required")
        return ""
    if not isinstance(value, str) or len(value) > limit or not value.isprintable():
        raise BadRequest(f"{name} must be printable text of at most {limit} characters")
    return value.strip()


def poll_parse(*, mac_address: str, params, ip_address: str | None, user_agent: str) -> Poll:
    """Validate one poll's parameters (``maker`` and ``model`` required; BadRequest otherwise)."""
    return Poll(
        mac_address=mac_normalize(mac_address),
        maker=_text(params, "maker", required=True),
        model=_text(params, "model", required=True),
        ip_address_local=_text(params, "ip_address_local", required=False),
        ip_address=ip_address,
        user_agent=(user_agent or "")[:200],
    )


# One command instead of a pipeline: read the device's entry and the templates version, swap in
# this poll as the device's last. Returns the entry, the version and the previous poll.
# The three values come back as one string, each as "<length>:<bytes>" or "-:" when missing:
# one bulk reply is cheaper for redis-py's pure-Python parser than an array of three.
_EXCHANGE_LUA = """
local found = redis.call('MGET', KEYS[1], KEYS[2], KEYS[4])
local previous = redis.call('SET', KEYS[3], ARGV[1], 'EX', ARGV[2], 'GET')
local function field(value)
  if value then return #value .. ':' .. value end
  return '-:'
end
return field(found[1]) .. field(found[2]) .. field(previous) .. field(found[3])
"""
# Redis names a script by its SHA-1.
_EXCHANGE_SHA = hashlib.sha1(_EXCHANGE_LUA.encode(), usedforsecurity=False).hexdigest().encode()


def _resp(*parts: bytes) -> bytes:
    """One Redis command in the wire protocol (RESP), built by hand: redis-py's packer, connection
    pool, retry wrapper and metrics cost more CPU than the whole rest of a poll."""
    out = [b"*%d\r\n" % len(parts)]
    for part in parts:
        out.append(b"$%d\r\n%s\r\n" % (len(part), part))
    return b"".join(out)


class _Link(threading.local):
    """Per thread: a Redis connection of its own, opened on first use with the cache's settings
    (host, db, password, TLS), so a poll is one send and one read. Rebuilt after a fork."""

    pid: int = 0
    connection: Connection | None = None
    pool: object = None


_link = _Link()


def _connection(client_side) -> Connection:
    pool = client_side._get_connection_pool(write=True)  # every key lives on the write server
    if _link.connection is None or _link.pid != os.getpid() or _link.pool is not pool:
        if _link.connection is not None and _link.pid == os.getpid():
            # The cache was reconfigured (tests). After a fork the socket is the parent's: leave it be.
            _link.connection.disconnect()
        _link.connection = pool.connection_class(**pool.connection_kwargs)
        _link.pid, _link.pool = os.getpid(), pool
    return _link.connection


def _fields(raw: bytes) -> list[bytes | None]:
    """The script's answer split back into its four values (``None`` for a missing one)."""
    values: list[bytes | None] = []
    at = 0
    for _ in range(4):
        colon = raw.index(b":", at)
        if raw[at:colon] == b"-":
            values.append(None)
            at = colon + 1
        else:
            end = colon + 1 + int(raw[at:colon])
            values.append(raw[colon + 1 : end])
            at = end
    return values


def _redis_exchange(backend: RedisCache, keys: tuple[str, str, str, str], now: float) -> list[bytes | None]:
    client_side = backend._cache  # Django's RedisCacheClient: its connection pool and serializer
    args = [backend.make_key(k).encode() for k in keys]
    args += [client_side._serializer.dumps(float(now)), b"%d" % ENTRY_TTL_SECONDS]  # a float: always pickled bytes
    evalsha = _resp(b"EVALSHA", _EXCHANGE_SHA, b"4", *args)
    for attempt in (1, 2):
        connection = _connection(client_side)
        try:
            try:
                connection.send_packed_command([evalsha], check_health=False)
                return _fields(connection.read_response(disable_decoding=True))
            except NoScriptError:  # a restarted or flushed server: EVAL loads the script again
                load = _resp(b"EVAL", _EXCHANGE_LUA.encode(), b"4", *args)
                connection.send_packed_command([load], check_health=False)
                return _fields(connection.read_response(disable_decoding=True))
        except (RedisConnectionError, RedisTimeoutError):
            # redis-py has closed the socket; the next attempt reconnects (a stale connection after
            # a server restart or an idle timeout). The command is idempotent enough to resend: at
            # worst this poll's time is written twice.
            connection.disconnect()
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _loads(raw: bytes, loads) -> object:
    """Django's Redis serializer stores an int as its digits and anything else pickled, and tries
    ``int()`` first; a pickle (it starts with the PROTO opcode) skips that failing attempt."""
    return pickle.loads(raw) if raw[:1] == b"\x80" else loads(raw)  # noqa: S301 (our own cache, as Django reads it)


def _exchange(mac_address: str, now: float) -> tuple[DeviceEntry | None, object, float | None, int | None]:
    """Read the device's entry, the templates version and the device's generation, and swap in
    this poll as its last.

    Returns (entry, templates version, previous poll, generation). On Redis this is one round
    trip (a script: MGET, SET … GET); other cache backends take two calls of Django's cache API.
    """
    backend = caches["default"]
    keys = (device_key(mac_address), TEMPLATES_VERSION_KEY, seen_key(mac_address), generation_key(mac_address))
    if isinstance(backend, RedisCache):
        raw_entry, raw_version, raw_previous, raw_generation = _redis_exchange(backend, keys, now)
        loads = backend._cache._serializer.loads
        return (
            None if raw_entry is None else _loads(raw_entry, loads),
            None if raw_version is None else loads(raw_version),
            None if raw_previous is None else float(_loads(raw_previous, loads)),
            None if raw_generation is None else loads(raw_generation),
        )
    found = backend.get_many(list(keys))
    backend.set(keys[2], now, timeout=ENTRY_TTL_SECONDS)
    return found.get(keys[0]), found.get(keys[1]), found.get(keys[2]), found.get(keys[3])


def _needs_write(entry: DeviceEntry | None, poll: Poll, now: float, previous: float | None) -> bool:
    if entry is None or previous is None:
        return True
    if (entry["maker"], entry["model"], entry["user_agent"], entry["ip"], entry["local"]) != (
        poll.maker,
        poll.model,
        poll.user_agent,
        poll.ip_address,
        poll.ip_address_local,
    ):
        return True
    if now - previous > settings.CAMERA_OFFLINE_AFTER_SECONDS:
        return True  # back after an outage: the sweep reads "back online" from the database
    return now - entry["written_at"] >= settings.CAMERA_HEARTBEAT_WRITE_SECONDS


def _claim_info(device: Device) -> ClaimInfo | None:
    camera = device.camera
    if camera is None:
        return None
    try:
        account = camera.owner.account_settings  # joined by the caller's select_related
    except ObjectDoesNotExist:
        account = account_settings_get(user=camera.owner)
    changed = max(
        (d for d in (device.claimed_at, account.upload_token_rotated_at) if d is not None),
        default=camera.created_at,
    )
    return ClaimInfo(
        camera_pk=camera.pk,
        camera_name=camera.name,
        owner_id=camera.owner_id,
        upload_token=account.upload_token,
        changed_at=changed.timestamp(),
    )


def _write(poll: Poll, now: float, generation: int | None) -> DeviceEntry:
    """Record the sight in the database and reload what the commands need (claim, token);
    ``generation``: the device's, read before this."""
    at = datetime.fromtimestamp(now, tz=UTC)
    fields = {
        "maker": poll.maker,
        "model": poll.model,
        "user_agent": poll.user_agent,
        "ip_address": poll.ip_address,
        "ip_address_local": poll.ip_address_local,
        "last_seen_at": at,
    }
    device = (
        Device.objects.select_related("camera__owner__account_settings").filter(mac_address=poll.mac_address).first()
    )
    if device is None:
        try:
            with transaction.atomic():
                device = Device.objects.create(mac_address=poll.mac_address, **fields)
        except IntegrityError:  # another process saw its first poll at the same moment
            device = Device.objects.select_related("camera__owner").get(mac_address=poll.mac_address)
    else:
        if device.ip_address is not None and device.ip_address != poll.ip_address:
            fields["ip_address_changed_at"] = at  # another network: see Device.ip_address_changed_at
        Device.objects.filter(pk=device.pk).update(**fields)
    changed_at = fields.get("ip_address_changed_at", device.ip_address_changed_at)
    if device.camera_id is not None:
        moment = Value(at, output_field=DateTimeField())
        # Only forward: an upload may have recorded a later sight already.
        Camera.objects.filter(pk=device.camera_id).update(
            last_seen_at=Greatest(Coalesce("last_seen_at", moment), moment)
        )
    return DeviceEntry(
        id=device.pk,
        maker=poll.maker,
        model=poll.model,
        user_agent=poll.user_agent,
        ip=poll.ip_address,
        local=poll.ip_address_local,
        written_at=now,
        claim=_claim_info(device),
        ip_changed_at=None if changed_at is None else changed_at.timestamp(),
        generation=generation,
        commands=device.command_dates,
        commands_at=command_dates_stamp(device.command_dates),
    )


def _heartbeat(poll: Poll, now: float) -> tuple[DeviceEntry, object]:
    """Record one poll (cache always, database when due); returns the entry and templates version."""
    entry, version, previous, generation = _exchange(poll.mac_address, now)
    if version is None:
        version = templates_version()
    # (An entry of an older generation was read from the database before the device was last
    # forgotten: written after ``device_forget`` ran, it may hold the claim as it was.)
    if entry is None or entry.get("generation") != generation or _needs_write(entry, poll, now, previous):
        entry = _write(poll, now, generation)
        cache.set(device_key(poll.mac_address), entry, timeout=ENTRY_TTL_SECONDS)
    return entry, version


def _served_claim(entry: DeviceEntry, now: float) -> ClaimInfo | None:
    """The claim the answer may act on: none while the device is contested (module docstring)."""
    return None if device_contested(entry, now) else entry["claim"]


def _entry_keep_dates(mac_address: str, entry: DeviceEntry, dates: CommandDates) -> None:
    """Put the command dates just recorded in the device's entry, so every process building its
    answer finds them there, without a query. Under a new generation: an entry another poll read
    from the database before they were recorded, and caches after this, is then outdated."""
    generation = time.time_ns()
    entry.update(commands=dates, commands_at=command_dates_stamp(dates), generation=generation)
    cache.set_many({generation_key(mac_address): generation, device_key(mac_address): entry}, timeout=ENTRY_TTL_SECONDS)


def _answer(poll: Poll, entry: DeviceEntry, claim: ClaimInfo | None, version: object, now: float) -> PollAnswer:
    """The device's answer; records the commands' dates where their texts changed (and then
    updates ``entry`` in place)."""
    templates = templates_for(maker=poll.maker, model=poll.model, version=version)
    commands, recorded = commands_for(
        templates=templates,
        mac_address=poll.mac_address,
        maker=poll.maker,
        model=poll.model,
        claim=claim,
        device_id=entry["id"],
        dates=entry.get("commands"),
        now=now,
    )
    if recorded is not None:
        _entry_keep_dates(poll.mac_address, entry, recorded)
    return PollAnswer(
        commands=commands,
        ip_address=poll.ip_address or "",
        mac_address=poll.mac_address,
        maker=poll.maker,
        model=poll.model,
        user_agent=poll.user_agent,
    )


def poll_record(poll: Poll, *, now: float | None = None) -> PollAnswer:
    """Record one poll as a heartbeat and answer the device's configuration."""
    now = time.time() if now is None else now
    entry, version = _heartbeat(poll, now)
    return _answer(poll, entry, _served_claim(entry, now), version, now)


# Per process: the encoded answer and its ETag for everything an answer depends on. A device
# polls the same configuration for days, so its answer is built once, not on every poll.
_answers: dict[tuple, tuple[bytes, str]] = {}
_ANSWERS_MAX = 20_000


def poll_respond(poll: Poll, *, now: float | None = None) -> tuple[bytes, str]:
    """Record one poll as a heartbeat; returns the JSON answer and its (strong) ETag."""
    now = time.time() if now is None else now
    entry, version = _heartbeat(poll, now)
    claim = _served_claim(entry, now)
    key = (
        version,
        poll,
        None if claim is None else (claim["camera_name"], claim["upload_token"], claim["changed_at"]),
        settings.FTP_GATEWAY_HOST,
        settings.FTP_GATEWAY_PORT,
        settings.PUBLIC_BASE_URL,
        settings.CAMERA_POLL_INTERVAL_SECONDS,
        # The dates recorded so far: the same inputs after a round trip (a camera renamed and back)
        # are answered under a later date than the first time (``cameras.commands``).
        entry.get("commands_at"),
    )
    found = _answers.get(key)
    if found is None:
        # Built once per process for these inputs: the commands' dates are the device row's, the
        # same in every process, so an answer built later carries them too.
        body = json.dumps(_answer(poll, entry, claim, version, now), separators=(",", ":")).encode()
        found = (body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"')
        if len(_answers) >= _ANSWERS_MAX:
            _answers.clear()
        # Under the dates it was built with (recording may have moved them on).
        _answers[(*key[:-1], entry.get("commands_at"))] = found
    return found


def polled_at(cameras: list[Camera]) -> dict[int, datetime]:
    """The last poll the cache holds for each claimed camera (by pk); one cache round trip per 500."""
    macs = {c.camera_id: c.pk for c in cameras if _MAC.match(c.camera_id or "")}
    seen: dict[int, datetime] = {}
    chunk = list(macs)
    for start in range(0, len(chunk), 500):
        part = chunk[start : start + 500]
        found = cache.get_many([device_key(m) for m in part] + [seen_key(m) for m in part])
        for mac in part:
            entry, last = found.get(device_key(mac)), found.get(seen_key(mac))
            claim = entry.get("claim") if isinstance(entry, dict) else None
            # The entry proves the device is this camera's: a camera_id alone could be anything.
            if claim and claim["camera_pk"] == macs[mac] and last is not None:
                seen[macs[mac]] = datetime.fromtimestamp(float(last), tz=UTC)
    return seen


def devices_polled_at(mac_addresses: list[str]) -> dict[str, datetime]:
    """The last poll the cache holds for each device (by MAC); one cache round trip per 500."""
    seen: dict[str, datetime] = {}
    for start in range(0, len(mac_addresses), 500):
        part = mac_addresses[start : start + 500]
        found = cache.get_many([seen_key(m) for m in part])
        for mac in part:
            last = found.get(seen_key(mac))
            if last is not None:
                seen[mac] = datetime.fromtimestamp(float(last), tz=UTC)
    return seen
