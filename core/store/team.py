"""Team plans, their steps and each channel's digest schedule, in the store's database.

:class:`SqlTeamStore` shares a :class:`~core.store.repository.SqlStore`'s engine. Team
writes are rare (a claim, an ordering, a schedule) and each is one short transaction of
its own, outside the turns' group commit; a claim is a conditional ``UPDATE``, so two
people pressing Claim on one step at once, on any replicas, give it exactly one owner.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, func, insert, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection

from core.dialogue.model import Actor
from core.dialogue.state import SessionState
from core.ports import CommitmentRecord
from core.store.errors import ReadFailed
from core.store.models import commitments, sessions, team_channels, team_plans, team_steps
from core.store.repository import SqlStore, _commitment_record
from core.team.model import TeamChannel, TeamPlan, TeamStep

__all__ = ["FORMER_FACILITATOR", "SqlTeamStore", "release_person"]

FORMER_FACILITATOR = "a former member"
"""How a team plan names its facilitator after that person asked to be forgotten."""


class SqlTeamStore:
    """See the module docstring; implements :class:`core.team.model.TeamStore`."""

    def __init__(self, store: SqlStore) -> None:
        self._store = store

    def _write(self) -> contextlib.AbstractAsyncContextManager[AsyncConnection]:
        return self._store.transaction()

    async def _read(self, stmt: Any) -> Sequence[Row[Any]]:
        try:
            async with self._store.connection() as conn:
                return (await conn.execute(stmt)).all()
        except SQLAlchemyError as exc:
            raise ReadFailed(f"{exc.__class__.__name__}: {exc}") from exc

    # -- plans ---------------------------------------------------------------------------

    async def add_plan(self, plan: TeamPlan) -> None:
        async with self._write() as conn:
            await conn.execute(insert(team_plans).values(**_plan_params(plan)))

    async def get_plan(self, session_id: str) -> TeamPlan | None:
        rows = await self._read(select(team_plans).where(team_plans.c.session_id == session_id))
        return _plan(rows[0]) if rows else None

    async def plan_at(self, place: str) -> TeamPlan | None:
        stmt = (
            select(team_plans)
            .where(team_plans.c.place == place, team_plans.c.status == "active")
            .order_by(team_plans.c.created_at.desc())
            .limit(1)
        )
        rows = await self._read(stmt)
        return _plan(rows[0]) if rows else None

    async def list_plans(
        self, *, channel: str | None = None, workspace: str | None = None, active_only: bool = True
    ) -> list[TeamPlan]:
        stmt = select(team_plans).order_by(team_plans.c.created_at.desc(), team_plans.c.session_id)
        if channel is not None:
            stmt = stmt.where(team_plans.c.channel == channel)
        if workspace is not None:
            stmt = stmt.where(team_plans.c.workspace == workspace)
        if active_only:
            stmt = stmt.where(team_plans.c.status == "active")
        return [_plan(row) for row in await self._read(stmt)]

    async def end_plan(self, session_id: str, *, now: datetime) -> bool:
        async with self._write() as conn:
            result = await conn.execute(
                update(team_plans)
                .where(team_plans.c.session_id == session_id, team_plans.c.status == "active")
                .values(status="ended", ended_at=now)
            )
        return bool(result.rowcount)

    # -- steps ---------------------------------------------------------------------------

    async def add_steps(self, steps: Sequence[TeamStep]) -> None:
        if not steps:
            return
        async with self._write() as conn:
            await self._insert_steps(conn, steps)

    async def _insert_steps(self, conn: AsyncConnection, steps: Sequence[TeamStep]) -> None:
        """Insert ``steps``, numbering them after the plan's last (their ``number`` and
        ``id`` are assigned here, inside the write lock, so numbers never repeat)."""
        by_plan: dict[str, int] = {}
        for step in steps:
            if step.session_id not in by_plan:
                top = await conn.scalar(
                    select(func.max(team_steps.c.number)).where(
                        team_steps.c.session_id == step.session_id
                    )
                )
                by_plan[step.session_id] = int(top or 0)
            by_plan[step.session_id] += 1
            step.number = by_plan[step.session_id]
            step.id = f"{step.session_id}:{step.number}"
        await conn.execute(insert(team_steps), [_step_params(s) for s in steps])

    async def list_steps(self, session_ids: Sequence[str]) -> list[TeamStep]:
        if not session_ids:
            return []
        stmt = (
            select(team_steps)
            .where(team_steps.c.session_id.in_(list(session_ids)))
            .order_by(
                team_steps.c.session_id,
                team_steps.c.position.is_(None),
                team_steps.c.position,
                team_steps.c.number,
            )
        )
        return [_step(row) for row in await self._read(stmt)]

    async def order_steps(
        self, session_id: str, texts: Sequence[str], *, author: str, author_name: str, now: datetime
    ) -> list[TeamStep]:
        async with self._write() as conn:
            rows = (
                await conn.execute(
                    select(team_steps)
                    .where(team_steps.c.session_id == session_id)
                    .order_by(team_steps.c.number)
                )
            ).all()
            unplaced = [_step(r) for r in rows]
            ordered: list[TeamStep] = []
            new: list[TeamStep] = []
            for position, text in enumerate(texts):
                match = next((s for s in unplaced if s.text == text), None)
                if match is None:
                    match = next(
                        (s for s in unplaced if s.text.casefold() == text.casefold()), None
                    )
                if match is not None:
                    unplaced.remove(match)
                    match.position, match.updated_at = position, now
                    await conn.execute(
                        update(team_steps)
                        .where(team_steps.c.id == match.id)
                        .values(position=position, updated_at=now)
                    )
                    ordered.append(match)
                else:
                    step = TeamStep(
                        id="",
                        session_id=session_id,
                        number=0,
                        position=position,
                        text=text,
                        author=author,
                        author_name=author_name,
                        created_at=now,
                        updated_at=now,
                    )
                    new.append(step)
                    ordered.append(step)
            if unplaced:
                await conn.execute(
                    delete(team_steps).where(team_steps.c.id.in_([s.id for s in unplaced]))
                )
            if new:
                await self._insert_steps(conn, new)
        return ordered

    async def claim_step(self, step_id: str, *, owner: str, owner_name: str, now: datetime) -> bool:
        async with self._write() as conn:
            result = await conn.execute(
                update(team_steps)
                .where(team_steps.c.id == step_id, team_steps.c.owner.is_(None))
                .values(owner=owner, owner_name=owner_name, updated_at=now)
            )
        return bool(result.rowcount)

    async def release_step(self, step_id: str, *, now: datetime) -> None:
        async with self._write() as conn:
            await conn.execute(
                update(team_steps)
                .where(team_steps.c.id == step_id)
                .values(owner=None, owner_name="", updated_at=now)
            )

    # -- the owners' commitments ---------------------------------------------------------

    async def step_commitments(self, session_ids: Sequence[str]) -> dict[str, CommitmentRecord]:
        """The commitments made to the plans' steps, by id."""
        if not session_ids:
            return {}
        stmt = select(commitments).where(
            commitments.c.session_id.in_(list(session_ids)),
            commitments.c.id.contains(":team:", autoescape=True),
        )
        return {row.id: _commitment_record(row) for row in await self._read(stmt)}

    async def update_commitment(self, c: CommitmentRecord) -> None:
        """Write a step commitment's status, date and slips (a done or a new date given
        in the channel rather than in a check-in)."""
        async with self._write() as conn:
            await conn.execute(
                update(commitments)
                .where(commitments.c.id == c.id)
                .values(status=c.status, due_at=c.due_at, slips=c.slips, updated_at=c.updated_at)
            )

    async def add_commitment(self, c: CommitmentRecord) -> None:
        """The commitment to a step marked done or dated in the channel before its owner
        set a date in their DMs."""
        async with self._write() as conn:
            await conn.execute(
                insert(commitments).values(
                    id=c.id,
                    session_id=c.session_id,
                    owner=c.owner,
                    text=c.text,
                    due_at=c.due_at,
                    tz=c.tz,
                    status=c.status,
                    kind=c.kind,
                    position=c.position,
                    slips=c.slips,
                    created_at=c.created_at,
                    updated_at=c.updated_at,
                )
            )

    async def delete_commitment(self, commitment_id: str) -> None:
        """Remove the commitment to a step its owner let go of."""
        async with self._write() as conn:
            await conn.execute(delete(commitments).where(commitments.c.id == commitment_id))

    # -- channels ------------------------------------------------------------------------

    async def get_channel(self, channel: str) -> TeamChannel | None:
        rows = await self._read(select(team_channels).where(team_channels.c.channel == channel))
        if not rows:
            return None
        row = rows[0]
        return TeamChannel(
            channel=row.channel,
            digest_day=row.digest_day,
            digest_time=row.digest_time,
            tz=row.tz,
            digest_on=row.digest_on,
            updated_at=row.updated_at,
        )

    async def save_channel(self, channel: TeamChannel) -> None:
        values = {
            "channel": channel.channel,
            "digest_day": channel.digest_day,
            "digest_time": channel.digest_time,
            "tz": channel.tz,
            "digest_on": channel.digest_on,
            "updated_at": channel.updated_at,
        }
        async with self._write() as conn:
            done = await conn.execute(
                update(team_channels)
                .where(team_channels.c.channel == channel.channel)
                .values(**values)
            )
            if not done.rowcount:
                await conn.execute(insert(team_channels).values(**values))


