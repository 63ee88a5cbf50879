"""The App Home tab: a person's running sessions, open commitments and nudge settings.

The Home tab is where a person looks when they wonder "what did I promise, and when will
the bot bother me?", so it answers exactly that, in their own words. It is rebuilt from
the store on every ``app_home_opened`` and published with ``views.publish``; this module
only lays it out. Pure: records in, a JSON-ready view out, with no ``slack_sdk`` or
``slack_bolt`` import.

Slack rejects a whole home view above 100 blocks or with a section over 3,000 characters,
and a person with hundreds of commitments must still get a tab that opens. So lists are
packed (several commitments to a section) and, when even that is not enough, cut with a
visible "…and N more": nothing is dropped without saying how much. For the same reason a
very long topic or commitment is shortened with "…" here; the full words stay in the
session's thread and report, since the tab is an overview.

Delivery problems (a DM we could not open) come first, under the header: the tab is
often the only place a person can learn that their nudges are not reaching them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Final

from adapters.slack.escape import escape
from adapters.slack.render import SECTION_LIMIT, text_size
from core.language import UnknownTimeZone, read_back, zone
from core.ports import CommitmentRecord, SessionRecord
from core.schedule.compose import when_text

__all__ = ["COMMITMENTS_SHOWN", "HOME_BLOCK_LIMIT", "ITEM_LIMIT", "home_view"]

HOME_BLOCK_LIMIT: Final = 100
"""Blocks in one home view: Slack refuses to publish a view with more."""

ITEM_LIMIT: Final = 600
"""Characters (escaped) of one topic, commitment, problem or setting line in the tab."""

COMMITMENTS_SHOWN: Final = 100
"""Commitments listed at most, soonest due first, even when more would fit the limits.

