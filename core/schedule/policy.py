"""The scheduling policy: which nudges a commitment, a follow-up or a silence calls for, and when.

Pure functions: no I/O, and ``now`` is always a parameter (the clock is never read), so
every rule here is tested with plain datetimes. Inputs are aware datetimes; every time
returned is aware UTC, computed in the person's zone ``tz`` (see :func:`resolve_tz`).

The rules, in the person's local time:

* **Quiet hours** (``quiet_start``..``quiet_end``, may wrap midnight): a nudge due inside
  them waits for their end. ``None`` for either bound, or equal bounds, means none.
* **Working days**: a nudge due on another day waits for ``morning`` of the next working
  day (or the end of that day's quiet hours, if ``morning`` falls inside them). An empty
  set means every day.
* **Vacation** (``paused_until``): nudges are held until it ends, never dropped.
* **Nudges off**: nothing is scheduled at all.
* **A recurring time the person chose wins over quiet hours.** A daily visualisation they
  set for 22:00 goes out at 22:00 even with quiet hours from 21:00: quiet hours protect
  people from times *we* pick, not from their own. A vacation or a non-working day still
  holds it; once held it has lost its chosen time, so the held nudge obeys every rule,
  quiet hours included (see :func:`send_time`). A daily series simply skips non-working
  days (the next working day has its own occurrence); a weekly one whose weekday is not a
  working day is held to the next working morning, or it would never come.
* **Daylight saving**: local wall-clock arithmetic, then conversion; a local time that does
  not exist resolves like zoneinfo's ``fold=0`` (02:30 on a spring-forward night is sent
  at 03:30 new time), one that happens twice means its first instant.

Nudge keys are the dedupe keys of :class:`~core.schedule.model.NudgeDraft`, so they are
built only from stable facts: a commitment's nudges carry its due time (a new date gives
new keys, and the caller cancels the old ones), a recurring follow-up's carry the local
date of the occurrence (one per day, which also coalesces a stale series into one row).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from core.language import zone
from core.ports import CommitmentRecord, FollowUpRecord, SessionRecord
from core.schedule.model import ALL_DAYS, NudgeDraft, Preferences
from core.schedule.recurrence import next_occurrence

__all__ = [
    "DEFAULT_SILENCE",
    "REMINDER_FAR",
    "SERIES_GRACE",
    "allowed_time",
    "commitment_nudges",
    "followup_nudges",
    "next_in_series",
    "resolve_tz",
    "resume_draft",
    "send_time",
]

DEFAULT_SILENCE: Final = timedelta(hours=24)
"""How long an unfinished session stays quiet before one gentle "resume" nudge."""

REMINDER_FAR: Final = timedelta(days=2)
"""Items due further ahead than this are reminded the day before, nearer ones that morning."""

SERIES_GRACE: Final = timedelta(hours=1)
"""How late a recurring nudge may go out and still count as "at the person's own time"
(so still exempt from quiet hours): a dispatcher a few minutes behind must not hold a 22:00
visualisation until 08:00, but one that missed its evening by hours is an ordinary nudge."""

_TICK: Final = timedelta(microseconds=1)
_MAX_MOVES: Final = 8
"""Each move lands on a later day or leaves quiet hours, so a handful always settles; the
bound only guards against pathological settings (quiet hours shorter than a DST jump)."""


# --------------------------------------------------------------------------- rules


def resolve_tz(prefs: Preferences, fallback: str) -> str:
    """The zone to schedule in: the person's own setting, else ``fallback`` (the session's)."""
    return prefs.tz or fallback


def allowed_time(t: datetime, prefs: Preferences, tz: str, *, quiet_hours: bool = True) -> datetime:
    """The earliest instant ``>= t`` at which the person may be nudged, in UTC.

    Holds until ``paused_until``; leaves quiet hours at their end; moves a non-working day
    to ``morning`` of the next working day. Each move can break another rule (a quiet end
    on a Saturday), so the rules are applied until none moves the time. ``quiet_hours``
    ``False`` checks only the vacation and the working days: for a time the person chose
    themselves (see :func:`send_time`).
    """
    _require_aware(t, "t")
    tzinfo = zone(tz)
    days = prefs.working_days or ALL_DAYS
    quiet = _quiet_window(prefs) if quiet_hours else None
    at = t.astimezone(UTC)
    if prefs.paused_until is not None and at < prefs.paused_until:
        at = prefs.paused_until.astimezone(UTC)
    for _ in range(_MAX_MOVES):
        local = at.astimezone(tzinfo)
        if local.weekday() not in days:
            day = _next_working_day(local.date(), days)
            clock = prefs.morning
            if quiet is not None and _in_quiet(clock, quiet):
                clock = quiet[1]
            at = _at_local(day, clock, tzinfo, not_before=at)
            continue
        if quiet is not None and _in_quiet(local.time(), quiet):
            start, end = quiet
            wraps = start > end
            day = (
                local.date() + timedelta(days=1)
                if wraps and local.time() >= start
                else local.date()
            )
            at = _at_local(day, end, tzinfo, not_before=at)
            continue
        return at
    return at


def send_time(t: datetime, payload: Mapping[str, Any], prefs: Preferences, tz: str) -> datetime:
    """When a nudge with ``payload``, due (or claimed) at ``t``, may go out: for dispatchers.

    A recurring nudge at its series' own time (an occurrence within :data:`SERIES_GRACE`
    before ``t``) ignores quiet hours, since the person chose that time; it is still held
    by a vacation or a non-working day. Anything else obeys :func:`allowed_time`. Whether
    nudges are on at all is the caller's check (``prefs.nudges``).
    """
    recurrence, first = _series_of(payload)
    if recurrence is not None and first is not None and _at_series_time(t, recurrence, first, tz):
        relaxed = allowed_time(t, prefs, tz, quiet_hours=False)
        if relaxed == t.astimezone(UTC):
            return relaxed
    return allowed_time(t, prefs, tz)


# --------------------------------------------------------------------------- commitments


def commitment_nudges(
    c: CommitmentRecord, prefs: Preferences, *, now: datetime, tz: str
) -> list[NudgeDraft]:
    """The nudges an open commitment calls for: reminder (if useful), check-in, overdue.

    * ``reminder``: ``due - lead`` with a lead set; else the same time the day before for
      items due more than two days ahead; else ``morning`` on the due date. Only kept if,
      after the rules, it still comes strictly before the due time and after ``now``: a
      reminder at or after the due time would just be a second check-in.
    * ``checkin`` at the due time, ``overdue`` at the same time a day later (both held by
      the rules, and both kept even when past: after downtime they still go out).

    A closed commitment or nudges turned off give nothing, so replacing a target's nudges
    with this list cancels whatever was pending.
    """
    _require_aware(now, "now")
    _require_aware(c.due_at, "due_at")
    if c.status != "open" or not prefs.nudges:
        return []
    tzinfo = zone(tz)
    due = c.due_at.astimezone(UTC)
    payload = {"text": c.text, "due": c.due_at.isoformat(), "commitment_id": c.id}

    def draft(kind: str, at: datetime) -> NudgeDraft:
        return NudgeDraft(
            key=f"{kind}:{c.id}:{due.isoformat()}",
            kind=kind,
            owner=c.owner,
            target=c.id,
            due_at=at,
            tz=tz,
            session_id=c.session_id,
            payload=dict(payload),
        )

    drafts: list[NudgeDraft] = []
    reminder = allowed_time(_reminder_time(due, prefs, now=now, tzinfo=tzinfo), prefs, tz)
    if now < reminder < due:
        drafts.append(draft("reminder", reminder))
    drafts.append(draft("checkin", allowed_time(due, prefs, tz)))
    drafts.append(draft("overdue", allowed_time(_add_local_days(due, 1, tzinfo), prefs, tz)))
    return drafts


def _reminder_time(
    due: datetime, prefs: Preferences, *, now: datetime, tzinfo: ZoneInfo
) -> datetime:
    """The reminder's wish, before the rules: the person's lead, else the default rule."""
    if prefs.lead is not None:
        return due - prefs.lead
    if due - now > REMINDER_FAR:
        return _add_local_days(due, -1, tzinfo)
    return _at_local(due.astimezone(tzinfo).date(), prefs.morning, tzinfo)


# --------------------------------------------------------------------------- follow-ups


def followup_nudges(
    f: FollowUpRecord, prefs: Preferences, *, now: datetime, tz: str
) -> list[NudgeDraft]:
    """The next nudge of a method's follow-up (at most one), kind ``f.kind``.

    A one-off (``recurrence`` ``None``) is due at its time under the rules, even when that
    is past: after downtime it is still sent, once (its key has no date). A recurring one
    is due at its first occurrence ``>= now`` (see the module rules on quiet hours and
    working days); each delivery schedules the following one with :func:`next_in_series`.
    Nudges turned off give nothing.
    """
    _require_aware(now, "now")
    _require_aware(f.due_at, "due_at")
    if not prefs.nudges:
        return []
    payload: dict[str, Any] = {
        "text": f.text,
        "followup_id": f.id,
        "recurrence": f.recurrence,
        "first": f.due_at.isoformat(),
        **f.extra,
    }
    if f.recurrence is None:
        return [
            NudgeDraft(
                key=f"{f.kind}:{f.id}",
                kind=f.kind,
                owner=f.owner,
                target=f.id,
                due_at=allowed_time(f.due_at, prefs, tz),
                tz=tz,
                session_id=f.session_id,
                payload=payload,
            )
        ]
    if f.due_at >= now:
        occurrence = f.due_at.astimezone(UTC)
    else:  # the first occurrence >= now, i.e. strictly after the instant before it
        occurrence = next_occurrence(f.recurrence, first=f.due_at, tz=tz, after=now - _TICK)
    return [
        _series_draft(
            kind=f.kind,
            owner=f.owner,
            target=f.id,
            session_id=f.session_id,
            payload=payload,
            occurrence=occurrence,
            prefs=prefs,
            tz=tz,
        )
    ]


def next_in_series(
    kind: str,
    owner: str,
    target: str,
    session_id: str | None,
    payload: Mapping[str, Any],
    *,
    after: datetime,
    prefs: Preferences,
    tz: str,
) -> NudgeDraft | None:
    """The draft for the occurrence after a delivered recurring nudge; ``None`` if one-off.

    ``after`` is the moment the nudge was sent, not its occurrence: a daily reminder sent
    three days late is one message, and the next is the first occurrence after the
    sending (tomorrow's), never the missed days. The payload is carried over unchanged
    (it holds ``recurrence`` and ``first``, which define the series). ``None`` too when
    nudges are off: the series stops, and :func:`followup_nudges` restarts it.
    """
    _require_aware(after, "after")
    recurrence, first = _series_of(payload)
    if recurrence is None or first is None or not prefs.nudges:
        return None
    occurrence = next_occurrence(recurrence, first=first, tz=tz, after=after)
    return _series_draft(
        kind=kind,
        owner=owner,
        target=target,
        session_id=session_id,
        payload=payload,
        occurrence=occurrence,
        prefs=prefs,
        tz=tz,
    )


def _series_draft(
    *,
    kind: str,
    owner: str,
    target: str,
    session_id: str | None,
    payload: Mapping[str, Any],
    occurrence: datetime,
    prefs: Preferences,
    tz: str,
) -> NudgeDraft:
    """The nudge of one occurrence of a series, keyed by its local date (one per day)."""
    recurrence, first = _series_of(payload)
    tzinfo = zone(tz)
    days = prefs.working_days or ALL_DAYS
    if recurrence == "daily" and first is not None:
        # A daily series has an occurrence on every working day: skip the others rather
        # than pile a held one onto the next working day's own.
        for _ in range(7):
            if occurrence.astimezone(tzinfo).weekday() in days:
                break
            occurrence = next_occurrence(recurrence, first=first, tz=tz, after=occurrence)
    local_day = occurrence.astimezone(tzinfo).date()
    return NudgeDraft(
        key=f"{kind}:{target}:{local_day.isoformat()}",
        kind=kind,
        owner=owner,
        target=target,
        due_at=send_time(occurrence, payload, prefs, tz),
        tz=tz,
        session_id=session_id,
        payload=dict(payload),
    )


# --------------------------------------------------------------------------- sessions


def resume_draft(s: SessionRecord, *, silence: timedelta, tz: str) -> NudgeDraft:
    """One gentle nudge ``silence`` after the last turn of an unfinished session.

    Its key is the session's, so a session is nudged to resume at most once, ever; a new
    turn reschedules the pending one instead. Quiet hours and vacations are the
    dispatcher's to apply at send time (:func:`send_time`).
    """
    _require_aware(s.updated_at, "updated_at")
    return NudgeDraft(
        key=f"resume:{s.id}",
        kind="resume",
        owner=s.owner,
        target=s.id,
        due_at=(s.updated_at + silence).astimezone(UTC),
        tz=tz,
        session_id=s.id,
        payload={"topic": s.topic, "method": s.method},
    )


# --------------------------------------------------------------------------- helpers


def _require_aware(value: datetime, name: str) -> None:
    """Naive datetimes would silently mean the server's zone: refuse them."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got {value!r}")


def _quiet_window(prefs: Preferences) -> tuple[time, time] | None:
    """``(start, end)`` of the quiet hours, or ``None`` when there are none."""
    start, end = prefs.quiet_start, prefs.quiet_end
    if start is None or end is None or start == end:
        return None
    return start.replace(tzinfo=None), end.replace(tzinfo=None)


def _in_quiet(clock: time, quiet: tuple[time, time]) -> bool:
    """Whether the local wall time ``clock`` is inside ``[start, end)``, wrapping midnight."""
    start, end = quiet
    clock = clock.replace(tzinfo=None)
    if start < end:
        return start <= clock < end
    return clock >= start or clock < end


def _next_working_day(day: date, days: frozenset[int]) -> date:
    """The first day after ``day`` whose weekday is in ``days`` (which is not empty)."""
    for step in range(1, 8):
        candidate = day + timedelta(days=step)
        if candidate.weekday() in days:
            return candidate
    raise ValueError(f"no working day in {sorted(days)}")  # pragma: no cover


def _at_local(
    day: date, clock: time, tzinfo: ZoneInfo, *, not_before: datetime | None = None
) -> datetime:
    """``clock`` on ``day`` in ``tzinfo``, as UTC.

    A nonexistent local time resolves with ``fold=0`` (an hour later on the clock after a
    spring-forward); a doubled one means its first instant, unless that is before
    ``not_before`` (we are already in the repeated hour), then its second.
    """
    local = datetime.combine(day, clock.replace(tzinfo=None), tzinfo=tzinfo)
    instant = local.astimezone(UTC)
    if not_before is not None and instant < not_before:
        later = local.replace(fold=1).astimezone(UTC)
        if later >= not_before:
            return later
    return instant


def _add_local_days(instant: datetime, days: int, tzinfo: ZoneInfo) -> datetime:
    """The same local wall time ``days`` days away ("the day before at the same time")."""
    local = instant.astimezone(tzinfo)
    return _at_local(local.date() + timedelta(days=days), local.time(), tzinfo)


def _series_of(payload: Mapping[str, Any]) -> tuple[str | None, datetime | None]:
    """``(recurrence, first)`` of a recurring nudge's payload; ``(None, None)`` otherwise."""
    recurrence = payload.get("recurrence")
    first = payload.get("first")
    if not isinstance(recurrence, str) or not recurrence:
        return None, None
    if isinstance(first, str):
        first = datetime.fromisoformat(first)
    if not isinstance(first, datetime) or first.tzinfo is None:
        return recurrence, None
    return recurrence, first


def _at_series_time(t: datetime, recurrence: str, first: datetime, tz: str) -> bool:
    """Whether an occurrence of the series falls within :data:`SERIES_GRACE` up to ``t``."""
    occurrence = next_occurrence(recurrence, first=first, tz=tz, after=t - SERIES_GRACE)
    return occurrence <= t
