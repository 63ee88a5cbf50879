"""Everything stored about one person: read it all (export) or delete it all (forget).

Written against the tables themselves rather than the record types, so a column added
later is exported and a row added later is deleted without anyone remembering to update
a list of fields: the one list here is which tables hold a person, and how.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Table, delete, or_, select
from sqlalchemy.exc import SQLAlchemyError

from core.store.errors import ReadFailed, WriteFailed
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
        """Delete every row about ``key`` in one transaction; return counts per table."""
        counts: dict[str, int] = {}
        try:
            async with self._store.connection() as conn, conn.begin():
                # Team plans first: the team keeps its plan and steps, without this person.
                counts.update(await release_person(conn, key))
                # Children first, so each count is what was really that person's, not
                # what a cascade took along unseen.
                for table in reversed(PERSON_TABLES):
                    result = await conn.execute(delete(table).where(_mine(table, key)))
                    counts[table.name] = result.rowcount or 0
        except SQLAlchemyError as exc:
            raise WriteFailed(f"not erased: {exc.__class__.__name__}: {exc}") from exc
        return counts
