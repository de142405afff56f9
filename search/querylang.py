"""The free-text query language shared by search (``text``) and hooks (``query``).

Grammar (case-insensitive):

- Words are terms; ``"double quotes"`` (or typographic ``“”``) group words into one term
  (multi-word camera or zone names); an unbalanced quote runs to the end. Punctuation ending a
  word (``,`` ``.`` ``;`` ``:`` ``!`` ``?``) is no part of it: ``front, people``. Unquoted
  multi-word camera and zone names are recognised too, longest first, before dates are read: a
  camera "Sunday School" is that camera, not a Sunday.
- A term resolves to one of the owner's **cameras** first, then a **zone**, then a **label**.
  Cameras are alternatives (``front gate`` = from front *or* gate); no camera term = all cameras.
  Zones and labels are all required.
- Colour words mean ``_color_<colour>`` over the thirteen colours of the reference (``grey`` is
  ``gray``). ``person``, ``persons`` and ``human`` mean the ``people`` label.
- ``not`` negates the next term: ``not street`` excludes events labelled street; ``not front``
  excludes the camera front. A date cannot be negated (``people not today`` is refused).
- A handful of filler words (``the``, ``at``, ``a``, ``with`` …) are ignored.
- Dates in plain words set a window (search only; hooks ignore it), read in the query's zone
  (UTC unless a zone word is written):

  - days: ``today``, ``yesterday``, weekday names (the most recent one, today included),
    ``last monday`` (a week ago when said on a Monday), ``2026-11-20``, ``11/20``, ``11/20/26``,
    ``nov 20``, ``november 20th 2026``, ``20 nov``, ``20th of november 2026``. A month name is a
    date only next to a day number (1-31): ``may the dog``, ``march band`` are labels.
  - times ``7pm``, ``7:30 pm``, ``7.30pm``, ``19:00``, ``noon``, ``midnight`` (alone: that hour;
    ``7:30pm``: that minute); ``2026-11-20T10:00``.
  - parts of a day: ``this morning`` (05-12), ``this afternoon`` (12-17), ``this evening``
    (17-21), ``tonight``/``last night`` (the dark hours, 18:00 to 06:00 the next day; ``tonight``
    said before 06:00 is the night under way), ``yesterday morning``, ``friday night``,
    ``monday in the evening``. A part-of-day word alone (``morning``) is a label.
  - ranges ``7pm to 9pm``, ``from … to …``, ``between … and …``, ``yesterday 7am to 6pm``,
    ``yesterday between 7pm and 9pm``, ``7pm-9pm`` (or with an en dash), ``noon-2pm``,
    ``7pm til 9pm``, ``7pm thru 9pm``, ``monday to wednesday``, ``7-9pm`` (a bare start hour
    takes the end's am/pm), ``9am to 5`` (a bare end hour is the first such hour after the
    start), ``13 to 15`` (bare hours on the 24-hour clock; ``7 to 9``, both bare and either
    half of the day, is a 400 asking which); ``7pm to now``, and any window ``… to now``
    (``last night to now``); an end before its start crosses midnight (``10pm to 2am``), and
    ``midnight`` as an end is the one ending the day (``noon to midnight``). The date and the
    zone written on one end carry to the other.
  - one end: ``since 7am`` (to now), ``after 5pm`` (to the end of that day), ``before noon``
    (from the start of that day), ``until 9pm`` (``until midnight``: the whole day); with a day
    only: ``after nov 20`` (from the 21st on), ``before nov 20`` (up to the 20th, not included),
    ``until nov 20`` (the 20th included).
  - counted from now: ``in|within|over|during|for the last 3 hours``, ``last 2 days``,
    ``past 30 minutes``, ``last 30 seconds``, ``last hour``, ``last half hour``, ``last week``/
    ``last month`` (the 7/30 days up to now); ``3 hours ago`` (that hour: from 3 hours back to 2
    hours back), ``half an hour ago`` (the half hour up to now), ``2 days ago`` (that calendar
    day), ``since 3 hours ago``; ``this week|month|year`` (from its first day to now).
  - zones ``ET CT MT PT`` (with their standard/daylight forms), ``UTC``/``GMT``, and zones that
    one abbreviation names alone: ``CET EET BST MSK SAST JST KST HKT SGT AWST ACST AEST NZST
    AKST HST`` (with their summer forms); one zone per query. Each is read as that place's
    clock, daylight saving included (``3pm BST`` in December is 3pm in London).

  A day written without a year is the most recent one, and a time written without a day is the
  most recent one too (``10pm to 2am`` said at 1am is the night under way, ``7pm to now`` said
  at 10am starts yesterday; searches look back); a range's end without a year or a week is the
  first one from its start on (``dec 25 to jan 2``, ``monday to wednesday``,
  ``feb 29 to mar 1``). Future windows (``tomorrow``, ``next monday``, ``next week``, ``in 3 hours``) are
  understood and echoed, and find nothing: content is never captured in the future. Windows are
  compared in elapsed time, so a daylight-saving change cannot turn one around.

  What is refused (``QueryError``, a 400 from search) rather than left to become a label that
  finds nothing: a second date expression (``yesterday 7pm today``), words shaped like a date or
  time that are none (``feb 30``, ``11/31``, ``2026-13-01``, ``13pm``, ``24:00``), a count and
  unit without ``last`` or ``ago`` (``3 hours``), ``ago`` without a count (``a few hours ago``),
  two different zones, a negated date (``not today``), ranges that end before they start (also
  ``since tomorrow``), and, beside a window, a word that can only be part of a date that was not
  understood (``7.30``, ``24h``, ``now``, ``pm``) or a zone abbreviation naming several zones
  (``IST``, ``AST``). Season words are never dates (``slip and fall``, ``spring``), nor are bare
  numbers (``3 cars``) or ``sun``; a quoted word is never a date.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache
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
    # Beyond the US: abbreviations that name one zone only, read as that zone's clock whichever
    # half of the year is in effect (as "est" is New York's). IST (India, Israel, Ireland) and AST
    # (Atlantic, Arabia) name several, and "wet"/"west" are English words: none is a zone here.
    "cet": "Europe/Berlin",
    "cest": "Europe/Berlin",
    "eet": "Europe/Athens",
    "eest": "Europe/Athens",
    "bst": "Europe/London",
    "msk": "Europe/Moscow",
    "sast": "Africa/Johannesburg",
    "jst": "Asia/Tokyo",
    "kst": "Asia/Seoul",
    "hkt": "Asia/Hong_Kong",
    "sgt": "Asia/Singapore",
    "awst": "Australia/Perth",
    "acst": "Australia/Adelaide",
    "acdt": "Australia/Adelaide",
    "aest": "Australia/Sydney",
    "aedt": "Australia/Sydney",
    "nzst": "Pacific/Auckland",
    "nzdt": "Pacific/Auckland",
    "akst": "America/Anchorage",
    "akdt": "America/Anchorage",
    "hst": "Pacific/Honolulu",
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
    "seconds": 1,  # plural only: "last second" and "in a second" are not windows
    "secs": 1,
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
    "month": 30 * 86400,
    "months": 30 * 86400,
    "year": 365 * 86400,
    "years": 365 * 86400,
    "half-hour": 1800,  # also what "half an hour" and "half hour" are read as
}

# "7pm", "7:30pm", "19:00", "7.30pm" (a dot only with am/pm: "7.30" alone may be anything).
_TIME = re.compile(r"^(\d{1,2})(?:([:.])(\d{2}))?(am|pm|a\.m\.|p\.m\.)?$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_SLASH_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})(?:/(\d{2}|\d{4}))?$")
# A quoted group (an unbalanced quote runs to the end of the text) or a word; a quote ends a word.
_TOKEN = re.compile(r'"([^"]*)(?:"|$)|([^\s"]+)')
# Typographic double quotes, as phones and word processors type them, group words as '"' does.
_QUOTES = str.maketrans(dict.fromkeys("\u201c\u201d\u201e\u00ab\u00bb", '"'))
# Punctuation ending a word, as a reader sees it ("front, people", "yesterday.").
_END_PUNCTUATION = ".,;:!?"
# En and em dashes (what autocorrect puts between times) join a range as "-" does.
_DASHES = str.maketrans(dict.fromkeys("\u2013\u2014", "-"))
_ISO_DATETIME = re.compile(r"^(\d{4})-(\d{2})-(\d{2})t(\d{1,2}):(\d{2})(?::\d{2}(?:\.\d+)?)?z?$")
# "7pm-9pm", "7-9pm", "7:30-9:00", "noon-2pm": one word holding a range of times.
_RANGE_END = r"(\d{1,2}(?::\d{2})?(?:am|pm)?|noon|midnight)"
_TIME_RANGE = re.compile(rf"^{_RANGE_END}-{_RANGE_END}$")
MAX_RELATIVE_SECONDS = 100 * 365 * 86400


# The years a date may name, as for the search's ``date`` parameter: the calendar's ends are
# unreachable by the day and window arithmetic that follows.
MIN_YEAR, MAX_YEAR = 1970, 9998
_YEARS_MESSAGE = f"dates must fall in the years {MIN_YEAR} to {MAX_YEAR}"


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


def label_canonical(word: str) -> str:
    """The stored label a word names: colour words are ``_color_<colour>`` (the reference calls
    the colours labels: "blue"), ``person`` is ``people``; anything else, lower-cased. For the
    ``labels`` of searches and Camios, as for a query's words."""
    lower = word.strip().lower()
    if lower in COLORS or lower in COLOR_ALIASES:
        return f"_color_{COLOR_ALIASES.get(lower, lower)}"
    return LABEL_ALIASES.get(lower, lower)


