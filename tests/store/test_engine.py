"""Engines: SQLite is configured for durability and concurrency; URLs are checked."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.pool import StaticPool

from core.store.engine import (
    SQLITE_BUSY_TIMEOUT_MS,
    default_database_url,
    is_memory_database,
    make_engine,
)
from core.store.errors import UnsupportedDatabase
from tests.databases import Database


async def _pragma(url: str, name: str) -> object:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return (await conn.exec_driver_sql(f"PRAGMA {name}")).scalar_one()
    finally:
        await engine.dispose()


async def test_sqlite_file_is_durable_and_enforces_foreign_keys(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"
    assert await _pragma(url, "journal_mode") == "wal"
    assert await _pragma(url, "synchronous") == 1  # NORMAL
    assert await _pragma(url, "foreign_keys") == 1
    assert await _pragma(url, "busy_timeout") == SQLITE_BUSY_TIMEOUT_MS


async def test_missing_parent_folders_are_created(tmp_path: Path) -> None:
    path = tmp_path / "does" / "not" / "exist" / "x.db"
    engine = make_engine(f"sqlite+aiosqlite:///{path}")
    try:
        async with engine.connect() as conn:
            await conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    finally:
        await engine.dispose()
    assert path.exists()


async def test_default_url_is_a_sqlite_file_in_the_data_dir(tmp_path: Path) -> None:
    url = default_database_url(tmp_path / "data")
    assert url.startswith("sqlite+aiosqlite:///")
    assert await _pragma(url, "journal_mode") == "wal"
    assert (tmp_path / "data" / "breakthrough.db").exists()


async def test_memory_database_shares_one_connection() -> None:
    engine = make_engine("sqlite+aiosqlite:///:memory:")
    try:
        assert isinstance(engine.pool, StaticPool)
        async with engine.begin() as conn:
            await conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
            await conn.exec_driver_sql("INSERT INTO t VALUES (1)")
        async with engine.connect() as conn:
            assert (await conn.exec_driver_sql("SELECT x FROM t")).scalar_one() == 1
            assert (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar_one() == 1
    finally:
        await engine.dispose()


@pytest.mark.parametrize(
    ("url", "memory"),
    [
        ("sqlite+aiosqlite:///:memory:", True),
        ("sqlite+aiosqlite://", True),
        ("sqlite+aiosqlite:///file:x?mode=memory&cache=shared&uri=true", True),
        ("sqlite+aiosqlite:////tmp/x.db", False),
        ("postgresql+asyncpg://u@h/db", False),
    ],
)
def test_is_memory_database(url: str, memory: bool) -> None:
    assert is_memory_database(url) is memory


def test_other_databases_are_refused() -> None:
    with pytest.raises(UnsupportedDatabase):
        make_engine("mysql+aiomysql://u@h/db")


async def test_engine_connects(database: Database) -> None:
    engine = database.engine()
    try:
        async with engine.connect() as conn:
            assert (await conn.exec_driver_sql("SELECT 1")).scalar_one() == 1
    finally:
        await engine.dispose()
