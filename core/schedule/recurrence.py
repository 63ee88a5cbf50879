"""When the next occurrence of a daily or weekly series falls, in the person's time zone.

A series repeats at the *local wall-clock time* of its first occurrence (a visualisation at
07:30 stays at 07:30 when the clocks change), so the instants are computed in the
person's zone, never by adding 24 hours in UTC. The calendar maths is APScheduler's
:class:`~apscheduler.triggers.cron.CronTrigger`; this module only decides what a
"next occurrence" means at the edges, where cron's answer is not what a person expects.

Daylight-saving rules:

* **Spring forward** (a local time that does not exist that day, 02:30 in
  America/New_York on 2026-03-08): the occurrence is sent at the same instant the skipped
  time would have had, one hour later on the clock: 07:30 UTC, which is 03:30 EDT. That is
  APScheduler's behaviour and we keep it: the person still gets that day's nudge, as soon
  after their chosen time as the clock allows. (Where the gap is at midnight, as in
  America/Santiago, APScheduler skips the day instead; we put that occurrence back by the
  same rule, so every local day of the series has exactly one.)
* **Fall back** (a local time that happens twice, 01:30 on 2026-11-01): the series occurs
  once, at the first 01:30 (EDT). APScheduler yields both; the second is skipped, so no
  local calendar day ever has two occurrences.

Everything here is pure: ``after`` is passed in, the clock is never read.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger  # type: ignore[import-untyped]

from core.language import zone

__all__ = ["RECURRENCES", "next_occurrence"]

RECURRENCES: Final = ("daily", "weekly")
"""The values :attr:`core.ports.FollowUpRecord.recurrence` may hold (besides ``None``)."""

_DAY_NAMES: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TICK: Final = timedelta(microseconds=1)
_MAX_STEPS: Final = 8
"""Cron answers needed at most: one, plus a skipped repeat, plus slack for cron quirks."""


def next_occurrence(recurrence: str, *, first: datetime, tz: str, after: datetime) -> datetime:
    """The first occurrence strictly after ``after`` of the series that began at ``first``.

    The series repeats ``recurrence`` (``"daily"`` or ``"weekly"``, on ``first``'s local
    weekday) at ``first``'s local wall-clock time in ``tz``, to the second. ``first`` is
    itself the first occurrence, so it is the answer when ``after`` is before it. Returns
    aware UTC.

    Raises :class:`ValueError` for an unknown recurrence or a naive datetime, and
    :class:`core.language.UnknownTimeZone` (a ``ValueError``) for an unknown zone.
    """
    if recurrence not in RECURRENCES:
        raise ValueError(f"unknown recurrence {recurrence!r}; expected one of {RECURRENCES}")
    if first.tzinfo is None or after.tzinfo is None:
        raise ValueError("first and after must be timezone-aware")
    first_utc = first.astimezone(UTC)
    if after < first_utc:
        return first_utc
    tzinfo = zone(tz)
    trigger = _trigger(recurrence, first_utc.astimezone(tzinfo), tzinfo)
    # get_next_fire_time answers ">= now" (rounded up to a whole second), so ask from
    # just after ``after`` to get "strictly after".
    probe = after.astimezone(UTC) + _TICK
    for _ in range(_MAX_STEPS):
        fire = trigger.get_next_fire_time(None, probe)
        if fire is None:  # pragma: no cover - a cron trigger without end_date never ends
            raise RuntimeError("the cron trigger has no next fire time")
        fire_utc = fire.astimezone(UTC)
        if fire_utc <= after:
            # Cron's wall-clock arithmetic can land back on an earlier instant around a
            # fall-back transition; step past it rather than trust it.
            probe = max(probe, fire_utc) + timedelta(seconds=1)
            continue
        if _is_repeat(fire_utc, tzinfo) and _first_of_pair(fire_utc, tzinfo) >= first_utc:
            # The second of a doubled local time: that day already had its occurrence at
            # the first one. (Unless the series itself began at this second one.)
            probe = _next_local_midnight(fire_utc, tzinfo)
            continue
        skipped = _skipped_before(fire_utc, recurrence, first_utc, tzinfo)
        if skipped is not None and skipped > after:
            return skipped
        return fire_utc
    raise RuntimeError(  # pragma: no cover - guarded by the tests around DST changes
        f"no {recurrence} occurrence found after {after.isoformat()} in {tz}"
    )


def _trigger(recurrence: str, local_first: datetime, tzinfo: ZoneInfo) -> CronTrigger:
    """The cron rule of the series: ``first``'s wall time, daily or on its weekday."""
    return CronTrigger(
        hour=local_first.hour,
        minute=local_first.minute,
        second=local_first.second,
        day_of_week=_DAY_NAMES[local_first.weekday()] if recurrence == "weekly" else None,
        timezone=tzinfo,
    )


def _skipped_before(
    fire: datetime, recurrence: str, first: datetime, tzinfo: ZoneInfo
) -> datetime | None:
    """The occurrence cron skipped just before ``fire``, if it did, else ``None``.

    Cron shifts most nonexistent times an hour on (02:30 -> 03:30 in New York), but skips
    the day altogether when the gap is at midnight (America/Santiago jumps from 00:00 to
    01:00): the previous day (or week) of the series then has no fire time. That occurrence
    is put back at the instant the skipped time would have had (``fold=0``), as on any
    other spring-forward day.
    """
    local = fire.astimezone(tzinfo)
    clock = first.astimezone(tzinfo).time()
    day = local.date() - timedelta(days=1 if recurrence == "daily" else 7)
    wall = datetime.combine(day, clock, tzinfo=tzinfo)
    instant = wall.astimezone(UTC)
    exists = instant.astimezone(tzinfo).replace(tzinfo=None) == wall.replace(tzinfo=None)
    if exists or instant < first:
        return None
    return instant


def _is_repeat(instant: datetime, tzinfo: ZoneInfo) -> bool:
    """Whether ``instant`` shows a local time the clock already showed an hour earlier."""
    local = instant.astimezone(tzinfo)
    return local.fold == 1 and local.replace(fold=0).utcoffset() != local.utcoffset()


def _first_of_pair(instant: datetime, tzinfo: ZoneInfo) -> datetime:
    """The earlier instant with the same local wall time as ``instant`` (fold 0), in UTC."""
    return instant.astimezone(tzinfo).replace(fold=0).astimezone(UTC)


def _next_local_midnight(instant: datetime, tzinfo: ZoneInfo) -> datetime:
    """The start of the local day after ``instant``'s, in UTC (a probe for the cron)."""
    day = instant.astimezone(tzinfo).date() + timedelta(days=1)
    return datetime.combine(day, time(0), tzinfo=tzinfo).astimezone(UTC)
