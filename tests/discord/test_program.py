"""``breakthrough discord`` as a real process: configured from the environment, connected
to a fake Discord, answering a command, stopped by SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from pathlib import Path

from tests.discord.fake_discord import FakeDiscord
from tests.programs import program_env, session_topics


async def test_breakthrough_discord_connects_answers_and_stops_on_sigterm(
    database_url: str, tmp_path: Path
) -> None:
    async with FakeDiscord(token="token-from-env") as fake:
        env = program_env(
            tmp_path,
            database_url=database_url,
            tz="UTC",
            DISCORD_TOKEN="token-from-env",
            DISCORD_API_URL=fake.api_url,
            DISCORD_GATEWAY_URL=fake.gateway_url,
        )
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bots.cli",
            "discord",
            env=env,
            cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            assert proc.stdout is not None
            line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
            assert "connected to Discord" in line
            [identify] = fake.identifies
            assert not identify["intents"] & (1 << 15)  # no message content unless asked
            await fake.slash_command("breakthrough", "plan", {"topic": "Launch the beta"})
            threads = "POST /channels/{channel_id}/threads"
            created = await fake.wait_for_call(threads, timeout=10)
            thread = int(created.response["id"])
            [question] = await fake.wait_messages(thread, 1, timeout=10)
            assert "What would you like to happen" in question["content"]
        finally:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
            started = time.monotonic()
            code = await asyncio.wait_for(proc.wait(), 30)
            stderr = (await proc.stderr.read()).decode() if proc.stderr else ""
        assert code == 0, stderr
        assert time.monotonic() - started < 10
        assert "token-from-env" not in stderr  # tokens are never logged
    assert await session_topics(database_url) == ["Launch the beta"]


async def test_breakthrough_discord_says_what_is_missing(tmp_path: Path) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bots.cli",
        "discord",
        env=program_env(tmp_path, tz="UTC"),
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 2
    assert "DISCORD_TOKEN" in out.decode()
