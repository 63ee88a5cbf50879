"""The Discord team driver: a team transcript played through the Discord adapter.

The people of the script are members of the fake Discord server (Ann and Bob are the
fake's own two; others are added), with their names; Discord shares no time zone, so
each sets theirs with ``/breakthrough settings tz …`` before the script starts, and the
script's admins get the Administrator permission, which Discord resolves into their
interactions. They run ``/breakthrough team …`` in "general", write in the plan's
(public) thread and in their DMs with the bot, and press buttons, all through the real
discord.py client on the fake gateway.

What the bot sent is read back from the fake Discord and tagged by where it went:
``[thread]``, ``[channel]``, ``[dm bob]``, and ``[private bob]`` for an ephemeral
message (only the person who acted sees it). Discord puts a turn's consecutive
statements and questions into one message, separated by a blank line, so each paragraph
is tagged as the intent it came from would be; a message's choice buttons show as
``n) label`` lines, numbered per question (buttons that share an action id).
"""

from __future__ import annotations

import contextlib
from datetime import timedelta
from pathlib import Path
from typing import Any

from adapters.discord.render import parse_custom_id
from core.store.repository import SqlStore
from core.testing import FakeClock
from tests.discord.fake_discord import ADMINISTRATOR, FakeDiscord, Json
from tests.discord.rig import DiscordRig, buttons
from tests.transcripts.drivers import discord_text
from tests.transcripts.team_core import deliver_until
from tests.transcripts.team_runner import Person

__all__ = ["DiscordTeamDriver", "discord_user"]

_FIRST_ID = 1_300_000_000_000_000_101
_TICK = timedelta(seconds=30)  # between two things people do, as in the core driver


def discord_user(fake: FakeDiscord, people: list[Person], person: Person) -> int:
    """The Discord user id a transcript's person has: Ann and Bob are the fake's own."""
    own = {"ann": fake.ann_id, "bob": fake.bob_id}
    if person.key in own:
        return own[person.key]
    others = [p.key for p in people if p.key not in own]
    return _FIRST_ID + others.index(person.key)


