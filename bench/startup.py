"""Start-up to ready, and the memory of an idle bot, measured on real processes.

``python -m bench.startup [--runs N] [--idle SECONDS]`` (``make bench``) starts the
``breakthrough`` program as an operator would, in a child process, and measures:

1. **Start-up to ready**, from the parent's spawn of the child to the line the program
   prints once it is ready. For ``breakthrough dispatch`` (no platform) that line comes
   after the database is opened and migrated and the nudge scheduler is running, which is
   the issue's definition of ready. It is measured on a new, empty database (the first
   start: every migration runs) and on one already at the newest schema (a restart), on
   SQLite (a file in a temporary folder) and on PostgreSQL (a database created for the run
   and dropped after). ``breakthrough slack`` (HTTP mode, against the fake Slack of the
   tests on 127.0.0.1) and ``breakthrough discord`` (against the fake Discord gateway) are
   measured the same way, to their "listening" and "connected" lines.
2. **Idle memory**: once ready, the child is left alone for ``--idle`` seconds (the
   scheduler ticking, no traffic), then its resident set (``VmRSS``) and peak
   (``VmHWM``) are read from ``/proc``.

Goals (issue 7): ready in under 1.5 s; an idle bot under 120 MB. Every run prints one JSON
line; the summary gives the median and the slowest run of each case and fails loudly when
a goal is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from tests.discord.fake_discord import FakeDiscord
from tests.slack.fake_slack import FakeSlack
from tests.slack.rig import SIGNING_SECRET, TEAM, USERS

READY_GOAL_S = 1.5
IDLE_GOAL_MB = 120.0
POSTGRES_URL = os.environ.get(
    "BREAKTHROUGH_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)


@dataclass(frozen=True, slots=True)
class Run:
    program: str
    database: str
    start: str
    ready_s: float
    rss_mb: float
    peak_mb: float


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _clean_env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "DISCORD_", "BREAKTHROUGH_"))
    }
    # The health and metrics server runs as in production, on a port free right now.
    env.update(BREAKTHROUGH_TZ="UTC", BREAKTHROUGH_METRICS_PORT=str(_free_port()), **extra)
    return env


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _memory_mb(pid: int) -> tuple[float, float]:
    """The child's resident set and its peak, in MB (``/proc/PID/status``)."""
    fields: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0]) / 1024
    return fields["VmRSS"], fields["VmHWM"]


@asynccontextmanager
async def _postgres_database() -> AsyncIterator[str]:
    """A new, empty PostgreSQL database for one run, dropped afterwards."""
    name = f"bench_startup_{secrets.token_hex(4)}"
    admin = create_async_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


async def _measure(
    args: list[str], env: dict[str, str], *, ready: Callable[[str], bool], idle_s: float
) -> tuple[float, float, float]:
    """Spawn ``breakthrough ARGS``; seconds to its ready line, then RSS and peak when idle."""
    started = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bots.cli",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    seen: list[str] = []

    async def wait_ready(stream: asyncio.StreamReader) -> None:
        while line := (await stream.readline()).decode():
            seen.append(line)
            if ready(line):
                return
        raise RuntimeError("the program ended before it was ready:\n" + "".join(seen))

    assert proc.stdout is not None and proc.stderr is not None
    try:
        waits = [asyncio.create_task(wait_ready(s)) for s in (proc.stdout, proc.stderr)]
        done, pending = await asyncio.wait(waits, timeout=60, return_when=asyncio.FIRST_COMPLETED)
        ready_s = time.perf_counter() - started
        for task in pending:
            task.cancel()
        if not done:
            raise RuntimeError("not ready after 60 s:\n" + "".join(seen))
        next(iter(done)).result()
        await asyncio.sleep(idle_s)
        rss, peak = _memory_mb(proc.pid)
        return ready_s, rss, peak
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), 30)
        except TimeoutError:
            proc.kill()
            await proc.wait()


def _is_ready(program: str) -> Callable[[str], bool]:
    pattern = {
        "dispatch": r"Delivering nudges",
        "slack": r"listening on",
        "discord": r"connected to Discord",
    }[program]
    return lambda line: re.search(pattern, line) is not None


