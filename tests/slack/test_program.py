"""``breakthrough slack`` as a user runs it: a real process, configured by environment."""

from __future__ import annotations

import asyncio
import re
import signal
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode

import aiohttp

from tests.programs import program_env, session_topics
from tests.slack.fake_slack import FakeSlack
from tests.slack.rig import ANN, SIGNING_SECRET, TEAM, USERS, message_text, signature_headers


async def test_breakthrough_slack_serves_http_until_sigterm(
    database_url: str, tmp_path: Path
) -> None:
    async with FakeSlack(team_id=TEAM, users=USERS) as fake:
        env = program_env(
            tmp_path,
            database_url=database_url,
            SLACK_BOT_TOKEN="xoxb-from-env",
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SLACK_API_URL=fake.api_url,
        )
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bots.cli",
            "slack",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            env=env,
            cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            assert proc.stdout is not None
            line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
            found = re.search(r"http://127\.0\.0\.1:(\d+)/slack/events", line)
            assert found, line
            url = found.group(0)
            form = urlencode(
                {
                    "team_id": TEAM,
                    "user_id": ANN,
                    "channel_id": "C0001",
                    "command": "/breakthrough",
                    "text": "plan Launch the beta",
                    "response_url": fake.response_url(),
                    "trigger_id": uuid.uuid4().hex,
                }
            )
            headers = {
                **signature_headers(form),
                "Content-Type": "application/x-www-form-urlencoded",
            }
            async with (
                aiohttp.ClientSession() as http,
                http.post(url, data=form, headers=headers) as response,
            ):
                assert response.status == 200
            await fake.wait_posted(2, timeout=10)
            root, question = fake.posted()[:2]
            assert root.token == "xoxb-from-env"
            assert question.args["thread_ts"] == root.response["ts"]
            assert "What would you like to happen" in message_text(question)
        finally:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
            started = time.monotonic()
            code = await asyncio.wait_for(proc.wait(), 30)
            stderr = (await proc.stderr.read()).decode() if proc.stderr else ""
        assert code == 0, stderr
        assert time.monotonic() - started < 10
        assert "xoxb-from-env" not in stderr  # tokens are never logged
    assert await session_topics(database_url) == ["Launch the beta"]


async def test_breakthrough_slack_says_what_is_missing(tmp_path: Path) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bots.cli",
        "slack",
        env=program_env(tmp_path, SLACK_BOT_TOKEN="xoxb-only"),
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 2
    assert "SLACK_SIGNING_SECRET" in out.decode()
    assert "SLACK_APP_TOKEN" in out.decode()
