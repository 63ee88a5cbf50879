"""Fixtures for the Slack adapter tests: a rig on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from core.testing import FakeClock
from tests.databases import Database
from tests.slack.rig import SlackRig, open_rig


@pytest.fixture
async def rig(database: Database, tmp_path: Path, clock: FakeClock) -> AsyncIterator[SlackRig]:
    """The Slack bot over HTTP with a fake Slack, on SQLite and on PostgreSQL."""
    rig = await open_rig(database, tmp_path, clock)
    try:
        yield rig
    finally:
        await rig.close()
