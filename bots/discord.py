"""``breakthrough discord``: the Discord bot, wired on the shared runtime, and its gateway.

:class:`DiscordService` is built the same way by the program and by the tests (which
point ``api_url`` and ``gateway_url`` at a local fake of Discord), so what the tests run
is what ships. Start-up follows discord.py's ``advanced_startup`` example: dependencies
are passed in, the nudge dispatcher starts in ``setup_hook``, and the lifetime is one
``async with``.

Sharding (:mod:`bots.shards`): with ``DISCORD_SHARD_COUNT`` the client is discord.py's
``AutoShardedClient`` running ``DISCORD_SHARD_IDS`` (default: every shard) in this
process, so replicas can split the gateway by shard range over one PostgreSQL. Without
it, one plain ``Client`` connection serves every server, as Discord asks of bots in
fewer than 2,500 servers. Nudges are not tied to shards: whichever replica claims one
sends it over REST, and a DM needs no gateway connection to the person's server.

On SIGTERM (:mod:`bots.shutdown`) the gateway stays connected while the turns already
taken finish (their follow-ups need the client's HTTP session, which ``Client.close``
closes): meanwhile a new command or button is answered "restarting, try again", and a
message in a session thread is left for the next start's read-back (see
:meth:`~adapters.discord.app.DiscordBot.reconcile`).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any, Final

import discord
import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

from adapters.discord.app import DiscordBot
from adapters.discord.messenger import NO_MENTIONS, DiscordMessenger
from bots.runtime import Runtime
from bots.settings import Settings
from bots.shards import ShardError, Shards, parse_shards
from bots.shutdown import EXIT_CUT_SHORT, Shutdown, drain
from core.schedule.dispatcher import Dispatcher

__all__ = [
    "DiscordConfig",
    "DiscordConfigError",
    "DiscordService",
    "point_discord_py_at",
    "run_discord",
    "sync_commands",
]

_log = logging.getLogger(__name__)

_SHARDING_REQUIRED: Final = 4011
"""The gateway's close code for a bot in too many servers for one connection."""

MAX_RATELIMIT_WAIT = 30.0
"""A rate limit longer than this raises ``discord.RateLimited`` instead of sleeping: a
nudge goes back to the dispatcher, a reply waits it out (see the messenger)."""


