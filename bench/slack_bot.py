"""The bot under test in ``bench.slack``, run as a process of its own.

``python -m bench.slack_bot --mode echo|full --api-url URL [--db URL]`` serves
``POST /slack/events`` on 127.0.0.1 and talks to the Web API at ``--api-url`` (the load
generator's fake Slack). It runs apart from the load generator so that, on a machine
with two cores, the bot has one to itself and the load it is given does not take its
CPU.

* ``echo``: a bare slack-bolt ``AsyncApp`` whose ``message`` listener posts the text
  back with ``chat.postMessage``; one shared aiohttp session, served the way Bolt's
  aiohttp adapter is served in production. This is the yardstick.
* ``full``: Breakthrough's own Slack bot, wired by :class:`~bots.slack.SlackService` on
  :class:`~bots.runtime.Runtime` exactly as ``breakthrough slack`` wires it, except for
  ``pacing=False`` (Slack's one message per second per channel is Slack's rule, the same
  for every bot; the echo does not pace either).

It prints ``ready <port>`` on stdout once it listens. On SIGTERM it stops taking
requests, finishes the ones it took, closes, and prints one JSON line (peak RSS, CPU
seconds, and with ``--profile`` where the profile went) before it exits. Logging goes to
stderr at WARNING, which the load generator keeps and summarises.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import logging
import re
import resource
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

SIGNING_SECRET = "bench-signing-secret"
_STATEMENT = re.compile(r"\b(?:FROM|INTO|UPDATE)\s+\"?(\w+)", re.IGNORECASE)
BOT_TOKEN = "xoxb-bench"


def rss_mb(field: str = "VmRSS") -> float:
    """This process's resident set (``VmRSS``) or its peak (``VmHWM``), in MB.

    The peak is ``VmHWM`` rather than ``ru_maxrss``: Linux carries the peak of the
    address space a process had before ``execve`` into ``ru_maxrss``, so a spawned
    child's ``ru_maxrss`` can be its parent's peak (see ``bench/nudges.py``). Without
    ``/proc`` it is ``ru_maxrss`` (KB on Linux).
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024 if sys.platform == "darwin" else 1024)


class Echo:
    """A bare Bolt app: acknowledge the event, post its text back where it came from."""

    def __init__(self, api_url: str) -> None:
        from slack_bolt.async_app import AsyncApp
        from slack_sdk.web.async_client import AsyncWebClient

        self.session = aiohttp.ClientSession()
        client = AsyncWebClient(token=BOT_TOKEN, base_url=api_url, session=self.session)
        self.app = AsyncApp(signing_secret=SIGNING_SECRET, client=client)
        self.app.event("message")(self._echo)
        self._runner: web.AppRunner | None = None

    async def _echo(self, event: dict[str, Any], client: Any) -> None:
        await client.chat_postMessage(
            channel=event["channel"], thread_ts=event.get("thread_ts"), text=event["text"]
        )

    async def serve(self, port: int) -> int:
        self._runner = web.AppRunner(self.app.web_app(path="/slack/events"))
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        return int(self._runner.addresses[0][1])

    async def close(self) -> dict[str, Any]:
        if self._runner is not None:
            await self._runner.cleanup()
        # Bolt runs listeners in tasks of their own after the ack; let them finish.
        pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        if pending:
            await asyncio.wait(pending, timeout=5.0)
        await self.session.close()
        return {}


