"""Ports: what the core needs from the outside world, as Protocols.

The dialogue core is pure; :class:`~core.dialogue.conversation.Coach` talks to the
database through :class:`Store` and reads time from :class:`Clock`, so tests inject a
``FakeClock`` and an in-memory or SQLite store, and production wires SQLAlchemy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from core.dialogue.intents import Intent

__all__ = [
    "Clock",
    "CommitmentRecord",
    "FollowUpRecord",
    "Messenger",
    "SessionRecord",
    "Store",
    "SystemClock",
]


class Clock(Protocol):
    """Where the current time comes from. Core code never calls ``datetime.now()``."""

    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...


class SystemClock:
    """The real clock, for production."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class Messenger(Protocol):
    """Outbound delivery outside a turn (nudges): each adapter implements it."""

    async def deliver(self, intents: Sequence[Intent]) -> None:
        """Show ``intents`` at their destinations; called by the scheduler, not by a turn."""
        ...


@dataclass(slots=True, kw_only=True)
class SessionRecord:
    """A coaching session as stored: indexed columns plus the engine's state as JSON.

    ``state`` belongs to the engine (:mod:`core.dialogue.state`); the store keeps it
    opaque. ``owner`` and ``place`` are the keys of :class:`~core.dialogue.model.Actor`
    and :class:`~core.dialogue.model.Place`.
    """

    id: str
    owner: str
    place: str
    method: str
    topic: str
    status: str
    state: dict[str, Any]
    created_at: datetime
    updated_at: datetime


@dataclass(slots=True, kw_only=True)
class CommitmentRecord:
    """A dated promise a person made in a session: the truth nudges are derived from."""

    id: str
    session_id: str
    owner: str
    text: str
    due_at: datetime
    tz: str
    status: str = "open"
    kind: str = "step"
    position: int = 0
    slips: int = 0  # how many times it was moved to a later date
    created_at: datetime
    updated_at: datetime


@dataclass(slots=True, kw_only=True)
class FollowUpRecord:
    """A follow-up a method schedules (a review after the plan's date, a daily routine).

    ``recurrence`` is ``None`` for a one-off, else ``"daily"`` or ``"weekly"``; ``due_at``
    is then the first occurrence. Issue-3 scheduling turns these into nudges.
    """

    id: str
    session_id: str
    owner: str
    kind: str
    text: str
    due_at: datetime
    tz: str
    recurrence: str | None = None
    created_at: datetime
    extra: dict[str, Any] = field(default_factory=dict)


class Store(Protocol):
    """Durable state. Every method that writes returns only after the write is committed.

    ``save_turn`` is called once per turn; implementations may commit several turns'
    writes together (group commit), but must not return before this turn's are durable.
    """

    async def load_session(self, session_id: str) -> SessionRecord | None:
        """The session with this id, or ``None``."""
        ...

    async def find_open_session(self, *, owner: str, place: str) -> SessionRecord | None:
        """The newest unfinished (active or paused) session of ``owner`` in ``place``."""
        ...

    async def list_sessions(
        self, *, owner: str | None = None, unfinished_only: bool = False, limit: int = 50
    ) -> list[SessionRecord]:
        """Sessions, newest first; all owners when ``owner`` is ``None``."""
        ...

    async def save_turn(
        self,
        session: SessionRecord,
        *,
        commitments: Sequence[CommitmentRecord] = (),
        followups: Sequence[FollowUpRecord] = (),
    ) -> None:
        """Insert or update the session, and insert or update the given commitments and
        follow-ups, atomically; return once committed."""
        ...

    async def list_commitments(
        self, *, owner: str | None = None, session_id: str | None = None, status: str | None = None
    ) -> list[CommitmentRecord]:
        """Commitments ordered by due time."""
        ...

    async def list_followups(
        self, *, owner: str | None = None, session_id: str | None = None
    ) -> list[FollowUpRecord]:
        """Follow-ups ordered by due time."""
        ...

    async def close(self) -> None:
        """Flush pending writes and release connections."""
        ...
