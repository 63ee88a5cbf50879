"""next_occurrence: daily and weekly series at the person's wall-clock time, across DST."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.language import UnknownTimeZone
from core.schedule.recurrence import next_occurrence

NEW_YORK = "America/New_York"
NY = ZoneInfo(NEW_YORK)
LONDON = "Europe/London"


def series(
    recurrence: str, first: datetime, tz: str, after: datetime, count: int
) -> list[datetime]:
    """``count`` consecutive occurrences after ``after``."""
    out: list[datetime] = []
    for _ in range(count):
        after = next_occurrence(recurrence, first=first, tz=tz, after=after)
        out.append(after)
    return out


def test_daily_nine_oclock_stays_nine_local_across_spring_forward() -> None:
    first = datetime(2026, 3, 1, 9, 0, tzinfo=NY)
    got = series("daily", first, NEW_YORK, datetime(2026, 3, 6, 15, 0, tzinfo=UTC), 3)
    assert got == [
        datetime(2026, 3, 7, 14, 0, tzinfo=UTC),  # EST, UTC-5
        datetime(2026, 3, 8, 13, 0, tzinfo=UTC),  # EDT, UTC-4
        datetime(2026, 3, 9, 13, 0, tzinfo=UTC),
    ]
    assert all(g.astimezone(NY).time() == time(9, 0) for g in got)
    assert all(g.tzinfo is UTC for g in got)


def test_daily_nine_oclock_stays_nine_local_across_fall_back() -> None:
    first = datetime(2026, 10, 1, 9, 0, tzinfo=NY)
    got = series("daily", first, NEW_YORK, datetime(2026, 10, 30, 14, 0, tzinfo=UTC), 3)
    assert [g.hour for g in got] == [13, 14, 14]  # EDT (UTC-4), then EST (UTC-5)
    assert [g.date() for g in got] == [date(2026, 10, 31), date(2026, 11, 1), date(2026, 11, 2)]
    assert all(g.astimezone(NY).time() == time(9, 0) for g in got)


def test_a_nonexistent_local_time_is_sent_an_hour_later_on_the_clock() -> None:
    # 02:30 does not exist in New York on 2026-03-08: it is sent at 07:30 UTC, the instant
    # 02:30 EST would have been, which the clock shows as 03:30 EDT.
    first = datetime(2026, 3, 1, 2, 30, tzinfo=NY)
    got = series("daily", first, NEW_YORK, datetime(2026, 3, 7, 12, 0, tzinfo=UTC), 2)
    assert got[0] == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)
    assert got[0].astimezone(NY).time() == time(3, 30)
    # and the day after is back at 02:30, now EDT
    assert got[1] == datetime(2026, 3, 9, 6, 30, tzinfo=UTC)
    assert got[1].astimezone(NY).time() == time(2, 30)


def test_a_nonexistent_midnight_is_not_skipped() -> None:
    # Santiago springs forward at midnight on 2025-09-07 (00:00 -> 01:00), where cron
    # alone would skip the day; it is sent at the instant 00:00 -04 would have had.
    santiago = ZoneInfo("America/Santiago")
    first = datetime(2025, 8, 31, 0, 0, tzinfo=santiago)  # a Sunday
    daily = series("daily", first, "America/Santiago", datetime(2025, 9, 5, tzinfo=UTC), 4)
    assert [g.astimezone(santiago).day for g in daily] == [5, 6, 7, 8]
    assert daily[2] == datetime(2025, 9, 7, 4, 0, tzinfo=UTC)
    assert daily[2].astimezone(santiago).time() == time(1, 0)
    weekly = series("weekly", first, "America/Santiago", first, 3)
    assert [g.astimezone(santiago).day for g in weekly] == [7, 14, 21]


def test_a_doubled_local_time_occurs_once() -> None:
    first = datetime(2026, 10, 1, 1, 30, tzinfo=NY)
    got = series("daily", first, NEW_YORK, datetime(2026, 10, 30, 12, 0, tzinfo=UTC), 4)
    local_days = [g.astimezone(NY).date() for g in got]
    assert local_days == [
        date(2026, 10, 31),
        date(2026, 11, 1),
        date(2026, 11, 2),
        date(2026, 11, 3),
    ]
    assert got[1] == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # the first 01:30, EDT
    assert all(g.astimezone(NY).time() == time(1, 30) for g in got)


def test_after_the_first_of_a_doubled_time_comes_the_next_day() -> None:
    first = datetime(2026, 10, 1, 1, 30, tzinfo=NY)
    for after in (
        datetime(2026, 11, 1, 5, 30, tzinfo=UTC),  # the first 01:30 itself
        datetime(2026, 11, 1, 6, 0, tzinfo=UTC),  # between the two
        datetime(2026, 11, 1, 6, 30, tzinfo=UTC),  # the second 01:30
        datetime(2026, 11, 1, 6, 30, 0, 500_000, tzinfo=UTC),
    ):
        got = next_occurrence("daily", first=first, tz=NEW_YORK, after=after)
        assert got == datetime(2026, 11, 2, 6, 30, tzinfo=UTC), after


def test_a_series_that_began_at_the_second_of_a_doubled_time_keeps_it() -> None:
    first = datetime(2026, 11, 1, 1, 30, fold=1, tzinfo=NY)  # 06:30 UTC, EST
    assert first.astimezone(UTC) == datetime(2026, 11, 1, 6, 30, tzinfo=UTC)
    before = datetime(2026, 11, 1, 5, 0, tzinfo=UTC)
    # (compared in UTC: Python never finds a fold=1 time equal to one in another zone)
    assert next_occurrence("daily", first=first, tz=NEW_YORK, after=before) == first.astimezone(UTC)
    after_first = next_occurrence("daily", first=first, tz=NEW_YORK, after=first)
    assert after_first == datetime(2026, 11, 2, 6, 30, tzinfo=UTC)


def test_weekly_keeps_its_weekday_and_local_time() -> None:
    first = datetime(2026, 10, 1, 18, 0, tzinfo=ZoneInfo(LONDON))  # a Thursday, BST
    got = series("weekly", first, LONDON, first, 6)  # crosses 25 October (BST -> GMT)
    assert [g.astimezone(ZoneInfo(LONDON)).weekday() for g in got] == [3] * 6
    assert all(g.astimezone(ZoneInfo(LONDON)).time() == time(18, 0) for g in got)
    assert [g.hour for g in got] == [17, 17, 17, 18, 18, 18]
    hours = [(b - a) / timedelta(hours=1) for a, b in pairwise(got)]
    assert hours == [168, 168, 169, 168, 168]


def test_before_the_first_occurrence_the_answer_is_the_first() -> None:
    first = datetime(2026, 11, 25, 7, 30, tzinfo=UTC)
    early = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    assert next_occurrence("daily", first=first, tz="UTC", after=early) == first
    assert next_occurrence("weekly", first=first, tz="UTC", after=early) == first


def test_strictly_after() -> None:
    first = datetime(2026, 11, 20, 7, 30, tzinfo=UTC)
    on_it = datetime(2026, 11, 23, 7, 30, tzinfo=UTC)
    assert next_occurrence("daily", first=first, tz="UTC", after=on_it) == on_it + timedelta(days=1)
    just_before = on_it - timedelta(microseconds=1)
    assert next_occurrence("daily", first=first, tz="UTC", after=just_before) == on_it
    just_after = on_it + timedelta(microseconds=1)
    assert next_occurrence("daily", first=first, tz="UTC", after=just_after) == on_it + timedelta(
        days=1
    )


def test_results_are_utc_whatever_the_inputs_zone() -> None:
    first = datetime(2026, 11, 20, 7, 30, tzinfo=NY)
    got = next_occurrence("daily", first=first, tz=NEW_YORK, after=first)
    assert got.tzinfo is UTC
    assert got == datetime(2026, 11, 21, 12, 30, tzinfo=UTC)


@pytest.mark.parametrize("recurrence", ["monthly", "", "Daily"])
def test_unknown_recurrence_is_refused(recurrence: str) -> None:
    now = datetime(2026, 11, 20, tzinfo=UTC)
    with pytest.raises(ValueError, match="recurrence"):
        next_occurrence(recurrence, first=now, tz="UTC", after=now)


def test_unknown_zone_and_naive_times_are_refused() -> None:
    now = datetime(2026, 11, 20, tzinfo=UTC)
    with pytest.raises(UnknownTimeZone):
        next_occurrence("daily", first=now, tz="Mars/Olympus", after=now)
    with pytest.raises(ValueError, match="aware"):
        next_occurrence("daily", first=now.replace(tzinfo=None), tz="UTC", after=now)


ZONES = ["UTC", LONDON, NEW_YORK, "Australia/Lord_Howe", "Asia/Kolkata", "America/Santiago"]
INSTANTS = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
)


def _exists(day: date, clock: time, tz: ZoneInfo) -> bool:
    local = datetime.combine(day, clock, tzinfo=tz)
    return local.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == local.replace(tzinfo=None)


@settings(max_examples=150, deadline=None)
@given(
    recurrence=st.sampled_from(["daily", "weekly"]),
    tz_name=st.sampled_from(ZONES),
    first=INSTANTS,
    gap=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=400)),
)
def test_occurrences_are_consecutive_local_days_at_the_chosen_time(
    recurrence: str, tz_name: str, first: datetime, gap: timedelta
) -> None:
    tz = ZoneInfo(tz_name)
    first = first.replace(microsecond=0)
    after = first + gap
    one = next_occurrence(recurrence, first=first, tz=tz_name, after=after)
    two = next_occurrence(recurrence, first=first, tz=tz_name, after=one)
    assert after < one < two
    step = 1 if recurrence == "daily" else 7
    local_one, local_two = one.astimezone(tz), two.astimezone(tz)
    clock = first.astimezone(tz).time()
    # consecutive occurrences are on consecutive days (or weeks): none skipped, none doubled
    assert (local_two.date() - local_one.date()).days == step
    # nothing was skipped between ``after`` and the first answer either
    assert (local_one.date() - after.astimezone(tz).date()).days <= step
    for local in (local_one, local_two):
        if _exists(local.date(), clock, tz):
            assert local.time() == clock