class Full:
    """Breakthrough's Slack bot, as ``breakthrough slack`` builds it."""

    def __init__(
        self, api_url: str, db_url: str, pg_schema: str | None, count_sql: bool = False
    ) -> None:
        self.api_url = api_url
        self.db_url = db_url
        self.pg_schema = pg_schema
        self.count_sql = count_sql
        self.statements: Counter[str] = Counter()
        self._tmp = tempfile.TemporaryDirectory(prefix="bench-slack-bot-")
        self.service: Any = None
        self.runtime: Any = None

    async def serve(self, port: int) -> int:
        from bots.runtime import Runtime
        from bots.settings import Settings
        from bots.slack import SlackConfig, SlackService
        from core.ports import SystemClock
        from core.store.repository import SqlStore

        store = None
        if self.pg_schema:
            store = await SqlStore.open(
                self.db_url, connect_args={"server_settings": {"search_path": self.pg_schema}}
            )
        settings = Settings(database_url=self.db_url, data_dir=Path(self._tmp.name), tz="UTC")
        self.runtime = await Runtime.open(settings, clock=SystemClock(), store=store)
        if self.count_sql:
            self._count_statements(self.runtime.store.engine.sync_engine)
        config = SlackConfig(
            bot_token=BOT_TOKEN,
            signing_secret=SIGNING_SECRET,
            api_url=self.api_url,
            pacing=False,
        )
        self.service = await SlackService.build(self.runtime, config)
        await self.service.serve(host="127.0.0.1", port=port)
        return int(self.service.port)

    def _count_statements(self, engine: Any) -> None:
        """Count what reaches the database driver, by kind and table (a diagnostic)."""
        from sqlalchemy import event

        def executed(
            conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool
        ) -> None:
            match = _STATEMENT.search(statement)
            kind = statement.split(None, 1)[0].upper() if statement.strip() else "?"
            table = match.group(1) if match else ""
            self.statements[f"{kind} {table}{' (executemany)' if many else ''}".strip()] += 1

        def count(name: str) -> Any:
            def counted(*_args: Any) -> None:
                self.statements[name] += 1

            return counted

        event.listen(engine, "before_cursor_execute", executed)
        event.listen(engine, "commit", count("COMMIT"))
        event.listen(engine.pool, "connect", count("pool: new connection"))
        event.listen(engine.pool, "checkout", count("pool: checkout"))
        if engine.dialect.name == "sqlite":
            # Every call aiosqlite hands to its connection's thread and awaits back.
            import aiosqlite.core

            original = aiosqlite.core.Connection._execute

            async def hop(conn: Any, fn: Any, *args: Any, **kwargs: Any) -> Any:
                self.statements["aiosqlite: thread hand-off"] += 1
                return await original(conn, fn, *args, **kwargs)

            aiosqlite.core.Connection._execute = hop  # type: ignore[method-assign,assignment]

    async def close(self) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        if self.count_sql:
            extra["statements"] = dict(self.statements)
        if self.service is not None:
            await self.service.close()
            extra["handler_failures"] = self.service.bot.failures
        if self.runtime is not None:
            await self.runtime.close()
        self._tmp.cleanup()
        return extra


async def run(args: argparse.Namespace) -> dict[str, Any]:
    bot: Echo | Full
    if args.mode == "echo":
        bot = Echo(args.api_url)
    else:
        bot = Full(args.api_url, args.db, args.pg_schema, args.count_sql)
    port = await bot.serve(args.port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    profiler = cProfile.Profile() if args.profile else None
    if profiler is not None:
        profiler.enable()
    cpu0 = time.process_time()
    sys.stdout.write(f"ready {port}\n")
    sys.stdout.flush()
    await stop.wait()
    cpu = time.process_time() - cpu0
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(args.profile)
    result: dict[str, Any] = {"mode": args.mode, "cpu_s_serving": cpu}
    result.update(await bot.close())
    result["peak_rss_mb"] = rss_mb("VmHWM")
    result["rss_mb"] = rss_mb()
    result["ru_maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.slack_bot",
        description="The Slack bot under test in bench.slack (a bare Bolt echo, or ours).",
    )
    parser.add_argument("--mode", choices=("echo", "full"), required=True)
    parser.add_argument("--port", type=int, default=0, help="HTTP port (0: any free one)")
    parser.add_argument("--api-url", required=True, help="Web API base URL (the fake Slack)")
    parser.add_argument("--db", default="", help="database URL (full mode)")
    parser.add_argument("--pg-schema", default=None, help="PostgreSQL schema (search_path)")
    parser.add_argument("--profile", default=None, help="write a cProfile of serving here")
    parser.add_argument(
        "--count-sql", action="store_true", help="count SQL statements by kind (full mode)"
    )
    args = parser.parse_args(argv)
    if args.mode == "full" and not args.db:
        parser.error("--mode full needs --db")
    logging.basicConfig(
        level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s"
    )
    result = asyncio.run(run(args))
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
