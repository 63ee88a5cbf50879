"""Sharding: ``DISCORD_SHARD_COUNT`` and ``DISCORD_SHARD_IDS`` split the gateway between
replicas on one database; each replica still sends any nudge, DMs included."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import discord
import pytest

from bots.discord import DiscordConfig, DiscordConfigError, DiscordService, run_discord
from bots.runtime import Runtime
from bots.settings import Settings
from bots.shards import ShardError, Shards, parse_shards
from core.schedule.model import NudgeDraft, Preferences
from core.testing import FakeClock
from tests.databases import Database
from tests.discord.fake_discord import FakeDiscord

SHARD_0_GUILD = FakeDiscord.guild_id + (1 << 22)  # (id >> 22) % 2 == 0; the default is on 1
SHARD_0_CHANNEL = SHARD_0_GUILD + 1
CAL = 1_300_000_000_000_000_003  # a member of the default server (shard 1) only


@pytest.mark.parametrize(
    ("count", "ids", "expected"),
    [
        (None, None, Shards()),
        (4, None, Shards(count=4)),
        (4, "", Shards(count=4)),
        (4, "0-3", Shards(count=4, ids=(0, 1, 2, 3))),
        (4, "0,2", Shards(count=4, ids=(0, 2))),
        (8, " 6, 0-1 ,1", Shards(count=8, ids=(0, 1, 6))),
    ],
)
def test_shard_settings_are_read(count: int | None, ids: str | None, expected: Shards) -> None:
    assert parse_shards(count, ids) == expected


@pytest.mark.parametrize(
    ("count", "ids", "says"),
    [
        (None, "0-1", "DISCORD_SHARD_IDS needs DISCORD_SHARD_COUNT"),
        (2, "0-2", "includes shard 2, but DISCORD_SHARD_COUNT is 2: shards are numbered 0 to 1"),
        (4, "3-1", "the range 3-1, which goes down: write 1-3"),
        (4, "zero", "DISCORD_SHARD_IDS='zero' is not a list of shard numbers"),
        (4, "0;1", "write a range like 0-3, a list like 0,2"),
        (0, None, "DISCORD_SHARD_COUNT must be 1 or more"),
    ],
)
def test_unusable_shard_settings_say_what_to_change(
    count: int | None, ids: str | None, says: str
) -> None:
    with pytest.raises(ShardError, match=says.replace("(", r"\(")):
        parse_shards(count, ids)


async def test_the_bot_refuses_to_start_with_unusable_shard_ids(
    database: Database,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "token")
    monkeypatch.setenv("DISCORD_SHARD_IDS", "0-3")
    monkeypatch.delenv("DISCORD_SHARD_COUNT", raising=False)
    settings = Settings(database_url=database.url, data_dir=tmp_path, tz="UTC")
    runtime = await Runtime.open(settings, clock=FakeClock(), store=await database.open_store())
    try:
        assert await run_discord(settings, runtime) == 2
    finally:
        await runtime.close()
    assert "DISCORD_SHARD_IDS needs DISCORD_SHARD_COUNT" in capsys.readouterr().out


@contextlib.asynccontextmanager
async def _replica(
    fake: FakeDiscord,
    database: Database,
    tmp_path: Path,
    clock: FakeClock,
    *,
    shard_count: int,
    shard_ids: str | None = None,
) -> AsyncIterator[DiscordService]:
    """A bot process's Discord service on its own connection pool to ``database``."""
    settings = Settings(database_url=database.url, data_dir=tmp_path, tz="UTC")
    runtime = await Runtime.open(settings, clock=clock, store=await database.open_store())
    config = DiscordConfig(
        token=fake.token,
        api_url=fake.api_url,
        gateway_url=fake.gateway_url,
        shard_count=shard_count,
        shard_ids=shard_ids,
    )
    service = DiscordService.build(runtime, config, guild_ready_timeout=0.05)
    try:
        await service.start()
        yield service
    finally:
        await service.close()
        await runtime.close()


@pytest.fixture
def two_servers(fake: FakeDiscord) -> FakeDiscord:
    fake.add_guild(SHARD_0_GUILD, name="Other team", channels=((SHARD_0_CHANNEL, "general"),))
    fake.add_user(CAL, "cal")
    return fake


