"""The free-text query language shared by search (``text``) and hooks (``query``).

Grammar (case-insensitive):

- Words are terms; ``"double quotes"`` group words into one term (multi-word camera or zone
  names). Unquoted multi-word camera and zone names are recognised too, longest first.
- A term resolves to one of the owner's **cameras** first, then a **zone**, then a **label**.
  Cameras are alternatives (``front gate`` = from front *or* gate); no camera term = all cameras.
  Zones and labels are all required.
- Colour words mean ``_color_<colour>`` over the thirteen colours of the reference (``grey`` is
  ``gray``). ``person``, ``persons`` and ``human`` mean the ``people`` label.
- ``not`` negates the next term: ``not street`` excludes events labelled street; ``not front``
  excludes the camera front.
- A handful of filler words (``the``, ``at``, ``a``, ``with`` …) are ignored.
- Dates in plain words set a window (search only; hooks ignore it): ``today``, ``yesterday``,
  weekday names (the most recent one), ``2026-11-20``, ``11/20``, ``nov 20``, ``november 20 2026``;
  times ``7pm``, ``7:30 pm``, ``19:00``, ``noon``, ``midnight``; ranges ``7pm to 9pm``,
  ``from … to …``, ``between … and …``, ``yesterday 7am to 6pm``, ``yesterday between 7pm and
  9pm``, ``7pm-9pm``, ``7-9pm`` (a bare start hour takes the end's am/pm); relative ``in the last
  3 hours``, ``last 2 days``, ``past 30 minutes``, ``last hour``; ``last monday`` (a week ago when
  said on a Monday); ``2026-11-20T10:00``; zones ``ET CT MT PT UTC`` (with their
  standard/daylight forms). The date and the zone written on one end of a range carry to the
  other. A day written without a year is the most recent one (searches look back), and a range's
  end without a year is the first one after its start (``dec 25 to jan 2``). Season words are
  never dates (``slip and fall`` is a label query).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

COLORS = (
    "red",
    "pink",
    "brown",
    "orange",
    "yellow",
    "green",
    "cyan",
    "blue",
    "purple",
    "magenta",
    "white",
    "gray",
    "black",
)
COLOR_ALIASES = {"grey": "gray"}
LABEL_ALIASES = {"person": "people", "persons": "people", "human": "people", "humans": "people"}
STOP_WORDS = {"a", "an", "the", "at", "on", "of", "with", "by", "near", "and", "in", "or", "some", "any"}

TIMEZONES: dict[str, str] = {
    "et": "America/New_York",
    "est": "America/New_York",
    "edt": "America/New_York",
    "ct": "America/Chicago",
    "cst": "America/Chicago",
    "cdt": "America/Chicago",
    "mt": "America/Denver",
    "mst": "America/Denver",
    "mdt": "America/Denver",
    "pt": "America/Los_Angeles",
    "pst": "America/Los_Angeles",
    "pdt": "America/Los_Angeles",
    "utc": "UTC",
    "gmt": "UTC",
}
MONTHS = {
    name: i + 1
    for i, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ]
    )
    for name in names
}
WEEKDAYS = {
    name: i for i, name in enumerate(("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"))
}
UNITS = {
    "minute": 60,
    "minutes": 60,
    "min": 60,
    "mins": 60,
    "hour": 3600,
    "hours": 3600,
    "hr": 3600,
    "hrs": 3600,
    "day": 86400,
    "days": 86400,
    "week": 604800,
    "weeks": 604800,
}

_TIME = re.compile(r"^(\d{1,2})(?::(\d{2}))?(am|pm|a\.m\.|p\.m\.)?$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_SLASH_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})(?:/(\d{2}|\d{4}))?$")
_TOKEN = re.compile(r'"([^"]*)"|(\S+)')
_ISO_DATETIME = re.compile(r"^(\d{4})-(\d{2})-(\d{2})t(\d{1,2}):(\d{2})(?::\d{2}(?:\.\d+)?)?z?$")
# "7pm-9pm", "7-9pm", "7:30-9:00": one word holding a range of times.
_TIME_RANGE = re.compile(r"^(\d{1,2}(?::\d{2})?(?:am|pm)?)-(\d{1,2}(?::\d{2})?(?:am|pm)?)$")
MAX_RELATIVE_SECONDS = 100 * 365 * 86400


class QueryError(ValueError):
    """A query that cannot be understood (e.g. a range that ends before it starts)."""


@dataclass
class ParsedQuery:
    """What a query means: cameras (any of), required and excluded labels, and a date window."""

    sources: list[str] = field(default_factory=list)
    excluded_sources: list[str] = field(default_factory=list)
    zones: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    excluded_labels: list[str] = field(default_factory=list)
    start: datetime | None = None
    end: datetime | None = None

    @property
    def required_labels(self) -> list[str]:
        """Zone names and labels: an event must carry every one."""
        return self.zones + self.labels

    def matches(self, *, source: str, labels: list[str] | set[str]) -> bool:
        """Does an event from camera ``source`` with ``labels`` satisfy the query (dates aside)?"""
        have = {label.lower() for label in labels}
        src = source.lower()
        if self.sources and src not in {s.lower() for s in self.sources}:
            return False
        if src in {s.lower() for s in self.excluded_sources}:
            return False
        if any(label.lower() not in have for label in self.required_labels):
            return False
        return not any(label.lower() in have for label in self.excluded_labels)

    def describe(self) -> str:
        """A short human description, e.g. for the default name of a Camio."""
        parts = []
        if self.sources:
            parts.append(" or ".join(self.sources))
        parts.extend(self.required_labels)
        parts.extend(f"not {x}" for x in self.excluded_sources + self.excluded_labels)
        if self.start or self.end:
            fmt = "%Y-%m-%d %H:%M"
            start = self.start.strftime(fmt) if self.start else "…"
            end = self.end.strftime(fmt) if self.end else "now"
            parts.append(f"from {start} to {end}")
        return " ".join(parts) or "everything"

    def as_json(self) -> dict:
        return {
            "sources": self.sources,
            "excluded_sources": self.excluded_sources,
            "zones": self.zones,
            "labels": self.labels,
            "excluded_labels": self.excluded_labels,
            "start_date": self.start.isoformat() if self.start else None,
            "end_date": self.end.isoformat() if self.end else None,
        }


def _tokens(text: str) -> list[tuple[str, bool]]:
    """Split into (term, quoted) pairs; unbalanced quotes are treated as closed at the end."""
    if text.count('"') % 2:
        text += '"'
    pairs = []
    for match in _TOKEN.finditer(text):
        quoted = match.group(1)
        if quoted is not None:
            if quoted.strip():
                pairs.append((quoted.strip(), True))
        else:
            pairs.append((match.group(2), False))
    return pairs


# --- dates ---------------------------------------------------------------------------------------


@dataclass
class _Point:
    day: date | None = None
    at: time | None = None
    hour_only: bool = False  # "7pm": a one-hour window when alone
    yearless: bool = False  # "nov 2", "11/02": the year was inferred


def _parse_time(words: list[str], i: int) -> tuple[time, int, bool] | None:
    """A time at words[i] ("7pm", "7", "pm", "19:00", "noon"); returns (time, words used, hour_only)."""
    word = words[i]
    if word == "noon":
        return time(12), 1, True
    if word == "midnight":
        return time(0), 1, True
    m = _TIME.match(word)
    if not m:
        return None
    hour, minute, meridiem = int(m.group(1)), m.group(2), m.group(3)
    used = 1
    if meridiem is None and i + 1 < len(words) and words[i + 1] in ("am", "pm", "a.m.", "p.m."):
        meridiem, used = words[i + 1], 2
    if meridiem is None and minute is None:
        return None  # a bare number is not a time ("3 cars")
    if meridiem:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if meridiem.startswith("p") else 0)
    if hour > 23 or (minute is not None and int(minute) > 59):
        return None
    return time(hour, int(minute or 0)), used, minute is None


def _most_recent(month: int, day: int, today: date) -> date | None:
    """The latest ``month``/``day`` not after today (searches look back): "dec 25" in Nov is last year's."""
    for year in range(today.year, today.year - 9, -1):  # Feb 29 may be up to 8 years back
        try:
            found = date(year, month, day)
        except ValueError:
            continue
        if found <= today:
            return found
    return None


