from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.language.deadlines import (
    DEFAULT_DUE_TIME,
    Deadline,
    DeadlineProblem,
    UnknownTimeZone,
    parse_deadline,
    parse_time_of_day,
    read_back,
    zone,
)

LONDON = "Europe/London"
# Friday 20 November 2026, mid-morning in London.
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=ZoneInfo(LONDON))
# Monday 16 November 2026, for phrases whose meaning depends on the weekday.
MONDAY = datetime(2026, 11, 16, 10, 0, tzinfo=ZoneInfo(LONDON))


def due_on(text: str, now: datetime = NOW, tz: str = LONDON) -> Deadline:
    result = parse_deadline(text, now=now, tz=tz)
    assert isinstance(result, Deadline), f"{text!r} -> {result}"
    return result


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("tomorrow", date(2026, 11, 21)),
        ("Tomorrow.", date(2026, 11, 21)),
        ("today", date(2026, 11, 20)),
        ("next Friday", date(2026, 11, 27)),
        ("Friday", date(2026, 11, 27)),
        ("by Friday", date(2026, 11, 27)),
        ("before friday", date(2026, 11, 27)),
        ("on Fri", date(2026, 11, 27)),
        ("until Friday!", date(2026, 11, 27)),
        ("this Friday", date(2026, 11, 20)),
        ("Monday", date(2026, 11, 23)),
        ("next Monday", date(2026, 11, 23)),
        ("Friday after next", date(2026, 12, 4)),
        ("in two weeks", date(2026, 12, 4)),
        ("in 3 days", date(2026, 11, 23)),
        ("in a fortnight", date(2026, 12, 4)),
        ("in a couple of weeks", date(2026, 12, 4)),
        ("in a month", date(2026, 12, 20)),
        ("3 days from now", date(2026, 11, 23)),
        ("Dec 3", date(2026, 12, 3)),
        ("December 3rd", date(2026, 12, 3)),
        ("3 December", date(2026, 12, 3)),
        ("3rd of December", date(2026, 12, 3)),
        ("Dec 3, 2026", date(2026, 12, 3)),
        ("Thursday 3 December", date(2026, 12, 3)),
        ("2026-12-03", date(2026, 12, 3)),
        ("the 15th", date(2026, 12, 15)),
        ("end of the month", date(2026, 11, 30)),
        ("end of month", date(2026, 11, 30)),
        ("end of this month", date(2026, 11, 30)),
        ("by the end of the month", date(2026, 11, 30)),
        ("end of next month", date(2026, 12, 31)),
        ("end of the week", date(2026, 11, 20)),
        ("end of next week", date(2026, 11, 27)),
        ("end of the year", date(2026, 12, 31)),
        ("end of the quarter", date(2026, 12, 31)),
        ("next week", date(2026, 11, 23)),
        ("next month", date(2026, 12, 1)),
        ("next year", date(2027, 1, 1)),
        ("March", date(2027, 3, 1)),
        ("end of March", date(2027, 3, 31)),
        ("mid-December", date(2026, 12, 15)),
        ("2 weeks from tomorrow", date(2026, 12, 5)),  # left to dateparser
    ],
)
def test_dates_fall_due_at_the_end_of_the_working_day(text: str, day: date) -> None:
    deadline = due_on(text)
    assert deadline.due == datetime.combine(day, DEFAULT_DUE_TIME, tzinfo=ZoneInfo(LONDON))
    assert deadline.has_time is False


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("Friday", date(2026, 11, 20)),
        ("next Friday", date(2026, 11, 27)),
        ("Wednesday", date(2026, 11, 18)),
        ("Monday", date(2026, 11, 23)),
        ("end of the week", date(2026, 11, 20)),
        ("end of next week", date(2026, 11, 27)),
        ("next week", date(2026, 11, 23)),
    ],
)
def test_weekday_phrases_said_on_a_monday(text: str, day: date) -> None:
    assert due_on(text, now=MONDAY).due.date() == day


