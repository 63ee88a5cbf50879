"""The values of team coaching: a team plan, its steps, a channel's digest schedule.

A team plan is a session run by a facilitator in a channel's thread. Its dialogue is an
ordinary session (owned by the facilitator); the plan outlives it: steps are claimed and
dated by their owners, nudged in their DMs, celebrated and summed up in the channel,
until the facilitator or a workspace admin ends it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Protocol

from core.dialogue.model import Place
from core.ports import CommitmentRecord

__all__ = [
    "DEFAULT_DIGEST_DAY",
    "DEFAULT_DIGEST_TIME",
    "TeamChannel",
    "TeamPlan",
    "TeamStep",
    "TeamStore",
    "channel_of",
    "place_from_key",
    "step_commitment_id",
]

DEFAULT_DIGEST_DAY: Final = 0  # Monday, as in datetime.weekday()
DEFAULT_DIGEST_TIME: Final = "09:00"


@dataclass(slots=True, kw_only=True)
class TeamPlan:
    """A team session. ``place`` is its thread's key, ``channel`` the channel's key.

    ``facilitator`` is ``None`` once the facilitator asked to be forgotten.
    """

    session_id: str
    place: str
    channel: str
    workspace: str
    facilitator: str | None
    facilitator_name: str
    method: str
    topic: str
    status: str = "active"
    created_at: datetime
    ended_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.status == "active"


@dataclass(slots=True, kw_only=True)
class TeamStep:
    """One step of a team plan. ``position`` is ``None`` until the steps are ordered;
    the step's number on the board is ``position + 1``."""

    id: str
    session_id: str
    number: int
    position: int | None
    text: str
    author: str | None
    author_name: str
    owner: str | None = None
    owner_name: str = ""
    created_at: datetime
    updated_at: datetime

    @property
    def commitment_id(self) -> str:
        return step_commitment_id(self.session_id, self.number)


@dataclass(slots=True, kw_only=True)
class TeamChannel:
    """When a team coaching channel gets its weekly digest (``digest_day``: Monday is 0)."""

    channel: str
    digest_day: int = DEFAULT_DIGEST_DAY
    digest_time: str = DEFAULT_DIGEST_TIME
    tz: str = "UTC"
    digest_on: bool = True
    updated_at: datetime


def step_commitment_id(session_id: str, number: int) -> str:
    """The id of the owner's commitment to a team step.

    It starts with the team session's id, as every commitment id starts with its
    session's, which is how a nudge finds its commitment.
    """
    return f"{session_id}:team:{number}"


def channel_of(place: Place) -> Place:
    """The channel a thread is in."""
    return Place(platform=place.platform, workspace=place.workspace, channel=place.channel)


def place_from_key(key: str) -> Place:
    """The :class:`Place` whose :meth:`~Place.key` is ``key`` (never a DM place)."""
    platform, workspace, channel, thread = key.split(":", 3)
    return Place(platform=platform, workspace=workspace, channel=channel, thread=thread or None)


class TeamStore(Protocol):
    """Team plans, steps and channels (implemented by :class:`core.store.team.SqlTeamStore`).

    Every write returns once committed.
    """

    async def add_plan(self, plan: TeamPlan) -> None: ...

    async def get_plan(self, session_id: str) -> TeamPlan | None: ...

    async def plan_at(self, place: str) -> TeamPlan | None:
        """The newest active plan whose thread is ``place``."""
        ...

    async def list_plans(
        self, *, channel: str | None = None, workspace: str | None = None, active_only: bool = True
    ) -> list[TeamPlan]:
        """Plans, newest first."""
        ...

    async def end_plan(self, session_id: str, *, now: datetime) -> bool:
        """Mark the plan ended; ``False`` when it was not active."""
        ...

    async def add_steps(self, steps: Sequence[TeamStep]) -> None: ...

    async def list_steps(self, session_ids: Sequence[str]) -> list[TeamStep]:
        """The plans' steps, ordered by plan, then position (unordered last), then number."""
        ...

    async def order_steps(
        self, session_id: str, texts: Sequence[str], *, author: str, author_name: str, now: datetime
    ) -> list[TeamStep]:
        """Number the plan's steps in the order of ``texts``; a text no step has yet is
        added, authored by ``author``; a step whose text is not among them is removed.
        Returns the ordered steps."""
        ...

    async def claim_step(self, step_id: str, *, owner: str, owner_name: str, now: datetime) -> bool:
        """Give an unowned step an owner; ``False`` when someone owns it already."""
        ...

    async def release_step(self, step_id: str, *, now: datetime) -> None:
        """Make the step unowned."""
        ...

    async def step_commitments(self, session_ids: Sequence[str]) -> dict[str, CommitmentRecord]:
        """The owners' commitments to the plans' steps, by id."""
        ...

    async def add_commitment(self, c: CommitmentRecord) -> None: ...

    async def update_commitment(self, c: CommitmentRecord) -> None: ...

    async def delete_commitment(self, commitment_id: str) -> None: ...

    async def get_channel(self, channel: str) -> TeamChannel | None: ...

    async def save_channel(self, channel: TeamChannel) -> None: ...
