"""SIGTERM to ``breakthrough discord`` while a deferred command is mid-turn.

discord.py's ``Client.close`` closes the HTTP session too, so the bot must finish its
turns before it disconnects: the deferred command still gets its thread, its question
and its follow-up, once; a command arriving meanwhile is told to try again.
"""

from __future__ import annotations

from pathlib import Path

from adapters.discord.app import RESTARTING
from core.store.repository import SqlStore
from tests.discord.fake_discord import FakeDiscord
from tests.programs import program_env
from tests.shutdown.programs import Program

THREADS = "POST /channels/{channel_id}/threads"
FOLLOWUP = "POST /webhooks/{webhook_id}/{webhook_token}"


async def test_a_deferred_command_under_way_gets_its_thread_and_follow_up(tmp_path: Path) -> None:
    # SQLite only: what is tested is the order of the drain and the disconnect; the
    # databases behave alike here (the Slack tests run on both).
    db_url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    async with FakeDiscord(token="token-from-env") as fake:
        env = program_env(
            tmp_path,
            database_url=db_url,
            DISCORD_TOKEN="token-from-env",
            DISCORD_API_URL=fake.api_url,
            DISCORD_GATEWAY_URL=fake.gateway_url,
        )
        fake.hold(THREADS)
        bot = await Program.start("discord", env=env, ready="connected to Discord")
        try:
            first = await fake.slash_command("breakthrough", "plan", {"topic": "Launch the beta"})
            await fake.wait_callback(first)  # deferred ("thinking…")
            await fake.wait_for(lambda: len(fake.waiting) == 1)  # opening its thread
            bot.signal()
            await bot.wait_output("Stopping (SIGTERM)")
            later = await fake.slash_command(
                "breakthrough", "plan", {"topic": "Another"}, user=fake.bob_id
            )
            refused = await fake.wait_callback(later)
            assert refused.json["type"] == 4  # answered at once, not deferred
            assert refused.json["data"]["content"] == RESTARTING
            assert bot.running  # still finishing the first command
            fake.release(THREADS)
            assert await bot.exit_code() == 0, bot.output
        finally:
            fake.release(THREADS)
            await bot.kill()

        [created] = fake.calls_to(THREADS)  # Bob's command opened nothing
        thread = int(created.response["id"])
        [question] = fake.messages(thread)
        assert "What would you like to happen" in question["content"]
        [followup] = fake.calls_to(FOLLOWUP)
        assert f"<#{thread}>" in followup.json["content"]

    store = await SqlStore.open(db_url)
    try:
        [session] = await store.list_sessions()
        assert session.owner == f"discord:users:{fake.ann_id}"
    finally:
        await store.close()