def test_end_of_the_week_at_the_weekend_means_the_coming_friday() -> None:
    saturday = datetime(2026, 11, 21, 10, 0, tzinfo=ZoneInfo(LONDON))
    assert due_on("end of the week", now=saturday).due.date() == date(2026, 11, 27)


@pytest.mark.parametrize(
    ("text", "when"),
    [
        ("tomorrow at 3pm", datetime(2026, 11, 21, 15, 0)),
        ("Friday 9:30", datetime(2026, 11, 27, 9, 30)),
        ("Friday, 9:30am", datetime(2026, 11, 27, 9, 30)),
        ("3pm on Friday", datetime(2026, 11, 27, 15, 0)),
        ("tomorrow noon", datetime(2026, 11, 21, 12, 0)),
        ("next tuesday at 10am", datetime(2026, 11, 24, 10, 0)),
        ("wednesday 7.30pm", datetime(2026, 11, 25, 19, 30)),
        ("Dec 3 at 17:30", datetime(2026, 12, 3, 17, 30)),
        ("today at 3pm", datetime(2026, 11, 20, 15, 0)),
        ("3pm", datetime(2026, 11, 20, 15, 0)),
        ("Friday at 3", datetime(2026, 11, 27, 15, 0)),
        ("Friday at 9", datetime(2026, 11, 27, 9, 0)),
        ("in 2 hours", datetime(2026, 11, 20, 12, 0)),
        ("in half an hour", datetime(2026, 11, 20, 10, 30)),
    ],
)
def test_named_times_are_kept(text: str, when: datetime) -> None:
    deadline = due_on(text)
    assert deadline.due == when.replace(tzinfo=ZoneInfo(LONDON))
    assert deadline.has_time is True


@pytest.mark.parametrize(
    "text", ["banana", "", "   ", "soonish", "asap", "whenever", "feb 30", "3.12"]
)
def test_gibberish_is_unreadable(text: str) -> None:
    assert parse_deadline(text, now=NOW, tz=LONDON) == DeadlineProblem(reason="unreadable")


@pytest.mark.parametrize(
    ("text", "when"),
    [
        ("yesterday", datetime(2026, 11, 19, 17, 0)),
        ("2025-12-03", datetime(2025, 12, 3, 17, 0)),
        ("Dec 3 2025", datetime(2025, 12, 3, 17, 0)),
        ("today at 9am", datetime(2026, 11, 20, 9, 0)),
        ("Monday this week", datetime(2026, 11, 16, 17, 0)),
    ],
)
def test_past_dates_are_reported_with_the_date_understood(text: str, when: datetime) -> None:
    result = parse_deadline(text, now=NOW, tz=LONDON)
    assert result == DeadlineProblem(reason="past", due=when.replace(tzinfo=ZoneInfo(LONDON)))


def test_today_after_the_working_day_is_past() -> None:
    evening = NOW.replace(hour=18)
    result = parse_deadline("today", now=evening, tz=LONDON)
    assert isinstance(result, DeadlineProblem)
    assert result.reason == "past"


def test_year_rolls_over() -> None:
    december = datetime(2026, 12, 20, 12, 0, tzinfo=ZoneInfo(LONDON))
    assert due_on("Jan 5", now=december).due.date() == date(2027, 1, 5)


def test_tomorrow_is_counted_in_the_persons_zone() -> None:
    # 23:30 UTC on 21 November is already 08:30 on 22 November in Tokyo.
    now = datetime(2026, 11, 21, 23, 30, tzinfo=UTC)
    deadline = due_on("tomorrow", now=now, tz="Asia/Tokyo")
    assert deadline.due == datetime(2026, 11, 23, 17, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
    assert due_on("tomorrow", now=now, tz="America/New_York").due.date() == date(2026, 11, 22)


def test_cache_does_not_leak_between_days_or_zones() -> None:
    assert due_on("tomorrow").due.date() == date(2026, 11, 21)
    assert due_on("tomorrow", now=NOW + timedelta(days=1)).due.date() == date(2026, 11, 22)
    tokyo = due_on("tomorrow", tz="Asia/Tokyo")
    assert tokyo.due.tzinfo == ZoneInfo("Asia/Tokyo")


def test_due_time_that_does_not_exist_moves_forward() -> None:
    # Clocks in London jump from 01:00 to 02:00 on 28 March 2027.
    deadline = due_on("2027-03-28 at 1:30am")
    assert deadline.due.astimezone(UTC) == datetime(2027, 3, 28, 1, 30, tzinfo=UTC)


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError):
        parse_deadline("tomorrow", now=datetime(2026, 11, 20, 10, 0), tz=LONDON)


