"""Retention: finished sessions older than the configured number of days are deleted.

A session goes, with its commitments, follow-ups, nudges and (for a team session) its
team plan and steps, when all of these hold:

- it is finished (``done`` or ``stopped``): an open or paused one waits for its person,
  however long, because no session times out;
- it was last updated before the cut-off, and so was each of its commitments (a
  check-in that closes or moves one is activity on the session);
- nothing of it is still to come: no pending nudge (a daily visualisation that still
  recurs, a check-in not yet due) — stopping someone's reminders is not tidying up;
- for a team session, its plan ended before the cut-off (a plan runs on after its
  dialogue ends: claims, dates, digests);
- it is not about a team plan that is kept: a member's claim or reflection session
  names its plan in its context, and the facilitator's report reads the reflection.

Everything is decided again inside each deleting transaction, so a turn that touches a
session meanwhile keeps it, and two replicas pruning at once delete each row once (the
second finds nothing). The work goes in chunks of :data:`CHUNK` sessions, each its own
short transaction, so a first run over years of history never holds the write lock long.

Inbound platform events older than :data:`~core.store.events.KEEP_EVENTS_FOR` go too:
:class:`~core.store.events.SqlEventLog` prunes them only while events arrive.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import ColumnElement, Select, Table, delete, exists, func, or_, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection

from core.store.errors import ReadFailed, StoreError, error_name
from core.store.events import KEEP_EVENTS_FOR
from core.store.models import (
    commitments,
    followups,
    inbound_events,
    nudges,
    sessions,
    team_plans,
    team_steps,
)
from core.store.repository import SqlStore

__all__ = ["CHUNK", "FINISHED", "DailyRetention", "PruneCounts", "SqlRetention", "cutoff"]

_log = logging.getLogger(__name__)

FINISHED: Final = ("done", "stopped")
"""Session statuses retention may delete; every other status is someone's open session."""

CHUNK: Final = 500
"""Sessions decided and deleted per transaction."""

_TO_COME: Final = ("pending", "claimed")


@dataclass(frozen=True, slots=True)
class PruneCounts:
    """What a prune deleted (or, in a dry run, would delete)."""

    sessions: int = 0
    commitments: int = 0
    followups: int = 0
    nudges: int = 0
    team_plans: int = 0
    team_steps: int = 0
    inbound_events: int = 0

    def __add__(self, other: PruneCounts) -> PruneCounts:
        return PruneCounts(
            *(getattr(self, f.name) + getattr(other, f.name) for f in fields(PruneCounts))
        )


class SqlRetention:
    """Deletes what is past retention from the store's database; see the module docstring."""

    def __init__(self, store: SqlStore) -> None:
        self._store = store

    async def prune(
        self,
        *,
        before: datetime | None,
        now: datetime,
        dry_run: bool = False,
        stopping: Callable[[], bool] = lambda: False,
    ) -> PruneCounts:
        """Delete finished sessions last updated before ``before`` (``None``: keep them
        all) and inbound events past keeping at ``now``.

        With ``dry_run`` nothing is deleted and the counts say what would be. Between
        chunks ``stopping()`` is asked: a bot shutting down leaves the rest for later
        (each chunk is its own transaction, so what is done stays done).
        """
        total = PruneCounts(inbound_events=await self._prune_events(now=now, dry_run=dry_run))
        if before is None:
            return total
        after = ""
        while not stopping():
            ids, after = await self._candidates(before=before, after=after)
            if not ids and not after:
                break
            if ids:
                total += await self._prune_chunk(ids, before=before, dry_run=dry_run)
            if not after:
                break
        return total

    async def _candidates(self, *, before: datetime, after: str) -> tuple[list[str], str]:
        """The next chunk of sessions that look prunable (by id, after ``after``), and the
        id to continue from ("" when this was the last chunk)."""
        stmt = (
            select(sessions.c.id, sessions.c.state)
            .where(*_prunable(before), sessions.c.id > after)
            .order_by(sessions.c.id)
            .limit(CHUNK)
        )
        try:
            async with self._store.connection() as conn:
                rows = (await conn.execute(stmt)).all()
                if not rows:
                    return [], ""
                kept_plans = await _kept_plans(conn, before)
        except SQLAlchemyError as exc:
            raise ReadFailed(f"{exc.__class__.__name__}: {exc}") from exc
        ids = [row.id for row in rows if not _about(row.state, kept_plans)]
        return ids, (rows[-1].id if len(rows) == CHUNK else "")

    async def _prune_chunk(
        self, ids: Sequence[str], *, before: datetime, dry_run: bool
    ) -> PruneCounts:
        opened = self._store.connection() if dry_run else self._store.transaction()
        try:
            async with opened as conn:
                return await _delete(conn, ids, before=before, dry_run=dry_run)
        except SQLAlchemyError as exc:  # a dry run's reads; transaction() wraps its own
            raise ReadFailed(f"{exc.__class__.__name__}: {exc}") from exc

    async def _prune_events(self, *, now: datetime, dry_run: bool) -> int:
        old = inbound_events.c.seen_at < now - KEEP_EVENTS_FOR
        if dry_run:
            counted = select(func.count()).select_from(inbound_events).where(old)
            try:
                async with self._store.connection() as conn:
                    return int((await conn.execute(counted)).scalar_one())
            except SQLAlchemyError as exc:
                raise ReadFailed(f"{exc.__class__.__name__}: {exc}") from exc
        async with self._store.transaction() as conn:
            return (await conn.execute(delete(inbound_events).where(old))).rowcount


