"""When an upload was captured, read from its file name.

Cameras name files after the moment they recorded them: the reference's
``2014-07-21T20:38:31.000-07:00.mp4`` (ISO 8601, always honoured), or free text such as
``front_20140721_203831.jpg`` or ``ARC20140721203831.jpg`` (read only with ``parse_timestamp``).
A time without an offset is taken as UTC: the camera's zone is not known.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

# A capture claimed this far in the future is a wrong camera clock: the arrival time is used.
MAX_FUTURE = timedelta(days=1)
EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)

_EXTENSION = re.compile(r"\.(jpe?g|png|mp4|mov|qt|m4v)$", re.IGNORECASE)

# Date and time with separators or none: 2014-07-21 20.38.31, 20140721_203831, 2014_07_21-20_38_31.
_FREE_TEXT = re.compile(
    r"(?<!\d)(?P<y>(?:19|20)\d\d)[-_.]?(?P<mo>[01]\d)[-_.]?(?P<d>[0-3]\d)"
    r"(?:[T _.-]*|[^\d]{0,3})"
    r"(?P<h>[0-2]\d)[-_.:hH]?(?P<mi>[0-5]\d)[-_.:mM]?(?P<s>[0-5]\d)(?:[.,_](?P<frac>\d{1,6}))?(?!\d)"
)
# Unix time in seconds or milliseconds (10 or 13 digits standing alone).
_EPOCH = re.compile(r"(?<!\d)(?P<secs>1\d{9})(?P<ms>\d{3})?(?!\d)")


def _sane(moment: datetime, *, now: datetime) -> datetime | None:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if moment < EARLIEST or moment > now + MAX_FUTURE:
        return None
    return moment


def timestamp_from_iso_name(name: str, *, now: datetime) -> datetime | None:
    """The ISO 8601 date and time a file name consists of (extension aside), or None."""
    stem = _EXTENSION.sub("", name.strip())
    if "T" not in stem.upper() or len(stem) < 15:
        return None  # a bare date is no capture time
    try:
        return _sane(datetime.fromisoformat(stem), now=now)
    except ValueError:
        return None


def timestamp_from_free_text(name: str, *, now: datetime) -> datetime | None:
    """A date and time found anywhere in a file name (``front_20140721_203831.jpg``), or None."""
    stem = _EXTENSION.sub("", name.strip())
    for match in _FREE_TEXT.finditer(stem):
        frac = (match.group("frac") or "0").ljust(6, "0")
        try:
            moment = datetime(
                int(match.group("y")),
                int(match.group("mo")),
                int(match.group("d")),
                int(match.group("h")),
                int(match.group("mi")),
                int(match.group("s")),
                int(frac),
                tzinfo=UTC,
            )
        except ValueError:
            continue
        sane = _sane(moment, now=now)
        if sane is not None:
            return sane
    match = _EPOCH.search(stem)
    if match:
        seconds = int(match.group("secs")) + int(match.group("ms") or 0) / 1000
        return _sane(datetime.fromtimestamp(seconds, tz=UTC), now=now)
    return None


def capture_time(name: str, *, parse_free_text: bool, arrived_at: datetime) -> datetime:
    """The capture time of an upload named ``name``: ISO name, then free text if asked, else arrival."""
    if name:
        found = timestamp_from_iso_name(name, now=arrived_at)
        if found is None and parse_free_text:
            found = timestamp_from_free_text(name, now=arrived_at)
        if found is not None:
            return found.astimezone(UTC)
    return arrived_at