def _bare(word: str) -> str:
    """``word`` without the punctuation that ends it ("front," is front)."""
    bare = word.rstrip(_END_PUNCTUATION)
    if bare != word and bare[-3:].lower() in ("a.m", "p.m"):
        bare += "."  # the last dot of "p.m." is the word's own
    return bare


def _token_spans(text: str) -> list[tuple[str, bool, int, int]]:
    """Split into (term, quoted, start, end) where ``text[start:end]`` is the term as written (a
    quoted group with its quotes, a word without the punctuation ending it); an unbalanced quote
    runs to the end of the text."""
    spans = []
    # The typographic quotes are one character each, as '"': positions hold in ``text``.
    for match in _TOKEN.finditer(text.translate(_QUOTES)):
        quoted, word = match.group(1), match.group(2)
        term = quoted.strip() if quoted is not None else _bare(word)
        if term:
            end = match.end() if quoted is not None else match.start() + len(term)
            spans.append((term, quoted is not None, match.start(), end))
    return spans


def _tokens(text: str) -> list[tuple[str, bool]]:
    """Split into (term, quoted) pairs; an unbalanced quote runs to the end of the text."""
    return [(term, quoted) for term, quoted, _, _ in _token_spans(text)]


@lru_cache(maxsize=8192)  # an account's names, again at each of its text searches and hook checks
def _name_key(name: str) -> str:
    """A camera or zone name as the words of a query are compared with it: lower case, one space
    between words, no punctuation ending a word."""
    return " ".join(_bare(word) for word in name.lower().split())