async def test_replicas_on_shard_ranges_each_serve_their_servers_and_dm_anyone(
    two_servers: FakeDiscord, database: Database, tmp_path: Path, clock: FakeClock
) -> None:
    fake = two_servers
    with fake.patch_discord_py():
        async with (
            _replica(fake, database, tmp_path, clock, shard_count=2, shard_ids="0") as first,
            _replica(fake, database, tmp_path, clock, shard_count=2, shard_ids="1") as second,
        ):
            assert isinstance(first.client, discord.AutoShardedClient)
            assert sorted(i["shard"] for i in fake.identifies) == [[0, 2], [1, 2]]
            assert [g.id for g in first.client.guilds] == [SHARD_0_GUILD]
            assert [g.id for g in second.client.guilds] == [fake.guild_id]

            # A nudge to Cal, whose only server is on shard 1, sent by the shard-0 replica:
            # a DM goes over REST and needs no gateway connection to Cal's server.
            owner = f"discord:users:{CAL}"
            now = clock.now()
            await first.runtime.nudges.save_preferences(
                Preferences(owner=owner, quiet_start=None, quiet_end=None), now=now
            )
            notice = NudgeDraft(
                key="notice:cal",
                kind="notice",
                owner=owner,
                target="cal",
                due_at=now - timedelta(minutes=1),
                tz="UTC",
                payload={"text": "Bob accepted your invitation."},
            )
            await first.runtime.nudges.add_nudges([notice], now=now)
            assert await first.dispatcher.tick() == 1
            dm = int(fake.dm_channel(CAL)["id"])
            [sent] = fake.messages(dm)
            assert "Bob accepted your invitation." in str(sent["content"])


async def test_a_shard_count_alone_runs_every_shard_in_one_process(
    two_servers: FakeDiscord,
    database: Database,
    tmp_path: Path,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # discord.py waits 5 s before each further IDENTIFY (Discord's default rate limit);
    # the fake has none.
    async def at_once(self: discord.AutoShardedClient, shard_id: int | None, **_: object) -> None:
        return None

    monkeypatch.setattr(discord.AutoShardedClient, "before_identify_hook", at_once)
    fake = two_servers
    with fake.patch_discord_py():
        async with _replica(fake, database, tmp_path, clock, shard_count=2) as service:
            assert sorted(i["shard"] for i in fake.identifies) == [[0, 2], [1, 2]]
            assert sorted(g.id for g in service.client.guilds) == sorted(
                [SHARD_0_GUILD, fake.guild_id]
            )


def test_without_shard_settings_one_plain_connection_serves_every_server() -> None:
    config = DiscordConfig(token="token")
    assert config.shards == Shards()
    with pytest.raises(DiscordConfigError, match="DISCORD_SHARD_IDS needs"):
        DiscordConfig(token="token", shard_ids="1").check()


async def test_a_shard_that_must_identify_again_reads_back_what_was_typed_meanwhile(
    two_servers: FakeDiscord,
    database: Database,
    tmp_path: Path,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Sharded, discord.py says "ready" only once, when every shard is first ready; a
    shard that later has to IDENTIFY again says "shard_ready", and the read-back of its
    servers' session threads must run then too."""

    async def at_once(self: discord.AutoShardedClient, shard_id: int | None, **_: object) -> None:
        return None

    monkeypatch.setattr(discord.AutoShardedClient, "before_identify_hook", at_once)
    fake = two_servers
    with fake.patch_discord_py():
        async with _replica(fake, database, tmp_path, clock, shard_count=2) as service:
            await fake.slash_command("breakthrough", "plan", {"topic": "Launch the beta"})
            created = await fake.wait_for_call("POST /channels/{channel_id}/threads")
            thread = int(created.response["id"])
            await fake.wait_messages(thread, 1)
            await service.bot.idle()
            # Shard 1 (the default server's) loses its session; what Ann types before it
            # is back never reaches the bot as an event.
            fake.add_message(thread, "I want the beta out", author=fake.ann_id)
            await fake.invalidate_session(session=fake.session_for(fake.guild_id))
            [_, answer] = await fake.wait_messages(thread, 2)
            assert "the beta out" in str(answer["content"])
            assert [i["shard"] for i in fake.identifies].count([1, 2]) == 2
