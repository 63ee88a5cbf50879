"""Posting rendered intents to Slack: threads, DMs, uploads, pacing and rate limits.

One object sends everything the bot says in Slack, replies within a turn and nudges from
the dispatcher alike, so one pacer sees every ``chat.postMessage`` to a channel (Slack
allows about one a second per channel) and one Retry-After holds them all.

A 429 is waited out and the same message sent again: a reply is never dropped. A wait
longer than ``max_wait`` (a nudge can wait, a person typing in a thread should not
hold a dispatcher slot) is handed back to the caller as
:class:`~core.errors.DeliveryDeferred`, which the dispatcher turns into a later retry. An
error Slack will repeat forever (a DM that cannot be opened, a channel that is gone) is
:class:`~core.errors.DeliveryRefused`: recorded by the dispatcher, never retried.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Protocol

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.render import SlackMessage, SlackUpload, render
from core.dialogue.intents import DirectMessage, Image, Intent
from core.dialogue.model import Place
from core.errors import DeliveryDeferred, DeliveryRefused
from core.ports import Clock
from core.schedule.accountability import DM_CHANNEL_PREFIX
from core.schedule.pacing import Pacer
from core.telemetry import NO_TELEMETRY, Telemetry

__all__ = [
    "DM_PREFIX",
    "PERMANENT_ERRORS",
    "SESSION_BLOCK_PREFIX",
    "ClientSource",
    "Posted",
    "SlackMessenger",
    "session_from_block_id",
]

_log = logging.getLogger(__name__)

DM_PREFIX: Final = DM_CHANNEL_PREFIX
"""A :class:`Place` channel naming a person's DM, e.g. ``dm:U123`` (see ``dm_place``)."""

SESSION_BLOCK_PREFIX: Final = "bt|"
"""Block ids ``bt|<session id>|<n>`` tie a DM check-in's buttons to their session."""

PERMANENT_ERRORS: Final = frozenset(
    {
        "account_inactive",
        "cannot_dm_bot",
        "channel_not_found",
        "invalid_auth",
        "is_archived",
        "messages_tab_disabled",
        "missing_scope",
        "no_permission",
        "not_allowed_token_type",
        "not_authed",
        "not_in_channel",
        "restricted_action",
        "team_access_not_granted",
        "token_revoked",
        "user_disabled",
        "user_not_found",
        "user_not_visible",
    }
)
"""Slack errors that sending again will not cure."""

_DM_CACHE_SIZE: Final = 10_000


class ClientSource(Protocol):
    """The Web API client holding the bot token of a workspace (one, or per install)."""

    async def client_for(self, workspace: str) -> AsyncWebClient: ...


@dataclass(frozen=True, slots=True)
class Posted:
    """Where one message went: enough to reply in its thread or update it."""

    channel: str
    ts: str


def session_from_block_id(block_id: str) -> str | None:
    """The session id a DM check-in's block carries, or ``None`` for any other block."""
    if not block_id.startswith(SESSION_BLOCK_PREFIX):
        return None
    session_id = block_id[len(SESSION_BLOCK_PREFIX) :].rpartition("|")[0]
    return session_id or None