class DiscordTeamDriver:
    """Implements :class:`~tests.transcripts.team_runner.TeamDriver` over :class:`DiscordRig`."""

    def __init__(
        self,
        rig: DiscordRig,
        people: list[Person],
        *,
        owned: contextlib.AsyncExitStack | None = None,
    ) -> None:
        self.rig = rig
        self._owned = owned  # the fake Discord, when this driver opened it
        self.fake = rig.fake
        self.people = {p.key: p for p in people}
        self.ids = {p.key: discord_user(rig.fake, people, p) for p in people}
        self.dms = {key: int(self.fake.dm_channel(uid)["id"]) for key, uid in self.ids.items()}
        self.thread = 0
        self._seen: set[int] = set()

    @classmethod
    async def open(
        cls,
        people: list[Person],
        *,
        database_url: str,
        tmp_path: Path,
        clock: FakeClock,
        store: SqlStore | None = None,
        message_content: bool = True,
    ) -> DiscordTeamDriver:
        """A fake Discord with the script's people, the bot on it, and each person's zone."""
        stack = contextlib.AsyncExitStack()
        fake = await stack.enter_async_context(FakeDiscord())
        try:
            for person in people:
                uid = discord_user(fake, people, person)
                if uid not in fake.users:
                    fake.add_user(uid, person.key)
                fake.users[uid]["global_name"] = person.name
                if person.admin:
                    fake.permissions[uid] = ADMINISTRATOR
            rig = await DiscordRig.open(
                fake=fake,
                database_url=database_url,
                tmp_path=tmp_path,
                clock=clock,
                store=store,
                message_content=message_content,
            )
        except BaseException:
            await stack.aclose()
            raise
        driver = cls(rig, people, owned=stack)
        for person in people:  # Discord shares no time zone: each person sets theirs
            await rig.command("settings", change=f"tz {person.tz}", user=driver.ids[person.key])
        driver._read(None)  # what setting up showed is not part of the script
        return driver

    async def close(self) -> None:
        try:
            await self.rig.close()
        finally:
            if self._owned is not None:
                await self._owned.aclose()

    # -- reading back what was shown ------------------------------------------------------

    def _where(self, channel_id: int, message: Json, actor: str | None) -> str | None:
        if int(message.get("flags") or 0) & 64:
            return f"[private {actor}]" if actor else None
        if channel_id == self.thread:
            return "[thread]"
        if channel_id == self.fake.channel_id:
            return "[channel]"
        dm = next((key for key, cid in self.dms.items() if cid == channel_id), None)
        return f"[dm {dm}]" if dm else None

    def _read(self, actor: str | None) -> list[str]:
        """Tagged lines for every message the bot sent since the last read, oldest first."""
        channels = [self.fake.channel_id, *self.dms.values()]
        if self.thread:
            channels.append(self.thread)
        new = [
            (int(m["id"]), cid, m)
            for cid in channels
            for m in self.fake.messages(cid)
            if int(m["id"]) not in self._seen
        ]
        lines: list[str] = []
        for message_id, channel_id, message in sorted(new, key=lambda found: found[0]):
            self._seen.add(message_id)
            where = self._where(channel_id, message, actor)
            if where is not None:
                lines += self._lines(where, message)
        return lines

    def _lines(self, where: str, message: Json) -> list[str]:
        """One message as tagged lines: a paragraph each, then its pictures and files."""
        pieces = []
        for paragraph in str(message.get("content") or "").split("\n\n"):
            text = "\n".join(
                line.removeprefix("-# ") for line in paragraph.splitlines() if line.strip()
            )
            if text:
                pieces.append(text)
        rest = discord_text({**message, "content": "", "components": []})  # embeds, images
        if rest:
            pieces.append(rest)
        choices = _choices(message)
        if choices:
            if pieces:
                pieces[-1] += "\n" + choices
            else:
                pieces.append(choices)
        lines = [f"{where} {piece}" for piece in pieces]
        for attachment in message.get("attachments") or []:
            name = str(attachment.get("filename", ""))
            if name.endswith(".md"):
                data = self.fake.attachments[int(attachment["id"])].decode()
                lines.append(f"{where} [document {name}]\n{data}")
        return lines

    # -- the people's side ---------------------------------------------------------------

    def _tick(self) -> None:
        self.rig.clock.advance(_TICK)

    async def start_team(self, who: Person, method: str, topic: str) -> list[str]:
        text = topic if method == "plan" else f"{method} {topic}"
        await self.rig.command("team", text=text, user=self.ids[who.key])
        self.thread = self.rig.thread_ids()[-1]
        return self._read(who.key)

    async def say(self, who: Person, text: str) -> list[str]:
        """Write in the thread; without the message content intent, mentioning the bot
        (the only way its words reach the bot then)."""
        self._tick()
        assert self.thread, "no team thread yet"
        if not self.rig.service.config.message_content:
            text = f"<@{self.fake.bot_id}> {text}"
        await self.rig.post(self.thread, text, author=self.ids[who.key])
        return self._read(who.key)

    async def dm(self, who: Person, text: str) -> list[str]:
        self._tick()
        await self.rig.post(None, text, author=self.ids[who.key], dm=True)
        return self._read(who.key)

    async def press(self, who: Person, label: str) -> list[str]:
        """Press the newest button ``who`` can see (the thread, the channel, their DM)."""
        self._tick()
        visible = [self.fake.channel_id, self.dms[who.key]]
        if self.thread:
            visible.append(self.thread)
        found: list[tuple[int, Json, str]] = []
        for cid in visible:
            for message in self.fake.messages(cid):
                private = int(message.get("flags") or 0) & 64
                if private and not _sent_to(message, self.ids[who.key]):
                    continue
                for button in buttons(message):
                    if str(button.get("label", "")).startswith(label):
                        found.append((int(message["id"]), message, str(button["custom_id"])))
        if not found:
            raise AssertionError(f"{who.key} sees no button labelled {label!r}")
        _, message, custom_id = max(found, key=lambda f: f[0])
        await self.rig.click(custom_id, message=message, user=self.ids[who.key])
        return self._read(who.key)

    async def command(self, who: Person, text: str) -> list[str]:
        """``/breakthrough TEXT`` in "general": the first word is the subcommand, the rest
        its option (``team``'s text, ``settings``' change, a method's topic)."""
        self._tick()
        word, _, rest = text.strip().partition(" ")
        options: dict[str, Any] = {}
        if rest:
            options[self._option_of(word)] = rest
        await self.rig.command(word, user=self.ids[who.key], **options)
        return self._read(who.key)

    def _option_of(self, subcommand: str) -> str:
        [group] = self.rig.service.bot.tree.get_commands()
        command = group.get_command(subcommand)  # type: ignore[union-attr]
        if command is None or not command.parameters:
            raise AssertionError(f"/breakthrough {subcommand} takes no text")
        return str(command.parameters[0].name)

    async def advance(self, delta: timedelta) -> list[str]:
        """Move the clock on, delivering every nudge due on the way, in order, through
        the bot's own dispatcher and messenger."""
        rig = self.rig
        end = rig.clock.now() + delta
        await deliver_until(rig.runtime, rig.clock, rig.service.dispatcher, end)
        await rig.settle()
        return self._read(None)


def _choices(message: Json) -> str:
    """A message's choice buttons as ``n) label`` lines, numbered per question."""
    lines: list[str] = []
    action, n = None, 0
    for button in buttons(message):
        component = parse_custom_id(str(button.get("custom_id", "")))
        if component is None or component.kind != "choose":
            continue
        n = n + 1 if component.action_id == action else 1
        action = component.action_id
        lines.append(f"{n}) {button['label']}")
    return "\n".join(lines)


def _sent_to(message: Json, user_id: int) -> bool:
    """Whether an ephemeral message answered ``user_id``'s own interaction."""
    metadata = message.get("interaction_metadata") or message.get("interaction") or {}
    return str((metadata.get("user") or {}).get("id")) == str(user_id)