def _parse_day(words: list[str], i: int, today: date) -> tuple[date, int, bool] | None:
    """A day at words[i]; returns (day, words used, whether the year was inferred)."""
    word = words[i]
    if word == "today":
        return today, 1, False
    if word == "yesterday":
        return today - timedelta(days=1), 1, False
    if word in WEEKDAYS:
        back = (today.weekday() - WEEKDAYS[word]) % 7
        return today - timedelta(days=back), 1, False
    if m := _ISO_DATE.match(word):
        try:
            return date(int(m[1]), int(m[2]), int(m[3])), 1, False
        except ValueError:
            return None
    if m := _SLASH_DATE.match(word):
        if m[3]:
            year = int(m[3]) + (2000 if len(m[3]) == 2 else 0)
            try:
                return date(year, int(m[1]), int(m[2])), 1, False
            except ValueError:
                return None
        found = _most_recent(int(m[1]), int(m[2]), today) if 1 <= int(m[1]) <= 12 else None
        return (found, 1, True) if found else None
    if word in MONTHS and i + 1 < len(words) and re.fullmatch(r"\d{1,2}(st|nd|rd|th)?", words[i + 1]):
        day = int(re.match(r"\d+", words[i + 1]).group())
        if i + 2 < len(words) and re.fullmatch(r"\d{4}", words[i + 2]):
            try:
                return date(int(words[i + 2]), MONTHS[word], day), 3, False
            except ValueError:
                return None
        found = _most_recent(MONTHS[word], day, today)
        return (found, 2, True) if found else None
    return None