def _name_groups(raw: list[tuple[str, bool]], names: list[str]) -> list[tuple[int, int]]:
    """The terms of ``raw`` as ``[first, last)`` index ranges: unquoted words spelling a multi-word
    camera or zone name (``names`` as ``_name_key`` gives them) are one range, the longest name
    first.

    This runs before dates are read, so a name holding date words is the name ("sunday school"
    with a camera "Sunday School"): a word resolves to a camera first. Each word is tried once per
    length of name, so the cost stays linear in the words however many names there are.
    """
    multi_word = {name for name in names if " " in name}
    lengths = sorted({name.count(" ") + 1 for name in multi_word}, reverse=True)
    groups: list[tuple[int, int]] = []
    i = 0
    while i < len(raw):
        span = 1
        for n in [] if raw[i][1] else lengths:
            window = raw[i : i + n]
            if len(window) == n and not any(q for _, q in window):
                if " ".join(t.lower() for t, _ in window) in multi_word:
                    span = n
                    break
        groups.append((i, i + span))
        i += span
    return groups


def _group_names(raw: list[tuple[str, bool]], names: list[str]) -> list[tuple[str, bool]]:
    """Unquoted words spelling a multi-word camera or zone name become one term, as if quoted
    (see :func:`_name_groups`)."""
    return [
        raw[first] if last - first == 1 else (" ".join(t for t, _ in raw[first:last]), True)
        for first, last in _name_groups(raw, names)
    ]


def query_name_replace(text: str, *, names: list[str] | tuple[str, ...], old: str, new: str, quote: bool) -> str:
    """``text`` with every term naming ``old`` (as parse_query groups and compares terms against
    ``names``, the owner's camera and zone names) written ``new`` instead, the rest as written.
    ``new`` is quoted when ``quote`` or when it is not one plain word. Which terms the parse then
    reads as the name (not a date, say) is for the caller to check by parsing the result.
    ValueError for a ``new`` no query can spell (it holds a double quote)."""
    if '"' in new.translate(_QUOTES):
        raise ValueError(f"a query cannot name {new!r}")
    plain = not quote and len(new.split()) == 1 and new == new.strip() and _bare(new) == new
    written = new if plain else f'"{new}"'
    spans = _token_spans(text or "")
    raw = [(term, quoted) for term, quoted, _, _ in spans]
    target = _name_key(old)
    pieces, at = [], 0
    for first, last in _name_groups(raw, [_name_key(n) for n in names]):
        term = raw[first][0] if last - first == 1 else " ".join(t for t, _ in raw[first:last])
        if _name_key(term) != target:
            continue
        start, end = spans[first][2], spans[last - 1][3]
        pieces += [text[at:start], written]
        at = end
    return "".join([*pieces, text[at:]])


# --- dates ---------------------------------------------------------------------------------------

# Parts of the day in local wall-clock hours (an end past 24 is the next day's). "night" is the
# dark hours a camera owner means by "last night", so it overlaps the evening.
DAY_PARTS: dict[str, tuple[int, int]] = {
    "morning": (5, 12),
    "afternoon": (12, 17),
    "evening": (17, 21),
    "night": (18, 30),
}
NIGHT_ENDS_AT = 6  # "tonight" said before 06:00 is the night already under way
# A lead word that gives a window one end only ("since 7am", "before noon").
SINGLE_ENDED = ("since", "after", "before", "until", "till", "til")
PERIODS = ("week", "month", "year")
_MERIDIEMS = ("am", "pm", "a.m.", "p.m.")
_DAY_NUMBER = re.compile(r"^(\d{1,2})(?:st|nd|rd|th)?$")
# Shapes of dates and times: one left over after parsing was not understood (a 400, not a label).
_DATE_SHAPED = re.compile(r"^(\d{4}-\d{1,2}-\d{1,2}(t\S*)?|\d{1,2}/\d{1,2}(/\d{2,4})?)$")
_TIME_SHAPED = re.compile(r"^(\d{1,2}([:.]\d{2})?(am|pm|a\.m\.|p\.m\.)|\d{1,2}:\d{2})$")
_BARE_TIME = re.compile(r"^\d{1,2}([:.]\d{2})?$")  # shaped like a time when am/pm follows
# A word left over beside a window that can only be part of a date that was misread ("7.30",
# "24h", "now", "pm"), or a zone abbreviation naming several zones: a 400, not a label that finds
# nothing. Counts ("5 people"), month, weekday and season words stay labels.
_DATE_ISH = re.compile(r"^\d+([:./-]\d*)+(am|pm|a\.m\.|p\.m\.)?$|^\d+(am|pm|h|hrs?)$")
_TIME_ONLY_WORDS = ("now", "ago", "am", "pm", "a.m.", "p.m.", "o'clock", "oclock")
_AMBIGUOUS_ZONES = {"ist": "India, Israel or Ireland", "ast": "Atlantic or Arabia"}


@dataclass(frozen=True)
class _Clock:
    """The moment the query is read, in the query's zone."""

    now: datetime

    @property
    def today(self) -> date:
        return self.now.date()

    @property
    def tz(self) -> tzinfo:
        return self.now.tzinfo


