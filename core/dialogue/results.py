"""What a turn asks the caller to persist besides the session: commitments and follow-ups.

Drafts carry a ``key`` that is stable within the session (``"dates:2"``), so saving the
same draft twice updates one row instead of creating two.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

__all__ = ["CommitmentDraft", "CommitmentEffect", "FollowUpDraft"]


@dataclass(frozen=True, slots=True, kw_only=True)
class CommitmentDraft:
    """A dated commitment a method collected, in the owner's words."""

    key: str
    text: str
    due: datetime
    position: int = 0
    kind: str = "step"


@dataclass(frozen=True, slots=True, kw_only=True)
class CommitmentEffect:
    """A check-in's answer applied to the commitment it is about."""

    commitment_id: str
    status: str | None = None
    due: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class FollowUpDraft:
    """A follow-up a finished session schedules (a review, a daily visualisation)."""

    key: str
    kind: str
    text: str
    due: datetime
    recurrence: str | None = None
