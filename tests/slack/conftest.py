"""Fixtures for the Slack adapter tests: a rig on SQLite (and on PostgreSQL where asked)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from core.testing import FakeClock
from tests.databases import Database
from tests.slack.rig import SlackRig


@pytest.fixture
async def rig(tmp_path: Path, clock: FakeClock) -> AsyncIterator[SlackRig]:
    """The Slack bot over HTTP on a SQLite file, with a fake Slack."""
    rig = await SlackRig.open(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'slack.db'}", tmp_path=tmp_path, clock=clock
    )
    try:
        yield rig
    finally:
        await rig.close()


@pytest.fixture
async def db_rig(database: Database, tmp_path: Path, clock: FakeClock) -> AsyncIterator[SlackRig]:
    """The Slack bot over HTTP on SQLite and on PostgreSQL."""
    store = await database.open_store()
    rig = await SlackRig.open(
        database_url=database.url, tmp_path=tmp_path, clock=clock, store=store
    )
    try:
        yield rig
    finally:
        await rig.close()
