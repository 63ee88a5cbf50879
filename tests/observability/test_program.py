"""The health and metrics server as ``breakthrough`` runs it: real processes, configured
by environment, scraped over HTTP, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import re
import signal
import socket
import sys
from pathlib import Path

import aiohttp

from core.store.migrate import HEAD_REVISION, current_revision
from tests.programs import program_env
from tests.slack.fake_slack import FakeSlack
from tests.slack.rig import SIGNING_SECRET, TEAM, USERS


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(tmp_path: Path, database_url: str, port: int, **extra: str) -> dict[str, str]:
    return program_env(
        tmp_path,
        database_url=database_url,
        tz="UTC",
        BREAKTHROUGH_METRICS_HOST="127.0.0.1",
        BREAKTHROUGH_METRICS_PORT=str(port),
        **extra,
    )


async def _spawn(tmp_path: Path, env: dict[str, str], *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bots.cli",
        *args,
        env=env,
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def _get(port: int, path: str) -> tuple[int, str]:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"http://127.0.0.1:{port}{path}") as response,
    ):
        return response.status, await response.text()


async def _stop(proc: asyncio.subprocess.Process) -> str:
    if proc.returncode is None:
        proc.send_signal(signal.SIGINT)
    _, err = await asyncio.wait_for(proc.communicate(), 30)
    return err.decode()


async def test_dispatch_serves_health_readiness_and_metrics_and_a_second_one_says_why_not(
    database_url: str, tmp_path: Path
) -> None:
    port = _free_port()
    env = _env(tmp_path, database_url, port)
    proc = await _spawn(tmp_path, env, "dispatch")
    try:
        assert proc.stderr is not None
        line = (await asyncio.wait_for(proc.stderr.readline(), 30)).decode()
        assert "Delivering nudges" in line, line
        assert (await _get(port, "/healthz"))[0] == 200
        status, body = await _get(port, "/readyz")
        assert status == 200, body  # no platform to wait for: the database is enough
        assert await current_revision(database_url) == HEAD_REVISION  # the one it was given
        status, text = await _get(port, "/metrics")
        assert status == 200
        assert "breakthrough_nudges_due 0.0" in text
        assert "process_resident_memory_bytes" in text

        second = await _spawn(tmp_path, env, "dispatch")
        _, err = await asyncio.wait_for(second.communicate(), 30)
        assert second.returncode == 2
        assert f"Port {port} is already in use" in err.decode()
        assert "BREAKTHROUGH_METRICS_PORT" in err.decode()
        assert "Traceback" not in err.decode()
    finally:
        await _stop(proc)


async def test_slack_is_ready_once_listening_and_logs_json_lines_when_piped(
    database_url: str, tmp_path: Path
) -> None:
    port = _free_port()
    async with FakeSlack(team_id=TEAM, users=USERS) as fake:
        env = _env(
            tmp_path,
            database_url,
            port,
            SLACK_BOT_TOKEN="xoxb-from-env",
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SLACK_API_URL=fake.api_url,
            BREAKTHROUGH_LOG_LEVEL="INFO",
        )
        proc = await _spawn(tmp_path, env, "slack", "--host", "127.0.0.1", "--port", "0")
        try:
            assert proc.stdout is not None
            line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
            assert re.search(r"http://127\.0\.0\.1:\d+/slack/events", line), line
            status, body = await _get(port, "/readyz")
            assert status == 200, body
            assert '"slack": "ok"' in body
        finally:
            err = await _stop(proc)
    # Standard error is a pipe here, as under a container runtime: JSON lines.
    lines = [ln for ln in err.splitlines() if ln.startswith("{")]
    assert any('"logger": "bots.observability"' in ln for ln in lines), err
    assert "xoxb-from-env" not in err
