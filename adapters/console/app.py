"""The terminal adapter: the embedded default and the demo.

It reads one line per turn from stdin (a terminal or a pipe) and prints what the bot
says. With a pipe, a whole session can be scripted: each line is one message, and end of
input leaves the session saved where it stopped.
"""

from __future__ import annotations

import getpass
import logging
import uuid
from pathlib import Path
from typing import TextIO

from adapters.console.render import ConsoleRenderer
from adapters.console.stdin import read_line
from core.dialogue.coach import Coach, TurnResult
from core.dialogue.events import Event, Inbound, Reply, Start
from core.dialogue.intents import Intent
from core.dialogue.model import Actor, Place
from core.ports import Clock, SessionRecord
from core.schedule.accountability import Accountability, Delivery, describe_nudge
from core.schedule.compose import nudge_action_id, partner_action_id

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


CONSOLE_HELP = """
While this is open, nudges appear here. Type an answer to the latest check-in, or:
  /nudges               what is scheduled for you
  /done, /new-date, /blocked
                        answer the latest nudge about a commitment
  /snooze 1h | tomorrow | DATE
                        remind me again later
  /settings [SETTING]   show or change your nudge settings (time zone, quiet hours,
                        working days, reminder lead time, a pause for a vacation)
  /partner NAME | end   ask someone to be your accountability partner
  /accept, /decline     answer a partner invitation
  /quit                 leave (everything is saved; nudges wait for your return)"""


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
        accountability: Accountability | None = None,
        stay: bool = False,
    ) -> None:
        self.coach = coach
        self.actor = actor
        self.clock = clock
        self.renderer = ConsoleRenderer(files_dir)
        self.stdin = stdin
        self.stdout = stdout
        self.interactive = interactive
        self.accountability = accountability
        self.stay = stay
        self._last_nudge: str | None = None
        self._invited_by: str | None = None
        self._focus: str | None = None

    def note_delivery(self, delivery: Delivery) -> None:
        """Remember the newest nudge for this person: the slash commands act on it, and
        a check-in it opened receives the next lines typed."""
        recipient = delivery.recipient
        if recipient is None or recipient.key() != self.actor.key():
            return
        if delivery.nudge.kind == "notice":
            ask = delivery.nudge.payload.get("ask")
            if isinstance(ask, dict):
                self._invited_by = str(ask.get("action_id", "")).removeprefix("partner:")
            return
        self._last_nudge = delivery.nudge.key
        if delivery.opened_session is not None:
            self._focus = delivery.opened_session

    def _print(self, text: str) -> None:
        self.stdout.write(text + "\n")
        self.stdout.flush()

    async def _readline(self) -> str | None:
        if self.interactive:
            self.stdout.write("\n> ")
            self.stdout.flush()
        line = await read_line(self.stdin)
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
        current: str | None = None if result.finished else session_id
        waiting_said = False
        while True:
            if current is None and not self.stay:
                return 0
            if current is None and self._focus is None and not waiting_said:
                self._print(
                    "\nYour nudges will show up here while this is open. "
                    "Type /help for what you can do, /quit to leave."
                )
                waiting_said = True
            line = await self._readline()
            if line is None:
                if current is not None:
                    self._print(
                        "\nYour session is saved. Run `breakthrough console` "
                        "to pick up where you left off."
                    )
                return 0
            if line.startswith("/"):
                if not await self._slash(line[1:].strip()):
                    return 0
                continue
            target = current or self._focus
            if target is None:
                self._print(
                    "\nNo question is waiting for an answer. Type /help to see what you can do."
                )
                continue
            result = await self._turn(place, Reply(text=line), target)
            if result.finished:
                if target == current:
                    current = None
                if target == self._focus:
                    self._focus = None

    async def _slash(self, text: str) -> bool:
        """A console command; ``False`` means leave."""
        word, _, rest = text.partition(" ")
        word = word.lower()
        rest = rest.strip()
        if word in ("quit", "exit", "q"):
            return False
        acc = self.accountability
        if acc is None or word in ("help", "?", ""):
            self._print(CONSOLE_HELP)
            return True
        now = self.clock.now()
        if word == "nudges":
            upcoming = await acc.upcoming(self.actor.key(), limit=20)
            if not upcoming:
                self._print("\nNo nudges are scheduled for you.")
            for n in upcoming:
                self._print(describe_nudge(n, now=now))
            return True
        if word == "settings":
            reply, _ = await acc.settings(self.actor, rest, now=now)
            self._print("\n" + reply)
            return True
        if word == "partner":
            if rest.lower() in ("end", "off", "none", "remove"):
                self._print("\n" + await acc.end_partner(self.actor))
            elif rest:
                partner = Actor(
                    platform=PLATFORM, workspace=WORKSPACE, user_id=rest, display_name=rest
                )
                self._print("\n" + await acc.invite_partner(self.actor, partner, now=now))
            else:
                self._print("\nName your partner: /partner NAME (or /partner end).")
            return True
        if word in ("accept", "decline"):
            if self._invited_by is None:
                self._print("\nThere is no invitation to answer.")
                return True
            intents, _ = await acc.act(
                self.actor, action_id=partner_action_id(self._invited_by), value=word, now=now
            )
            self._show_intents(intents)
            return True
        action = {"done": "done", "new-date": "new_date", "blocked": "blocked"}.get(word)
        if word == "snooze":
            action = f"snooze:{rest or '1h'}"
        if action is None:
            self._print(f"\nI don't know /{word}. " + CONSOLE_HELP)
            return True
        if self._last_nudge is None:
            self._print("\nThere is no nudge to answer yet.")
            return True
        intents, opened = await acc.act(
            self.actor, action_id=nudge_action_id(self._last_nudge), value=action, now=now
        )
        if opened is not None:
            self._focus = opened
        self._show_intents(intents)
        return True

    def _show_intents(self, intents: list[Intent]) -> None:
        text = self.renderer.render(intents)
        if text:
            self._print(text)

    def _new_place(self) -> Place:
        return Place(
            platform=PLATFORM, workspace=WORKSPACE, channel="terminal", thread=uuid.uuid4().hex[:12]
        )

    async def _choose_start(self) -> SessionRecord | str | None:
        """Offer unfinished sessions to resume, then the methods; ``None`` at end of input."""
        unfinished = await self.coach.store.list_sessions(
            owner=self.actor.key(), unfinished_only=True, limit=9
        )
        methods = [m for m in self.coach.methods if m.listed]
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