def _parse_point(words: list[str], i: int, today: date) -> tuple[_Point, int]:
    """A date and/or time starting at words[i], in either order; (point, words used)."""
    point, j = _Point(), i
    if i < len(words) and (m := _ISO_DATETIME.match(words[i])):
        try:
            point.day = date(int(m[1]), int(m[2]), int(m[3]))
            point.at = time(int(m[4]), int(m[5]))
        except ValueError:
            return _Point(), 0
        return point, 1
    for _ in range(2):
        if j >= len(words):
            break
        lead = 1 if words[j] in ("last", "this", "on") and j + 1 < len(words) and words[j + 1] in WEEKDAYS else 0
        if point.day is None and (d := _parse_day(words, j + lead, today)):
            point.day, point.yearless, j = d[0], d[2], j + lead + d[1]
            if lead and words[j - 2] == "last" and point.day == today:
                point.day -= timedelta(days=7)  # "last monday", said on a Monday, is a week ago
            if j < len(words) and words[j] == "at":
                j += 1
            continue
        if point.at is None and (t := _parse_time(words, j)):
            point.at, point.hour_only, j = t[0], t[2], j + t[1]
            continue
        break
    return point, j - i


def _bare_start(words: list[str], i: int, end: _Point) -> _Point | None:
    """ "7 to 9pm", "11-1pm": a bare hour before a range's end takes the end's half of the day."""
    word = words[i] if i < len(words) else ""
    if not word.isdigit() or not 1 <= int(word) <= 12 or end.at is None:
        return None
    hour = int(word) % 12 + (12 if end.at.hour >= 12 else 0)
    if hour >= end.at.hour and hour >= 12:
        hour -= 12
    return _Point(at=time(hour), hour_only=True)


