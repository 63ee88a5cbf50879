"""``breakthrough db upgrade`` and ``db current``: what an operator sees at each schema level."""

from __future__ import annotations

import io

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from bots.cli import main
from bots.db_schema import show_current, upgrade_database
from core.store.migrate import HEAD_REVISION, alembic_config, current_revision, lock_for_migration
from tests.databases import Database


async def _migrate_to(engine: AsyncEngine, revision: str) -> None:
    def run(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    async with engine.begin() as conn:
        await lock_for_migration(conn)
        await conn.run_sync(run)


async def _set_revision(engine: AsyncEngine, revision: str) -> None:
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE alembic_version SET version_num = :r"), {"r": revision})


async def _upgrade(engine: AsyncEngine) -> tuple[int, str]:
    out = io.StringIO()
    code = await upgrade_database(engine, out=out, err=out)
    return code, out.getvalue()


async def _current(engine: AsyncEngine) -> tuple[int, str]:
    out = io.StringIO()
    code = await show_current(engine, out=out, err=out)
    return code, out.getvalue()


async def test_upgrade_migrates_an_empty_database_then_finds_it_newest(database: Database) -> None:
    engine = database.engine()
    try:
        assert await _upgrade(engine) == (
            0,
            f"Migrated from an empty database to {HEAD_REVISION}\n",
        )
        assert await current_revision(engine) == HEAD_REVISION
        assert await _upgrade(engine) == (0, f"Database at {HEAD_REVISION} (newest)\n")
    finally:
        await engine.dispose()


async def test_upgrade_from_an_older_revision_names_both(database: Database) -> None:
    engine = database.engine()
    try:
        await _migrate_to(engine, "0002")
        assert await _upgrade(engine) == (0, f"Migrated from 0002 to {HEAD_REVISION}\n")
        assert await current_revision(engine) == HEAD_REVISION
    finally:
        await engine.dispose()


async def test_upgrade_refuses_a_newer_schema_and_leaves_it_alone(database: Database) -> None:
    engine = database.engine()
    try:
        await _migrate_to(engine, "head")
        await _set_revision(engine, "0005")
        code, said = await _upgrade(engine)
        assert code == 2
        assert "at schema revision 0005, which is newer than this release knows" in said
        assert f"its newest is {HEAD_REVISION}" in said
        assert "Deploy that newer release" in said
        assert "Traceback" not in said
        assert await current_revision(engine) == "0005"
    finally:
        await engine.dispose()


async def test_current_only_looks(database: Database) -> None:
    engine = database.engine()
    try:
        code, said = await _current(engine)
        assert code == 0
        assert said.startswith("Database is empty (never migrated)")
        assert "run breakthrough db upgrade" in said
        assert await current_revision(engine) is None  # looking did not migrate

        await _migrate_to(engine, "0002")
        code, said = await _current(engine)
        assert code == 0
        assert said.startswith(f"Database at 0002; this release's newest is {HEAD_REVISION}")
        assert await current_revision(engine) == "0002"

        await _migrate_to(engine, "head")
        assert await _current(engine) == (0, f"Database at {HEAD_REVISION} (newest)\n")

        await _set_revision(engine, "0005")
        code, said = await _current(engine)
        assert code == 2
        assert "newer than this release knows" in said
    finally:
        await engine.dispose()


def test_the_command_migrates_the_configured_database(
    database_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BREAKTHROUGH_DATABASE_URL", database_url)
    assert main(["db", "current"]) == 0
    assert "Database is empty" in capsys.readouterr().out
    assert main(["db", "upgrade"]) == 0
    assert capsys.readouterr().out == f"Migrated from an empty database to {HEAD_REVISION}\n"
    assert main(["db", "upgrade"]) == 0
    assert capsys.readouterr().out == f"Database at {HEAD_REVISION} (newest)\n"


def test_an_unreachable_database_is_named_without_its_password(
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = "postgresql+asyncpg://bt:pw-never-shown@127.0.0.1:1/bt"
    assert main(["--db", url, "db", "upgrade"]) == 2
    said = capsys.readouterr()
    assert "Cannot reach the database at postgresql+asyncpg://bt:***@127.0.0.1:1/bt" in said.err
    assert "pw-never-shown" not in said.out + said.err


def test_a_url_with_the_wrong_driver_says_which_to_use(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--db", "postgresql://bt:pw@127.0.0.1/bt", "db", "upgrade"]) == 2
    err = capsys.readouterr().err
    assert "postgresql+asyncpg://" in err
    assert "pw" not in err.replace("postgresql", "")