def test_unknown_zone_has_a_friendly_message() -> None:
    with pytest.raises(UnknownTimeZone, match="Europe/London"):
        parse_deadline("tomorrow", now=NOW, tz="Mars/Olympus_Mons")
    with pytest.raises(UnknownTimeZone):
        zone("")
    assert zone(LONDON) == ZoneInfo(LONDON)


@pytest.mark.parametrize(
    ("due", "has_time", "said"),
    [
        (datetime(2026, 11, 27, 17, 0), False, "Friday 27 November"),
        (datetime(2027, 1, 5, 17, 0), False, "Tuesday 5 January 2027"),
        (datetime(2026, 11, 21, 15, 0), True, "Saturday 21 November at 15:00"),
        (datetime(2026, 12, 3, 9, 5), True, "Thursday 3 December at 09:05"),
    ],
)
def test_read_back(due: datetime, has_time: bool, said: str) -> None:
    aware = due.replace(tzinfo=ZoneInfo(LONDON))
    assert read_back(aware, now=NOW, has_time=has_time) == said


def test_read_back_judges_the_year_in_the_deadlines_zone() -> None:
    # New Year's Eve 20:00 UTC is already 2027 in Tokyo.
    now = datetime(2026, 12, 31, 20, 0, tzinfo=UTC)
    due = datetime(2027, 1, 4, 17, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
    assert read_back(due, now=now) == "Monday 4 January"


def test_parsed_deadline_reads_back() -> None:
    deadline = due_on("by Friday")
    assert read_back(deadline.due, now=NOW, has_time=deadline.has_time) == "Friday 27 November"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7am", time(7, 0)),
        ("7 AM", time(7, 0)),
        ("7:30", time(7, 30)),
        ("07:30", time(7, 30)),
        ("19:00", time(19, 0)),
        ("7.30pm", time(19, 30)),
        ("7:30 p.m.", time(19, 30)),
        ("12am", time(0, 0)),
        ("12pm", time(12, 0)),
        ("noon", time(12, 0)),
        ("Midnight", time(0, 0)),
        ("at 9am", time(9, 0)),
    ],
)
def test_time_of_day(text: str, expected: time) -> None:
    assert parse_time_of_day(text) == expected


@pytest.mark.parametrize(
    "text", ["", "banana", "7", "25:00", "7:75", "13pm", "0am", "tomorrow", "7:3"]
)
def test_time_of_day_rejects_garbage(text: str) -> None:
    assert parse_time_of_day(text) is None


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=40))
def test_any_reply_is_a_future_deadline_or_a_problem(text: str) -> None:
    result = parse_deadline(text, now=NOW, tz=LONDON)
    if isinstance(result, Deadline):
        assert result.due > NOW
        assert result.due.tzinfo == ZoneInfo(LONDON)
    else:
        assert result.reason in ("unreadable", "past")


def test_hours_are_elapsed_time_across_a_clock_change() -> None:
    # London clocks go back from 02:00 BST to 01:00 GMT on 25 October 2026.
    before = datetime(2026, 10, 25, 0, 30, tzinfo=ZoneInfo(LONDON))
    deadline = due_on("in 2 hours", now=before)
    assert deadline.due.astimezone(UTC) - before.astimezone(UTC) == timedelta(hours=2)
    assert deadline.due.astimezone(UTC) == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