async def release_person(conn: AsyncConnection, key: str) -> dict[str, int]:
    """Take ``key`` out of every team plan without taking the plan from the team.

    Their steps become unowned and the steps they added anonymous. A plan they
    facilitated stays the team's: its session is handed to the plan itself (its owner
    becomes ``team:<session id>``, the facilitator in its state a former member), so that
    erasing their sessions afterwards does not delete the team's plan and, through it,
    everyone else's commitments. Run inside the erase's transaction; returns counts.
    """
    owned = await conn.execute(
        update(team_steps).where(team_steps.c.owner == key).values(owner=None, owner_name="")
    )
    authored = await conn.execute(
        update(team_steps).where(team_steps.c.author == key).values(author=None, author_name="")
    )
    led = (
        await conn.execute(select(team_plans.c.session_id).where(team_plans.c.facilitator == key))
    ).all()
    for (session_id,) in led:
        row = (
            await conn.execute(select(sessions.c.state).where(sessions.c.id == session_id))
        ).first()
        if row is not None:
            state = SessionState.from_json(dict(row.state))
            state.owner = Actor(
                platform=state.owner.platform,
                workspace=state.owner.workspace,
                user_id="",
                display_name=FORMER_FACILITATOR,
            )
            await conn.execute(
                update(sessions)
                .where(sessions.c.id == session_id)
                .values(owner=f"team:{session_id}", state=state.to_json())
            )
    await conn.execute(
        update(team_plans)
        .where(team_plans.c.facilitator == key)
        .values(facilitator=None, facilitator_name=FORMER_FACILITATOR)
    )
    return {
        "team steps made unowned": owned.rowcount or 0,
        "team steps made anonymous": authored.rowcount or 0,
        "team plans handed to the team": len(led),
    }


