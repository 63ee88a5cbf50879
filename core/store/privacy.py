"""Everything stored about one person: read it all (export) or delete it all (forget).

Written against the tables themselves rather than the record types, so a column added
later is exported and a row added later is deleted without anyone remembering to update
a list of fields: the one list here is which tables hold a person, and how.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Table, delete, func, or_, select
from sqlalchemy.exc import SQLAlchemyError

from core.store.errors import ReadFailed
from core.store.models import (
    commitments,
    followups,
    nudges,
    partners,
    people,
    preferences,
    sessions,
    team_plans,
    team_steps,
)
from core.store.repository import SqlStore
from core.store.team import release_person

__all__ = ["PERSON_TABLES", "SqlPersonData"]

PERSON_TABLES: tuple[Table, ...] = (
    people,
    preferences,
    partners,
    sessions,
    team_plans,
    team_steps,
    commitments,
    followups,
    nudges,
)
"""Every table that holds rows about a person, children after their parents."""


def _mine(table: Table, key: str) -> ColumnElement[bool]:
    """The rows of ``table`` that belong to (or are about) the person ``key``."""
    if table is people:
        return people.c.key == key
    if table is partners:
        return or_(partners.c.owner == key, partners.c.partner == key)
    if table is nudges:
        # Their own nudges, and notices queued for others that quote them (an invitation,
        # a partner's news), whose keys name them: "invite:<key>:…", "partner-news:<key>:…".
        return or_(nudges.c.owner == key, nudges.c.key.contains(f":{key}:", autoescape=True))
    if table is team_plans:
        return team_plans.c.facilitator == key
    if table is team_steps:
        # Exported; erased by release_person first (the team keeps its steps, unowned).
        return or_(team_steps.c.owner == key, team_steps.c.author == key)
    return table.c.owner == key


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


class SqlPersonData:
    """Export or erase one person's rows in every table of :data:`PERSON_TABLES`."""

    def __init__(self, store: SqlStore) -> None:
        self._store = store

    async def collect(self, key: str) -> dict[str, list[dict[str, Any]]]:
        """Every row about ``key``, table by table, as JSON-ready dicts."""
        out: dict[str, list[dict[str, Any]]] = {}
        try:
            async with self._store.connection() as conn:
                for table in PERSON_TABLES:
                    rows = (await conn.execute(select(table).where(_mine(table, key)))).all()
                    out[table.name] = [
                        {column: _plain(value) for column, value in row._mapping.items()}
                        for row in rows
                    ]
        except SQLAlchemyError as exc:
            raise ReadFailed(f"{exc.__class__.__name__}: {exc}") from exc
        return out

    async def erase(self, key: str) -> dict[str, int]:
        """Delete every row about ``key`` in one transaction; return what went, counted.

        The counts are by table, plus ``answers`` and ``moments`` (inside the sessions),
        ``nudges_pending`` (of ``nudges``: those that were still to come) and the team
        counts of :func:`~core.store.team.release_person`, so the person can be told.
        """
        # A turn of theirs still in the group-commit queue is committed first, or it
        # would land after the erase and leave a session of theirs behind.
        await self._store.flush()
        counts: dict[str, int] = {}
        async with self._store.transaction() as conn:
            # Team plans first: the team keeps its plan and steps, without this person.
            counts.update(await release_person(conn, key))
            states = await conn.execute(select(sessions.c.state).where(_mine(sessions, key)))
            for (state,) in states:
                answered, moments = _inside(state)
                counts["answers"] = counts.get("answers", 0) + answered
                counts["moments"] = counts.get("moments", 0) + moments
            pending = await conn.execute(
                select(func.count())
                .select_from(nudges)
                .where(_mine(nudges, key), nudges.c.status.in_(("pending", "claimed")))
            )
            counts["nudges_pending"] = pending.scalar_one()
            # Children first, so each count is what was really that person's, not
            # what a cascade took along unseen.
            for table in reversed(PERSON_TABLES):
                result = await conn.execute(delete(table).where(_mine(table, key)))
                counts[table.name] = result.rowcount or 0
        return counts


def _inside(state: Any) -> tuple[int, int]:
    """How many questions a session's state holds answers to, and breakthrough moments.

    Read leniently: this only counts for the person's receipt, and must not stop an
    erase because some old session's state has another shape.
    """
    if not isinstance(state, dict):
        return 0, 0
    answers, moments = state.get("answers"), state.get("moments")
    return (
        len(answers) if isinstance(answers, dict) else 0,
        len(moments) if isinstance(moments, list) else 0,
    )