def _combine(point: _Point, today: date, tz: tzinfo, *, end: bool) -> datetime:
    day = point.day or today
    if point.at is None:
        return datetime.combine(day + timedelta(days=1) if end else day, time(0), tz)
    return datetime.combine(day, point.at, tz)


_JOINERS = ("to", "until", "till", "through", "-")


def _parse_range(words: list[str], k: int, today: date) -> tuple[str, _Point, _Point | None, int] | None:
    """``[from|between|since] point [(to|until|-|and) point]`` at words[k].

    Returns (lead word or "", start, end or None, index after the expression); None if no date.
    """
    lead = words[k] if words[k] in ("from", "between", "since") else ""
    first = k + (1 if lead else 0)
    start, n = _parse_point(words, first, today)
    if n == 0:
        # "7 to 9pm": a bare hour is a time only when a range's end gives it its half of the day.
        if first + 2 < len(words) and words[first + 1] in (*_JOINERS, "and"):
            end, m = _parse_point(words, first + 2, today)
            if m and (bare := _bare_start(words, first, end)):
                bare.day = end.day
                return lead, bare, end, first + 2 + m
        return None
    after = first + n
    joiner = words[after] if after < len(words) else None
    if lead != "since" and (joiner in _JOINERS or (lead and joiner == "and")):
        end, m = _parse_point(words, after + 1, today)
        if m:
            return lead, start, end, after + 1 + m
        return lead, start, None, after + 1  # a dangling "to" belongs to the date
    return lead, start, None, after


def _extract_dates(words: list[str], now: datetime, tz: tzinfo) -> tuple[datetime | None, datetime | None, set[int]]:
    """Find the date expression among ``words``; returns (start, end, indexes of words it used)."""
    # A time zone word anywhere applies to the whole expression ("3pm to 5pm ET").
    used: set[int] = set()
    for k, word in enumerate(words):
        if word in TIMEZONES:
            tz, _ = ZoneInfo(TIMEZONES[word]), used.add(k)
    local_now = now.astimezone(tz)
    today = local_now.date()

    for k, word in enumerate(words):
        # Relative windows: "in the last 3 hours", "last 2 days", "past 30 minutes", "last hour".
        if word in ("last", "past") and k + 1 < len(words):
            count, unit_at = 1, k + 1
            if words[k + 1].isdigit():
                count, unit_at = int(words[k + 1]), k + 2
            if unit_at < len(words) and words[unit_at] in UNITS:
                seconds = count * UNITS[words[unit_at]]
                if count < 1 or seconds > MAX_RELATIVE_SECONDS:
                    raise QueryError(f"'{word} {count} {words[unit_at]}' is not a window (1 minute to 100 years)")
                first = k - 2 if k >= 2 and words[k - 2] == "in" and words[k - 1] == "the" else k
                first = k - 1 if first == k and k >= 1 and words[k - 1] == "the" else first
                used.update(range(first, unit_at + 1))
                return now - timedelta(seconds=seconds), now, used

    k = 0
    while k < len(words):
        if k in used:
            k += 1
            continue
        found = _parse_range(words, k, today)
        if found is None:
            k += 1
            continue
        lead, start_point, end_point, after = found
        # "yesterday between 7pm and 9pm", "monday from 9am to noon", "yesterday 7-9pm": a day,
        # then a range of times on it.
        if end_point is None and start_point.at is None and after < len(words) and lead != "since":
            inner = _parse_range(words, after, today)
            if (
                inner
                and inner[1].day is None
                and inner[1].at is not None
                and (inner[2] is not None or inner[0] in ("from", "between"))
            ):
                _, start_point, end_point, after = inner[0], inner[1], inner[2], inner[3]
                start_point.day = found[1].day
                start_point.yearless = found[1].yearless
        span = set(range(k, after))
        if lead == "since":
            return _combine(start_point, today, tz, end=False), now, used | span
        if end_point is not None:
            # The date written on one end carries to the other.
            end_point.day = end_point.day or start_point.day
            start_point.day = start_point.day or end_point.day
            if end_point.yearless and start_point.day and end_point.day < start_point.day:
                # "dec 25 to jan 2", "nov 20 to nov 25": the end is the first such day from the start on.
                for year in range(start_point.day.year, start_point.day.year + 5):
                    try:
                        candidate = end_point.day.replace(year=year)
                    except ValueError:  # Feb 29
                        continue
                    if candidate >= start_point.day:
                        end_point.day = candidate
                        break
            start = _combine(start_point, today, tz, end=False)
            end = _combine(end_point, today, tz, end=True)
            if end <= start and end_point.at is not None and start_point.at is not None:
                end += timedelta(days=1)  # "10pm to 2am" crosses midnight
            if end <= start:
                raise QueryError("The date range ends before it starts")
            return start, end, used | span
        start = _combine(start_point, today, tz, end=False)
        if start_point.at is None:
            end = start + timedelta(days=1)
        elif start_point.hour_only:
            end = start + timedelta(hours=1)
        else:
            end = start + timedelta(minutes=1)
        return start, end, used | span
    return None, None, set()


