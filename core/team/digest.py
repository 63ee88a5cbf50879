"""A team channel's weekly digest: who has done what, in words and as a progress chart.

Once a week a team coaching channel gets a digest of its group plans' steps: per person
what is done, open and overdue, the steps nobody has claimed, what falls due in the
coming week, and a chart of progress over the last weeks. Everything here is pure: the
service reads the steps and the time, these functions turn them into plain text and a
:class:`~core.dialogue.intents.ProgressPicture`, and the adapter draws that picture with
:func:`core.report.render_picture` when it delivers it.

The three counts are disjoint, so they add up to the number of steps: *done* (status
``done``), *overdue* (not done, and its date has passed) and *open* (not done, and its
date has not come yet or it has none). Blocked and "not yet" steps are open or overdue;
dropped steps are left out of everything. A step is *unclaimed* when it has no owner and
is not done: only those need someone to take them.

The text is plain (adapters escape it for their platform), one line per person and at
most :data:`PEOPLE_SHOWN` people, every name, topic and step text cut to a fixed length,
so even a channel of hundreds of people and thousands of steps stays within one chat
message (at most about 6,000 characters, whatever the input).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Literal

from core.dialogue.intents import ProgressPicture
from core.errors import BreakthroughError
from core.language.counts import counted
from core.report._dates import short_date, zone
from core.report.picture import _clip, _cut
from core.report.progress import week_label

__all__ = [
    "MORE_PEOPLE_HINT",
    "PEOPLE_SHOWN",
    "DigestError",
    "DigestStep",
    "digest_text",
    "progress_alt",
    "progress_picture",
]

PEOPLE_SHOWN = 50
"""People listed by name; past this, the ones with the most steps still to do."""
MORE_PEOPLE_HINT = "see /breakthrough team status"
"""Where the digest sends readers for the people it leaves out."""

_UNCLAIMED_SHOWN = 5
_DUE_SHOWN = 10
_DUE_WINDOW = timedelta(days=7)
_TITLE_LIMIT = 200
_NAME_LIMIT = 40
_PLAN_LIMIT = 40
_TEXT_LIMIT = 60
_ALT_LIMIT = 1000  # Discord caps an attachment description at 1024 characters

_State = Literal["done", "open", "overdue"]


class DigestError(BreakthroughError, ValueError):
    """A digest or its chart was asked for with arguments that cannot describe one
    (a chart of no weeks)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DigestStep:
    """One step of a team plan, as the digest needs it.

    ``due``, ``done_at`` and ``created_at`` are aware datetimes (a naive one is taken to
    be UTC, as the store writes them). ``owner`` is shown, ``owner_key`` groups: two
    people with the same display name stay two lines.
    """

    plan: str
    text: str
    owner: str | None
    owner_key: str | None
    due: datetime | None
    status: str
    done_at: datetime | None
    created_at: datetime


# -- text -----------------------------------------------------------------------------


@dataclass(slots=True)
class _Person:
    key: str
    name: str
    named_at: datetime
    done: int = 0
    open: int = 0
    overdue: int = 0

    @property
    def to_do(self) -> int:
        return self.open + self.overdue


def digest_text(steps: Sequence[DigestStep], *, title: str, now: datetime, tz: str) -> str:
    """The digest as plain text, for the channel's weekly post.

    ``title`` is the first line; dates are days in ``tz``. People are listed most
    overdue first, then by name; with more than :data:`PEOPLE_SHOWN` people, those with
    the most steps still to do are listed and a last line counts the rest.
    """
    zone_ = zone(tz)
    now = _utc(now)
    live = [s for s in steps if s.status != "dropped"]
    head = _clip(title, _TITLE_LIMIT) or "Weekly digest"
    if not live:
        return (
            f"{head}\nNo team plan has any steps yet. Once one does, this digest shows "
            "what each person has done, what is open and what is overdue."
        )

    counts: dict[_State, int] = {"done": 0, "open": 0, "overdue": 0}
    people: dict[str, _Person] = {}
    unclaimed: list[DigestStep] = []
    for step in live:
        state = _state(step, now)
        counts[state] += 1
        key = _owner_key(step)
        if key is None:
            if state != "done":
                unclaimed.append(step)
            continue
        _count(people, key, step, state)

    several_plans = len({_flat(s.plan) for s in live}) > 1
    lines = [head, _totals_line(len(live), counts, len(unclaimed))]
    if counts["overdue"]:
        lines.append("Open steps are not done and not yet due; overdue ones are past their date.")
    if people:
        lines += ["", "By person:", *_people_lines(people)]
    if unclaimed:
        lines += ["", _unclaimed_line(unclaimed, several_plans)]
    lines += ["", *_due_lines(live, now, zone_, several_plans)]
    return "\n".join(lines)


