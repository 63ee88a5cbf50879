"""Migrations in code: from empty to head, idempotent, concurrent, and refusing the future."""

from __future__ import annotations

import asyncio
from argparse import Namespace
from collections.abc import Callable

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from core.store.errors import SchemaTooNew, StoreError
from core.store.migrate import (
    HEAD_REVISION,
    MIGRATIONS_DIR,
    alembic_config,
    current_revision,
    head_revision,
    lock_for_migration,
    upgrade,
)
from tests.databases import Database

TABLES = {
    "alembic_version",
    "people",
    "sessions",
    "commitments",
    "followups",
    "nudges",
    "preferences",
    "partners",
    "inbound_events",
    "team_plans",
    "team_steps",
    "team_channels",
}
TABLES_0001 = TABLES - {
    "nudges",
    "preferences",
    "partners",
    "inbound_events",
    "team_plans",
    "team_steps",
    "team_channels",
}


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


def _columns(connection: Connection, table: str) -> list[str]:
    return [column["name"] for column in inspect(connection).get_columns(table)]


def _migrate_to(revision: str, *, down: bool = False) -> Callable[[Connection], None]:
    """Alembic's upgrade (or downgrade) to ``revision``, as ``upgrade()`` runs it."""

    def run(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        if down:
            command.downgrade(config, revision)
        else:
            command.upgrade(config, revision)

    return run


async def _run_locked(engine: AsyncEngine, step: Callable[[Connection], None]) -> None:
    async with engine.begin() as conn:
        await lock_for_migration(conn)
        await conn.run_sync(step)


def test_head_constant_matches_the_migrations_folder() -> None:
    assert head_revision() == HEAD_REVISION


def test_config_needs_no_ini_file() -> None:
    config = alembic_config("postgresql+asyncpg://u:p%40ss@h/db")
    assert config.config_file_name is None
    assert config.get_main_option("script_location") == str(MIGRATIONS_DIR)
    assert config.get_main_option("sqlalchemy.url") == "postgresql+asyncpg://u:p%40ss@h/db"
    assert (MIGRATIONS_DIR / "env.py").is_file()


async def test_upgrade_from_empty_to_head(database: Database) -> None:
    engine = database.engine()
    try:
        assert await current_revision(engine) is None
        await upgrade(engine)
        assert await current_revision(engine) == HEAD_REVISION
        async with engine.connect() as conn:
            assert await conn.run_sync(_tables) == TABLES
    finally:
        await engine.dispose()


async def test_upgrade_is_idempotent(database: Database) -> None:
    engine = database.engine()
    try:
        await upgrade(engine)
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO people (key, platform, workspace, user_id, display_name,"
                    " created_at, updated_at) VALUES ('k', 'slack', 'T', 'U', 'Ann',"
                    " '2025-01-01 00:00:00', '2025-01-01 00:00:00')"
                )
            )
        await upgrade(engine)
        await upgrade(engine)
        assert await current_revision(engine) == HEAD_REVISION
        async with engine.connect() as conn:
            count = (await conn.execute(text("SELECT count(*) FROM people"))).scalar_one()
            versions = (
                await conn.execute(text("SELECT count(*) FROM alembic_version"))
            ).scalar_one()
        assert (count, versions) == (1, 1)
    finally:
        await engine.dispose()


async def test_concurrent_upgrades_do_not_collide(database: Database) -> None:
    """Replicas starting together each migrate; the lock lets one do it, the rest no-op."""
    engines = [database.engine() for _ in range(3)]
    try:
        await asyncio.gather(*(upgrade(engine) for engine in engines))
        assert await current_revision(engines[0]) == HEAD_REVISION
    finally:
        for engine in engines:
            await engine.dispose()


