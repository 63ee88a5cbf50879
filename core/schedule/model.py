"""The values of accountability scheduling: nudges, people's preferences, partner links.

A nudge row is the only durable schedule (see ``docs/nudges.md``). Its ``key`` is the
dedupe key and the primary key: the same nudge can never be scheduled twice, and once a
key was sent it stays in the table, so a recurring series or a one-off "resume" nudge
cannot come back by accident.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any, Final, Literal

__all__ = [
    "ALL_DAYS",
    "DEFAULT_MORNING",
    "DEFAULT_QUIET_END",
    "DEFAULT_QUIET_START",
    "NUDGE_KINDS",
    "NudgeDraft",
    "NudgeOutcome",
    "NudgeRecord",
    "NudgeStatus",
    "OutcomeStatus",
    "PartnerLink",
    "PartnerStatus",
    "Preferences",
]

NUDGE_KINDS: Final = (
    "team_digest",  # a team channel's weekly digest, at the day and time it chose
    "reminder",  # before a commitment is due
    "checkin",  # at the due time: opens the checkin method
    "overdue",  # one follow-up a day after, if the check-in went unanswered
    "review",  # a method's one-off follow-up (seven-step step 7, session review date)
    "visualisation",  # seven-step's daily visualisation, in the person's words
    "weekly_checkin",  # the session method's weekly check-in
    "resume",  # one gentle nudge after a long silence in an unfinished session
    "notice",  # a one-off message: partner invitations and news, celebrations
)

NudgeStatus = Literal["pending", "claimed", "sent", "failed", "cancelled", "skipped"]
"""``pending`` waits for ``due_at``; ``claimed`` is being delivered by ``claimed_by`` until
``claim_until`` (after which any dispatcher may claim it again); the rest are final."""

OutcomeStatus = Literal["sent", "failed", "skipped", "retry"]

ALL_DAYS: Final = frozenset(range(7))
"""Monday is 0, as in :meth:`datetime.weekday`."""

DEFAULT_QUIET_START: Final = time(21, 0)
DEFAULT_QUIET_END: Final = time(8, 0)
DEFAULT_MORNING: Final = time(9, 0)


@dataclass(slots=True, kw_only=True)
class NudgeDraft:
    """A nudge to schedule. ``key`` is unique forever (the dedupe key).

    ``owner`` is the recipient's person key (:meth:`core.dialogue.model.Actor.key`);
    ``target`` is what the nudge is about: a commitment id, a follow-up id, a session id,
    or for a notice whatever its sender chose. ``due_at`` is aware UTC, computed in the
    zone ``tz``. ``payload`` holds what the message needs (the words to quote), so a
    nudge can be delivered without reading anything else.
    """

    key: str
    kind: str
    owner: str
    target: str
    due_at: datetime
    tz: str
    session_id: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True, kw_only=True)
class NudgeRecord:
    """A nudge row as stored."""

    key: str
    kind: str
    owner: str
    target: str
    due_at: datetime
    tz: str
    session_id: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)
    status: NudgeStatus = "pending"
    attempts: int = 0
    claimed_by: str | None = None
    claim_until: datetime | None = None
    sent_at: datetime | None = None
    error: str | None = None
    created_at: datetime
    updated_at: datetime


@dataclass(slots=True, kw_only=True)
class NudgeOutcome:
    """What became of one claimed nudge, recorded by :meth:`NudgeStore.finish`.

    ``retry`` puts it back to ``pending`` at ``retry_at`` (a Retry-After, a transient
    error, or a nudge held for quiet hours or a vacation); ``then`` are nudges to add in
    the same transaction (the next occurrence of a recurring one), so a series can never
    lose or double an occurrence.
    """

    key: str
    status: OutcomeStatus
    error: str | None = None
    retry_at: datetime | None = None
    then: list[NudgeDraft] = field(default_factory=list)


@dataclass(frozen=True, slots=True, kw_only=True)
class Preferences:
    """One person's nudge settings; :meth:`defaults` when they never set any.

    ``quiet_start``/``quiet_end`` may wrap midnight (21:00-08:00); ``None`` for both
    means no quiet hours. ``lead`` ``None`` means the default reminder rule (a day before
    for items due more than two days ahead, otherwise the morning of). ``paused_until``
    holds every nudge until then (a vacation); ``nudges`` off stops them altogether.
    ``share`` is the consent to celebrate a team step they finish in the team's channel.
    """

    owner: str
    tz: str | None = None
    quiet_start: time | None = DEFAULT_QUIET_START
    quiet_end: time | None = DEFAULT_QUIET_END
    working_days: frozenset[int] = ALL_DAYS
    lead: timedelta | None = None
    morning: time = DEFAULT_MORNING
    paused_until: datetime | None = None
    nudges: bool = True
    share: Literal["ask", "always", "never"] = "ask"

    @classmethod
    def defaults(cls, owner: str) -> Preferences:
        return cls(owner=owner)


PartnerStatus = Literal["invited", "accepted", "declined"]


@dataclass(slots=True, kw_only=True)
class PartnerLink:
    """``owner`` named ``partner`` as their accountability partner (one per owner)."""

    owner: str
    partner: str
    partner_name: str = ""
    owner_name: str = ""
    status: PartnerStatus = "invited"
    created_at: datetime
    updated_at: datetime
