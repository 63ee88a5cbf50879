"""Transcript drivers for the console, Slack and Discord adapters.

Every driver must make every transcript pass and leave the same answers and commitments
behind as the engine does.
"""

from __future__ import annotations

import asyncio
import io
import queue
import re
import threading
from datetime import timedelta
from pathlib import Path

from adapters.console.app import ConsoleApp
from core.dialogue.coach import Coach
from core.dialogue.model import Actor
from core.testing import FakeClock
from tests.discord.fake_discord import Json
from tests.discord.rig import DiscordRig
from tests.discord.rig import buttons as discord_buttons
from tests.slack.fake_slack import Call
from tests.slack.rig import SlackRig, element_ids, message_text


class ScriptedStdin:
    """A stdin whose lines a test feeds one at a time; it tells when the app waits again."""

    def __init__(self) -> None:
        self.lines: queue.Queue[str] = queue.Queue()
        self.waiting = threading.Semaphore(0)

    def readline(self) -> str:
        self.waiting.release()
        return self.lines.get()


class ConsoleDriver:
    """Plays a transcript through :class:`ConsoleApp`, reading what it printed per turn."""

    def __init__(self, coach: Coach, *, actor: Actor, clock: FakeClock, files_dir: Path) -> None:
        self.stdin = ScriptedStdin()
        self.stdout = io.StringIO()
        self.clock = clock
        self.app = ConsoleApp(
            coach,
            actor=actor,
            clock=clock,
            files_dir=files_dir,
            stdin=self.stdin,  # type: ignore[arg-type]
            stdout=self.stdout,
        )
        self.task: asyncio.Task[int] | None = None

    async def _until_waiting(self, since: int) -> list[str]:
        await asyncio.to_thread(self.stdin.waiting.acquire)
        return [self.stdout.getvalue()[since:]]

    async def start(self, method: str, topic: str) -> list[str]:
        self.task = asyncio.create_task(self.app.run(method, topic))
        self.task.add_done_callback(lambda _t: self.stdin.waiting.release())
        return await self._until_waiting(0)

    async def say(self, text: str) -> list[str]:
        self.clock.advance(timedelta(seconds=30))
        since = len(self.stdout.getvalue())
        self.stdin.lines.put(text + "\n")
        return await self._until_waiting(since)

    async def close(self) -> None:
        if self.task is not None and not self.task.done():
            self.stdin.lines.put("")
            await self.task


class SlackDriver:
    """Plays a transcript through the Slack adapter: a slash command, then thread replies.

    With ``click``, a numeric answer to a question that shows buttons presses the button
    instead of typing the number, as a person in Slack would.
    """

    def __init__(self, rig: SlackRig, *, channel: str = "C0001", click: bool = False) -> None:
        self.rig = rig
        self.channel = channel
        self.click = click
        self.ts = ""
        self._seen = 0
        self._uploads = 0

    def _new_output(self) -> list[str]:
        thread = self.rig.thread(self.channel, self.ts)
        shown = [message_text(c) for c in thread[self._seen :]]
        self._seen = len(thread)
        uploads = [u for u in self.rig.fake.uploads if u.thread_ts == self.ts]
        for u in uploads[self._uploads :]:
            if u.filename.endswith(".md"):
                shown.append(f"[document {u.filename}]\n{u.content.decode()}")
            else:
                shown.append(f"[image {u.filename}: {u.alt_txt}]")
        self._uploads = len(uploads)
        return shown

    async def start(self, method: str, topic: str) -> list[str]:
        await self.rig.command(f"{method} {topic}", channel=self.channel)
        self.ts = self.rig.roots(self.channel)[-1].response["ts"]
        return self._new_output()

    async def say(self, text: str) -> list[str]:
        button = self._button(text) if self.click else None
        if button is not None:
            message, action_id = button
            await self.rig.click(message, action_id)
        else:
            await self.rig.say(text, channel=self.channel, thread_ts=self.ts)
        return self._new_output()

    def _button(self, text: str) -> tuple[Call, str] | None:
        """The last message's ``n``-th button, when ``text`` is a number ``n``."""
        if not text.strip().isdigit():
            return None
        thread = self.rig.thread(self.channel, self.ts)
        if not thread:
            return None
        last = thread[-1]
        buttons = element_ids(last)
        n = int(text.strip())
        if not 1 <= n <= len(buttons):
            return None
        return last, buttons[n - 1]


