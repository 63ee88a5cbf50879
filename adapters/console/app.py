"""The terminal adapter: the embedded default and the demo.

It reads one line per turn from stdin (a terminal or a pipe) and prints what the bot
says. With a pipe, a whole session can be scripted: each line is one message, and end of
input leaves the session saved where it stopped.
"""

from __future__ import annotations

import asyncio
import getpass
import logging
import uuid
from pathlib import Path
from typing import TextIO

from adapters.console.render import ConsoleRenderer
from core.dialogue.coach import Coach, TurnResult
from core.dialogue.events import Event, Inbound, Reply, Start
from core.dialogue.model import Actor, Place
from core.ports import Clock, SessionRecord

__all__ = ["ConsoleApp", "console_actor"]

_log = logging.getLogger(__name__)

PLATFORM = "console"
WORKSPACE = "local"


def console_actor(tz: str) -> Actor:
    """The person at this terminal: the login name, in the configured time zone."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "me"
    return Actor(platform=PLATFORM, workspace=WORKSPACE, user_id=user, display_name=user, tz=tz)


class ConsoleApp:
    """One person, one terminal. ``run`` returns the process exit code."""

    def __init__(
        self,
        coach: Coach,
        *,
        actor: Actor,
        clock: Clock,
        files_dir: Path,
        stdin: TextIO,
        stdout: TextIO,
        interactive: bool = False,
    ) -> None:
        self.coach = coach
        self.actor = actor
        self.clock = clock
        self.renderer = ConsoleRenderer(files_dir)
        self.stdin = stdin
        self.stdout = stdout
        self.interactive = interactive

    def _print(self, text: str) -> None:
        self.stdout.write(text + "\n")
        self.stdout.flush()

    async def _readline(self) -> str | None:
        if self.interactive:
            self.stdout.write("\n> ")
            self.stdout.flush()
        line = await asyncio.to_thread(self.stdin.readline)
        if line == "":
            return None
        return line.rstrip("\r\n")

    def _show(self, result: TurnResult) -> None:
        text = self.renderer.render(result.intents, session_id=result.session_id)
        if text:
            self._print(text)

    async def _turn(self, place: Place, event: Event, session_id: str | None) -> TurnResult:
        inbound = Inbound(
            actor=self.actor, place=place, event=event, at=self.clock.now(), session_id=session_id
        )
        result = await self.coach.handle(inbound)
        self._show(result)
        return result

    async def run(self, method: str | None = None, topic: str = "") -> int:
        """Start ``method`` (or offer to resume / choose one) and converse until done or EOF."""
        session_id: str | None = None
        place = self._new_place()
        if method is None:
            chosen = await self._choose_start()
            if chosen is None:
                return 0
            if isinstance(chosen, SessionRecord):
                session_id = chosen.id
                place = Place(
                    platform=PLATFORM, workspace=WORKSPACE, channel="terminal", thread=chosen.id
                )
                result = await self._turn(place, Reply(text="resume"), session_id)
            else:
                method = chosen
        if session_id is None:
            assert method is not None
            result = await self._turn(place, Start(method=method, topic=topic), None)
            if result.session_id is None:
                return 2
            session_id = result.session_id
        while not result.finished:
            line = await self._readline()
            if line is None:
                self._print(
                    "\nYour session is saved. Run `breakthrough console` "
                    "to pick up where you left off."
                )
                return 0
            result = await self._turn(place, Reply(text=line), session_id)
        return 0

    def _new_place(self) -> Place:
        return Place(
            platform=PLATFORM, workspace=WORKSPACE, channel="terminal", thread=uuid.uuid4().hex[:12]
        )

    async def _choose_start(self) -> SessionRecord | str | None:
        """Offer unfinished sessions to resume, then the methods; ``None`` at end of input."""
        unfinished = await self.coach.store.list_sessions(
            owner=self.actor.key(), unfinished_only=True, limit=9
        )
        methods = [m for m in self.coach.methods if m.id != "checkin"]
        options: list[tuple[str, SessionRecord | str]] = []
        for s in unfinished:
            when = f"{s.updated_at:%d %b %H:%M}"
            label = f"Resume {s.method}: {s.topic or 'untitled'} ({s.status}, {when})"
            options.append((label, s))
        for m in methods:
            options.append((f"Start {m.id}: {m.summary}", m.id))
        self._print("What would you like to do?")
        for i, (label, _) in enumerate(options, 1):
            self._print(f"   {i}) {label}")
        while True:
            line = await self._readline()
            if line is None:
                return None
            reply = line.strip().lower()
            if reply.isdigit() and 1 <= int(reply) <= len(options):
                return options[int(reply) - 1][1]
            for m in methods:
                if reply == m.id:
                    return m.id
            self._print(f"Please type a number from 1 to {len(options)}.")
