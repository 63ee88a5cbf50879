"""The bot under test in ``bench.discord``, run as a process of its own.

``python -m bench.discord_bot --mode echo|full --api-url URL --gateway-url URL --token T
[--db URL --pg-schema S]`` logs in to the REST API at ``--api-url`` and connects to the
gateway at ``--gateway-url`` (both the load generator's fake Discord on 127.0.0.1). It
runs apart from the load generator so that, on a machine with two cores, the bot has one
to itself and the load it is given does not take its CPU.

* ``echo``: a bare ``discord.Client`` (intents: guilds, guild messages, message content)
  whose ``on_message`` ignores bots and sends the text back with
  ``message.channel.send``. This is the yardstick: the same gateway parsing, the same
  message objects and the same REST client as ours, and nothing else.
* ``full``: Breakthrough's own Discord bot, wired by :class:`~bots.discord.DiscordService`
  on :class:`~bots.runtime.Runtime` exactly as ``breakthrough discord`` wires it, with
  the message content intent on (typed answers are read from the thread) and
  ``guild_ready_timeout=0.05`` (one server: nothing more to wait for before READY).

It prints ``ready`` on stdout once the client is connected and ready. On SIGTERM it
closes the gateway, finishes what it took, and prints one JSON line (peak RSS, CPU
seconds, and with ``--profile`` where the profile went) before it exits. Logging goes
to stderr at WARNING, which the load generator keeps and summarises.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import logging
import resource
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import discord
import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

from bench.slack_bot import Full as SlackFull
from bench.slack_bot import rss_mb

GUILD_READY_TIMEOUT = 0.05
"""discord.py waits this long for more servers after READY; the fake has one."""


async def connected(client: discord.Client, token: str) -> asyncio.Task[None]:
    """Log in, connect in the background, return the connection's task once ready.

    If the connection ends before READY, its error is raised here.
    """
    await client.login(token)
    task = asyncio.create_task(client.connect(reconnect=True), name="discord gateway")
    ready = asyncio.create_task(client.wait_until_ready())
    await asyncio.wait({ready, task}, return_when=asyncio.FIRST_COMPLETED)
    if not ready.done():
        ready.cancel()
        await task
        raise RuntimeError("the gateway connection ended before READY")
    return task


class Echo:
    """A bare discord.py client: post every person's message back where it came from."""

    def __init__(self, api_url: str, gateway_url: str, token: str) -> None:
        # Where discord.py sends REST calls and dials the gateway (class attributes, as
        # FakeDiscord.patch_discord_py and bots.discord.point_discord_py_at set them).
        Route.BASE = api_url.rstrip("/")
        DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)
        intents = discord.Intents.none()
        intents.guilds = True
        intents.guild_messages = True
        intents.message_content = True
        self.client = discord.Client(intents=intents, guild_ready_timeout=GUILD_READY_TIMEOUT)
        self.client.event(self.on_message)
        self.token = token
        self._task: asyncio.Task[None] | None = None

    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot:
            return
        await message.channel.send(message.content)

    async def serve(self) -> None:
        self._task = await connected(self.client, self.token)

    async def close(self) -> dict[str, Any]:
        await self.client.close()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
        # discord.py runs each on_message in a task of its own; let them finish.
        pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        if pending:
            await asyncio.wait(pending, timeout=5.0)
        return {}


class Full(SlackFull):
    """Breakthrough's Discord bot, as ``breakthrough discord`` builds it.

    Shares the runtime set-up, the SQL statement counter and the closing with the Slack
    bench's bot (``service.close()``, ``service.bot.failures``, ``runtime.close()``).
    """

    def __init__(
        self,
        api_url: str,
        gateway_url: str,
        token: str,
        db_url: str,
        pg_schema: str | None,
        count_sql: bool = False,
    ) -> None:
        super().__init__(api_url, db_url, pg_schema, count_sql)
        self.gateway_url = gateway_url
        self.token = token

    async def serve(self, port: int = 0) -> int:
        from bots.discord import DiscordConfig, DiscordService
        from bots.runtime import Runtime
        from bots.settings import Settings
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
        config = DiscordConfig(
            token=self.token,
            message_content=True,
            api_url=self.api_url,
            gateway_url=self.gateway_url,
        )
        self.service = DiscordService.build(
            self.runtime, config, guild_ready_timeout=GUILD_READY_TIMEOUT
        )
        await self.service.start()
        return 0


async def run(args: argparse.Namespace) -> dict[str, Any]:
    bot: Echo | Full
    if args.mode == "echo":
        bot = Echo(args.api_url, args.gateway_url, args.token)
        await bot.serve()
    else:
        bot = Full(
            args.api_url, args.gateway_url, args.token, args.db, args.pg_schema, args.count_sql
        )
        await bot.serve()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    profiler = cProfile.Profile() if args.profile else None
    if profiler is not None:
        profiler.enable()
    cpu0 = time.process_time()
    sys.stdout.write("ready\n")
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
        prog="python -m bench.discord_bot",
        description="The Discord bot under test in bench.discord (a bare discord.py echo, "
        "or ours).",
    )
    parser.add_argument("--mode", choices=("echo", "full"), required=True)
    parser.add_argument("--api-url", required=True, help="REST base URL (the fake Discord)")
    parser.add_argument("--gateway-url", required=True, help="gateway URL (the fake Discord)")
    parser.add_argument("--token", required=True, help="the bot token the fake expects")
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