async def _case(program: str, database: str, runs: int, idle_s: float) -> list[Run]:
    """``runs`` first starts and ``runs`` restarts of ``program`` on ``database``."""
    results: list[Run] = []
    for _ in range(runs):
        async with AsyncExitStack() as stack:
            folder = Path(tempfile.mkdtemp(prefix="bench-startup-"))
            stack.callback(shutil.rmtree, folder, True)
            env = _clean_env(
                BREAKTHROUGH_DATA_DIR=str(folder), BREAKTHROUGH_METRICS_HOST="127.0.0.1"
            )
            if database == "postgresql":
                env["BREAKTHROUGH_DATABASE_URL"] = await stack.enter_async_context(
                    _postgres_database()
                )
            args = [program]
            if program == "slack":
                fake = await stack.enter_async_context(FakeSlack(team_id=TEAM, users=USERS))
                env.update(
                    SLACK_BOT_TOKEN="xoxb-bench",
                    SLACK_SIGNING_SECRET=SIGNING_SECRET,
                    SLACK_API_URL=fake.api_url,
                )
                args += ["--host", "127.0.0.1", "--port", "0"]
            elif program == "discord":
                discord = await stack.enter_async_context(FakeDiscord(token="bench-token"))
                env.update(
                    DISCORD_TOKEN="bench-token",
                    DISCORD_API_URL=discord.api_url,
                    DISCORD_GATEWAY_URL=discord.gateway_url,
                )
            for start in ("first", "restart"):
                ready_s, rss, peak = await _measure(
                    args, env, ready=_is_ready(program), idle_s=idle_s
                )
                run = Run(program, database, start, ready_s, rss, peak)
                print(json.dumps(asdict(run)), flush=True)
                results.append(run)
    return results


def _summary(results: list[Run]) -> bool:
    """Print median and slowest per case; whether every run met both goals."""
    ok = True
    cases = sorted({(r.program, r.database, r.start) for r in results})
    print(
        f"\n{'program':<9} {'database':<11} {'start':<8} {'ready median/max s':>19} "
        f"{'idle RSS median/max MB':>23} {'peak max MB':>12}"
    )
    for program, database, start in cases:
        mine = [
            r for r in results if (r.program, r.database, r.start) == (program, database, start)
        ]
        ready = [r.ready_s for r in mine]
        rss = [r.rss_mb for r in mine]
        peak = max(r.peak_mb for r in mine)
        # The start-up goal is for the bot with no platform; a platform's own connection
        # (Discord's gateway handshake and discord.py's wait for guilds) is reported only.
        fast = program != "dispatch" or max(ready) < READY_GOAL_S
        met = fast and max(rss) < IDLE_GOAL_MB
        ok = ok and met
        print(
            f"{program:<9} {database:<11} {start:<8} "
            f"{statistics.median(ready):>9.3f}/{max(ready):<9.3f} "
            f"{statistics.median(rss):>11.1f}/{max(rss):<11.1f} {peak:>12.1f}"
            + ("" if met else "   GOAL MISSED")
        )
    return ok


async def _main(args: argparse.Namespace) -> int:
    results: list[Run] = []
    for program in args.programs:
        for database in args.databases:
            progress(f"{program} on {database}: {args.runs} first starts and restarts")
            results += await _case(program, database, args.runs, args.idle)
    ok = _summary(results)
    print(
        f"\ngoals: ready (no platform) < {READY_GOAL_S} s, idle RSS < {IDLE_GOAL_MB:.0f} MB: "
        + ("met" if ok else "MISSED")
    )
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="starts per case (default 5)")
    parser.add_argument("--idle", type=float, default=10.0, help="idle seconds before memory")
    parser.add_argument(
        "--programs",
        nargs="+",
        default=["dispatch", "slack", "discord"],
        choices=["dispatch", "slack", "discord"],
    )
    parser.add_argument(
        "--databases",
        nargs="+",
        default=["sqlite", "postgresql"],
        choices=["sqlite", "postgresql"],
    )
    return asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
