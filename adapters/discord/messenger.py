"""Sending rendered intents to Discord: threads, DMs, attachments, refusals, rate limits.

One object sends everything the bot says in Discord, a turn's replies and the
dispatcher's nudges alike. Every send passes ``AllowedMentions.none()``: a person's
``@everyone``, ``@here``, role or user mention echoed back pings nobody.

Rate limits: discord.py waits out a 429 itself and sends again. A wait longer than the
client's ``max_ratelimit_timeout`` raises :class:`discord.RateLimited`; a reply in a
turn then waits and sends again (a reply is never dropped), a nudge goes back to the
dispatcher as :class:`~core.errors.DeliveryDeferred`, to be sent later.

Refused DMs: Discord answers 403 with code 50007 when a person does not accept DMs from
the bot. A nudge then falls back, once, to a mention of the person in their session's
thread (``fallback``) and is recorded as failed (:class:`~core.errors.DeliveryRefused`):
never a retry loop.
"""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Final

import aiohttp
import discord

from adapters.discord.render import Attachment, Button, DiscordMessage, render
from core.dialogue.intents import DirectMessage, Image, Intent
from core.dialogue.model import Actor, Place
from core.errors import DeliveryDeferred, DeliveryRefused
from core.ports import Clock
from core.schedule.accountability import DM_CHANNEL_PREFIX
from core.telemetry import NO_TELEMETRY, Telemetry

__all__ = ["CANNOT_DM", "NO_MENTIONS", "DiscordMessenger", "FallbackFinder"]

_log = logging.getLogger(__name__)

CANNOT_DM: Final = 50007
"""Discord's error code for "Cannot send messages to this user"."""
MISSING_ACCESS: Final = frozenset({10003, 10013, 50001, 50013})
"""Unknown channel, unknown user, missing access, missing permissions: sending again
will not cure them."""
NO_MENTIONS: Final = discord.AllowedMentions.none()

_STYLES: Final = {
    "primary": discord.ButtonStyle.primary,
    "secondary": discord.ButtonStyle.secondary,
    "success": discord.ButtonStyle.success,
    "danger": discord.ButtonStyle.danger,
}

FallbackFinder = Callable[[Actor, Sequence[Intent]], Awaitable[Place | None]]
"""Where to mention a person whose DMs are closed: the thread of the session a nudge is
about, or ``None`` when there is none."""


