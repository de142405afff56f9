"""The query language shared by search and hooks: terms, quotes, negation, colours, and dates."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from search.querylang import QueryError, parse_query

# A Saturday evening, UTC.
NOW = datetime(2026, 11, 21, 20, 30, tzinfo=UTC)
CAMERAS = ["front", "gate", "Back Yard", "garage"]
ZONES = ["mailbox", "walkway", "front porch", "-street"]


def q(text, **kw):
    return parse_query(text, cameras=CAMERAS, zones=ZONES, now=NOW, **kw)


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def test_reference_hook_query():
    p = q("front gate people approaching mailbox")
    assert p.sources == ["front", "gate"]
    assert p.zones == ["mailbox"]
    assert p.labels == ["people", "approaching"]
    assert p.start is None and p.end is None


def test_camera_first_then_zone_then_label():
    # "garage" is a camera, so it is a source even if a label of that name could exist.
    p = parse_query("garage", cameras=["garage"], zones=["garage"], now=NOW)
    assert p.sources == ["garage"] and p.zones == []
    p = parse_query("garage", cameras=[], zones=["garage"], now=NOW)
    assert p.zones == ["garage"]
    assert parse_query("garage", now=NOW).labels == ["garage"]


def test_colours_and_aliases():
    p = q("blue grey person car")
    assert p.labels == ["_color_blue", "_color_gray", "people", "car"]


def test_not_negates_the_next_term():
    p = q("front not street not gate people not red")
    assert p.sources == ["front"]
    assert p.excluded_sources == ["gate"]
    assert p.excluded_labels == ["street", "_color_red"]
    assert p.labels == ["people"]


def test_quotes_group_words_and_multiword_names_are_found():
    p = q('"back yard" dog "front porch"')
    assert p.sources == ["Back Yard"] and p.zones == ["front porch"] and p.labels == ["dog"]
    p = q("back yard dog front porch")
    assert p.sources == ["Back Yard"] and p.zones == ["front porch"]
    assert q('"delivery truck"').labels == ["delivery truck"]


def test_case_insensitive_and_deduplicated():
    p = q("FRONT Front People people")
    assert p.sources == ["front"] and p.labels == ["people"]


def test_stop_words_are_ignored():
    assert q("a person at the door").labels == ["people", "door"]


def test_matching():
    p = q("front gate people approaching mailbox")
    assert p.matches(source="front", labels=["People", "approaching", "mailbox", "_color_blue"])
    assert p.matches(source="gate", labels=["people", "approaching", "mailbox"])
    assert not p.matches(source="garage", labels=["people", "approaching", "mailbox"])
    assert not p.matches(source="front", labels=["people", "mailbox"])
    assert q("people").matches(source="anything", labels=["people"])
    assert not q("people not street").matches(source="front", labels=["people", "street"])
    assert not q("not front people").matches(source="front", labels=["people"])
    assert q("").matches(source="front", labels=[])


def test_unbalanced_quote_is_not_an_error():
    assert q('"back yard').sources == ["Back Yard"]


# --- dates ---------------------------------------------------------------------------------------


def test_yesterday_evening_range_carries_the_date():
    p = q("front people approaching mailbox blue yesterday 7pm to 9pm")
    assert (p.start, p.end) == (utc(2026, 11, 20, 19), utc(2026, 11, 20, 21))
    assert p.labels == ["people", "approaching", "_color_blue"]
    assert p.sources == ["front"] and p.zones == ["mailbox"]


def test_whole_days():
    assert (q("today").start, q("today").end) == (utc(2026, 11, 21), utc(2026, 11, 22))
    assert (q("yesterday").start, q("yesterday").end) == (utc(2026, 11, 20), utc(2026, 11, 21))
    assert q("2026-11-02").start == utc(2026, 11, 2)
    assert q("11/02").start == utc(2026, 11, 2)
    assert q("11/02/25").start == utc(2025, 11, 2)
    assert q("nov 2").start == utc(2026, 11, 2)
    assert q("november 2nd 2024").start == utc(2024, 11, 2)
    # Weekdays mean the most recent one (today included): NOW is a Saturday.
    assert q("saturday").start == utc(2026, 11, 21)
    assert q("monday").start == utc(2026, 11, 16)


def test_times():
    assert (q("yesterday 7am to 6pm").start, q("yesterday 7am to 6pm").end) == (
        utc(2026, 11, 20, 7),
        utc(2026, 11, 20, 18),
    )
    p = q("today 7:30 pm")
    assert (p.start, p.end) == (utc(2026, 11, 21, 19, 30), utc(2026, 11, 21, 19, 31))
    p = q("7pm")  # one hour, today
    assert (p.start, p.end) == (utc(2026, 11, 21, 19), utc(2026, 11, 21, 20))
    assert q("19:00 to 20:15").end == utc(2026, 11, 21, 20, 15)
    assert q("noon to 1pm").start == utc(2026, 11, 21, 12)
    assert q("between 3pm and 5pm").end == utc(2026, 11, 21, 17)
    assert q("from 3 pm to 5 pm").start == utc(2026, 11, 21, 15)
    # Crosses midnight; with no day written, the most recent such night (22:00 is still ahead).
    assert (q("10pm to 2am").start, q("10pm to 2am").end) == (utc(2026, 11, 20, 22), utc(2026, 11, 21, 2))
    assert q("12am to 1am").start == utc(2026, 11, 21, 0)


def test_time_zone_carries_to_both_ends():
    p = q("3pm to 5pm ET")
    eastern = ZoneInfo("America/New_York")
    assert p.start == datetime(2026, 11, 21, 15, tzinfo=eastern)
    assert p.end == datetime(2026, 11, 21, 17, tzinfo=eastern)
    assert p.labels == []


def test_today_is_the_local_day_of_the_given_zone():
    # 20:30 UTC on the 21st is still the 21st in Los Angeles, but 01:30 UTC on the 22nd is not.
    late = datetime(2026, 11, 22, 1, 30, tzinfo=UTC)
    p = parse_query("today", now=late, tz=ZoneInfo("America/Los_Angeles"))
    assert p.start == datetime(2026, 11, 21, tzinfo=ZoneInfo("America/Los_Angeles"))


def test_relative_windows():
    assert (q("in the last 3 hours").start, q("in the last 3 hours").end) == (NOW - timedelta(hours=3), NOW)
    assert q("last 2 days").start == NOW - timedelta(days=2)
    assert q("past 30 minutes").start == NOW - timedelta(minutes=30)
    assert q("last hour").start == NOW - timedelta(hours=1)
    p = q("front people in the last 3 hours")
    assert p.sources == ["front"] and p.labels == ["people"]
    assert q("since 7am").start == utc(2026, 11, 21, 7) and q("since 7am").end == NOW


@pytest.mark.parametrize(
    "text, labels",
    [
        ("slip and fall", ["slip", "fall"]),
        ("spring cleaning", ["spring", "cleaning"]),
        ("winter coat", ["winter", "coat"]),
        ("may", ["may"]),
        ("march band", ["march", "band"]),
        ("3 cars", ["3", "cars"]),
        ("last car", ["last", "car"]),
        ("sun", ["sun"]),
        ("march 32", ["march", "32"]),
        ("may the dog", ["may", "dog"]),
        ("morning", ["morning"]),
        ("night vision", ["night", "vision"]),
        ("last 3 cars", ["last", "3", "cars"]),
        ("walked past the gate", ["walked", "past"]),
        ("11-20", ["11-20"]),
        ("3-4", ["3-4"]),
    ],
)
def test_words_that_are_not_dates(text, labels):
    p = q(text)
    assert p.start is None and p.end is None
    assert p.labels == labels


def test_quoted_words_are_never_dates():
    p = q('"today"')
    assert p.start is None and p.labels == ["today"]


def test_range_ending_before_it_starts_is_an_error():
    with pytest.raises(QueryError):
        q("yesterday to 2026-11-01")


def test_describe_and_json():
    p = q("front not gate people yesterday")
    assert p.describe().startswith("front people not gate from 2026-11-20 00:00")
    assert p.as_json()["start_date"] == "2026-11-20T00:00:00+00:00"
    assert q("").describe() == "everything"


def test_more_orders_and_joiners():
    p = q("7pm yesterday to 9pm")
    assert (p.start, p.end) == (utc(2026, 11, 20, 19), utc(2026, 11, 20, 21))
    p = q("from yesterday 10pm until today 2am")
    assert (p.start, p.end) == (utc(2026, 11, 20, 22), utc(2026, 11, 21, 2))
    p = q("yesterday at 7pm")
    assert (p.start, p.end) == (utc(2026, 11, 20, 19), utc(2026, 11, 20, 20))
    p = q("nov 2 to nov 4")
    assert (p.start, p.end) == (utc(2026, 11, 2), utc(2026, 11, 5))


# --- harder dates --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, start, end",
    [
        # A day, then a range of times on it.
        ("yesterday between 7pm and 9pm", utc(2026, 11, 20, 19), utc(2026, 11, 20, 21)),
        ("monday from 9am to noon", utc(2026, 11, 16, 9), utc(2026, 11, 16, 12)),
        # One-word and bare-start ranges.
        ("7pm-9pm", utc(2026, 11, 21, 19), utc(2026, 11, 21, 21)),
        ("7-9pm", utc(2026, 11, 21, 19), utc(2026, 11, 21, 21)),
        ("11-1pm", utc(2026, 11, 21, 11), utc(2026, 11, 21, 13)),
        ("12-2pm", utc(2026, 11, 21, 12), utc(2026, 11, 21, 14)),
        ("7 to 9am", utc(2026, 11, 21, 7), utc(2026, 11, 21, 9)),
        ("yesterday 7-9pm", utc(2026, 11, 20, 19), utc(2026, 11, 20, 21)),
        # "last <weekday>" is that day; said on that weekday, a week ago ("this" is today).
        ("last monday", utc(2026, 11, 16), utc(2026, 11, 17)),
        ("last saturday", utc(2026, 11, 14), utc(2026, 11, 15)),
        ("this saturday", utc(2026, 11, 21), utc(2026, 11, 22)),
        ("on friday at 7pm", utc(2026, 11, 20, 19), utc(2026, 11, 20, 20)),
        # Days without a year are the most recent; a range's end is the first one from its start.
        ("dec 25", utc(2025, 12, 25), utc(2025, 12, 26)),
        ("12/25", utc(2025, 12, 25), utc(2025, 12, 26)),
        ("december 25 to january 2", utc(2025, 12, 25), utc(2026, 1, 3)),
        ("nov 20 to nov 25", utc(2026, 11, 20), utc(2026, 11, 26)),
        ("feb 29", utc(2024, 2, 29), utc(2024, 3, 1)),
        # An ISO date and time in one word; a dangling joiner belongs to the date.
        ("2026-11-20T10:00", utc(2026, 11, 20, 10), utc(2026, 11, 20, 10, 1)),
        ("7pm to", utc(2026, 11, 21, 19), utc(2026, 11, 21, 20)),
        ("since yesterday", utc(2026, 11, 20), NOW),
        ("last week", NOW - timedelta(weeks=1), NOW),
        ("the past 2 weeks", NOW - timedelta(weeks=2), NOW),
        ("until 9pm yesterday", None, None),
    ],
)
def test_harder_dates(text, start, end):
    p = q(text)
    if start is None:
        return  # only: no crash
    assert (p.start, p.end) == (start, end), text
    assert p.labels == [] and p.sources == []


def test_dates_mixed_with_terms_keep_the_terms():
    p = q("front people 7-9pm not street")
    assert p.sources == ["front"] and p.labels == ["people"] and p.excluded_labels == ["street"]
    assert (p.start, p.end) == (utc(2026, 11, 21, 19), utc(2026, 11, 21, 21))
    p = q("mailbox last tuesday car")
    assert p.zones == ["mailbox"] and p.labels == ["car"] and p.start == utc(2026, 11, 17)


def test_zone_words_across_daylight_saving():
    # 2026-07-04 is summer: ET is UTC-4, PT UTC-7.
    eastern = q("2026-07-04 3pm to 5pm ET")
    assert eastern.start.astimezone(UTC) == utc(2026, 7, 4, 19)
    pacific = q("2026-07-04 9am PT")
    assert pacific.start.astimezone(UTC) == utc(2026, 7, 4, 16)
    assert pacific.end.astimezone(UTC) == utc(2026, 7, 4, 17)


@pytest.mark.parametrize("text", ["last 0 hours", "last 99999999999 days", "past 0 minutes"])
def test_impossible_relative_windows_are_errors_not_crashes(text):
    with pytest.raises(QueryError):
        q(text)


@pytest.mark.parametrize(
    "text",
    ["11-20", "summer", "fall", "autumn", "spring break", "3-4", "wed", "sat"],
)
def test_more_words_that_are_not_dates(text):
    p = q(text)
    assert p.start is None and p.end is None, text


def test_without_dates_every_word_is_a_term():
    # with_dates=False: what hooks fall back to for a stored query the language now refuses.
    p = parse_query("front people yesterday 7pm to 9pm", cameras=CAMERAS, now=NOW, with_dates=False)
    assert p.start is None and "yesterday" in p.labels


def test_hooks_read_dates_and_drop_their_window():
    p = parse_query("front people yesterday 7pm to 9pm", cameras=CAMERAS, now=NOW, drop_dates=True)
    assert p.start is None and p.end is None and p.sources == ["front"] and p.labels == ["people"]


# --- plain-word dates, table-driven against a fixed now ------------------------------------------

# Tuesday 2026-12-01, 20:30 UTC.
TUE = datetime(2026, 12, 1, 20, 30, tzinfo=UTC)
EASTERN = ZoneInfo("America/New_York")


def at(text, now=TUE, tz=None):
    p = parse_query(text, cameras=CAMERAS, zones=ZONES, now=now, tz=tz)
    return p.start, p.end


@pytest.mark.parametrize(
    "text, start, end",
    [
        # Parts of a day.
        ("last night", utc(2026, 11, 30, 18), utc(2026, 12, 1, 6)),
        ("this morning", utc(2026, 12, 1, 5), utc(2026, 12, 1, 12)),
        ("this afternoon", utc(2026, 12, 1, 12), utc(2026, 12, 1, 17)),
        ("this evening", utc(2026, 12, 1, 17), utc(2026, 12, 1, 21)),
        ("tonight", utc(2026, 12, 1, 18), utc(2026, 12, 2, 6)),
        ("yesterday morning", utc(2026, 11, 30, 5), utc(2026, 11, 30, 12)),
        ("yesterday evening", utc(2026, 11, 30, 17), utc(2026, 11, 30, 21)),
        ("friday night", utc(2026, 11, 27, 18), utc(2026, 11, 28, 6)),
        ("sunday at night", utc(2026, 11, 29, 18), utc(2026, 11, 30, 6)),
        ("monday in the afternoon", utc(2026, 11, 30, 12), utc(2026, 11, 30, 17)),
        ("nov 30 morning", utc(2026, 11, 30, 5), utc(2026, 11, 30, 12)),
        ("last evening", utc(2026, 11, 30, 17), utc(2026, 11, 30, 21)),
        ("since last night", utc(2026, 11, 30, 18), TUE),
        ("since yesterday morning", utc(2026, 11, 30, 5), TUE),
        # Whole days.
        ("today", utc(2026, 12, 1), utc(2026, 12, 2)),
        ("yesterday", utc(2026, 11, 30), utc(2026, 12, 1)),
        ("monday", utc(2026, 11, 30), utc(2026, 12, 1)),
        ("tuesday", utc(2026, 12, 1), utc(2026, 12, 2)),
        ("last tuesday", utc(2026, 11, 24), utc(2026, 11, 25)),
        ("2026-11-30", utc(2026, 11, 30), utc(2026, 12, 1)),
        ("nov 30", utc(2026, 11, 30), utc(2026, 12, 1)),
        ("11/30", utc(2026, 11, 30), utc(2026, 12, 1)),
        ("may 5", utc(2026, 5, 5), utc(2026, 5, 6)),
        ("march 5th", utc(2026, 3, 5), utc(2026, 3, 6)),
        ("dec 2", utc(2025, 12, 2), utc(2025, 12, 3)),  # not yet this year: last year's
        # Times and ranges.
        ("last tuesday 5pm to 7pm", utc(2026, 11, 24, 17), utc(2026, 11, 24, 19)),
        ("noon", utc(2026, 12, 1, 12), utc(2026, 12, 1, 13)),
        ("midnight", utc(2026, 12, 1, 0), utc(2026, 12, 1, 1)),
        ("noon to midnight", utc(2026, 12, 1, 12), utc(2026, 12, 2, 0)),
        ("yesterday 10pm to 2am", utc(2026, 11, 30, 22), utc(2026, 12, 1, 2)),
        ("between 11pm and 1am", utc(2026, 11, 30, 23), utc(2026, 12, 1, 1)),
        ("9pm", utc(2026, 11, 30, 21), utc(2026, 11, 30, 22)),  # still ahead today: yesterday's
        ("7pm to now", utc(2026, 12, 1, 19), TUE),
        ("9pm to now", utc(2026, 11, 30, 21), TUE),  # 9pm is still ahead: the most recent one
        # One end.
        ("since 7am", utc(2026, 12, 1, 7), TUE),
        ("since yesterday", utc(2026, 11, 30), TUE),
        ("before noon", utc(2026, 12, 1), utc(2026, 12, 1, 12)),
        ("yesterday before noon", utc(2026, 11, 30), utc(2026, 11, 30, 12)),
        ("after 5pm", utc(2026, 12, 1, 17), utc(2026, 12, 2)),
        ("yesterday after 5pm", utc(2026, 11, 30, 17), utc(2026, 12, 1)),
        ("until 9pm yesterday", utc(2026, 11, 30), utc(2026, 11, 30, 21)),
        ("after nov 20", utc(2026, 11, 21), None),
        ("before nov 20", None, utc(2026, 11, 20)),
        ("until nov 20", None, utc(2026, 11, 21)),
        # Counted from now.
        ("3 hours ago", TUE - timedelta(hours=3), TUE - timedelta(hours=2)),
        ("an hour ago", TUE - timedelta(hours=1), TUE),
        ("30 minutes ago", TUE - timedelta(minutes=30), TUE - timedelta(minutes=29)),
        ("2 days ago", utc(2026, 11, 29), utc(2026, 11, 30)),
        ("a day ago", utc(2026, 11, 30), utc(2026, 12, 1)),
        ("2 weeks ago", TUE - timedelta(weeks=2), TUE - timedelta(weeks=1)),
        ("since 3 hours ago", TUE - timedelta(hours=3), TUE),
        ("last week", TUE - timedelta(weeks=1), TUE),
        ("last month", TUE - timedelta(days=30), TUE),
        ("since last week", TUE - timedelta(weeks=1), TUE),
        ("this week", utc(2026, 11, 30), TUE),
        ("this month", utc(2026, 12, 1), TUE),
        ("this year", utc(2026, 1, 1), TUE),
        # The future is understood and echoed; it finds nothing.
        ("tomorrow", utc(2026, 12, 2), utc(2026, 12, 3)),
        ("tomorrow 7am to 9am", utc(2026, 12, 2, 7), utc(2026, 12, 2, 9)),
        ("next monday", utc(2026, 12, 7), utc(2026, 12, 8)),
        ("next week", TUE, TUE + timedelta(weeks=1)),
        ("in 3 hours", TUE, TUE + timedelta(hours=3)),
    ],
)
def test_plain_word_dates(text, start, end):
    assert at(text) == (start, end), text
    p = parse_query(f"front people {text} not street", cameras=CAMERAS, zones=ZONES, now=TUE)
    assert (p.start, p.end) == (start, end), text
    assert p.sources == ["front"] and p.labels == ["people"] and p.excluded_labels == ["street"], text
    assert p.as_json()["start_date"] == (start.isoformat() if start else None)


@pytest.mark.parametrize(
    "now, text, start, end",
    [
        # Said just after midnight, "tonight" and "last night" are the night under way.
        (utc(2026, 12, 2, 1), "tonight", utc(2026, 12, 1, 18), utc(2026, 12, 2, 6)),
        (utc(2026, 12, 2, 1), "last night", utc(2026, 12, 1, 18), utc(2026, 12, 2, 6)),
        (utc(2026, 12, 2, 1), "this morning", utc(2026, 12, 2, 5), utc(2026, 12, 2, 12)),
        # "10pm to 2am" said at 1am is the night under way, not tomorrow night.
        (utc(2026, 12, 2, 1), "10pm to 2am", utc(2026, 12, 1, 22), utc(2026, 12, 2, 2)),
        (utc(2026, 12, 2, 1), "since 7am", utc(2026, 12, 1, 7), utc(2026, 12, 2, 1)),
        (utc(2026, 12, 2, 1), "yesterday", utc(2026, 12, 1), utc(2026, 12, 2)),
        (utc(2026, 12, 2, 0, 0), "today", utc(2026, 12, 2), utc(2026, 12, 3)),
        (utc(2026, 12, 1, 23, 59), "today", utc(2026, 12, 1), utc(2026, 12, 2)),
        # A year boundary.
        (utc(2027, 1, 1, 8), "yesterday", utc(2026, 12, 31), utc(2027, 1, 1)),
        (utc(2027, 1, 1, 8), "dec 31 10pm to 2am", utc(2026, 12, 31, 22), utc(2027, 1, 1, 2)),
        (utc(2027, 1, 1, 8), "last night", utc(2026, 12, 31, 18), utc(2027, 1, 1, 6)),
        (utc(2027, 1, 1, 8), "2 days ago", utc(2026, 12, 30), utc(2026, 12, 31)),
        (utc(2028, 3, 1, 8), "yesterday", utc(2028, 2, 29), utc(2028, 3, 1)),
    ],
)
def test_midnight_crossings(now, text, start, end):
    assert at(text, now=now) == (start, end), text


def test_daylight_saving_edges_in_a_local_zone():
    # America/New_York springs forward on 2026-03-08 (02:00 -> 03:00) and falls back on 2026-11-01.
    spring = datetime(2026, 3, 9, 12, tzinfo=UTC)
    start, end = at("yesterday", now=spring, tz=EASTERN)
    assert (start.astimezone(UTC), end.astimezone(UTC)) == (utc(2026, 3, 8, 5), utc(2026, 3, 9, 4))
    assert end.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=23)
    fall = datetime(2026, 11, 2, 12, tzinfo=UTC)
    start, end = at("yesterday", now=fall, tz=EASTERN)
    assert (start.astimezone(UTC), end.astimezone(UTC)) == (utc(2026, 11, 1, 4), utc(2026, 11, 2, 5))
    assert end.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=25)
    # The night across the change: 18:00 EDT to 06:00 EST is 13 hours.
    start, end = at("last night", now=datetime(2026, 11, 1, 12, tzinfo=UTC), tz=EASTERN)
    assert (start.astimezone(UTC), end.astimezone(UTC)) == (utc(2026, 10, 31, 22), utc(2026, 11, 1, 11))
    # A range across the change keeps wall-clock ends.
    start, end = at("2026-11-01 midnight to 3am", now=fall, tz=EASTERN)
    assert (start.astimezone(UTC), end.astimezone(UTC)) == (utc(2026, 11, 1, 4), utc(2026, 11, 1, 8))
    # "1am" alone is one elapsed hour even when 1am happens twice (the first, EDT, one).
    start, end = at("2026-11-01 1am", now=fall, tz=EASTERN)
    assert (start.astimezone(UTC), end.astimezone(UTC)) == (utc(2026, 11, 1, 5), utc(2026, 11, 1, 6))
    # Counted windows are elapsed time.
    start, end = at("3 hours ago", now=datetime(2026, 3, 8, 8, tzinfo=UTC), tz=EASTERN)
    assert end.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=1)
    assert start.astimezone(UTC) == utc(2026, 3, 8, 5)
    # A zone word reads "today" in that zone: 03:00 UTC on the 2nd is still the 1st in New York.
    p = parse_query("today 9pm ET", now=datetime(2026, 12, 2, 3, tzinfo=UTC))
    assert p.start == datetime(2026, 12, 1, 21, tzinfo=EASTERN)


def test_the_zone_may_be_written_on_both_ends():
    p = parse_query("3pm ET to 5pm ET", now=TUE)
    assert (p.start, p.end) == (datetime(2026, 12, 1, 15, tzinfo=EASTERN), datetime(2026, 12, 1, 17, tzinfo=EASTERN))
    assert p.labels == []


@pytest.mark.parametrize(
    "text, words",
    [
        ("feb 30", "feb 30"),
        ("nov 31", "nov 31"),
        ("11/31", "11/31"),
        ("13/45", "13/45"),
        ("2026-13-01", "2026-13-01"),
        ("2026-02-30", "2026-02-30"),
        ("2026-11-31t10:00", "2026-11-31t10:00"),
        ("13pm", "13pm"),
        ("24pm", "24pm"),
        ("0am", "0am"),
        ("13 pm", "13 pm"),
        ("99:99", "99:99"),
        ("24:00", "24:00"),
        ("7pm to 13pm", "13pm"),
        ("people 3 hours", "3 hours"),
        ("a few hours ago", "ago"),
        ("hours ago", "ago"),
        ("yesterday 7pm today", "one date"),
        ("7pm to 6pm yesterday 9pm to 1am", "one date"),
        ("monday tuesday", "one date"),
        ("last night 10pm", "one date"),
        ("3pm ET to 5pm PT", "time zone"),
        ("last 0 hours", "window"),
        ("2 days ago yesterday", "one date"),
        ("since tomorrow", "starts after now"),
    ],
)
def test_date_like_words_that_are_not_understood_are_errors(text, words):
    with pytest.raises(QueryError) as err:
        parse_query(text, cameras=CAMERAS, zones=ZONES, now=TUE)
    assert words in str(err.value)


def test_without_dates_date_words_never_raise():
    # with_dates=False reads no dates: date-shaped words stay words, exactly as before.
    p = parse_query("people feb 30 13pm yesterday today", now=TUE, with_dates=False)
    assert p.start is None and "13pm" in p.labels


def test_quoted_date_words_stay_labels_even_when_malformed():
    p = parse_query('"feb 30" "last night" people', now=TUE)
    assert p.labels == ["feb 30", "last night", "people"] and p.start is None


def test_a_written_day_is_kept_even_when_ahead():
    # Only times without a day look back; "today 11pm" said at 20:30 is today's (and finds nothing yet).
    assert at("today 11pm") == (utc(2026, 12, 1, 23), utc(2026, 12, 2, 0))
    assert at("11pm") == (utc(2026, 11, 30, 23), utc(2026, 12, 1, 0))


def test_relative_windows_are_elapsed_time_across_daylight_saving():
    # 08:00 UTC on 2026-03-08 is 04:00 EDT; three hours back is 01:00 EST (05:00 UTC), not 01:00 EDT.
    start, end = at("in the last 3 hours", now=datetime(2026, 3, 8, 8, tzinfo=UTC), tz=EASTERN)
    assert (start.astimezone(UTC), end.astimezone(UTC)) == (utc(2026, 3, 8, 5), utc(2026, 3, 8, 8))