@dataclass
class _Point:
    day: date | None = None
    at: time | None = None
    hour_only: bool = False  # "7pm": a one-hour window when alone
    yearless: bool = False  # "nov 2", "11/02": the year was inferred
    weekless: bool = False  # "wednesday": the week was inferred
    exact: datetime | None = None  # "now" at the end of a range


def _plus(moment: datetime, delta: timedelta) -> datetime:
    """``moment + delta`` in elapsed time (an hour is an hour across a DST change), same zone."""
    return (moment.astimezone(UTC) + delta).astimezone(moment.tzinfo)


def _utc(moment: datetime) -> datetime:
    """``moment`` for comparing in elapsed time: Python compares two datetimes that share a
    tzinfo by their wall clocks, which a DST change makes wrong (01:45 EDT is before 01:30 EST)."""
    return moment.astimezone(UTC)


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
    hour, separator, minute, meridiem = int(m[1]), m[2], m[3], m[4]
    used = 1
    if meridiem is None and i + 1 < len(words) and words[i + 1] in _MERIDIEMS:
        meridiem, used = words[i + 1], 2
    if meridiem is None and (minute is None or separator == "."):
        return None  # a bare number is not a time ("3 cars"), nor is "7.30" without am/pm
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
    if word == "tomorrow":
        return today + timedelta(days=1), 1, False  # a future window: it finds nothing, honestly
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
    if word in MONTHS and i + 1 < len(words) and (m := _DAY_NUMBER.match(words[i + 1])):
        return _month_day(MONTHS[word], int(m[1]), words[i + 2 :], 2, today)
    if (m := _DAY_NUMBER.match(word)) and (month_at := _month_after_day(words, i)):
        # "10 nov", "10th of november 2025": the day first, as most of the world writes it.
        return _month_day(MONTHS[words[month_at]], int(m[1]), words[month_at + 1 :], month_at + 1 - i, today)
    return None


def _month_after_day(words: list[str], i: int) -> int | None:
    """Where the month is after a day number at words[i] ("10 nov", "10th of nov"), or None."""
    k = i + 2 if words[i + 1 : i + 2] == ["of"] else i + 1
    return k if k < len(words) and words[k] in MONTHS else None


def _month_day(month: int, day: int, rest: list[str], used: int, today: date) -> tuple[date, int, bool] | None:
    """A month and day written in ``used`` words, then the year if ``rest`` starts with one (else
    the most recent such day); returns (day, words used, whether the year was inferred)."""
    if rest and re.fullmatch(r"\d{4}", rest[0]):
        try:
            return date(int(rest[0]), month, day), used + 1, False
        except ValueError:
            return None
    found = _most_recent(month, day, today)
    return (found, used, True) if found else None


def _parse_point(words: list[str], i: int, clock: _Clock) -> tuple[_Point, int]:
    """A date and/or time starting at words[i], in either order; (point, words used)."""
    today = clock.today
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
        lead = ""
        if words[j] in ("last", "this", "on", "next") and j + 1 < len(words) and words[j + 1] in WEEKDAYS:
            lead = words[j]
        first = j + (1 if lead else 0)
        if point.day is None and (d := _parse_day(words, first, today)):
            point.day, point.yearless, j = d[0], d[2], first + d[1]
            point.weekless = words[first] in WEEKDAYS and lead in ("", "on")
            if lead == "last" and point.day == today:
                point.day -= timedelta(days=7)  # "last monday", said on a Monday, is a week ago
            if lead == "next":
                point.day += timedelta(days=7)  # "next monday": the coming one (future: finds nothing)
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
    if not (word.isascii() and word.isdigit()) or not 1 <= int(word) <= 12 or end.at is None:
        return None
    hour = int(word) % 12 + (12 if end.at.hour >= 12 else 0)
    if hour >= end.at.hour and hour >= 12:
        hour -= 12
    return _Point(at=time(hour), hour_only=True)


def _bare_end(words: list[str], i: int, start: _Point) -> _Point | None:
    """ "9am to 5", "7:30 to 9": a bare hour after a timed start is the first such hour after it."""
    word = words[i] if i < len(words) else ""
    if not (word.isascii() and word.isdigit()) or int(word) > 23 or start.at is None:
        return None
    hour = int(word)
    # 1 to 12 may be either half of the day; 0 and 13 to 23 say which hour they are.
    hours = (hour % 12, hour % 12 + 12) if 1 <= hour <= 12 else (hour,)
    start_minute = start.at.hour * 60 + start.at.minute

    def minutes_after_start(h: int) -> int:
        return (h * 60 - start_minute) % (24 * 60) or 24 * 60  # the start's own time is a day on

    return _Point(at=time(min(hours, key=minutes_after_start)))


def _bare_hours_range(words: list[str], i: int) -> tuple[time | None, time | None] | None:
    """ "13 to 15", "between 7 and 9": two bare hours joined in words as a range at words[i] ("and"
    only after "between"). On the 24-hour clock (either is 0 or 13 to 23) they are times; both 1 to 12
    say no half of the day: (None, None). None when the words are no such range ("3 cars")."""
    # Not "-": "3-4" and "11-20" (one word) stay labels, as a score or a size may be.
    words_joining = tuple(j for j in _JOINERS if j != "-")
    joiners = (*words_joining, "and") if i > 0 and words[i - 1] == "between" else words_joining
    if i + 2 >= len(words) or words[i + 1] not in joiners:
        return None
    first, last = words[i], words[i + 2]
    if not all(w.isascii() and w.isdigit() and len(w) <= 2 and int(w) <= 24 for w in (first, last)):
        return None
    hours = [int(first) % 24, int(last) % 24]
    if all(1 <= int(w) <= 12 for w in (first, last)):
        return None, None
    return time(hours[0]), time(hours[1])


