"""``breakthrough slack``: the Slack bot, wired on the shared runtime, and its server.

:class:`SlackService` is built the same way by the program and by the tests (which
point ``api_url`` at a local fake of Slack), so what the tests run is what ships:

* Socket Mode when an app token (``SLACK_APP_TOKEN``) is set: no public URL needed;
* otherwise HTTP on ``--port``: ``POST /slack/events`` for events, commands and
  interactivity, which several replicas behind a load balancer can share;
* with ``SLACK_CLIENT_ID``/``SLACK_CLIENT_SECRET``: OAuth install in many workspaces
  (``GET /slack/install``), tokens in the bot's database.

On SIGTERM (:mod:`bots.shutdown`) it stops taking requests first: HTTP closes its
listening socket (Slack retries an event elsewhere; a load balancer moves on), Socket
Mode stops acknowledging envelopes, lets the acknowledgements under way go out and
disconnects (Slack sends what was not acknowledged to another connection). Then the
turns already acknowledged finish and the nudge dispatcher stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any, Final

import aiohttp
from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.app import SlackBot
from adapters.slack.install import (
    Installations,
    SingleWorkspace,
    UninstallListener,
    oauth_settings,
)
from adapters.slack.messenger import SlackMessenger
from adapters.slack.people import SlackPeople
from bots.runtime import Runtime
from bots.settings import Settings
from bots.shutdown import EXIT_CUT_SHORT, Shutdown, drain
from core.schedule.dispatcher import Dispatcher
from core.schedule.pacing import Pacer, pacer_for
from core.store.events import SqlEventLog

__all__ = ["SlackConfig", "SlackConfigError", "SlackService", "run_slack"]

_log = logging.getLogger(__name__)

_ACK_WAIT: Final = 3.0
"""Seconds Slack waits for an acknowledgement: the most a request under way needs."""


class SlackConfigError(ValueError):
    """The Slack settings cannot start a bot; the message says what to set."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SlackConfig:
    """What the Slack bot needs; :meth:`from_settings` reads it from the environment."""

    bot_token: str | None = None
    app_token: str | None = None
    signing_secret: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    redirect_uri: str | None = None
    api_url: str = "https://slack.com/api/"
    pacing: bool = True

    @classmethod
    def from_settings(cls, settings: Settings) -> SlackConfig:
        def secret(value: Any) -> str | None:
            return value.get_secret_value() if value is not None else None

        return cls(
            bot_token=secret(settings.slack_bot_token),
            app_token=secret(settings.slack_app_token),
            signing_secret=secret(settings.slack_signing_secret),
            client_id=settings.slack_client_id,
            client_secret=secret(settings.slack_client_secret),
            redirect_uri=settings.slack_redirect_uri,
            api_url=settings.slack_api_url,
        )

    @property
    def oauth(self) -> bool:
        return bool(self.client_id and self.client_secret)

    @property
    def socket_mode(self) -> bool:
        return bool(self.app_token)

    def check(self) -> None:
        """Raise :class:`SlackConfigError` naming what is missing."""
        if self.oauth and self.socket_mode:
            raise SlackConfigError(
                "OAuth install (SLACK_CLIENT_ID/SECRET) needs HTTP mode: unset SLACK_APP_TOKEN."
            )
        if not self.oauth and not self.bot_token:
            raise SlackConfigError(
                "Set SLACK_BOT_TOKEN (xoxb-…) for one workspace, or SLACK_CLIENT_ID and "
                "SLACK_CLIENT_SECRET to let workspaces install the app."
            )
        if not self.socket_mode and not self.signing_secret:
            raise SlackConfigError(
                "HTTP mode needs SLACK_SIGNING_SECRET (Basic Information → App Credentials), "
                "or set SLACK_APP_TOKEN (xapp-…) to use Socket Mode instead."
            )
        if not self.api_url.endswith("/"):
            raise SlackConfigError(
                "SLACK_API_URL must end with a slash, e.g. https://slack.com/api/"
            )