def _state(step: DigestStep, at: datetime) -> _State:
    if step.status == "done":
        return "done"
    if step.due is not None and _utc(step.due) < at:
        return "overdue"
    return "open"


def _owner_key(step: DigestStep) -> str | None:
    if step.owner_key is not None:
        return step.owner_key
    # An owner named without a key: group by the name rather than call the step unclaimed.
    return None if step.owner is None else f"name:{step.owner}"


def _count(people: dict[str, _Person], key: str, step: DigestStep, state: _State) -> None:
    created = _utc(step.created_at)
    name = _clip(step.owner or "", _NAME_LIMIT) or "Unnamed person"
    person = people.get(key)
    if person is None:
        person = people[key] = _Person(key=key, name=name, named_at=created)
    elif (created, name) > (person.named_at, person.name):
        # Display names change: show the one on the person's newest step, whatever the
        # order the steps came in.
        person.name, person.named_at = name, created
    if state == "done":
        person.done += 1
    elif state == "open":
        person.open += 1
    else:
        person.overdue += 1


def _totals_line(steps: int, counts: dict[_State, int], unclaimed: int) -> str:
    line = (
        f"{counted(steps, 'step')}: {counts['done']:,} done, {counts['open']:,} open, "
        f"{counts['overdue']:,} overdue"
    )
    return f"{line}; {unclaimed:,} unclaimed." if unclaimed else f"{line}."


def _people_lines(people: dict[str, _Person]) -> list[str]:
    ranked = sorted(people.values(), key=lambda p: (-p.overdue, p.name.casefold(), p.name, p.key))
    if len(ranked) <= PEOPLE_SHOWN:
        shown = ranked
    else:
        busiest = sorted(
            ranked, key=lambda p: (-p.to_do, -p.overdue, p.name.casefold(), p.name, p.key)
        )
        keep = {p.key for p in busiest[:PEOPLE_SHOWN]}
        shown = [p for p in ranked if p.key in keep]
    lines = [f"• {p.name}: {p.done} done, {p.open} open, {p.overdue} overdue" for p in shown]
    left = len(ranked) - len(shown)
    if left:
        lines.append(f"…and {left} more {'person' if left == 1 else 'people'}: {MORE_PEOPLE_HINT}")
    return lines


def _unclaimed_line(unclaimed: list[DigestStep], several_plans: bool) -> str:
    # Soonest due first (overdue ones lead), then undated ones in the order they were added.
    ordered = sorted(
        unclaimed,
        key=lambda s: (
            s.due is None,
            _utc(s.due) if s.due is not None else _utc(s.created_at),
            _utc(s.created_at),
            s.text,
        ),
    )
    items = [_step_label(s, several_plans) for s in ordered[:_UNCLAIMED_SHOWN]]
    left = len(ordered) - len(items)
    if left:
        items.append(f"…and {left} more")
    return f"Unclaimed ({len(ordered)}): " + "; ".join(items)


def _due_lines(
    live: Sequence[DigestStep], now: datetime, tz: tzinfo, several_plans: bool
) -> list[str]:
    until = now + _DUE_WINDOW
    soon = sorted(
        (
            (_utc(s.due), s)
            for s in live
            if s.status != "done" and s.due is not None and now <= _utc(s.due) < until
        ),
        key=lambda pair: (pair[0], _clip(pair[1].owner or "", _NAME_LIMIT), pair[1].text),
    )
    if not soon:
        return ["Nothing is due in the next 7 days."]
    year = now.astimezone(tz).year
    lines = ["Due in the next 7 days:"]
    for due, step in soon[:_DUE_SHOWN]:
        who = (
            (_clip(step.owner or "", _NAME_LIMIT) or "Unnamed person")
            if _owner_key(step) is not None
            else "unclaimed"
        )
        day = short_date(due, tz, year=year)
        lines.append(f"• {day}, {who}: {_step_label(step, several_plans)}")
    left = len(soon) - _DUE_SHOWN
    if left > 0:
        lines.append(f"…and {left} more due in the next 7 days")
    return lines


def _step_label(step: DigestStep, several_plans: bool) -> str:
    text = _clip(step.text, _TEXT_LIMIT) or "(unnamed step)"
    plan = _clip(step.plan, _PLAN_LIMIT)
    return f"{text} ({plan})" if several_plans and plan else text


# -- the chart ------------------------------------------------------------------------


