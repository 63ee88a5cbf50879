"""The Discord bot as ``breakthrough discord`` builds it, connected to a fake Discord.

:class:`DiscordRig` runs the real :class:`~bots.discord.DiscordService` (the real
discord.py client, its gateway connection and REST calls) against
:class:`~tests.discord.fake_discord.FakeDiscord` on 127.0.0.1, on a real database.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bots.discord import DiscordConfig, DiscordService
from bots.runtime import Runtime
from bots.settings import Settings
from core.store.repository import SqlStore
from core.telemetry import NO_TELEMETRY, Telemetry
from core.testing import FakeClock
from tests.databases import Database
from tests.discord.fake_discord import FakeDiscord, Json

__all__ = ["DiscordRig", "buttons", "content", "open_rig"]


@dataclass(slots=True, kw_only=True)
class DiscordRig:
    fake: FakeDiscord
    runtime: Runtime
    service: DiscordService
    clock: FakeClock
    _patch: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)

    @classmethod
    async def open(
        cls,
        *,
        fake: FakeDiscord,
        database_url: str,
        tmp_path: Path,
        clock: FakeClock,
        store: SqlStore | None = None,
        message_content: bool = True,
        telemetry: Telemetry = NO_TELEMETRY,
    ) -> DiscordRig:
        patch = contextlib.ExitStack()
        patch.enter_context(fake.patch_discord_py())
        settings = Settings(database_url=database_url, data_dir=tmp_path, tz="Europe/London")
        runtime = await Runtime.open(settings, clock=clock, store=store, telemetry=telemetry)
        config = DiscordConfig(
            token=fake.token,
            message_content=message_content,
            api_url=fake.api_url,
            gateway_url=fake.gateway_url,
        )
        service = DiscordService.build(runtime, config, guild_ready_timeout=0.05)
        await service.start()
        return cls(fake=fake, runtime=runtime, service=service, clock=clock, _patch=patch)

    async def close(self) -> None:
        try:
            await self.service.close()
            await self.runtime.close()
        finally:
            self._patch.close()

    async def settle(self) -> None:
        """Wait until every event the bot has received so far is handled."""
        await self.service.bot.idle()

    async def command(self, subcommand: str, **options: Any) -> Json:
        """``/breakthrough <subcommand>`` by Ann (or ``user=``) in "general" (or ``dm=True``)."""
        kwargs = {k: options.pop(k) for k in ("user", "dm", "channel_id") if k in options}
        payload = await self.fake.slash_command(
            "breakthrough",
            subcommand,
            {k: v for k, v in options.items() if v is not None},
            **kwargs,
        )
        await self.fake.wait_callback(payload)
        await self.settle()
        return payload

    async def say(self, channel_id: int, text: str, *, replies: int = 1, **kwargs: Any) -> None:
        """Someone types ``text``; wait for the bot's messages there to grow by ``replies``."""
        dm = bool(kwargs.get("dm"))
        where = self.fake.dm_channel(kwargs.get("author") or self.fake.ann_id)["id"] if dm else None
        target = int(where) if where is not None else channel_id
        before = len(self.fake.messages(target))
        await self.fake.message_create(channel_id, text, **kwargs)
        if replies:
            await self.fake.wait_messages(target, before + replies)
        await self.settle()

    async def post(
        self, channel_id: int | None, text: str, *, author: int | None = None, dm: bool = False
    ) -> Json | None:
        """Someone types ``text`` (in ``channel_id``, or their DM with ``dm=True``); return
        once the bot has handled it, whether it answered or not."""
        sent = await self.fake.message_create(channel_id, text, author=author, dm=dm)
        if sent is not None:
            message_id = int(sent["id"])
            # on_message runs as a task of its own: wait until it has taken the message.
            await self.fake.wait_for(lambda: message_id in self.service.bot._seen)
        await self.settle()
        return sent

    async def click(self, custom_id: str, **kwargs: Any) -> Json:
        payload = await self.fake.button_click(custom_id, **kwargs)
        await self.fake.wait_callback(payload)
        await self.settle()
        return payload

    def thread_ids(self) -> list[int]:
        """Threads the bot opened (off a channel or off a message), oldest first."""
        return [
            int(c.response["id"])
            for c in self.fake.calls
            if c.method == "POST"
            and c.route
            in (
                "/channels/{channel_id}/threads",
                "/channels/{channel_id}/messages/{message_id}/threads",
            )
            and c.status < 300
        ]


async def open_rig(
    fake: FakeDiscord,
    database: Database,
    tmp_path: Path,
    clock: FakeClock,
    *,
    message_content: bool = True,
) -> DiscordRig:
    """A bot on ``database`` (SQLite or a PostgreSQL schema). Opened again on the same
    database it is a restarted process: nothing in memory, everything stored kept."""
    return await DiscordRig.open(
        fake=fake,
        database_url=database.url,
        tmp_path=tmp_path,
        clock=clock,
        store=await database.open_store(),
        message_content=message_content,
    )


def content(message: Json) -> str:
    return str(message.get("content") or "")


def buttons(message: Json) -> list[Json]:
    return [
        component
        for row in message.get("components") or []
        for component in row.get("components") or []
        if component.get("type") == 2
    ]
