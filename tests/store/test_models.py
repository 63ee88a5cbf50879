"""The models: times are aware UTC both ways, and the migrations build exactly these tables."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from core.store.errors import InvalidRecord
from core.store.migrate import upgrade
from core.store.models import Base, UTCDateTime, commitments, sessions
from tests.databases import Database

from .records import T0

PARIS = ZoneInfo("Europe/Paris")


@pytest.mark.parametrize(
    "value",
    [
        datetime(2025, 3, 30, 3, 30, tzinfo=PARIS),  # just after the clocks went forward
        datetime(2025, 3, 30, 1, 30, tzinfo=UTC),
        datetime(2025, 3, 30, 8, 30, tzinfo=timezone(timedelta(hours=7))),
    ],
)
def test_binds_to_naive_utc_on_sqlite_and_aware_utc_on_postgresql(value: datetime) -> None:
    kind = UTCDateTime()
    on_sqlite = kind.process_bind_param(value, sqlite.dialect())
    on_postgresql = kind.process_bind_param(value, postgresql.dialect())
    assert on_sqlite == datetime(2025, 3, 30, 1, 30)
    assert on_sqlite is not None and on_sqlite.tzinfo is None
    assert on_postgresql == value
    assert on_postgresql is not None and on_postgresql.tzinfo is UTC


def test_results_are_aware_utc() -> None:
    kind = UTCDateTime()
    naive = kind.process_result_value(datetime(2025, 1, 1, 12), sqlite.dialect())
    assert naive == datetime(2025, 1, 1, 12, tzinfo=UTC) and naive.tzinfo is UTC
    shifted = datetime(2025, 1, 1, 13, tzinfo=timezone(timedelta(hours=1)))
    aware = kind.process_result_value(shifted, postgresql.dialect())
    assert aware == naive and aware is not None and aware.tzinfo is UTC
    assert kind.process_result_value(None, sqlite.dialect()) is None


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(InvalidRecord):
        UTCDateTime().process_bind_param(datetime(2025, 1, 1), sqlite.dialect())


def _schema_differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_migrations_match_the_models(database: Database) -> None:
    engine = database.engine()
    try:
        await upgrade(engine)
        async with engine.connect() as conn:
            assert await conn.run_sync(_schema_differences) == []
    finally:
        await engine.dispose()


async def test_core_tables_round_trip_aware_utc(database: Database) -> None:
    """Through the Core tables (no repository): what goes in as Paris time comes out UTC."""
    engine = database.engine()
    try:
        await upgrade(engine)
        due = datetime(2025, 3, 30, 3, 30, tzinfo=PARIS)
        async with engine.begin() as conn:
            await conn.execute(
                insert(sessions),
                {
                    "id": "s1",
                    "owner": "o",
                    "place": "p",
                    "method": "plan",
                    "topic": "t",
                    "status": "active",
                    "state": {"é": ["ü", 1, None]},
                    "created_at": T0,
                    "updated_at": T0,
                },
            )
            await conn.execute(
                insert(commitments),
                {
                    "id": "c1",
                    "session_id": "s1",
                    "owner": "o",
                    "text": "x",
                    "due_at": due,
                    "tz": "Europe/Paris",
                    "status": "open",
                    "kind": "step",
                    "position": 0,
                    "created_at": T0,
                    "updated_at": T0,
                },
            )
        async with engine.connect() as conn:
            got = (await conn.execute(select(commitments.c.due_at))).scalar_one()
            state = (await conn.execute(select(sessions.c.state))).scalar_one()
        assert got == due and got.tzinfo is UTC
        assert got == datetime(2025, 3, 30, 1, 30, tzinfo=UTC)
        assert state == {"é": ["ü", 1, None]}
    finally:
        await engine.dispose()