class DiscordMessenger:
    """Implements :class:`~core.ports.Messenger` for Discord; see the module docstring."""

    def __init__(
        self,
        client: discord.Client,
        *,
        clock: Clock,
        tz_default: str = "UTC",
        answer_button: bool = False,
        fallback: FallbackFinder | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        telemetry: Telemetry = NO_TELEMETRY,
    ) -> None:
        self.client = client
        self.telemetry = telemetry
        self.clock = clock
        self.tz_default = tz_default
        self.answer_button = answer_button
        self.fallback = fallback
        self._sleep = sleep
        self._dms: dict[str, int] = {}

    # -- the Messenger port --------------------------------------------------------------

    async def deliver(self, intents: Sequence[Intent]) -> None:
        """Send nudges (the dispatcher): a long rate limit and a closed DM go back to it."""
        try:
            await self.send(intents, wait=False)
        except DeliveryRefused as refused:
            person = next((i.to.actor for i in intents if isinstance(i.to, DirectMessage)), None)
            closed = getattr(refused.__cause__, "code", None) == CANNOT_DM
            if person is not None and self.fallback is not None and closed:
                await self._mention_instead(person, intents)
            raise

    async def send(
        self, intents: Sequence[Intent], *, wait: bool = True, now: datetime | None = None
    ) -> list[discord.Message]:
        """Render and send ``intents`` in order; return the messages sent."""
        if not intents:
            return []
        now = now or self.clock.now()
        if any(isinstance(i, Image) for i in intents):
            # Drawing a picture costs ~10 ms of CPU: keep it off the event loop.
            rendered = await asyncio.to_thread(
                render,
                intents,
                tz_default=self.tz_default,
                now=now,
                answer_button=self.answer_button,
            )
        else:
            rendered = render(
                intents, tz_default=self.tz_default, now=now, answer_button=self.answer_button
            )
        return [await self._send_one(message, wait=wait) for message in rendered]

    # -- one message ---------------------------------------------------------------------

    async def _send_one(self, message: DiscordMessage, *, wait: bool) -> discord.Message:
        while True:
            try:
                channel = await self._channel(message)
                return await channel.send(
                    content=message.content or None,
                    embeds=[discord.Embed.from_dict(e) for e in message.embeds],
                    view=_view(message.buttons) if message.buttons else discord.utils.MISSING,
                    files=[_file(a) for a in message.files],
                    allowed_mentions=NO_MENTIONS,
                )
            except discord.RateLimited as limited:
                self.telemetry.platform_error(platform="discord", what="rate_limited")
                if not wait:
                    raise DeliveryDeferred(limited.retry_after) from limited
                _log.warning(
                    "discord rate limited; sending again",
                    extra={"retry_after": limited.retry_after},
                )
                await self._sleep(limited.retry_after)
            except (discord.Forbidden, discord.NotFound) as exc:
                self.telemetry.platform_error(platform="discord", what="refused")
                raise DeliveryRefused(f"Discord refused ({exc.code}): {exc.text}") from exc
            except discord.HTTPException as exc:
                if exc.code in MISSING_ACCESS:
                    self.telemetry.platform_error(platform="discord", what="refused")
                    raise DeliveryRefused(f"Discord refused ({exc.code}): {exc.text}") from exc
                self.telemetry.platform_error(platform="discord", what="api_error")
                raise
            except (aiohttp.ClientError, OSError):
                self.telemetry.platform_error(platform="discord", what="network")
                raise

    async def _channel(self, message: DiscordMessage) -> discord.abc.Messageable:
        to = message.to
        if isinstance(to, DirectMessage):
            return await self.dm(to.actor.user_id)
        if to.channel.startswith(DM_CHANNEL_PREFIX):
            return await self.dm(to.channel.removeprefix(DM_CHANNEL_PREFIX))
        # A session's thread is a channel of its own; sending needs only its id.
        return self.client.get_partial_messageable(int(to.thread or to.channel))

    async def dm(self, user_id: str) -> discord.abc.Messageable:
        """The DM channel with ``user_id`` (opened once, then remembered by id)."""
        channel_id = self._dms.get(user_id)
        if channel_id is None:
            channel = await self.client.create_dm(discord.Object(id=int(user_id)))
            channel_id = self._dms[user_id] = channel.id
        return self.client.get_partial_messageable(channel_id, type=discord.ChannelType.private)

    async def _mention_instead(self, person: Actor, intents: Sequence[Intent]) -> None:
        assert self.fallback is not None
        place = await self.fallback(person, intents)
        if place is None:
            return
        text = (
            f"<@{person.user_id}>, I couldn't send you a direct message about a commitment "
            "you made here. To get reminders, allow direct messages from server members "
            "(Privacy Settings), or type `/breakthrough checkin`."
        )
        try:
            channel = self.client.get_partial_messageable(int(place.thread or place.channel))
            # This person, and nobody else, is pinged.
            only_them = discord.AllowedMentions(
                everyone=False, roles=False, users=[discord.Object(id=int(person.user_id))]
            )
            await channel.send(content=text, allowed_mentions=only_them)
        except discord.HTTPException as exc:
            _log.warning("could not mention a person whose DMs are closed: %s", exc.code)


def _view(buttons: Sequence[Button]) -> discord.ui.View:
    """The buttons as a view, five to a row; presses are handled by custom_id alone.

    The view is not kept (see :meth:`~adapters.discord.app.DiscordBot.on_interaction`):
    a press after a restart must work the same as one before it.
    """
    view = discord.ui.View(timeout=None)
    for n, button in enumerate(buttons):
        view.add_item(
            discord.ui.Button(
                label=button.label,
                custom_id=button.custom_id,
                style=_STYLES[button.style],
                row=n // 5,
            )
        )
    view.stop()  # nothing waits on it: presses go to on_interaction
    return view


def _file(attachment: Attachment) -> discord.File:
    return discord.File(
        io.BytesIO(attachment.content),
        filename=attachment.filename,
        description=attachment.description,
    )