def progress_picture(
    steps: Sequence[DigestStep], *, title: str, now: datetime, tz: str, weeks: int = 8
) -> ProgressPicture:
    """The last ``weeks`` weeks of the team's steps, one point per week, this week last.

    Weeks start on Monday in ``tz``. Each point counts the steps that existed by the end
    of its week (this week: by ``now``), how many of those were done by then, and how
    many were overdue then (not done, date before the end of the week). A step marked
    done without a ``done_at`` counts as done this week. The current week agrees with
    :func:`digest_text` for the same ``now``: a step stamped later than ``now`` (a
    clock ahead of ours) counts as of ``now``.
    """
    if weeks < 1:
        raise DigestError(f"a progress chart needs at least one week, not {weeks}")
    zone_ = zone(tz)
    now = _in_utc(now)
    facts = [_facts(s, now) for s in steps if s.status != "dropped"]
    today = now.astimezone(zone_).date()
    monday = today - timedelta(days=today.weekday())
    points: list[tuple[date, int, int, int]] = []
    for back in range(weeks - 1, -1, -1):
        first = monday - timedelta(weeks=back)
        if back:
            end = datetime.combine(first + timedelta(weeks=1), time(), tzinfo=zone_)
            end = end.astimezone(UTC)
            points.append((first, *_week(facts, end, inclusive=False)))
        else:
            points.append((first, *_week(facts, now, inclusive=True)))
    return ProgressPicture(title=_clip(title, _TITLE_LIMIT), weeks=tuple(points), tz=tz)


def _facts(step: DigestStep, now: datetime) -> tuple[datetime, datetime | None, datetime | None]:
    """(created, done, due) of a step, none later than ``now`` except the due date."""
    created = min(_in_utc(step.created_at), now)
    done: datetime | None = None
    if step.status == "done":
        done = now if step.done_at is None else max(min(_in_utc(step.done_at), now), created)
    return created, done, None if step.due is None else _in_utc(step.due)


def _week(
    facts: Sequence[tuple[datetime, datetime | None, datetime | None]],
    end: datetime,
    *,
    inclusive: bool,
) -> tuple[int, int, int]:
    """Steps, done and overdue at ``end`` (the next Monday's start, or ``now``)."""
    total = done = overdue = 0
    for created, done_at, due in facts:
        if created > end or (created == end and not inclusive):
            continue
        total += 1
        if done_at is not None and (done_at < end or (inclusive and done_at == end)):
            done += 1
        elif due is not None and due < end:
            overdue += 1
    return total, done, overdue


def progress_alt(picture: ProgressPicture) -> str:
    """What the progress chart shows, in words, for screen readers (at most 1,000
    characters): this week's totals first, then each week, dropping the oldest weeks
    when they would not fit."""
    name = _flat(picture.title)
    about = f" for {name}" if name else ""
    if not picture.weeks:
        return _cut(f"Progress chart{about}: no weeks to show.", _ALT_LIMIT)
    first, latest = picture.weeks[0][0], picture.weeks[-1][0]
    year = latest.year
    count = len(picture.weeks)
    span = (
        "this week"
        if count == 1
        else f"the {count} weeks from {week_label(first, year)} to this week"
        " (weeks start on Monday)"
    )
    head = f"Progress chart{about}, {span}."
    _, total, done, overdue = picture.weeks[-1]
    if not any(t for _, t, _, _ in picture.weeks):
        return _cut(f"{head} No steps yet.", _ALT_LIMIT)
    now_line = (
        f" This week so far: {counted(total, 'step')}, {done:,} done, "
        f"{max(total - done - overdue, 0):,} open, {overdue:,} overdue."
    )
    text = head + now_line
    if count == 1:
        return _cut(text, _ALT_LIMIT)
    parts = [
        f"{week_label(day, year)}: {counted(t, 'step')}, {d:,} done, {o:,} overdue"
        for day, t, d, o in picture.weeks
    ]
    for skip in range(len(parts)):
        note = " (earlier weeks left out)" if skip else ""
        candidate = f"{text} Week by week{note}: " + "; ".join(parts[skip:]) + "."
        if len(candidate) <= _ALT_LIMIT:
            return candidate
    return _cut(text, _ALT_LIMIT)


# -- small helpers --------------------------------------------------------------------


def _utc(moment: datetime) -> datetime:
    """``moment``, aware; a naive one is taken to be UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _in_utc(moment: datetime) -> datetime:
    """``moment`` in UTC: aware datetimes in one zone compare without asking it for offsets,
    several times faster when a chart compares every step with every week's end."""
    return _utc(moment).astimezone(UTC)


def _flat(text: str) -> str:
    return " ".join(text.split())