async def test_unknown_revision_raises_schema_too_new(database: Database) -> None:
    engine = database.engine()
    try:
        await upgrade(engine)
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
        with pytest.raises(SchemaTooNew) as raised:
            await upgrade(engine)
        assert isinstance(raised.value, StoreError)
        assert "9999_future" in str(raised.value)
        # Nothing was touched: the future revision is still recorded.
        assert await current_revision(engine) == "9999_future"
    finally:
        await engine.dispose()


async def test_store_open_refuses_a_newer_schema(database: Database) -> None:
    engine = database.engine()
    try:
        await upgrade(engine)
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE alembic_version SET version_num = 'ffff'"))
    finally:
        await engine.dispose()
    with pytest.raises(SchemaTooNew):
        await database.open_store()


async def test_upgrade_by_url(database_url: str) -> None:
    url = database_url
    assert await current_revision(url) is None
    await upgrade(url)
    await upgrade(url)
    assert await current_revision(url) == HEAD_REVISION


def test_developers_can_run_alembic_by_hand(database_url: str) -> None:
    """``alembic -c core/store/alembic.ini -x url=... upgrade head`` (env.py's own engine)."""
    url = database_url
    config = Config(str(MIGRATIONS_DIR.parent / "alembic.ini"))
    config.cmd_opts = Namespace(x=[f"url={url}"])
    config.attributes["configure_logger"] = False  # keep pytest's logging as it is
    command.upgrade(config, "head")
    assert asyncio.run(current_revision(url)) == HEAD_REVISION


async def test_0002_keeps_existing_commitments_with_no_slips(database: Database) -> None:
    """A database at 0001 with data moves to head: commitments get ``slips`` = 0."""
    engine = database.engine()
    try:
        await _run_locked(engine, _migrate_to("0001"))
        assert await current_revision(engine) == "0001"
        stamp = "'2025-01-01 00:00:00'"
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO sessions (id, owner, place, method, topic, status, state,"
                    f" created_at, updated_at) VALUES ('s1', 'o', 'p', 'plan', 't', 'active',"
                    f" '{{}}', {stamp}, {stamp})"
                )
            )
            await conn.execute(
                text(
                    "INSERT INTO commitments (id, session_id, owner, text, due_at, tz, status,"
                    f" kind, position, created_at, updated_at) VALUES ('c1', 's1', 'o', 'x',"
                    f" {stamp}, 'UTC', 'open', 'step', 0, {stamp}, {stamp})"
                )
            )
        await upgrade(engine)
        assert await current_revision(engine) == HEAD_REVISION
        async with engine.connect() as conn:
            slips = (await conn.execute(text("SELECT slips FROM commitments"))).scalar_one()
        assert slips == 0
    finally:
        await engine.dispose()


async def test_0002_downgrades_to_0001_and_back(database: Database) -> None:
    engine = database.engine()
    try:
        await upgrade(engine)
        await _run_locked(engine, _migrate_to("0001", down=True))
        assert await current_revision(engine) == "0001"
        async with engine.connect() as conn:
            assert await conn.run_sync(_tables) == TABLES_0001
            assert "slips" not in await conn.run_sync(_columns, "commitments")
        await upgrade(engine)
        assert await current_revision(engine) == HEAD_REVISION
        async with engine.connect() as conn:
            assert await conn.run_sync(_tables) == TABLES
            assert "slips" in await conn.run_sync(_columns, "commitments")
    finally:
        await engine.dispose()


async def test_0003_adds_and_removes_the_inbound_event_log(database: Database) -> None:
    engine = database.engine()
    try:
        await _run_locked(engine, _migrate_to("0002"))
        async with engine.connect() as conn:
            assert "inbound_events" not in await conn.run_sync(_tables)
        await _run_locked(engine, _migrate_to("head"))
        async with engine.connect() as conn:
            assert "inbound_events" in await conn.run_sync(_tables)
        await _run_locked(engine, _migrate_to("0002", down=True))
        async with engine.connect() as conn:
            assert "inbound_events" not in await conn.run_sync(_tables)
    finally:
        await engine.dispose()
