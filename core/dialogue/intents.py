"""Outbound intents: what the engine wants said, never how a platform shows it.

Every adapter can show every intent; some more richly (buttons, date pickers, image
uploads), the console as numbered text. Each intent names its destination: the
session's place, or a person's direct messages.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from core.dialogue.model import Actor, Place

__all__ = [
    "Ask",
    "Choice",
    "Destination",
    "DirectMessage",
    "Document",
    "Image",
    "Intent",
    "PlanPicture",
    "PlanStep",
    "ProgressPicture",
    "Say",
    "ShowPlan",
]

Expects = Literal["text", "item", "choice", "date", "time", "any"]


@dataclass(frozen=True, slots=True, kw_only=True)
class DirectMessage:
    """A person's DMs: where nudges and private answers go."""

    actor: Actor


Destination = Place | DirectMessage


@dataclass(frozen=True, slots=True, kw_only=True)
class Choice:
    """One option of a question; ``value`` is what comes back in a ``Choose`` event."""

    value: str
    label: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Say:
    """A statement: an echo, an acknowledgement, guidance."""

    to: Destination
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Ask:
    """A question the person answers next.

    ``expects`` tells an adapter which widget fits (a date picker for ``date``, buttons
    for ``choice``). ``choices`` may also accompany ``item`` questions, where the person
    picks one of the listed items or types a new one. ``action_id`` comes back in a
    ``Choose`` event; ``hint`` is a short line on how to answer.
    """

    to: Destination
    prompt: str
    expects: Expects = "text"
    choices: tuple[Choice, ...] = ()
    action_id: str = ""
    hint: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanStep:
    """One ordered step of a plan, with its due time if one was set."""

    text: str
    due: datetime | None = None
    done: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class ShowPlan:
    """The plan as a checklist (Slack: a checklist block; Discord: an embed)."""

    to: Destination
    title: str
    steps: tuple[PlanStep, ...]
    tz: str = "UTC"


@dataclass(frozen=True, slots=True, kw_only=True)
class Document:
    """A Markdown document, such as the session report; adapters upload it as a file."""

    to: Destination
    title: str
    filename: str
    markdown: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanPicture:
    """What a plan picture shows; :func:`core.report.render_picture` draws it as a PNG.

    A description rather than the pixels, because drawing and encoding a PNG costs
    ~10 ms of CPU: an adapter draws it when it delivers the picture (in a worker, off the
    path of the turn), not inside the turn that every other message waits behind.
    """

    outcome: str
    steps: tuple[tuple[str, datetime | None], ...]
    style: Literal["flowchart", "mindmap"]
    tz: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ProgressPicture:
    """What a team digest's progress chart shows: steps over time, drawn as a PNG by
    :func:`core.report.render_picture` when the digest is delivered.

    ``weeks`` holds one point per week, oldest first: the week's first local day, how many
    steps the team's plans had by the end of that week, how many of them were done, and
    how many were overdue.
    """

    title: str
    weeks: tuple[tuple[date, int, int, int], ...]
    tz: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Image:
    """A picture, such as the plan as a flow chart; ``alt`` describes it in words."""

    to: Destination
    picture: PlanPicture | ProgressPicture
    alt: str
    filename: str


Intent = Say | Ask | ShowPlan | Document | Image