Five hundred lines is a wall nobody reads, and a long view is slow to open on a phone;
the rest are counted in the "…and N more" line.
"""

_SESSION_BLOCKS: Final = 20
"""Sessions shown one per section, at most; the commitments get the rest of the room."""
_FEW_BLOCKS: Final = 5
"""Sections for the settings and for the delivery problems, at most each."""

_METHOD_NAMES: Final[dict[str, str]] = {
    "plan": "PLAN",
    "seven-step": "Seven Step Breakthrough",
    "session": "Coaching session",
    "checkin": "Check-in",
    "team": "Team plan",
}

Block = dict[str, Any]


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _shown(text: str, limit: int = ITEM_LIMIT) -> str:
    """``text`` escaped, on one line, shortened with "…" so its escaped size fits ``limit``.

    Whitespace is folded because the tab lists one item per line; escaping is measured
    because that is what Slack counts (an ``&`` becomes five characters).
    """
    text = " ".join(text.split())
    if text_size(escape(text)) <= limit:
        return escape(text)
    lo, hi = 0, len(text)
    while lo < hi:  # the longest prefix that fits, leaving room for the "…"
        mid = (lo + hi + 1) // 2
        if text_size(escape(text[:mid])) <= limit - 1:
            lo = mid
        else:
            hi = mid - 1
    return escape(text[:lo].rstrip()) + "…"


def _more(n: int) -> str:
    return f"…and {n} more"


def _pack(lines: Sequence[str], max_blocks: int, max_lines: int | None = None) -> list[Block]:
    """``lines`` (escaped mrkdwn, each within :data:`ITEM_LIMIT`) as at most ``max_blocks``
    sections of newline-separated lines, ending "…and N more" when not all of them fit
    (or when there are more than ``max_lines``)."""

    def pack(shown: Sequence[str]) -> list[list[str]]:
        groups: list[list[str]] = []
        size = 0
        for line in shown:
            if groups and size + 1 + text_size(line) <= SECTION_LIMIT:
                groups[-1].append(line)
                size += 1 + text_size(line)
            else:
                groups.append([line])
                size = text_size(line)
        return groups

    max_blocks = max(1, max_blocks)  # room for the note, at least
    shown = len(lines)
    if max_lines is not None and shown > max_lines:
        shown = max_lines
        groups = pack([*lines[:shown], _more(len(lines) - shown)])
    else:
        groups = pack(lines)
    while len(groups) > max_blocks:
        # Everything the first ``max_blocks`` sections hold, less what the note displaces.
        shown = min(shown - 1, sum(len(g) for g in groups[:max_blocks]))
        groups = pack([*lines[:shown], _more(len(lines) - shown)])
    return [_section("\n".join(group)) for group in groups]


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _day(moment: datetime, *, tz: str, now: datetime) -> str:
    """ "today", "yesterday" or "Friday 20 November": when a session last moved."""
    local = _aware(moment).astimezone(zone(tz))
    days = (local.date() - now.astimezone(zone(tz)).date()).days
    if days == 0:
        return "today"
    if days == -1:
        return "yesterday"
    return read_back(local, now=now)


def _session_line(session: SessionRecord, *, tz: str, now: datetime) -> str:
    method = _METHOD_NAMES.get(session.method, session.method)
    topic = _shown(session.topic) if session.topic.strip() else "_untitled_"
    state = "paused" if session.status == "paused" else "in progress"
    last = _day(session.updated_at, tz=tz, now=now)
    return f"*{_shown(method, 100)}* — {topic}\n{state} · last activity {last}"


def _commitment_line(commitment: CommitmentRecord, *, tz: str, now: datetime) -> str:
    due = _aware(commitment.due_at)
    line = f"☐ {_shown(commitment.text)} — due {when_text(due, tz=tz, now=now)}"
    return line + " · *overdue*" if due < now else line


def _usable_zone(tz: str) -> str:
    """``tz``, or UTC when it is not a zone we know: a bad stored name should cost the
    right local times, not the whole tab."""
    try:
        zone(tz)
    except UnknownTimeZone:
        return "UTC"
    return tz


def home_view(
    *,
    sessions: Sequence[SessionRecord],
    commitments: Sequence[CommitmentRecord],
    settings_text: str,
    tz: str,
    now: datetime,
    problems: Sequence[str] = (),
    command: str = "/breakthrough",
) -> dict[str, Any]:
    """The Home tab for one person, ready for ``views.publish(user_id=…, view=…)``.

    ``sessions`` are their unfinished sessions, newest first, shown in that order;
    ``commitments`` their open commitments, shown soonest due first, dated in ``tz``;
    ``settings_text`` is :func:`core.schedule.settings_text.describe`'s text and
    ``problems`` plain-text delivery problems. Every string is escaped here. ``now``
    (timezone-aware) decides what is overdue and how dates read.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    tz = _usable_zone(tz)
    command = escape(command)
    divider: Block = {"type": "divider"}
    head: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": "Breakthrough", "emoji": True}}
    ]
    if problems:
        head += _pack(["*Delivery problems*", *(f"⚠️ {_shown(p)}" for p in problems)], _FEW_BLOCKS)
        head.append(divider)
    head.append(_section("*Active sessions*"))
    if sessions:
        lines = [_session_line(s, tz=tz, now=now) for s in sessions]
        if len(lines) > _SESSION_BLOCKS:
            cut = _SESSION_BLOCKS - 1
            lines = [*lines[:cut], _more(len(lines) - cut)]
        head += [_section(line) for line in lines]
    else:
        head.append(_section(f"No sessions running. Start one with `{command} plan …`"))
    head += [divider, _section("*Open commitments*")]

    settings_lines = [_shown(line) for line in settings_text.splitlines() if line.strip()]
    tail: list[Block] = [divider]
    tail += _pack(["*Your nudge settings*", *settings_lines], _FEW_BLOCKS)
    change = (
        f"Change with `{command} settings tz Europe/Paris`, `… quiet 22:00-07:00`, "
        "`… pause until 2 Jan`"
    )
    tail.append({"type": "context", "elements": [{"type": "mrkdwn", "text": change}]})

    if commitments:
        ordered = sorted(commitments, key=lambda c: _aware(c.due_at))
        lines = [_commitment_line(c, tz=tz, now=now) for c in ordered]
        middle = _pack(lines, HOME_BLOCK_LIMIT - len(head) - len(tail), COMMITMENTS_SHOWN)
    else:
        middle = [_section("Nothing open.")]
    return {"type": "home", "blocks": [*head, *middle, *tail]}