_DISCORD_CHECKLIST = re.compile(r"[☐☑] (?P<step>.*?)(?: — due (?P<due>.*))?")


def discord_text(message: Json) -> str:
    """One Discord message as neutral text: content (hints unmarked), plan steps as
    ``n. step (by date)``, then ``n) label`` for each choice button."""
    lines = [line.removeprefix("-# ") for line in str(message.get("content") or "").splitlines()]
    for embed in message.get("embeds") or []:
        title = str(embed.get("title") or "").removeprefix("Your plan: ")
        if not title.endswith("(continued)"):
            lines.append(title)
        for n, line in enumerate(str(embed.get("description") or "").splitlines(), 1):
            step = _DISCORD_CHECKLIST.fullmatch(line)
            if step is None:
                lines.append(line)
                continue
            due = f" (by {step['due']})" if step["due"] else ""
            lines.append(f"{n}. {step['step']}{due}")
    choices = [b for b in discord_buttons(message) if b["custom_id"].startswith("bt|choose|")]
    lines += [f"{n}) {b['label']}" for n, b in enumerate(choices, 1)]
    for a in message.get("attachments") or []:
        if not str(a.get("filename", "")).endswith(".md"):  # documents: see DiscordDriver
            lines.append(f"[image {a.get('filename')}: {a.get('description', '')}]")
    return "\n".join(line for line in lines if line)


class DiscordDriver:
    """Plays a transcript through the Discord adapter: ``/breakthrough``, then messages
    typed in the session's thread (or, with ``click``, a numeric answer to a question
    with buttons pressed as a person would)."""

    def __init__(self, rig: DiscordRig, *, tz: str, click: bool = False) -> None:
        self.rig = rig
        self.tz = tz
        self.click = click
        self.thread = 0
        self._seen = 0

    def _new_output(self) -> list[str]:
        messages = self.rig.fake.messages(self.thread)
        new, self._seen = messages[self._seen :], len(messages)
        shown = []
        for message in new:
            shown.append(discord_text(message))
            for a in message.get("attachments") or []:
                if str(a.get("filename", "")).endswith(".md"):
                    data = self.rig.fake.attachments[int(a["id"])]
                    shown.append(f"[document {a['filename']}]\n{data.decode()}")
        return shown

    async def start(self, method: str, topic: str) -> list[str]:
        # Discord does not share a person's zone: they set it, as the README says.
        await self.rig.command("settings", change=f"tz {self.tz}")
        await self.rig.command(method, topic=topic or None)
        self.thread = self.rig.thread_ids()[-1]
        await self.rig.fake.wait_messages(self.thread, 1)
        return self._new_output()

    async def say(self, text: str) -> list[str]:
        self.rig.clock.advance(timedelta(seconds=30))
        before = len(self.rig.fake.messages(self.thread))
        button = self._button(text) if self.click else None
        if button is not None:
            message, custom_id = button
            await self.rig.click(custom_id, message=message)
            await self.rig.fake.wait_messages(self.thread, before + 1)
        else:
            await self.rig.say(self.thread, text)
        await self.rig.settle()
        return self._new_output()

    def _button(self, text: str) -> tuple[Json, str] | None:
        """The last message's ``n``-th choice button, when ``text`` is a number ``n``."""
        if not text.strip().isdigit():
            return None
        messages = self.rig.fake.messages(self.thread)
        if not messages:
            return None
        last = messages[-1]
        choices = [b for b in discord_buttons(last) if b["custom_id"].startswith("bt|choose|")]
        n = int(text.strip())
        if not 1 <= n <= len(choices):
            return None
        return last, str(choices[n - 1]["custom_id"])
