"""What a report is made from: a session's answers, moments and follow-ups, as plain data.

The engine builds a :class:`ReportInput` from its state; the renderers never see the
engine or the database, so a report can be rendered from an export as well.

Answer shapes, by the kind of step that collected them:

- ``ask``, ``pause``, ``choice`` (the choice's value), ``time`` (``"HH:MM"``): ``str``
- ``date``: :class:`DateAnswer`
- ``collect`` and ``order``: ``list[str]``
- ``each``: ``list[EachAnswer]`` (``value`` is ``str`` or :class:`DateAnswer`)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

__all__ = ["Answer", "DateAnswer", "EachAnswer", "FollowUpLine", "MomentRecord", "ReportInput"]


@dataclass(frozen=True, slots=True, kw_only=True)
class DateAnswer:
    """A confirmed deadline: aware ``due`` in the person's zone, and their own words."""

    due: datetime
    has_time: bool
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class EachAnswer:
    """The answer given for one item of an ``each`` step."""

    item: str
    value: str | DateAnswer


Answer = str | DateAnswer | list[str] | list[EachAnswer]


@dataclass(frozen=True, slots=True, kw_only=True)
class MomentRecord:
    """A breakthrough moment: the words that showed it, and what the person made of it."""

    type: Literal["awareness", "insight", "emotional", "action"]
    cue: str
    quote: str
    question: str
    reflection: str = ""
    at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class FollowUpLine:
    """A follow-up the session scheduled, shown in the report."""

    kind: str
    text: str
    due: datetime
    recurrence: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportInput:
    """Everything a report shows. ``status`` is ``done``, ``stopped`` or ``active`` (a draft)."""

    method_id: str
    topic: str
    tz: str
    started_at: datetime
    status: str
    answers: dict[str, Answer] = field(default_factory=dict)
    moments: tuple[MomentRecord, ...] = ()
    followups: tuple[FollowUpLine, ...] = ()
    commitment_count: int = 0