# --- the whole query -----------------------------------------------------------------------------


def parse_query(
    text: str,
    *,
    cameras: list[str] | tuple[str, ...] = (),
    zones: list[str] | tuple[str, ...] = (),
    now: datetime | None = None,
    tz: tzinfo | None = None,
    with_dates: bool = True,
) -> ParsedQuery:
    """Parse ``text`` against the owner's camera and zone names (see the module docstring)."""
    from django.utils import timezone as dj_timezone

    now = now or dj_timezone.now()
    tz = tz or ZoneInfo("UTC")
    raw = _tokens(text or "")
    # Dates read only unquoted words; their indexes map back to raw tokens.
    plain: list[tuple[int, str]] = []
    for i, (word, quoted) in enumerate(raw):
        if quoted:
            continue
        lower = word.lower()
        if m := _TIME_RANGE.match(lower):
            plain += [(i, m[1]), (i, "-"), (i, m[2])]
        else:
            plain.append((i, lower))
    start = end = None
    date_tokens: set[int] = set()
    if with_dates:
        words = [w for _, w in plain]
        start, end, used = _extract_dates(words, now, tz)
        date_tokens = {plain[k][0] for k in used}

    camera_names = {c.lower(): c for c in cameras}
    zone_names = {z.lower(): z for z in zones}
    multi = sorted((n for n in list(camera_names) + list(zone_names) if " " in n), key=len, reverse=True)

    query = ParsedQuery(start=start, end=end)
    negate = False
    i = 0
    while i < len(raw):
        if i in date_tokens:
            i += 1
            continue
        term, quoted = raw[i]
        span = 1
        if not quoted:
            # Longest multi-word camera or zone name written without quotes.
            for name in multi:
                n = name.count(" ") + 1
                window = [w for w, q in raw[i : i + n]]
                if len(window) == n and " ".join(window).lower() == name and not date_tokens & set(range(i, i + n)):
                    term, span = " ".join(window), n
                    break
        lower = term.lower().strip()
        i += span
        if not lower:
            continue
        if not quoted and span == 1:
            if lower == "not":
                negate = True
                continue
            if lower in STOP_WORDS:
                continue
        if lower in camera_names:
            (query.excluded_sources if negate else query.sources).append(camera_names[lower])
        elif lower in zone_names:
            (query.excluded_labels if negate else query.zones).append(zone_names[lower])
        else:
            if lower in COLORS or lower in COLOR_ALIASES:
                label = f"_color_{COLOR_ALIASES.get(lower, lower)}"
            else:
                label = LABEL_ALIASES.get(lower, lower)
            (query.excluded_labels if negate else query.labels).append(label)
        negate = False
    for name in ("sources", "excluded_sources", "zones", "labels", "excluded_labels"):
        setattr(query, name, list(dict.fromkeys(getattr(query, name))))
    return query
