"""Fixtures shared by every test folder: a fixed clock, people, places, a coach, databases.

Databases: every ``database`` test runs on SQLite and on PostgreSQL. PostgreSQL comes
from ``BREAKTHROUGH_TEST_POSTGRES_URL`` (default: a local server with trust auth).
Without one, its tests are skipped on a laptop but fail in CI (``CI=true``): a CI run
that silently tested SQLite only would prove nothing about production. Each PostgreSQL
test gets a fresh schema (``search_path`` set through asyncpg's ``server_settings``,
since a URL cannot carry it), dropped afterwards.

Programs in processes of their own (``breakthrough slack``, ``dispatch``, the console)
can only be given a URL, so they take ``database_url`` instead: the same SQLite file, or
on PostgreSQL a whole database made for the test and dropped after it.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
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


async def _run_sql(url: str, sql: str) -> None:
    admin = create_async_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.exec_driver_sql(sql)
    finally:
        await admin.dispose()


class _Dropper:
    """Drops the tests' PostgreSQL databases in the background, one after another.

    ``DROP DATABASE`` waits for a checkpoint (up to a second or two while other tests
    write), which no test needs to wait for.
    """

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="drop-database")
        self._pending: list[Future[None]] = []

    def drop(self, server_url: str, name: str) -> None:
        sql = f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
        self._pending.append(self._pool.submit(asyncio.run, _run_sql(server_url, sql)))

    def finish(self) -> None:
        """Wait for every drop; raise if one failed (a database was left behind)."""
        self._pool.shutdown(wait=True)
        for future in self._pending:
            future.result()


@pytest.fixture(scope="session")
def _dropper() -> Iterator[_Dropper]:
    dropper = _Dropper()
    yield dropper
    dropper.finish()


@pytest.fixture
async def database_url(database: Database, _dropper: _Dropper) -> AsyncIterator[str]:
    """A URL to an empty database, for a program that can only be given a URL: the SQLite
    file, or a new PostgreSQL database (the schema of ``database`` cannot travel in a URL),
    dropped after the test even if a program still holds a connection to it."""
    if database.kind == "sqlite":
        yield database.url
        return
    name = f"t_{secrets.token_hex(6)}"
    await _run_sql(database.url, f'CREATE DATABASE "{name}"')
    try:
        yield make_url(database.url).set(database=name).render_as_string(hide_password=False)
    finally:
        _dropper.drop(database.url, name)


@pytest.fixture
async def store(database: Database) -> AsyncIterator[SqlStore]:
    """A migrated store on ``database``, closed after the test."""
    opened = await database.open_store()
    try:
        yield opened
    finally:
        await opened.close()