def _combine(point: _Point, today: date, tz: tzinfo, *, end: bool) -> datetime:
    if point.exact is not None:
        return point.exact
    day = point.day or today
    if point.at is None:
        return datetime.combine(day + timedelta(days=1) if end else day, time(0), tz)
    return datetime.combine(day, point.at, tz)


def _point_window(point: _Point, clock: _Clock) -> tuple[datetime, datetime]:
    """A lone point as a window: a day, the hour of "7pm", the minute of "7:30pm"."""
    start = _combine(point, clock.today, clock.tz, end=False)
    if point.at is None:
        return start, _combine(point, clock.today, clock.tz, end=True)
    return start, _plus(start, timedelta(hours=1) if point.hour_only else timedelta(minutes=1))


_JOINERS = ("to", "until", "till", "til", "through", "thru", "-")


def _parse_range(words: list[str], k: int, clock: _Clock) -> tuple[str, _Point, _Point | None, int] | None:
    """``[from|between|since|after|before|until] point [(to|until|-|and) point]`` at words[k].

    Returns (lead word or "", start, end or None, index after the expression); None if no date.
    """
    lead = words[k] if words[k] in ("from", "between", *SINGLE_ENDED) else ""
    first = k + (1 if lead else 0)
    start, n = _parse_point(words, first, clock)
    if n == 0:
        # "7 to 9pm": a bare hour is a time only when a range's end gives it its half of the day.
        if first + 2 < len(words) and words[first + 1] in (*_JOINERS, "and"):
            end, m = _parse_point(words, first + 2, clock)
            if m and (bare := _bare_start(words, first, end)):
                bare.day = end.day
                return lead, bare, end, first + 2 + m
            if hours := _bare_hours_range(words, first):
                if hours[0] is None:
                    return None  # "7 to 9": am or pm? (``_malformed`` asks)
                return lead, _Point(at=hours[0], hour_only=True), _Point(at=hours[1], hour_only=True), first + 3
        return None
    after = first + n
    joiner = words[after] if after < len(words) else None
    if lead not in SINGLE_ENDED and (joiner in _JOINERS or (lead and joiner == "and")):
        if after + 1 < len(words) and words[after + 1] == "now":
            return lead, start, _Point(exact=clock.now), after + 2
        end, m = _parse_point(words, after + 1, clock)
        if m:
            return lead, start, end, after + 1 + m
        if bare := _bare_end(words, after + 1, start):
            return lead, start, bare, after + 2
        return lead, start, None, after + 1  # a dangling "to" belongs to the date
    return lead, start, None, after


def _settle_end(start: _Point, end: _Point) -> None:
    """A range's end written without its year or its week is the first such day from the start on
    ("dec 25 to jan 2", "monday to wednesday" said on a Tuesday), within a year. A start without a
    year steps back to a year holding such an end ("feb 28 to feb 29" said in 2026 is 2024's)."""
    if start.day is None or end.day is None or end.exact is not None:
        return
    if end.weekless:
        end.day = start.day + timedelta(days=(end.day.weekday() - start.day.weekday()) % 7)
    elif end.yearless:
        found = _first_from(start.day, end.day)
        while found is None and start.yearless:
            earlier = _most_recent(start.day.month, start.day.day, start.day - timedelta(days=1))
            if earlier is None:
                break
            start.day, found = earlier, _first_from(earlier, end.day)
        end.day = found or end.day  # none: Feb 29 after an explicit year's start; refused as reversed


def _first_from(start: date, end: date) -> date | None:
    """``end``'s month and day on or after ``start``, in the start's year or the next, or None."""
    for year in (start.year, start.year + 1):
        try:
            candidate = end.replace(year=year)
        except ValueError:  # Feb 29
            continue
        if candidate >= start:
            return candidate
    return None