async def _delete(
    conn: AsyncConnection, ids: Sequence[str], *, before: datetime, dry_run: bool
) -> PruneCounts:
    """Delete (or count) the sessions among ``ids`` still prunable, and what hangs on them."""
    # Decided again under the write lock (SQLite) or row locks (PostgreSQL): a session
    # that a turn or a check-in touched since it was picked stays.
    confirm = select(sessions.c.id).where(sessions.c.id.in_(list(ids)), *_prunable(before))
    if not dry_run:
        confirm = confirm.with_for_update()
    gone = [row.id for row in (await conn.execute(confirm)).all()]
    if not gone:
        return PruneCounts()
    their_commitments = select(commitments.c.id).where(commitments.c.session_id.in_(gone))
    their_followups = select(followups.c.id).where(followups.c.session_id.in_(gone))
    # Children first, so each count is what really went, not what a cascade took along.
    wheres: list[tuple[Table, ColumnElement[bool]]] = [
        (
            nudges,
            or_(
                nudges.c.session_id.in_(gone),
                nudges.c.target.in_(their_commitments),
                nudges.c.target.in_(their_followups),
            ),
        ),
        (followups, followups.c.session_id.in_(gone)),
        (commitments, commitments.c.session_id.in_(gone)),
        (team_steps, team_steps.c.session_id.in_(gone)),
        (team_plans, team_plans.c.session_id.in_(gone)),
        (sessions, sessions.c.id.in_(gone)),
    ]
    counts: dict[str, int] = {}
    for table, where in wheres:
        if dry_run:
            counted = select(func.count()).select_from(table).where(where)
            counts[table.name] = int((await conn.execute(counted)).scalar_one())
        else:
            counts[table.name] = (await conn.execute(delete(table).where(where))).rowcount
    return PruneCounts(**counts)


def _prunable(before: datetime) -> list[ColumnElement[bool]]:
    """The conditions of the module docstring that SQL can check."""
    return [
        sessions.c.status.in_(FINISHED),
        sessions.c.updated_at < before,
        ~exists().where(
            commitments.c.session_id == sessions.c.id, commitments.c.updated_at >= before
        ),
        ~exists().where(nudges.c.session_id == sessions.c.id, nudges.c.status.in_(_TO_COME)),
        ~exists().where(
            team_plans.c.session_id == sessions.c.id,
            or_(team_plans.c.ended_at.is_(None), team_plans.c.ended_at >= before),
        ),
    ]


async def _kept_plans(conn: AsyncConnection, before: datetime) -> set[str]:
    """The team plans retention keeps (see :func:`_prunable`), by session id."""
    plans: Select[Any] = select(team_plans.c.session_id)
    going = select(sessions.c.id).where(sessions.c.id.in_(plans), *_prunable(before))
    every = {row.session_id for row in (await conn.execute(plans)).all()}
    return every - {row.id for row in (await conn.execute(going)).all()}


def _about(state: Any, plans: set[str]) -> bool:
    """Whether a session's state names one of ``plans`` in its context (a claim or a
    reflection names the team session it belongs to)."""
    if not plans or not isinstance(state, dict):
        return False
    context = state.get("context")
    if not isinstance(context, dict):
        return False
    return any(isinstance(value, str) and value in plans for value in context.values())


class DailyRetention:
    """Retention in a running bot: called on every dispatcher tick, prunes once a day.

    Each replica keeps its own day; several replicas pruning is harmless (see the module
    docstring), only a little work done twice. The first tick after a start prunes, so a
    bot restarted daily still prunes daily. A failure is logged and tried the next day:
    retention must never stop nudges from being delivered.
    """

    def __init__(
        self, retention: SqlRetention, *, days: int | None, every: timedelta = timedelta(days=1)
    ) -> None:
        self.retention = retention
        self.days = days
        self.every = every
        self._last: datetime | None = None

    async def __call__(
        self, now: datetime, stopping: Callable[[], bool] = lambda: False
    ) -> PruneCounts | None:
        """Prune if a day passed since the last run here; the counts, or ``None``."""
        if self._last is not None and now - self._last < self.every:
            return None
        self._last = now
        try:
            counts = await self.retention.prune(
                before=cutoff(now, self.days), now=now, stopping=stopping
            )
        except StoreError as exc:
            _log.warning("retention did not run: %s; trying again in a day", error_name(exc))
            return None
        if counts.sessions:
            _log.info(
                "retention deleted %d sessions finished over %d days ago, with %d commitments,"
                " %d follow-ups, %d nudges and %d team plans",
                counts.sessions,
                self.days,
                counts.commitments,
                counts.followups,
                counts.nudges,
                counts.team_plans,
            )
        if counts.inbound_events:
            _log.info("retention deleted %d inbound event ids", counts.inbound_events)
        return counts


def cutoff(now: datetime, days: int | None) -> datetime | None:
    """The instant before which a finished session is past a retention of ``days``."""
    return None if days is None else now - timedelta(days=days)
