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
    assert q("10pm to 2am").end == utc(2026, 11, 22, 2)  # crosses midnight
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
        ("13pm", ["13pm"]),
        ("2026-02-30", ["2026-02-30"]),
        ("24:00", ["24:00"]),
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
    ["11-20", "feb 30", "13/45", "99:99", "24pm", "0am", "summer", "fall", "autumn", "spring break", "3-4"],
)
def test_more_words_that_are_not_dates(text):
    p = q(text)
    assert p.start is None and p.end is None, text


def test_hooks_ignore_dates_entirely():
    p = parse_query("front people yesterday 7pm to 9pm", cameras=CAMERAS, now=NOW, with_dates=False)
    assert p.start is None and "yesterday" in p.labels
