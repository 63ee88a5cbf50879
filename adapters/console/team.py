"""A team coaching channel in one terminal: several people, one thread, their DMs.

The console plays every member of a team in turn, so a facilitator can try a team
session (or a test can script four people) without a chat platform. Each line says who
acts and how:

    the beta launched by March        the facilitator writes in the team's thread
    bob: A landing page               Bob writes in the thread
    bob dm: next Friday               Bob writes in his DM with the bot
    bob press: Claim 3                Bob presses the newest button he can see so labelled
    bob: /team digest now             Bob runs "/breakthrough team digest now" in the channel
    /quit                             leave (everything is saved)

What the bot shows is printed with where it went: ``[thread]``, ``[channel]``,
``[dm bob]``, or ``[private bob]`` (a reply only Bob sees).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from adapters.console.render import ConsoleRenderer
from adapters.console.stdin import read_line
from core.dialogue.coach import Coach
from core.dialogue.events import Choose, Inbound, Reply
from core.dialogue.intents import Ask, DirectMessage, Document, Image, Intent
from core.dialogue.model import Actor, Place
from core.ports import Clock
from core.report import render_picture
from core.schedule.accountability import DM_CHANNEL_PREFIX, Accountability, place_of
from core.schedule.compose import NUDGE_PREFIX, PARTNER_PREFIX
from core.team.service import TEAM_PREFIX, TeamCoach

__all__ = ["TEAM_ROOM_HELP", "ConsoleTeamRoom"]

PLATFORM = "console"
WORKSPACE = "local"
CHANNEL = "team"

TEAM_ROOM_HELP = """\
You are in a team channel. Each line is one person acting:
  TEXT                  you (the facilitator) write in the team's thread
  NAME: TEXT            NAME writes in the thread (NAME: /team … runs a team command)
  NAME dm: TEXT         NAME writes in their DM with the bot
  NAME press: LABEL     NAME presses the newest button they can see labelled LABEL
  /help, /quit"""

_LINE = re.compile(r"^(?P<who>[A-Za-z][\w.-]{0,30})(?:\s+(?P<how>dm|press))?:\s*(?P<text>.*)$")


class ConsoleTeamRoom:
    """Runs one team session in the terminal; ``run`` returns the exit code."""

    def __init__(
        self,
        *,
        team: TeamCoach,
        facilitator: Actor,
        clock: Clock,
        files_dir: Path,
        stdin: TextIO,
        stdout: TextIO,
        admins: Sequence[str] = (),
    ) -> None:
        self.team = team
        self.coach: Coach = team.coach
        self.accountability: Accountability = team.accountability
        self.facilitator = facilitator
        self.clock = clock
        self.renderer = ConsoleRenderer(files_dir)
        self.stdin = stdin
        self.stdout = stdout
        self.admins = {a.lower() for a in admins}
        self.thread = Place(platform=PLATFORM, workspace=WORKSPACE, channel=CHANNEL, thread="")
        self.channel = Place(platform=PLATFORM, workspace=WORKSPACE, channel=CHANNEL)
        self._people: dict[str, Actor] = {facilitator.user_id.lower(): facilitator}
        self._buttons: list[tuple[str, Ask]] = []  # (who may press: a user id or "*", ask)

    # -- people ---------------------------------------------------------------------------

    def person(self, name: str) -> Actor:
        """The member called ``name`` (a new one the first time the name is used)."""
        key = name.lower()
        if key not in self._people:
            self._people[key] = Actor(
                platform=PLATFORM,
                workspace=WORKSPACE,
                user_id=key,
                display_name=name[:1].upper() + name[1:],
                tz=self.facilitator.tz,
            )
        return self._people[key]

    def introduce(self, name: str, *, tz: str | None) -> Actor:
        """Add a member with their own time zone (tests and demos set several)."""
        actor = self.person(name)
        actor = Actor(
            platform=actor.platform,
            workspace=actor.workspace,
            user_id=actor.user_id,
            display_name=name,
            tz=tz or actor.tz,
        )
        self._people[name.lower()] = actor
        return actor

    # -- output ---------------------------------------------------------------------------

    def show(self, intents: Sequence[Intent], *, private_to: Actor | None = None) -> None:
        """Print each intent under where it went; remember the buttons people can press."""
        for intent in intents:
            where = self._where(intent, private_to)
            if isinstance(intent, Ask) and intent.choices:
                self._buttons.append((self._audience(intent), intent))
            self.stdout.write(f"[{where}] {self._body(intent)}\n")
        self.stdout.flush()

    async def deliver(self, intents: Sequence[Intent]) -> None:
        """The room's :class:`~core.ports.Messenger`: nudges and digests print here too."""
        self.show(intents)

    def _audience(self, ask: Ask) -> str:
        to = ask.to
        if isinstance(to, DirectMessage):
            return to.actor.user_id
        if to.channel.startswith(DM_CHANNEL_PREFIX):
            return to.channel.removeprefix(DM_CHANNEL_PREFIX)
        return "*"

    def _where(self, intent: Intent, private_to: Actor | None) -> str:
        if private_to is not None:
            return f"private {private_to.user_id}"
        to = intent.to
        if isinstance(to, DirectMessage):
            return f"dm {to.actor.user_id}"
        if to.channel.startswith(DM_CHANNEL_PREFIX):
            return f"dm {to.channel.removeprefix(DM_CHANNEL_PREFIX)}"
        return "thread" if to.thread and to.thread == self.thread.thread else "channel"

    def _body(self, intent: Intent) -> str:
        if isinstance(intent, Document):
            path = self.renderer.save(intent.filename, intent.markdown.encode("utf-8"), "team")
            return f"[document {intent.filename}] saved to {path}\n{intent.markdown.rstrip()}"
        if isinstance(intent, Image):
            path = self.renderer.save(intent.filename, render_picture(intent.picture), "team")
            return f"[image {intent.filename}: {intent.alt}] saved to {path}"
        return self.renderer.render_one(intent).strip("\n")

    # -- input ----------------------------------------------------------------------------

    async def start(self, method: str, topic: str) -> bool:
        """Open the team session; ``False`` when it could not start."""
        self.thread = Place(
            platform=PLATFORM,
            workspace=WORKSPACE,
            channel=CHANNEL,
            thread=f"team-{int(self.clock.now().timestamp())}",
        )
        result = await self.team.start(
            self.facilitator, self.thread, method=method, topic=topic, now=self.clock.now()
        )
        self.show(result.intents)
        return result.session_id is not None

    async def run(self, method: str, topic: str) -> int:
        self.stdout.write(TEAM_ROOM_HELP + "\n")
        if not await self.start(method, topic):
            return 2
        while True:
            line = await read_line(self.stdin)
            if line == "":
                return 0
            line = line.strip()
            if not line:
                continue
            if line in ("/quit", "/exit"):
                return 0
            if line in ("/help", "/?"):
                self.stdout.write(TEAM_ROOM_HELP + "\n")
                continue
            await self.line(line)

    async def line(self, line: str) -> None:
        """Act out one typed line (see the module docstring)."""
        match = _LINE.match(line)
        if match is None:
            await self.say(self.facilitator, line)
            return
        who = self.person(match.group("who"))
        how, text = match.group("how"), match.group("text").strip()
        if how == "dm":
            await self.dm(who, text)
        elif how == "press":
            await self.press(who, text)
        elif text.startswith("/"):
            await self.command(who, text.lstrip("/"))
        else:
            await self.say(who, text)

    async def say(self, actor: Actor, text: str) -> None:
        now = self.clock.now()
        found = await self.coach.find(owner=actor.key(), place=self.thread.key())
        if found is not None:
            inbound = Inbound(
                actor=actor,
                place=self.thread,
                event=Reply(text=text),
                at=now,
                session_id=found.record.id,
            )
            self.show((await self.coach.handle(inbound, found=found)).intents)
            return
        intents = await self.team.message(actor, self.thread, text, now=now)
        self.show(intents or [])

    async def dm(self, actor: Actor, text: str) -> None:
        prefix = f"{PLATFORM}:{WORKSPACE}:{DM_CHANNEL_PREFIX}{actor.user_id}:"
        sessions = await self.coach.store.list_sessions(owner=actor.key(), unfinished_only=True)
        session = next((s for s in sessions if s.place.startswith(prefix)), None)
        place = place_of(session, PLATFORM) if session is not None else None
        if session is None or place is None:
            self.stdout.write(f"[dm {actor.user_id}] Nothing is waiting for your answer here.\n")
            return
        inbound = Inbound(
            actor=actor,
            place=place,
            event=Reply(text=text),
            at=self.clock.now(),
            session_id=session.id,
        )
        self.show((await self.coach.handle(inbound)).intents)

    async def press(self, actor: Actor, label: str) -> None:
        now = self.clock.now()
        wanted = label.strip().lower()
        for audience, ask in reversed(self._buttons):
            if audience not in ("*", actor.user_id):
                continue
            choice = next((c for c in ask.choices if c.label.lower().startswith(wanted)), None)
            if choice is None:
                continue
            if ask.action_id.startswith(TEAM_PREFIX):
                place = ask.to if isinstance(ask.to, Place) else None
                self.show(
                    await self.team.press(
                        actor, action_id=ask.action_id, value=choice.value, now=now, place=place
                    )
                )
                return
            if ask.action_id.startswith((NUDGE_PREFIX, PARTNER_PREFIX)):
                intents, _ = await self.accountability.act(
                    actor, action_id=ask.action_id, value=choice.value, now=now
                )
                self.show(intents)
                return
            if not isinstance(ask.to, Place):
                continue
            found = await self.coach.find(owner=actor.key(), place=ask.to.key())
            if found is None:
                self.stdout.write(
                    f"[private {actor.user_id}] That question belongs to someone else's session.\n"
                )
                return
            inbound = Inbound(
                actor=actor,
                place=ask.to,
                event=Choose(action_id=ask.action_id, value=choice.value),
                at=now,
                session_id=found.record.id,
            )
            self.show((await self.coach.handle(inbound, found=found)).intents)
            return
        self.stdout.write(f"[private {actor.user_id}] You see no button labelled {label!r}.\n")

    async def command(self, actor: Actor, text: str) -> None:
        """``/team …``, ``/report`` or ``/settings …`` as ``actor``, in the channel."""
        now = self.clock.now()
        word, _, rest = text.partition(" ")
        word = word.lower().removeprefix("breakthrough ")
        if word == "breakthrough":
            word, _, rest = rest.partition(" ")
        if word == "team":
            reply = await self.team.command(
                actor, self.channel, rest, now=now, is_admin=actor.user_id in self.admins
            )
            self.show(reply.intents)
            if reply.private:
                self.stdout.write(f"[private {actor.user_id}] {reply.private}\n")
        elif word == "report":
            sessions = await self.coach.store.list_sessions(owner=actor.key(), limit=20)
            if not sessions:
                self.stdout.write(f"[private {actor.user_id}] You have no session to report on.\n")
                return
            record = sessions[0]
            place = place_of(record, PLATFORM)
            document = await self.team.report(actor, record, to=place or DirectMessage(actor=actor))
            self.show([document] if document else [])
        elif word == "settings":
            reply_text, _ = await self.accountability.settings(actor, rest, now=now)
            self.stdout.write(f"[private {actor.user_id}] {reply_text}\n")
        else:
            self.stdout.write(
                f"[private {actor.user_id}] In this room: /team …, /report or /settings ….\n"
            )
        self.stdout.flush()
