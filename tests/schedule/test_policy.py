"""The scheduling policy: reminders, check-ins, quiet hours, working days, vacations, series.

Plain functions over plain datetimes: no database, no clock, no sleeping.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.ports import CommitmentRecord, FollowUpRecord, SessionRecord
from core.schedule.model import NudgeDraft, Preferences
from core.schedule.policy import (
    DEFAULT_SILENCE,
    allowed_time,
    commitment_nudges,
    followup_nudges,
    next_in_series,
    resolve_tz,
    resume_draft,
    send_time,
)

LONDON = "Europe/London"
LDN = ZoneInfo(LONDON)
NEW_YORK = "America/New_York"
NY = ZoneInfo(NEW_YORK)
OWNER = "slack:T1:U1"
PREFS = Preferences.defaults(OWNER)  # quiet 21:00-08:00, every day, morning 09:00
WEEKDAYS = frozenset(range(5))
# Monday 23 November 2026, 10:00 in London (GMT, so local == UTC).
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=LDN)


def at(day: int, hour: int, minute: int = 0, *, month: int = 11, tz: ZoneInfo = LDN) -> datetime:
    """A local time in 2026, as an aware datetime."""
    return datetime(2026, month, day, hour, minute, tzinfo=tz)


def commitment(due: datetime, **changes: Any) -> CommitmentRecord:
    c = CommitmentRecord(
        id="c1",
        session_id="s1",
        owner=OWNER,
        text="send the proposal to Sam",
        due_at=due,
        tz=LONDON,
        created_at=NOW,
        updated_at=NOW,
    )
    return replace(c, **changes)


def followup(due: datetime, recurrence: str | None = None, **changes: Any) -> FollowUpRecord:
    f = FollowUpRecord(
        id="s1:visualise" if recurrence else "s1:review",
        session_id="s1",
        owner=OWNER,
        kind="visualisation" if recurrence else "review",
        text="Time to visualise: a calm launch.",
        due_at=due,
        tz=LONDON,
        recurrence=recurrence,
        created_at=NOW,
    )
    return replace(f, **changes)


def by_kind(drafts: list[NudgeDraft]) -> dict[str, NudgeDraft]:
    kinds = [d.kind for d in drafts]
    assert len(set(kinds)) == len(kinds)
    return {d.kind: d for d in drafts}


# --------------------------------------------------------------------------- commitments


def test_due_in_five_days_is_reminded_the_day_before_at_the_same_time() -> None:
    drafts = by_kind(commitment_nudges(commitment(at(28, 17)), PREFS, now=NOW, tz=LONDON))
    assert list(drafts) == ["reminder", "checkin", "overdue"]
    assert drafts["reminder"].due_at == at(27, 17)
    assert drafts["checkin"].due_at == at(28, 17)
    assert drafts["overdue"].due_at == at(29, 17)
    assert all(d.due_at.tzinfo is UTC for d in drafts.values())


def test_the_day_before_keeps_the_wall_clock_time_across_dst() -> None:
    # due Sunday 1 November 10:00 in New York (EST, after the fall-back at 02:00); the day
    # before is Saturday 10:00 EDT: 25 hours earlier, not 24.
    now = at(27, 12, month=10, tz=NY)
    due = at(1, 10, tz=NY)
    drafts = by_kind(commitment_nudges(commitment(due), PREFS, now=now, tz=NEW_YORK))
    assert drafts["reminder"].due_at == at(31, 10, month=10, tz=NY)
    assert due - drafts["reminder"].due_at == timedelta(hours=25)
    assert drafts["overdue"].due_at == at(2, 10, tz=NY)


def test_due_tomorrow_is_reminded_that_morning() -> None:
    drafts = by_kind(commitment_nudges(commitment(at(24, 17)), PREFS, now=NOW, tz=LONDON))
    assert drafts["reminder"].due_at == at(24, 9)


def test_due_at_eight_today_has_no_reminder() -> None:
    now = at(23, 7)
    drafts = by_kind(commitment_nudges(commitment(at(23, 8)), PREFS, now=now, tz=LONDON))
    assert list(drafts) == ["checkin", "overdue"]  # 09:00 would come after the due time
    assert drafts["checkin"].due_at == at(23, 8)


def test_a_reminder_already_past_is_omitted() -> None:
    prefs = replace(PREFS, lead=timedelta(days=3))
    drafts = by_kind(commitment_nudges(commitment(at(24, 17)), prefs, now=NOW, tz=LONDON))
    assert "reminder" not in drafts


def test_a_custom_lead() -> None:
    prefs = replace(PREFS, lead=timedelta(hours=2))
    drafts = by_kind(commitment_nudges(commitment(at(28, 17)), prefs, now=NOW, tz=LONDON))
    assert drafts["reminder"].due_at == at(28, 15)


def test_a_reminder_in_quiet_hours_waits_for_their_end() -> None:
    prefs = replace(PREFS, lead=timedelta(hours=3))
    drafts = by_kind(commitment_nudges(commitment(at(25, 8, 30)), prefs, now=NOW, tz=LONDON))
    assert drafts["reminder"].due_at == at(25, 8)  # 05:30 is quiet


def test_a_reminder_pushed_past_the_due_time_is_omitted() -> None:
    prefs = replace(PREFS, lead=timedelta(hours=1))
    drafts = by_kind(commitment_nudges(commitment(at(25, 7, 30)), prefs, now=NOW, tz=LONDON))
    assert "reminder" not in drafts  # 06:30 is quiet, and 08:00 is after the due time


def test_checkin_and_overdue_in_quiet_hours_wait_for_the_morning() -> None:
    drafts = by_kind(commitment_nudges(commitment(at(25, 23)), PREFS, now=NOW, tz=LONDON))
    assert drafts["checkin"].due_at == at(26, 8)
    assert drafts["overdue"].due_at == at(27, 8)


def test_a_saturday_checkin_moves_to_monday_morning_on_weekdays_only() -> None:
    prefs = replace(PREFS, working_days=WEEKDAYS)
    drafts = by_kind(commitment_nudges(commitment(at(28, 17)), prefs, now=NOW, tz=LONDON))
    assert drafts["reminder"].due_at == at(27, 17)  # Friday
    assert drafts["checkin"].due_at == at(30, 9)  # Saturday -> Monday 09:00
    assert drafts["overdue"].due_at == at(30, 9)  # Sunday -> Monday 09:00


@pytest.mark.parametrize("status", ["done", "dropped", "blocked"])
def test_a_closed_commitment_gives_nothing(status: str) -> None:
    assert commitment_nudges(commitment(at(28, 17), status=status), PREFS, now=NOW, tz=LONDON) == []


def test_nudges_off_gives_nothing() -> None:
    prefs = replace(PREFS, nudges=False)
    assert commitment_nudges(commitment(at(28, 17)), prefs, now=NOW, tz=LONDON) == []
    assert followup_nudges(followup(at(28, 17)), prefs, now=NOW, tz=LONDON) == []
    assert followup_nudges(followup(at(28, 22), "daily"), prefs, now=NOW, tz=LONDON) == []


def test_commitment_drafts_carry_the_words_and_the_ids() -> None:
    due = at(28, 17)
    for d in commitment_nudges(commitment(due), PREFS, now=NOW, tz=LONDON):
        assert d.key == f"{d.kind}:c1:2026-11-28T17:00:00+00:00"
        assert (d.owner, d.target, d.session_id, d.tz) == (OWNER, "c1", "s1", LONDON)
        assert d.payload == {
            "text": "send the proposal to Sam",
            "due": due.isoformat(),
            "commitment_id": "c1",
        }


def test_keys_are_stable_and_change_with_the_due_date() -> None:
    first = commitment_nudges(commitment(at(28, 17)), PREFS, now=NOW, tz=LONDON)
    later_now = NOW + timedelta(hours=5)
    again = commitment_nudges(commitment(at(28, 17)), PREFS, now=later_now, tz=LONDON)
    assert [d.key for d in again] == [d.key for d in first]
    # the same instant written in another zone is the same key
    same = commitment_nudges(commitment(at(28, 12, tz=NY)), PREFS, now=NOW, tz=LONDON)
    assert [d.key for d in same] == [d.key for d in first]
    moved = commitment_nudges(commitment(at(30, 17)), PREFS, now=NOW, tz=LONDON)
    assert {d.key for d in moved}.isdisjoint({d.key for d in first})


# --------------------------------------------------------------------------- allowed_time


@pytest.mark.parametrize(
    ("t", "expected"),
    [
        (at(23, 23), at(24, 8)),  # late evening -> next morning
        (at(24, 3), at(24, 8)),  # small hours -> same morning
        (at(23, 21), at(24, 8)),  # the start is quiet
        (at(24, 8), at(24, 8)),  # the end is not
        (at(23, 20, 59), at(23, 20, 59)),
        (at(23, 12), at(23, 12)),
    ],
)
def test_quiet_hours_wrapping_midnight(t: datetime, expected: datetime) -> None:
    assert allowed_time(t, PREFS, LONDON) == expected


def test_quiet_hours_within_a_day() -> None:
    prefs = replace(PREFS, quiet_start=time(12, 0), quiet_end=time(13, 30))
    assert allowed_time(at(23, 12, 15), prefs, LONDON) == at(23, 13, 30)
    assert allowed_time(at(23, 23), prefs, LONDON) == at(23, 23)


@pytest.mark.parametrize(
    ("start", "end"), [(None, None), (time(21), None), (None, time(8)), (time(8), time(8))]
)
def test_no_quiet_hours(start: time | None, end: time | None) -> None:
    prefs = replace(PREFS, quiet_start=start, quiet_end=end)
    assert allowed_time(at(24, 3), prefs, LONDON) == at(24, 3)


def test_friday_night_waits_for_monday_morning_on_weekdays_only() -> None:
    prefs = replace(PREFS, working_days=WEEKDAYS)
    # Friday 23:00 is quiet; the quiet end is Saturday 08:00, not a working day.
    assert allowed_time(at(27, 23), prefs, LONDON) == at(30, 9)


def test_a_morning_inside_quiet_hours_moves_to_their_end() -> None:
    prefs = replace(PREFS, working_days=WEEKDAYS, morning=time(7, 0))
    assert allowed_time(at(28, 12), prefs, LONDON) == at(30, 8)


def test_no_working_days_means_every_day() -> None:
    prefs = replace(PREFS, working_days=frozenset())
    assert allowed_time(at(28, 12), prefs, LONDON) == at(28, 12)


def test_a_vacation_holds_until_its_end_then_quiet_hours_apply() -> None:
    prefs = replace(PREFS, paused_until=at(25, 6))
    assert allowed_time(at(23, 12), prefs, LONDON) == at(25, 8)
    prefs = replace(PREFS, paused_until=at(25, 11))
    assert allowed_time(at(23, 12), prefs, LONDON) == at(25, 11)
    assert allowed_time(at(26, 12), prefs, LONDON) == at(26, 12)  # over: no effect


def test_a_quiet_end_that_does_not_exist_is_an_hour_later_on_the_clock() -> None:
    prefs = replace(PREFS, quiet_start=time(21), quiet_end=time(2, 30))
    t = datetime(2026, 3, 8, 6, 0, tzinfo=UTC)  # 01:00 EST, quiet
    got = allowed_time(t, prefs, NEW_YORK)
    assert got == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)  # 03:30 EDT
    assert got.astimezone(NY).time() == time(3, 30)


def test_a_quiet_end_in_the_repeated_hour_never_goes_back_in_time() -> None:
    prefs = replace(PREFS, quiet_start=time(0), quiet_end=time(1, 45))
    t = datetime(2026, 11, 1, 6, 30, tzinfo=UTC)  # the second 01:30 (EST)
    assert allowed_time(t, prefs, NEW_YORK) == datetime(2026, 11, 1, 6, 45, tzinfo=UTC)
    t = datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # the first 01:30 (EDT)
    assert allowed_time(t, prefs, NEW_YORK) == datetime(2026, 11, 1, 5, 45, tzinfo=UTC)


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        allowed_time(datetime(2026, 11, 23, 12), PREFS, LONDON)


CLOCKS = st.builds(time, st.integers(0, 23), st.sampled_from([0, 1, 15, 30, 45, 59]))
ZONES = ["UTC", LONDON, NEW_YORK, "Australia/Lord_Howe", "Asia/Kolkata", "America/Santiago"]
INSTANTS = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
)


def _quiet(clock: time, start: time | None, end: time | None) -> bool:
    if start is None or end is None or start == end:
        return False
    if start < end:
        return start <= clock < end
    return clock >= start or clock < end


@settings(max_examples=300, deadline=None)
@given(
    t=INSTANTS,
    tz=st.sampled_from(ZONES),
    quiet=st.one_of(st.none(), st.tuples(CLOCKS, CLOCKS)),
    days=st.frozensets(st.integers(0, 6)),
    morning=CLOCKS,
    paused=st.one_of(st.none(), INSTANTS),
)
def test_allowed_time_obeys_every_rule(
    t: datetime,
    tz: str,
    quiet: tuple[time, time] | None,
    days: frozenset[int],
    morning: time,
    paused: datetime | None,
) -> None:
    start, end = quiet if quiet is not None else (None, None)
    prefs = Preferences(
        owner=OWNER,
        quiet_start=start,
        quiet_end=end,
        working_days=days,
        morning=morning,
        paused_until=paused,
    )
    got = allowed_time(t, prefs, tz)
    local = got.astimezone(ZoneInfo(tz))
    assert got >= t
    assert paused is None or got >= paused
    assert local.weekday() in (days or range(7))
    assert not _quiet(local.time(), start, end)
    assert allowed_time(got, prefs, tz) == got  # stable


# --------------------------------------------------------------------------- follow-ups


def test_a_one_off_followup_at_its_time() -> None:
    [draft] = followup_nudges(followup(at(28, 10)), PREFS, now=NOW, tz=LONDON)
    assert draft.key == "review:s1:review"
    assert draft.kind == "review"
    assert draft.due_at == at(28, 10)
    assert (draft.owner, draft.target, draft.session_id, draft.tz) == (
        OWNER,
        "s1:review",
        "s1",
        LONDON,
    )
    assert draft.payload == {
        "text": "Time to visualise: a calm launch.",
        "followup_id": "s1:review",
        "recurrence": None,
        "first": at(28, 10).isoformat(),
    }


def test_a_one_off_followup_in_the_past_is_still_sent_once() -> None:
    [draft] = followup_nudges(followup(at(20, 10)), PREFS, now=NOW, tz=LONDON)
    assert draft.due_at == at(20, 10)
    assert draft.key == "review:s1:review"


def test_a_one_off_followup_obeys_quiet_hours() -> None:
    [draft] = followup_nudges(followup(at(28, 22)), PREFS, now=NOW, tz=LONDON)
    assert draft.due_at == at(29, 8)


def test_a_recurring_followup_starts_at_its_first_occurrence() -> None:
    [draft] = followup_nudges(followup(at(24, 7, 30), "daily"), PREFS, now=NOW, tz=LONDON)
    assert draft.kind == "visualisation"
    assert draft.due_at == at(24, 7, 30)  # 07:30 is quiet, but the person chose it
    assert draft.key == "visualisation:s1:visualise:2026-11-24"
    assert draft.payload["recurrence"] == "daily"
    assert draft.payload["first"] == at(24, 7, 30).isoformat()


def test_a_chosen_time_in_quiet_hours_wins() -> None:
    f = followup(at(20, 22), "daily")  # started last Friday at 22:00
    [draft] = followup_nudges(f, PREFS, now=NOW, tz=LONDON)
    assert draft.due_at == at(23, 22)
    assert draft.key == "visualisation:s1:visualise:2026-11-23"


def test_a_stale_recurring_followup_resumes_at_the_next_occurrence() -> None:
    f = followup(at(20, 7, 30), "daily")  # three mornings missed
    [draft] = followup_nudges(f, PREFS, now=NOW, tz=LONDON)
    assert draft.due_at == at(24, 7, 30)


def test_extra_goes_into_the_payload() -> None:
    f = followup(at(24, 7, 30), "weekly", kind="weekly_checkin", extra={"challenge": "launch"})
    [draft] = followup_nudges(f, PREFS, now=NOW, tz=LONDON)
    assert draft.payload["challenge"] == "launch"
    assert draft.kind == "weekly_checkin"


def test_recurring_keys_use_the_local_date() -> None:
    # 22:00 in New York is 03:00 UTC the next day: the key is the New York date.
    f = followup(at(24, 22, tz=NY), "daily")
    [draft] = followup_nudges(f, PREFS, now=NOW, tz=NEW_YORK)
    assert draft.due_at == datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
    assert draft.key.endswith(":2026-11-24")


def test_a_daily_series_skips_days_off() -> None:
    prefs = replace(PREFS, working_days=WEEKDAYS)
    f = followup(at(20, 22), "daily")
    saturday = at(28, 10)
    [draft] = followup_nudges(f, prefs, now=saturday, tz=LONDON)
    assert draft.due_at == at(30, 22)  # Monday's own occurrence, not Saturday's held
    assert draft.key.endswith(":2026-11-30")


def test_a_weekly_series_on_a_day_off_is_held_to_the_next_working_morning() -> None:
    prefs = replace(PREFS, working_days=WEEKDAYS)
    f = followup(at(28, 18), "weekly", kind="weekly_checkin")  # Saturdays
    [draft] = followup_nudges(f, prefs, now=NOW, tz=LONDON)
    assert draft.due_at == at(30, 9)
    assert draft.key == "weekly_checkin:s1:visualise:2026-11-28"


def test_a_vacation_holds_a_series_and_then_every_rule_applies() -> None:
    f = followup(at(20, 22), "daily")
    prefs = replace(PREFS, paused_until=at(26, 3))
    [draft] = followup_nudges(f, prefs, now=NOW, tz=LONDON)
    assert draft.key.endswith(":2026-11-23")  # the occurrence it stands for
    assert draft.due_at == at(26, 8)  # held past the vacation, then past quiet hours


# --------------------------------------------------------------------------- series


def delivered(f: FollowUpRecord) -> NudgeDraft:
    [draft] = followup_nudges(f, PREFS, now=f.due_at, tz=LONDON)
    return draft


def test_the_next_in_series_is_the_next_day() -> None:
    d = delivered(followup(at(24, 7, 30), "daily"))
    sent = d.due_at + timedelta(seconds=3)
    nxt = next_in_series(
        d.kind, d.owner, d.target, d.session_id, d.payload, after=sent, prefs=PREFS, tz=LONDON
    )
    assert nxt is not None
    assert nxt.due_at == at(25, 7, 30)
    assert nxt.key == "visualisation:s1:visualise:2026-11-25"
    assert (nxt.kind, nxt.owner, nxt.target, nxt.session_id, nxt.tz) == (
        d.kind,
        d.owner,
        d.target,
        d.session_id,
        LONDON,
    )
    assert nxt.payload == d.payload


def test_a_stale_daily_series_three_days_late_is_sent_once_and_resumes_tomorrow() -> None:
    d = delivered(followup(at(20, 7, 30), "daily"))
    sent = at(23, 10)  # three days late (the bot was down)
    following: list[NudgeDraft] = []
    nxt = next_in_series(
        d.kind, d.owner, d.target, d.session_id, d.payload, after=sent, prefs=PREFS, tz=LONDON
    )
    if nxt is not None:
        following.append(nxt)
    assert len(following) == 1
    assert following[0].due_at == at(24, 7, 30)
    assert following[0].key.endswith(":2026-11-24")


def test_a_weekly_series_keeps_its_weekday() -> None:
    d = delivered(followup(at(24, 18), "weekly", kind="weekly_checkin"))  # a Tuesday
    nxt = next_in_series(
        d.kind, d.owner, d.target, d.session_id, d.payload, after=d.due_at, prefs=PREFS, tz=LONDON
    )
    assert nxt is not None
    assert nxt.due_at == at(1, 18, month=12)
    assert nxt.due_at.astimezone(LDN).weekday() == 1


def test_one_offs_and_nudges_off_have_no_next() -> None:
    one_off = delivered(followup(at(24, 10)))
    assert (
        next_in_series(
            "review", OWNER, "s1:review", "s1", one_off.payload, after=NOW, prefs=PREFS, tz=LONDON
        )
        is None
    )
    d = delivered(followup(at(24, 7, 30), "daily"))
    off = replace(PREFS, nudges=False)
    assert (
        next_in_series(d.kind, OWNER, d.target, "s1", d.payload, after=NOW, prefs=off, tz=LONDON)
        is None
    )


def test_send_time_lets_a_series_keep_its_own_time_but_not_a_late_one() -> None:
    d = delivered(followup(at(20, 22), "daily"))
    assert send_time(at(23, 22, 5), d.payload, PREFS, LONDON) == at(23, 22, 5)
    assert send_time(at(23, 23, 30), d.payload, PREFS, LONDON) == at(24, 8)  # hours late
    assert send_time(at(23, 22, 5), {"text": "x"}, PREFS, LONDON) == at(24, 8)  # not a series
    paused = replace(PREFS, paused_until=at(24, 12))
    assert send_time(at(23, 22), d.payload, paused, LONDON) == at(24, 12)


# --------------------------------------------------------------------------- sessions


def test_resume_draft() -> None:
    s = SessionRecord(
        id="s1",
        owner=OWNER,
        place="slack:T1:C1:",
        method="seven-step",
        topic="the launch",
        status="paused",
        state={},
        created_at=at(20, 9),
        updated_at=at(23, 10, tz=NY),
    )
    d = resume_draft(s, silence=DEFAULT_SILENCE, tz=NEW_YORK)
    assert d == NudgeDraft(
        key="resume:s1",
        kind="resume",
        owner=OWNER,
        target="s1",
        due_at=datetime(2026, 11, 24, 15, 0, tzinfo=UTC),
        tz=NEW_YORK,
        session_id="s1",
        payload={"topic": "the launch", "method": "seven-step"},
    )
    assert d.due_at.tzinfo is UTC


def test_the_default_silence_is_a_day() -> None:
    assert timedelta(hours=24) == DEFAULT_SILENCE


def test_resolve_tz() -> None:
    assert resolve_tz(PREFS, LONDON) == LONDON
    assert resolve_tz(replace(PREFS, tz=NEW_YORK), LONDON) == NEW_YORK
