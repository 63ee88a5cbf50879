"""Fixtures for the Discord adapter: the real client against a fake Discord."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from core.testing import FakeClock
from tests.discord.fake_discord import FakeDiscord
from tests.discord.rig import DiscordRig


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as fake:
        yield fake


@pytest.fixture
async def rig(fake: FakeDiscord, tmp_path: Path, clock: FakeClock) -> AsyncIterator[DiscordRig]:
    """The Discord bot with the message content intent, on a SQLite file."""
    rig = await DiscordRig.open(
        fake=fake,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'discord.db'}",
        tmp_path=tmp_path,
        clock=clock,
    )
    try:
        yield rig
    finally:
        await rig.close()


@pytest.fixture
async def blind_rig(
    fake: FakeDiscord, tmp_path: Path, clock: FakeClock
) -> AsyncIterator[DiscordRig]:
    """The Discord bot without the message content intent."""
    rig = await DiscordRig.open(
        fake=fake,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'discord.db'}",
        tmp_path=tmp_path,
        clock=clock,
        message_content=False,
    )
    try:
        yield rig
    finally:
        await rig.close()
