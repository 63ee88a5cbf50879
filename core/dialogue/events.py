"""Inbound events: what an adapter hands the engine, one per turn.

An adapter translates a platform happening (a slash command, a thread message, a button
press, a due nudge) into exactly one of these and wraps it in an :class:`Inbound`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from core.dialogue.model import Actor, Place

__all__ = [
    "COMMANDS",
    "Choose",
    "Command",
    "Event",
    "Inbound",
    "NudgeDue",
    "Reply",
    "Start",
]

#: Conversation commands a person may give at any point of a session.
COMMANDS = ("back", "skip", "pause", "resume", "stop", "status", "help", "report")


@dataclass(frozen=True, slots=True, kw_only=True)
class Start:
    """Begin a new session of ``method`` about ``topic`` (the topic may be empty).

    ``context`` carries facts the method's questions may refer to, for example the
    commitment a check-in is about. ``answers`` are answers the session begins with: a
    member's private reflection after a team session starts from the team's shared ones.
    """

    method: str
    topic: str = ""
    context: dict[str, str] = field(default_factory=dict)
    answers: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class Reply:
    """Free text the person wrote in the session's place.

    ``by`` names a team member other than the facilitator who wrote it, so an item they
    add is echoed back with its author.
    """

    text: str
    by: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Choose:
    """A button or menu pick. ``action_id`` names the question, ``value`` the choice."""

    action_id: str
    value: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Command:
    """One of :data:`COMMANDS`, from a button, a subcommand or a typed word."""

    name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class NudgeDue:
    """A scheduled nudge fell due; the scheduler hands it to the engine."""

    nudge_id: str


Event = Start | Reply | Choose | Command | NudgeDue


@dataclass(frozen=True, slots=True, kw_only=True)
class Inbound:
    """One event with who sent it, where, and when it arrived."""

    actor: Actor
    place: Place
    event: Event
    at: datetime
    session_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