def _plan_params(p: TeamPlan) -> dict[str, Any]:
    return {
        "session_id": p.session_id,
        "place": p.place,
        "channel": p.channel,
        "workspace": p.workspace,
        "facilitator": p.facilitator,
        "facilitator_name": p.facilitator_name,
        "method": p.method,
        "topic": p.topic,
        "status": p.status,
        "created_at": p.created_at,
        "ended_at": p.ended_at,
    }


def _plan(row: Row[Any]) -> TeamPlan:
    return TeamPlan(
        session_id=row.session_id,
        place=row.place,
        channel=row.channel,
        workspace=row.workspace,
        facilitator=row.facilitator,
        facilitator_name=row.facilitator_name,
        method=row.method,
        topic=row.topic,
        status=row.status,
        created_at=row.created_at,
        ended_at=row.ended_at,
    )


def _step_params(s: TeamStep) -> dict[str, Any]:
    return {
        "id": s.id,
        "session_id": s.session_id,
        "number": s.number,
        "position": s.position,
        "text": s.text,
        "author": s.author,
        "author_name": s.author_name,
        "owner": s.owner,
        "owner_name": s.owner_name,
        "created_at": s.created_at,
        "updated_at": s.updated_at,
    }


def _step(row: Row[Any]) -> TeamStep:
    return TeamStep(
        id=row.id,
        session_id=row.session_id,
        number=row.number,
        position=row.position,
        text=row.text,
        author=row.author,
        author_name=row.author_name,
        owner=row.owner,
        owner_name=row.owner_name,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