def _part_window(day: date, part: str, tz: tzinfo) -> tuple[datetime, datetime]:
    first, last = DAY_PARTS[part]
    return (
        datetime.combine(day, time(first), tz),
        datetime.combine(day + timedelta(days=last // 24), time(last % 24), tz),
    )


def _day_part_at(words: list[str], k: int, clock: _Clock) -> tuple[datetime, datetime, int] | None:
    """ "tonight", "this morning", "last night" at words[k]: (start, end, index after)."""
    night_under_way = clock.now.hour < NIGHT_ENDS_AT
    if words[k] == "tonight":
        day = clock.today - timedelta(days=1 if night_under_way else 0)
        return (*_part_window(day, "night", clock.tz), k + 1)
    if words[k] in ("this", "last") and k + 1 < len(words) and words[k + 1] in DAY_PARTS:
        part = words[k + 1]
        back = 1 if words[k] == "last" or (part == "night" and night_under_way) else 0
        return (*_part_window(clock.today - timedelta(days=back), part, clock.tz), k + 2)
    return None


def _part_after(words: list[str], j: int) -> tuple[str, int] | None:
    """A part of the day right after a day ("yesterday morning", "monday in the evening", "friday
    night", "sunday at night"); returns (part, index after)."""
    if words[j : j + 2] == ["in", "the"]:
        j += 2
    elif words[j : j + 2] == ["at", "night"]:
        j += 1
    if j < len(words) and words[j] in DAY_PARTS:
        return words[j], j + 1
    return None


def _count_unit(words: list[str], j: int) -> tuple[int, str, int] | None:
    """ "3 hours", "an hour", "hour", "half an hour" at words[j]: (count, unit, index of the unit)."""
    if words[j : j + 3] == ["half", "an", "hour"]:
        return 1, "half-hour", j + 2
    if words[j : j + 2] == ["half", "hour"]:
        return 1, "half-hour", j + 1
    if j < len(words) and words[j] in UNITS:
        return 1, words[j], j
    if j + 1 < len(words) and words[j + 1] in UNITS:
        if words[j].isascii() and words[j].isdigit():
            return int(words[j]), words[j + 1], j + 1
        if words[j] in ("a", "an", "one"):
            return 1, words[j + 1], j + 1
    return None


def _span(count: int, unit: str) -> timedelta:
    seconds = count * UNITS[unit]
    if count < 1 or seconds > MAX_RELATIVE_SECONDS:
        raise QueryError(f"'{count} {unit}' is not a window (1 second to 100 years)")
    return timedelta(seconds=seconds)


_WINDOW_LEADS = ("in", "within", "over", "during", "for")


def _relative_at(words: list[str], k: int, clock: _Clock) -> tuple[datetime | None, datetime | None, int] | None:
    """Windows counted from now, at words[k]: (start, end, index after).

    "in the last 3 hours", "within the last hour", "the past 2 days", "last hour", "last week"
    (the 7 days up to now); "3 hours ago" (that one hour: from 3 hours back to 2 hours back), "2
    days ago" (that whole day), "half an hour ago", "since 3 hours ago"; "this week|month|year"
    (from its start to now); future ones find nothing: "in 3 hours", "next week".
    """
    now, i = clock.now, k
    # "in|within|over|during|for the last 3 hours": the words before "last" belong to it.
    lead = 1 if words[i] in _WINDOW_LEADS else 0
    lead += 1 if words[i + lead : i + lead + 1] == ["the"] else 0
    if lead and words[i + lead : i + lead + 1] in (["last"], ["past"]):
        i += lead
    if words[i] in ("last", "past"):
        found = _count_unit(words, i + 1)
        if found and words[i + 1] not in ("a", "an", "one"):
            count, unit, at = found
            return _plus(now, -_span(count, unit)), now, at + 1
        return None
    if words[i] in ("since", "after") and i + 1 < len(words) and words[i + 1] in ("last", "past", "this"):
        # "since last week", "since this month": from the window's start to now.
        if (inner := _relative_at(words, i + 1, clock)) and inner[0] is not None and _utc(inner[0]) <= _utc(now):
            return inner[0], now, inner[2]
        return None
    since = words[i] == "since"
    j = i + 1 if since else i
    found = _count_unit(words, j)
    if found and found[2] > j and found[2] + 1 < len(words) and words[found[2] + 1] == "ago":
        count, unit, at = found
        span = _span(count, unit)
        if since:
            return _plus(now, -span), now, at + 2
        if UNITS[unit] == 86400:  # "2 days ago" is that calendar day
            day = clock.today - timedelta(days=count)
            start = datetime.combine(day, time(0), clock.tz)
            return start, datetime.combine(day + timedelta(days=1), time(0), clock.tz), at + 2
        return _plus(now, -span), _plus(now, timedelta(seconds=UNITS[unit]) - span), at + 2
    if words[i] == "in" and (found := _count_unit(words, i + 1)) and found[2] > i + 1:
        count, unit, at = found
        return now, _plus(now, _span(count, unit)), at + 1
    if words[i] == "next" and i + 1 < len(words) and words[i + 1] in PERIODS:
        return now, _plus(now, _span(1, words[i + 1])), i + 2
    if words[i] == "this" and i + 1 < len(words) and words[i + 1] in PERIODS:
        today = clock.today
        first = {
            "week": today - timedelta(days=today.weekday()),
            "month": today.replace(day=1),
            "year": today.replace(month=1, day=1),
        }[words[i + 1]]
        return datetime.combine(first, time(0), clock.tz), now, i + 2
    return None


def _one_end(
    lead: str, start: datetime, end: datetime, point_has_time: bool, clock: _Clock
) -> tuple[datetime | None, datetime | None]:
    """The window of ``since|after|before|until`` a point or a window (start, end)."""
    if lead == "since":
        return start, clock.now
    if point_has_time:
        day_start = datetime.combine(start.date(), time(0), start.tzinfo)
        next_day = datetime.combine(start.date() + timedelta(days=1), time(0), start.tzinfo)
        if lead == "after":
            return start, next_day
        if start == day_start:
            return day_start, next_day  # "until midnight" is the one ending the day, as in "noon to midnight"
        return day_start, start  # before, until
    if lead == "after":
        return end, None
    if lead == "before":
        return None, start
    return None, end  # until: the day written is included


def _expression_at(words: list[str], k: int, clock: _Clock) -> tuple[datetime | None, datetime | None, int] | None:
    """The date expression starting at words[k]: (start, end, index after it), or None.

    Any window may run on "to now" ("3 hours ago to now", "last night to now"). One that ends
    before it starts, in elapsed time, is refused.
    """
    found = _window_at(words, k, clock)
    if found is None:
        return None
    start, end, after = found
    if start is not None and after + 1 < len(words) and words[after] in _JOINERS and words[after + 1] == "now":
        end, after = clock.now, after + 2
    if start is not None and end is not None and _ends_before_it_starts(start, end, clock.now):
        phrase = " ".join(words[k:after])
        if _utc(start) > _utc(clock.now) and end == clock.now:
            raise QueryError(f"'{phrase}' starts after now: the window up to now would end before it starts")
        raise QueryError(f"The date range '{phrase}' ends before it starts")
    return start, end, after


def _ends_before_it_starts(start: datetime, end: datetime, now: datetime) -> bool:
    """Is the window reversed or empty, in elapsed time? One up to now that starts now is empty but
    honest ("since today" said at midnight)."""
    if _utc(end) == _utc(start):
        return _utc(end) != _utc(now)
    return _utc(end) < _utc(start)


def _window_at(words: list[str], k: int, clock: _Clock) -> tuple[datetime | None, datetime | None, int] | None:
    """The window of the date expression at words[k], as written: (start, end, index after it)."""
    if found := _relative_at(words, k, clock):
        return found
    if found := _day_part_at(words, k, clock):
        return found
    if words[k] in SINGLE_ENDED and k + 1 < len(words) and (part := _day_part_at(words, k + 1, clock)):
        start, end = _one_end(words[k], part[0], part[1], False, clock)
        return start, end, part[2]
    found = _parse_range(words, k, clock)
    if found is None:
        return None
    lead, start_point, end_point, after = found
    today, tz = clock.today, clock.tz
    if end_point is None and start_point.at is None and after < len(words):
        # "yesterday morning", "friday night", "since yesterday evening": a part of a day.
        if part := _part_after(words, after):
            start, end = _part_window(start_point.day, part[0], tz)
            if lead in SINGLE_ENDED:
                start, end = _one_end(lead, start, end, False, clock)
            return start, end, part[1]
        # "yesterday between 7pm and 9pm", "monday from 9am to noon", "yesterday 7-9pm",
        # "yesterday before noon": a day, then a range of times on it.
        inner = _parse_range(words, after, clock) if lead not in SINGLE_ENDED else None
        if (
            inner
            and inner[1].day is None
            and inner[1].at is not None
            and (inner[2] is not None or inner[0] in ("from", "between", *SINGLE_ENDED))
        ):
            lead, start_point, end_point, after = inner[0], inner[1], inner[2], inner[3]
            start_point.day = found[1].day
            start_point.yearless = found[1].yearless
            start_point.weekless = found[1].weekless
    # A time with no day written is the most recent one (searches look back, as yearless days do).
    no_day = start_point.day is None and (end_point is None or end_point.day is None)
    if lead in SINGLE_ENDED:
        start, end = _point_window(start_point, clock)
        start, end = _one_end(lead, start, end, start_point.at is not None, clock)
        if no_day and start is not None and _utc(start) > _utc(clock.now):
            start, end = start - timedelta(days=1), (end - timedelta(days=1) if lead != "since" else end)
        return start, end, after
    if end_point is not None:
        # The date written on one end carries to the other.
        end_point.day = end_point.day or start_point.day
        start_point.day = start_point.day or end_point.day
        _settle_end(start_point, end_point)
        start = _combine(start_point, today, tz, end=False)
        end = _combine(end_point, today, tz, end=True)
        # "10pm to 2am" crosses midnight: 2am is before 10pm on the clock face (so compared by wall
        # clock; whether the window is reversed in real time is checked in elapsed time later).
        # "yesterday to midnight" is the midnight that ends the day.
        wall_reversed = end.replace(tzinfo=None) <= start.replace(tzinfo=None)
        crosses = start_point.at is not None or end_point.at == time(0)
        if wall_reversed and crosses and end_point.at is not None and end_point.exact is None:
            end += timedelta(days=1)
        if no_day and _utc(start) > _utc(clock.now):
            # "10pm to 2am" at 1am is the night under way; "7pm to now" at 10am is since last evening.
            start -= timedelta(days=1)
            if end_point.exact is None:
                end -= timedelta(days=1)
        return start, end, after
    start, end = _point_window(start_point, clock)
    if no_day and _utc(start) > _utc(clock.now):
        start_point.day = today - timedelta(days=1)
        start, end = _point_window(start_point, clock)
    return start, end, after


def _malformed(words: list[str], i: int) -> str | None:
    """Why words[i] looks like a date or time that was not understood, or None if it does not."""
    word, after = words[i], (words[i + 1] if i + 1 < len(words) else "")
    if _DATE_SHAPED.match(word):
        return f"'{word}' is not a date (write e.g. 2026-11-30, 11/30 or nov 30)"
    if _TIME_SHAPED.match(word) or (_BARE_TIME.match(word) and after in _MERIDIEMS):
        shown = f"{word} {after}" if after in _MERIDIEMS else word
        return f"'{shown}' is not a time (write e.g. 7pm, 7:30pm or 19:30)"
    if word in MONTHS and (m := _DAY_NUMBER.match(after)) and 1 <= int(m[1]) <= 31:
        return f"'{word} {after}' is not a date"
    if (m := _DAY_NUMBER.match(word)) and 1 <= int(m[1]) <= 31 and (month_at := _month_after_day(words, i)):
        return f"'{' '.join(words[i : month_at + 1])}' is not a date"
    if word.isascii() and word.isdigit() and after in UNITS:
        return f"'{word} {after}' is not a window (write 'last {word} {after}' or '{word} {after} ago')"
    if word == "ago":
        return "'ago' needs a number and a unit before it (e.g. '3 hours ago')"
    if (hours := _bare_hours_range(words, i)) and hours[0] is None:
        first, last = word, words[i + 2]
        return f"'{first} {after} {last}': morning or evening? (write {first}am to {last}am, or {first}pm to {last}pm)"
    return None


def _extract_dates(words: list[str], now: datetime, tz: tzinfo) -> tuple[datetime | None, datetime | None, set[int]]:
    """Find the date expression among ``words``; returns (start, end, indexes of words it used).

    Raises QueryError for a second date expression (only one window per query) and for words
    shaped like dates or times that mean none ("feb 30", "13pm"): neither may silently become a
    label that finds nothing.
    """
    # A time zone word anywhere applies to the whole expression ("3pm to 5pm ET"), so the
    # expression is read without it ("3pm ET to 5pm ET").
    zones = {k: TIMEZONES[word] for k, word in enumerate(words) if word in TIMEZONES}
    if len(set(zones.values())) > 1:
        raise QueryError("Give one time zone per query")
    if zones:
        tz = ZoneInfo(next(iter(zones.values())))
    clock = _Clock(now.astimezone(tz))
    index = [k for k in range(len(words)) if k not in zones]
    rest = [words[k] for k in index]

    start = end = None
    used: set[int] = set()
    first_words = ""
    k = 0
    while k < len(rest):
        found = _expression_at(rest, k, clock)
        if found is None:
            if message := _malformed(rest, k):
                raise QueryError(message)
            k += 1
            continue
        phrase = " ".join(rest[k : found[2]])
        if used:
            raise QueryError(f"Give one date or range per query: '{first_words}' and '{phrase}'")
        start, end, first_words = found[0], found[1], phrase
        used = {index[j] for j in range(k, found[2])}
        k = found[2]
    if used:
        used |= set(zones)
    return start, end, used


def _misread_date_word(word: str) -> str | None:
    """Why ``word``, left over beside a date window, is a part of the date that was not understood
    (rather than a label that would find nothing), or None."""
    if word in _AMBIGUOUS_ZONES:
        return f"'{word}' names several time zones ({_AMBIGUOUS_ZONES[word]}): write the times in UTC"
    if word in _TIME_ONLY_WORDS or _DATE_ISH.match(word):
        return f"'{word}' looks like part of a date or time that was not understood"
    return None


# --- the whole query -----------------------------------------------------------------------------


def parse_query(
    text: str,
    *,
    cameras: list[str] | tuple[str, ...] = (),
    zones: list[str] | tuple[str, ...] = (),
    now: datetime | None = None,
    tz: tzinfo | None = None,
    with_dates: bool = True,
    drop_dates: bool = False,
) -> ParsedQuery:
    """Parse ``text`` against the owner's camera and zone names (see the module docstring).

    ``drop_dates`` (hooks: a standing condition): dates are read as for search, so their words are
    no labels and malformed ones raise, then the window is dropped (``start``/``end`` stay None).
    ``with_dates=False`` does not read dates at all: their words are labels."""
    from django.utils import timezone as dj_timezone

    now = now or dj_timezone.now()
    tz = tz or ZoneInfo("UTC")
    camera_names = {_name_key(c): c for c in cameras}
    zone_names = {_name_key(z): z for z in zones}
    raw = _group_names(_tokens(text or ""), [*camera_names, *zone_names])
    # Dates read only unquoted words (names are grouped, as if quoted, first); their indexes map
    # back to raw tokens.
    plain: list[tuple[int, str]] = []
    for i, (word, quoted) in enumerate(raw):
        if quoted:
            continue
        lower = word.lower().translate(_DASHES)
        if m := _TIME_RANGE.match(lower):
            plain += [(i, m[1]), (i, "-"), (i, m[2])]
        else:
            plain.append((i, lower))
    start = end = None
    date_tokens: set[int] = set()
    if with_dates:
        words = [w for _, w in plain]
        try:
            start, end, used = _extract_dates(words, now, tz)
        except OverflowError:  # e.g. the day after 9999-12-31
            raise QueryError(_YEARS_MESSAGE) from None
        if any(d is not None and not MIN_YEAR <= d.year <= MAX_YEAR for d in (start, end)):
            raise QueryError(_YEARS_MESSAGE)
        date_tokens = {plain[k][0] for k in used}
    has_window = start is not None or end is not None

    query = ParsedQuery(start=None, end=None) if drop_dates else ParsedQuery(start=start, end=end)
    negate = False
    for i, (term, quoted) in enumerate(raw):
        if i in date_tokens:
            if negate:
                # A window has no opposite here, and dropping the "not" would search the very date
                # excluded (or move the "not" onto the next term).
                phrase = " ".join(raw[k][0] for k in sorted(date_tokens))
                raise QueryError(f"A date cannot be negated: 'not {phrase}' (ask for a window, e.g. with 'before')")
            continue
        lower = term.lower()
        if not quoted:
            if lower == "not":
                negate = True
                continue
            if lower in STOP_WORDS:
                continue
        key = _name_key(term) if quoted else lower
        if key in camera_names:
            (query.excluded_sources if negate else query.sources).append(camera_names[key])
        elif key in zone_names:
            (query.excluded_labels if negate else query.zones).append(zone_names[key])
        else:
            label = label_canonical(lower)
            if has_window and not quoted and (why := _misread_date_word(lower)):
                raise QueryError(why)
            (query.excluded_labels if negate else query.labels).append(label)
        negate = False
    for name in ("sources", "excluded_sources", "zones", "labels", "excluded_labels"):
        setattr(query, name, list(dict.fromkeys(getattr(query, name))))
    return query
