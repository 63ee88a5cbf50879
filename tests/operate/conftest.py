"""Fixtures for the operator's commands: a clean environment, and a database by URL alone.

``doctor`` and ``db upgrade`` read everything from the environment, so each test starts
from one with no Breakthrough, Slack or Discord variables and no ``.env`` (the working
directory is the test's own folder).

``database_url`` is for tests that, like an operator, can only give a URL: on PostgreSQL
that cannot be the ``database`` fixture's schema (a URL cannot carry ``search_path``), so
it is a whole database of its own, made for the test and dropped after it.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from tests.databases import Database

_PREFIXES = ("BREAKTHROUGH_", "SLACK_", "DISCORD_")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    for name in list(os.environ):
        if name.startswith(_PREFIXES):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    yield


@pytest.fixture
async def database_url(database: Database) -> AsyncIterator[str]:
    """A URL to an empty database: the SQLite file, or a new PostgreSQL database."""
    if database.kind == "sqlite":
        yield database.url
        return
    name = f"op_{secrets.token_hex(6)}"
    admin = create_async_engine(database.url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(database.url).set(database=name).render_as_string(hide_password=False)
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()
