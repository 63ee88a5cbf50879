"""Fixtures for the Discord adapter: the real client against a fake Discord, on SQLite and
on PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from core.testing import FakeClock
from tests.databases import Database
from tests.discord.fake_discord import FakeDiscord
from tests.discord.rig import DiscordRig, open_rig


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as fake:
        yield fake


@pytest.fixture
async def rig(
    fake: FakeDiscord, database: Database, tmp_path: Path, clock: FakeClock
) -> AsyncIterator[DiscordRig]:
    """The Discord bot with the message content intent."""
    rig = await open_rig(fake, database, tmp_path, clock)
    try:
        yield rig
    finally:
        await rig.close()


@pytest.fixture
async def blind_rig(
    fake: FakeDiscord, database: Database, tmp_path: Path, clock: FakeClock
) -> AsyncIterator[DiscordRig]:
    """The Discord bot without the message content intent."""
    rig = await open_rig(fake, database, tmp_path, clock, message_content=False)
    try:
        yield rig
    finally:
        await rig.close()