class _SocketMode(AsyncSocketModeHandler):
    """Socket Mode that can stop acknowledging envelopes before it disconnects.

    slack_sdk handles each envelope in a task of its own that ``close`` does not wait
    for: closing at once could drop the acknowledgement of an envelope whose turn has
    already started, and Slack would then send it again (to another replica).
    """

    def __init__(self, app: AsyncApp, app_token: str, *, web_client: AsyncWebClient) -> None:
        super().__init__(app, app_token, web_client=web_client)
        self._refusing = False
        self._handling = 0
        self._idle = asyncio.Event()
        self._idle.set()

    async def handle(self, client: SocketModeClient, req: SocketModeRequest) -> None:  # type: ignore[override]
        if self._refusing:
            return  # not acknowledged: Slack sends it again, to a connection that stays
        self._handling += 1
        self._idle.clear()
        try:
            await super().handle(client, req)
        finally:
            self._handling -= 1
            if not self._handling:
                self._idle.set()

    async def close_gracefully(self) -> None:
        """Acknowledge nothing more, let the acknowledgements under way go, disconnect."""
        self._refusing = True
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(_ACK_WAIT):
                await self._idle.wait()
        await self.close_async()


@dataclass(slots=True, kw_only=True)
class SlackService:
    """The Bolt app, our listeners on it, and the dispatcher sending nudges through it."""

    runtime: Runtime
    config: SlackConfig
    app: AsyncApp
    bot: SlackBot
    messenger: SlackMessenger
    dispatcher: Dispatcher
    session: aiohttp.ClientSession
    _socket: _SocketMode | None = None
    _runner: web.AppRunner | None = None
    _closers: list[Any] = field(default_factory=list)

    @classmethod
    async def build(
        cls, runtime: Runtime, config: SlackConfig, *, pacer: Pacer | None = None
    ) -> SlackService:
        """Wire the Slack bot on ``runtime`` (nothing is listening until :meth:`serve`)."""
        config.check()
        session = aiohttp.ClientSession()
        client = AsyncWebClient(token=config.bot_token, base_url=config.api_url, session=session)
        uninstall: UninstallListener | None = None
        if config.oauth:
            assert config.client_id and config.client_secret
            settings, installations, states = oauth_settings(
                engine=runtime.store.engine,
                client_id=config.client_id,
                client_secret=config.client_secret,
                redirect_uri=config.redirect_uri,
            )
            await installations.create_tables()
            await states.create_tables()
            clients: SingleWorkspace | Installations = Installations(
                installations, base_url=config.api_url, session=session
            )
            app = AsyncApp(
                signing_secret=config.signing_secret,
                client=client,
                oauth_settings=settings,
            )
        else:
            clients = SingleWorkspace(client)
            app = AsyncApp(
                signing_secret=config.signing_secret or "",
                client=client,
                # Socket Mode requests are not signed; Bolt skips the check for them.
                request_verification_enabled=not config.socket_mode,
            )
        if pacer is None:
            pacer = pacer_for("slack") if config.pacing else Pacer.disabled()
        messenger = SlackMessenger(
            clients,
            pacer=pacer,
            clock=runtime.clock,
            tz_default=runtime.settings.tz,
            telemetry=runtime.telemetry,
        )

        async def chosen_tz(owner: str) -> str | None:
            return (await runtime.accountability.preferences(owner)).tz

        people = SlackPeople(clients, chosen_tz=chosen_tz)
        bot = SlackBot(
            app,
            coach=runtime.coach,
            accountability=runtime.accountability,
            team=runtime.team,
            privacy=runtime.privacy,
            messenger=messenger,
            people=people,
            events=SqlEventLog(runtime.store),
            clock=runtime.clock,
        )
        bot.tasks.telemetry = runtime.telemetry
        if config.oauth:

            def forget(workspace: str) -> None:
                clients.forget(workspace)
                messenger.forget_workspace(workspace)
                people.forget_workspace(workspace)

            uninstall = UninstallListener(installations, forget)

            # Tracked like every other request, so a shutdown right after the
            # acknowledgement still deletes the tokens (Slack will not send it again).
            async def on_uninstalled(context: AsyncBoltContext) -> None:
                bot.track(uninstall.app_uninstalled(context), "app_uninstalled")

            async def on_revoked(event: dict[str, Any], context: AsyncBoltContext) -> None:
                bot.track(uninstall.tokens_revoked(event, context), "tokens_revoked")

            app.event("app_uninstalled")(on_uninstalled)
            app.event("tokens_revoked")(on_revoked)
        dispatcher = runtime.dispatcher(messenger, pacing=None)
        return cls(
            runtime=runtime,
            config=config,
            app=app,
            bot=bot,
            messenger=messenger,
            dispatcher=dispatcher,
            session=session,
        )

    async def serve(self, *, host: str = "0.0.0.0", port: int = 3000) -> str:
        """Start listening (Socket Mode or HTTP) and the nudge dispatcher; say where."""
        await self.dispatcher.start(poll_seconds=self.runtime.settings.poll_seconds)
        if self.config.socket_mode:
            assert self.config.app_token
            self._socket = _SocketMode(self.app, self.config.app_token, web_client=self.app.client)
            await self._socket.connect_async()
            return "Slack Socket Mode"
        self._runner = web.AppRunner(
            self.app.web_app(path="/slack/events"),
            # Requests under way at shutdown only need their acknowledgement (the turn
            # runs afterwards, tracked): Slack waits 3 s for one.
            shutdown_timeout=_ACK_WAIT,
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound = self._runner.addresses[0] if self._runner.addresses else (host, port)
        return f"http://{bound[0]}:{bound[1]}/slack/events"

    async def connected(self) -> bool:
        """Whether Slack can reach us: Socket Mode's socket is up, or HTTP is listening."""
        if self._socket is not None:
            return bool(await self._socket.client.is_connected())
        return self._runner is not None

    @property
    def port(self) -> int:
        """The HTTP port actually bound (``port=0`` picks a free one)."""
        assert self._runner is not None and self._runner.addresses
        return int(self._runner.addresses[0][1])

    async def close(self, shutdown: Shutdown | None = None) -> bool:
        """Stop taking requests, finish the ones taken, stop nudges, release the client.

        With ``shutdown`` the wait is bounded by its grace (or a second signal), and
        what is left then is cut short; returns whether nothing was.
        """
        self.dispatcher.begin_stop()
        if self._socket is not None:
            await self._socket.close_gracefully()
        if self._runner is not None:
            await self._runner.cleanup()
        finished = await drain(self.bot.tasks, self.dispatcher, shutdown)
        await self.session.close()
        return finished


async def run_slack(settings: Settings, runtime: Runtime, *, host: str, port: int) -> int:
    """Run until SIGINT or SIGTERM; the exit code of ``breakthrough slack``."""
    config = SlackConfig.from_settings(settings)
    runtime.health.expect_platform("slack")
    try:
        service = await SlackService.build(runtime, config)
    except SlackConfigError as exc:
        print(f"Slack is not configured: {exc}")
        return 2
    shutdown = Shutdown(settings.shutdown_grace_seconds)
    shutdown.on_request(runtime.health.shutting_down)
    shutdown.install()
    finished = False
    try:
        where = await service.serve(host=host, port=port)
        runtime.health.platform_connected(service.connected)
        print(f"Breakthrough is listening on {where}. Press Ctrl-C to stop.", flush=True)
        await shutdown.requested.wait()
    finally:
        finished = await service.close(shutdown)
        shutdown.remove()
    return 0 if finished else EXIT_CUT_SHORT
