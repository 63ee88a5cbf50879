"""Fixtures shared by every test folder: a fixed clock, people, places, a coach, databases.

Databases: every ``database`` test runs on SQLite and on PostgreSQL. PostgreSQL comes
from ``BREAKTHROUGH_TEST_POSTGRES_URL`` (default: a local server with trust auth).
Without one, its tests are skipped on a laptop but fail in CI (``CI=true``): a CI run
that silently tested SQLite only would prove nothing about production. Each PostgreSQL
test gets a fresh schema (``search_path`` set through asyncpg's ``server_settings``,
since a URL cannot carry it), dropped afterwards.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from core.dialogue.coach import Coach
from core.dialogue.model import Actor, Place
from core.methods.loader import MethodLibrary
from core.store.repository import SqlStore
from core.testing import FakeClock, MemoryStore
from tests.databases import Database

START = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)  # a Saturday


@pytest.fixture(scope="session")
def methods() -> MethodLibrary:
    return MethodLibrary.load()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def memory_store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def coach(memory_store: MemoryStore, methods: MethodLibrary) -> Coach:
    return Coach(store=memory_store, methods=methods, default_tz="Europe/London")


@pytest.fixture
def ann() -> Actor:
    return Actor(
        platform="console", workspace="local", user_id="ann", display_name="Ann", tz="Europe/London"
    )


@pytest.fixture
def place() -> Place:
    return Place(platform="console", workspace="local", channel="terminal", thread="t1")


POSTGRES_URL_ENV = "BREAKTHROUGH_TEST_POSTGRES_URL"
DEFAULT_POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


def _postgres_url() -> str:
    return os.environ.get(POSTGRES_URL_ENV, DEFAULT_POSTGRES_URL)


async def _probe(url: str) -> None:
    engine = create_async_engine(url, poolclass=NullPool, connect_args={"timeout": 5})
    try:
        async with engine.connect() as conn:
            await conn.exec_driver_sql("SELECT 1")
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The PostgreSQL URL, once it is known to answer; skip (or fail in CI) otherwise."""
    url = _postgres_url()
    # Run in a thread: this may be requested from inside the test's running event loop.
    with ThreadPoolExecutor(max_workers=1) as pool:
        try:
            pool.submit(asyncio.run, _probe(url)).result()
        except Exception as exc:
            reason = f"PostgreSQL at {url} is unreachable: {exc.__class__.__name__}: {exc}"
            if os.environ.get("CI") == "true":
                pytest.fail(f"{reason} (CI must test PostgreSQL; set {POSTGRES_URL_ENV})")
            pytest.skip(reason)
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """An empty database: a SQLite file in ``tmp_path``, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield Database("sqlite", f"sqlite+aiosqlite:///{tmp_path / 'store.db'}")
        return
    url: str = request.getfixturevalue("postgres_url")
    schema = f"t_{secrets.token_hex(6)}"
    admin = create_async_engine(url, poolclass=NullPool)
    try:
        async with admin.begin() as conn:
            await conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        yield Database("postgresql", url, {"server_settings": {"search_path": schema}})
    finally:
        async with admin.begin() as conn:
            await conn.exec_driver_sql("SET LOCAL lock_timeout = '10s'")
            await conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await admin.dispose()


@pytest.fixture
async def store(database: Database) -> AsyncIterator[SqlStore]:
    """A migrated store on ``database``, closed after the test."""
    opened = await database.open_store()
    try:
        yield opened
    finally:
        await opened.close()