class SlackMessenger:
    """Implements :class:`~core.ports.Messenger` for Slack; see the module docstring."""

    def __init__(
        self,
        clients: ClientSource,
        *,
        pacer: Pacer,
        clock: Clock,
        tz_default: str = "UTC",
        max_wait: float = 30.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        telemetry: Telemetry = NO_TELEMETRY,
    ) -> None:
        self.clients = clients
        self.telemetry = telemetry
        self.pacer = pacer
        self.clock = clock
        self.tz_default = tz_default
        self.max_wait = max_wait
        self._sleep = sleep
        self._dm_channels: OrderedDict[tuple[str, str], str] = OrderedDict()

    # -- the Messenger port --------------------------------------------------------------

    async def deliver(self, intents: Sequence[Intent]) -> None:
        """Send nudges (the dispatcher): a long Retry-After is handed back to it."""
        await self.send(intents, max_wait=self.max_wait)

    async def send(
        self, intents: Sequence[Intent], *, max_wait: float = math.inf, now: datetime | None = None
    ) -> list[Posted]:
        """Render and post ``intents`` in order; return where each message went."""
        if not intents:
            return []
        now = now or self.clock.now()
        if any(isinstance(i, Image) for i in intents):
            # Drawing a picture costs ~10 ms of CPU: keep it off the event loop.
            rendered = await asyncio.to_thread(render, intents, tz_default=self.tz_default, now=now)
        else:
            rendered = render(intents, tz_default=self.tz_default, now=now)
        posted: list[Posted] = []
        for item in rendered:
            posted.append(await self._send_one(item, max_wait=max_wait))
        return posted

    async def post_text(
        self, workspace: str, channel: str, text: str, *, thread_ts: str | None = None
    ) -> Posted:
        """Post ``text`` (our own words, already safe: it is not escaped again) as is.

        Used for a session's root message, whose ``<@U…>`` must stay a mention.
        """
        client = await self.clients.client_for(workspace)
        args: dict[str, Any] = {"channel": channel, "text": text}
        if thread_ts:
            args["thread_ts"] = thread_ts

        async def call() -> Any:
            return await client.chat_postMessage(**args)

        response = await self._call(call, channel=channel, workspace=workspace, wait=math.inf)
        return Posted(channel=str(response.get("channel") or channel), ts=str(response["ts"]))

    # -- one message ---------------------------------------------------------------------

    async def _send_one(self, item: SlackMessage | SlackUpload, *, max_wait: float) -> Posted:
        workspace, channel, thread_ts, session_id = await self._route(item.to)
        client = await self.clients.client_for(workspace)
        if isinstance(item, SlackMessage):
            blocks = _tag_blocks(item.blocks, session_id) if session_id else item.blocks
            args: dict[str, Any] = {"channel": channel, "text": item.text, "blocks": blocks}
            if thread_ts:
                args["thread_ts"] = thread_ts

            async def call() -> Any:
                return await client.chat_postMessage(**args)

        else:
            upload = item

            async def call() -> Any:
                return await client.files_upload_v2(
                    channel=channel,
                    thread_ts=thread_ts,
                    content=upload.content,
                    filename=upload.filename,
                    title=upload.title,
                    alt_txt=upload.alt if upload.kind == "image" else None,
                )

        response = await self._call(call, channel=channel, workspace=workspace, wait=max_wait)
        ts = str(response.get("ts") or "") if isinstance(item, SlackMessage) else ""
        return Posted(channel=str(response.get("channel") or channel), ts=ts)

    async def _call(
        self, call: Callable[[], Awaitable[Any]], *, channel: str, workspace: str, wait: float
    ) -> Any:
        """Make ``call`` paced; wait out 429s up to ``wait`` seconds in all."""
        waited = 0.0
        while True:
            await self.pacer.acquire(channel, workspace)
            try:
                return await call()
            except SlackApiError as exc:
                status = exc.response.status_code
                error = str(exc.response.get("error") or "")
                if status == 429 or error == "ratelimited":
                    self.telemetry.platform_error(platform="slack", what="rate_limited")
                    retry_after = _retry_after(exc)
                    self.pacer.hold(channel, retry_after)
                    if waited + retry_after > wait:
                        raise DeliveryDeferred(retry_after) from exc
                    _log.warning(
                        "slack rate limited; sending again", extra={"retry_after": retry_after}
                    )
                    waited += retry_after
                    continue  # ``acquire`` waits out the hold
                if error in PERMANENT_ERRORS:
                    self.telemetry.platform_error(platform="slack", what="refused")
                    raise DeliveryRefused(f"Slack refused: {error}") from exc
                self.telemetry.platform_error(platform="slack", what="api_error")
                raise
            except (aiohttp.ClientError, OSError):
                self.telemetry.platform_error(platform="slack", what="network")
                raise

    # -- destinations --------------------------------------------------------------------

    async def _route(self, to: Place | DirectMessage) -> tuple[str, str, str | None, str | None]:
        """``(workspace, channel, thread_ts, session_id)`` for a destination.

        A check-in a nudge opened lives at ``dm:<user>`` with the session id as its
        "thread": it is posted at the top of the person's DM (where the nudge is), and its
        buttons carry the session id, since such a message has no thread to find it by.
        """
        if isinstance(to, DirectMessage):
            actor = to.actor
            return actor.workspace, await self.open_dm(actor.workspace, actor.user_id), None, None
        if to.channel.startswith(DM_PREFIX):
            user = to.channel[len(DM_PREFIX) :]
            channel = await self.open_dm(to.workspace, user)
            return to.workspace, channel, None, to.thread or None
        return to.workspace, to.channel, to.thread or None, None

    async def open_dm(self, workspace: str, user: str) -> str:
        """The DM channel with ``user`` (``conversations.open``, remembered)."""
        key = (workspace, user)
        channel = self._dm_channels.get(key)
        if channel is not None:
            self._dm_channels.move_to_end(key)
            return channel
        client = await self.clients.client_for(workspace)

        async def call() -> Any:
            return await client.conversations_open(users=user)

        try:
            response = await self._call(
                call, channel=f"open:{user}", workspace=workspace, wait=self.max_wait
            )
        except DeliveryRefused as exc:
            _log.warning("cannot open a Slack DM", extra={"user": user, "error": str(exc)})
            raise DeliveryRefused(f"cannot open a DM with {user}: {exc}") from exc
        channel = str(response["channel"]["id"])
        self._dm_channels[key] = channel
        if len(self._dm_channels) > _DM_CACHE_SIZE:
            self._dm_channels.popitem(last=False)
        return channel

    def forget_workspace(self, workspace: str) -> None:
        """Drop what is remembered about ``workspace`` (it uninstalled the app)."""
        for key in [k for k in self._dm_channels if k[0] == workspace]:
            del self._dm_channels[key]


def _retry_after(exc: SlackApiError) -> float:
    headers = exc.response.headers or {}
    value = headers.get("Retry-After") or headers.get("retry-after") or "1"
    try:
        return max(0.0, float(value))
    except ValueError:
        return 1.0


def _tag_blocks(blocks: list[dict[str, Any]], session_id: str) -> list[dict[str, Any]]:
    """``blocks`` with each actions block's ``block_id`` naming the session."""
    tagged = []
    for n, block in enumerate(blocks):
        if block.get("type") == "actions":
            block = {**block, "block_id": f"{SESSION_BLOCK_PREFIX}{session_id}|{n}"}
        tagged.append(block)
    return tagged