class DiscordConfigError(ValueError):
    """The Discord settings cannot start a bot; the message says what to set."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DiscordConfig:
    """What the Discord bot needs; :meth:`from_settings` reads it from the environment."""

    token: str | None = None
    message_content: bool = False
    api_url: str | None = None
    gateway_url: str | None = None
    shard_count: int | None = None
    shard_ids: str | None = None
    """As written in ``DISCORD_SHARD_IDS`` (``0-3``, ``0,2``); :attr:`shards` reads it."""

    @classmethod
    def from_settings(cls, settings: Settings) -> DiscordConfig:
        token = settings.discord_token
        return cls(
            token=token.get_secret_value() if token is not None else None,
            message_content=settings.discord_message_content,
            api_url=settings.discord_api_url,
            gateway_url=settings.discord_gateway_url,
            shard_count=settings.discord_shard_count,
            shard_ids=settings.discord_shard_ids,
        )

    @property
    def shards(self) -> Shards:
        """The shards this process runs (raises :class:`DiscordConfigError` if unusable)."""
        try:
            return parse_shards(self.shard_count, self.shard_ids)
        except ShardError as exc:
            raise DiscordConfigError(str(exc)) from None

    def check(self) -> None:
        """Raise :class:`DiscordConfigError` naming what is missing."""
        if not self.token:
            raise DiscordConfigError(
                "Set DISCORD_TOKEN (Developer Portal → your application → Bot → Reset Token)."
            )
        _ = self.shards


def point_discord_py_at(*, api_url: str | None, gateway_url: str | None) -> None:
    """Send discord.py's REST calls and gateway connection to other addresses.

    discord.py keeps both as class attributes (``Route.BASE`` and
    ``DiscordWebSocket.DEFAULT_GATEWAY``; ``Client.connect`` does not ask ``/gateway/bot``
    for the address), so this applies to every client in the process.
    """
    if api_url:
        Route.BASE = api_url.rstrip("/")
    if gateway_url:
        DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)


def intents_for(config: DiscordConfig) -> discord.Intents:
    """Guilds (threads), guild and DM messages, and message content when configured."""
    intents = discord.Intents.none()
    intents.guilds = True
    intents.guild_messages = True
    intents.dm_messages = True
    intents.message_content = config.message_content
    return intents


class _StartsNudges:
    """Starts the nudge dispatcher once the client is logged in (``setup_hook``)."""

    dispatcher: Dispatcher | None = None
    poll_seconds: float = 30.0

    async def setup_hook(self) -> None:
        if self.dispatcher is not None:
            await self.dispatcher.start(poll_seconds=self.poll_seconds)


class _Client(_StartsNudges, discord.Client):
    """One gateway connection for every server (no shard settings)."""


class _ShardedClient(_StartsNudges, discord.AutoShardedClient):
    """The shards of ``DISCORD_SHARD_IDS`` (of ``DISCORD_SHARD_COUNT``), one connection each."""


@dataclass(slots=True, kw_only=True)
class DiscordService:
    """The discord.py client, our listeners on it, and the dispatcher sending nudges."""

    runtime: Runtime
    config: DiscordConfig
    client: _Client | _ShardedClient
    bot: DiscordBot
    messenger: DiscordMessenger
    dispatcher: Dispatcher
    _task: asyncio.Task[None] | None = None

    @classmethod
    def build(
        cls, runtime: Runtime, config: DiscordConfig, *, guild_ready_timeout: float = 2.0
    ) -> DiscordService:
        """Wire the Discord bot on ``runtime`` (nothing connects until :meth:`start`).

        ``guild_ready_timeout`` is how long discord.py waits for more servers to stream in
        before it calls itself ready (its default; tests with one server shorten it).
        """
        config.check()
        point_discord_py_at(api_url=config.api_url, gateway_url=config.gateway_url)
        options: dict[str, Any] = {
            "intents": intents_for(config),
            "allowed_mentions": NO_MENTIONS,
            "max_ratelimit_timeout": MAX_RATELIMIT_WAIT,
            "guild_ready_timeout": guild_ready_timeout,
        }
        shards = config.shards
        client: _Client | _ShardedClient
        if shards.sharded:
            if shards.ids is not None:
                options["shard_ids"] = list(shards.ids)
            client = _ShardedClient(shard_count=shards.count, **options)
        else:
            client = _Client(**options)
        messenger = DiscordMessenger(
            client,
            clock=runtime.clock,
            tz_default=runtime.settings.tz,
            answer_button=not config.message_content,
            telemetry=runtime.telemetry,
        )
        bot = DiscordBot(
            client,
            coach=runtime.coach,
            accountability=runtime.accountability,
            team=runtime.team,
            privacy=runtime.privacy,
            messenger=messenger,
            clock=runtime.clock,
            content_intent=config.message_content,
        )
        messenger.fallback = bot.fallback_place
        bot.tasks.telemetry = runtime.telemetry
        dispatcher = runtime.dispatcher(messenger)
        client.dispatcher = dispatcher
        client.poll_seconds = runtime.settings.poll_seconds
        return cls(
            runtime=runtime,
            config=config,
            client=client,
            bot=bot,
            messenger=messenger,
            dispatcher=dispatcher,
        )

    async def start(self) -> None:
        """Log in and connect to the gateway in the background; return once ready."""
        assert self.config.token
        await self.client.login(self.config.token)
        self._task = asyncio.create_task(self._connect(), name="discord gateway")
        ready = asyncio.create_task(self.client.wait_until_ready())
        await asyncio.wait({ready, self._task}, return_when=asyncio.FIRST_COMPLETED)
        if not ready.done():
            ready.cancel()
            await self._task  # the connection ended before READY: raise why

    async def _connect(self) -> None:
        await self.client.connect(reconnect=True)

    async def connected(self) -> bool:
        """Whether the gateway connection is up (it may drop and resume at any time)."""
        client: discord.Client = self.client
        if not client.is_ready() or client.is_closed():
            return False
        if isinstance(client, discord.AutoShardedClient):  # every shard this process runs
            shards = client.shards.values()
            return bool(shards) and not any(shard.is_closed() for shard in shards)
        ws = client.ws
        return ws is not None and ws.open

    async def wait_closed(self) -> None:
        """Until the gateway connection ends for good."""
        if self._task is not None:
            await self._task

    async def close(self, shutdown: Shutdown | None = None) -> bool:
        """Take no new work, finish what was taken and the nudges under way, disconnect.

        With ``shutdown`` the wait is bounded by its grace (or a second signal), and
        what is left then is cut short; returns whether nothing was.
        """
        self.bot.stopping = True
        finished = await drain(self.bot.tasks, self.dispatcher, shutdown)
        await self.client.close()
        if self._task is not None:
            try:
                await self._task
            except Exception as exc:  # already reported by discord.py
                _log.info("the Discord connection ended: %s", exc.__class__.__name__)
        return finished


async def sync_commands(config: DiscordConfig, runtime: Runtime, *, guild: int | None) -> int:
    """Register ``/breakthrough`` with Discord (in one server at once, or everywhere)."""
    service = DiscordService.build(runtime, config)
    assert config.token
    try:
        await service.client.login(config.token)
        target = discord.Object(id=guild) if guild else None
        if target is not None:
            service.bot.tree.copy_global_to(guild=target)
        synced = await service.bot.tree.sync(guild=target)
    finally:
        await service.client.close()
    where = f"server {guild}" if guild else "every server (may take up to an hour to show)"
    names = ", ".join(f"/{c.name}" for c in synced)
    print(f"Registered {names} with {len(_subcommands(synced))} subcommands in {where}.")
    return 0


def _subcommands(synced: list[Any]) -> list[Any]:
    return [o for c in synced for o in getattr(c, "options", [])]


async def run_discord(settings: Settings, runtime: Runtime) -> int:
    """Run until SIGINT or SIGTERM; the exit code of ``breakthrough discord``."""
    config = DiscordConfig.from_settings(settings)
    runtime.health.expect_platform("discord")
    try:
        service = DiscordService.build(runtime, config)
    except DiscordConfigError as exc:
        print(f"Discord is not configured: {exc}")
        return 2
    shutdown = Shutdown(settings.shutdown_grace_seconds)
    shutdown.on_request(runtime.health.shutting_down)
    shutdown.install()
    finished = False
    try:
        try:
            await service.start()
        except discord.LoginFailure:
            print("Discord refused the token: check DISCORD_TOKEN.")
            return 2
        except discord.PrivilegedIntentsRequired:
            print(
                "DISCORD_MESSAGE_CONTENT is on but the Message Content intent is not enabled "
                "for this bot: switch it on in the Developer Portal (Bot → Privileged Gateway "
                "Intents), or unset DISCORD_MESSAGE_CONTENT."
            )
            return 2
        except discord.ConnectionClosed as exc:
            if exc.code != _SHARDING_REQUIRED:
                raise
            print(
                "Discord says this bot is in too many servers for one connection: set "
                "DISCORD_SHARD_COUNT (about one shard per 1,000 servers)."
            )
            return 2
        runtime.health.platform_connected(service.connected)
        print("Breakthrough is connected to Discord. Press Ctrl-C to stop.", flush=True)
        closed = asyncio.create_task(service.wait_closed())
        stopping = asyncio.create_task(shutdown.requested.wait())
        await asyncio.wait({closed, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
    finally:
        runtime.health.shutting_down()  # also when the connection ended by itself
        finished = await service.close(shutdown)
        shutdown.remove()
    return 0 if finished else EXIT_CUT_SHORT
