"""The reference team driver: the team transcript straight through the core services.

It does what every adapter does with a platform event (find the person's session in the
thread, else hand the message to the team coach; route ``team:`` buttons to it; open the
DM session a nudge or a claim started), with no platform in between, so a difference
between this run and an adapter's is the adapter's.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from adapters.console.team import ConsoleTeamRoom
from bots.runtime import Runtime
from core.dialogue.events import Choose, Inbound, Reply
from core.dialogue.intents import Ask, DirectMessage, Intent
from core.dialogue.model import Actor, Place
from core.schedule.accountability import DM_CHANNEL_PREFIX, place_of
from core.schedule.compose import NUDGE_PREFIX, PARTNER_PREFIX
from core.schedule.dispatcher import Dispatcher
from core.team.service import TEAM_PREFIX
from core.testing import FakeClock, RecordingMessenger
from tests.transcripts.team_runner import Person, tag

__all__ = ["ConsoleTeamDriver", "CoreTeamDriver", "deliver_until"]

PLATFORM = "test"
WORKSPACE = "w1"
CHANNEL = "C1"


async def deliver_until(
    runtime: Runtime, clock: FakeClock, dispatcher: Dispatcher, end: datetime
) -> None:
    """Step the clock from nudge to nudge up to ``end``, delivering each, as the timer
    would; then stop at ``end``."""
    while True:
        upcoming = await runtime.nudges.next_due()
        if upcoming is None or upcoming > end:
            break
        clock.set(max(upcoming, clock.now()))
        await dispatcher.tick()
    clock.set(end)
    await dispatcher.tick()


@dataclass
class CoreTeamDriver:
    runtime: Runtime
    clock: FakeClock
    messenger: RecordingMessenger
    dispatcher: Dispatcher
    people: dict[str, Person]
    thread: Place | None = None
    shown: list[tuple[str, Ask]] = field(default_factory=list)  # (who may press, the ask)

    @classmethod
    def build(cls, runtime: Runtime, clock: FakeClock, people: list[Person]) -> CoreTeamDriver:
        messenger = RecordingMessenger()
        dispatcher = runtime.dispatcher(messenger, pacing=None)
        return cls(runtime, clock, messenger, dispatcher, {p.key: p for p in people})

    def actor(self, who: Person) -> Actor:
        return Actor(
            platform=PLATFORM,
            workspace=WORKSPACE,
            user_id=who.key,
            display_name=who.name,
            tz=who.tz,
        )

    def _lines(self, intents: list[Intent], private_to: str | None = None) -> list[str]:
        who_is = {k: k for k in self.people}
        for intent in intents:
            if isinstance(intent, Ask) and intent.choices:
                to = intent.to
                if isinstance(to, DirectMessage):
                    self.shown.append((to.actor.user_id, intent))
                elif to.channel.startswith(DM_CHANNEL_PREFIX):
                    self.shown.append((to.channel.removeprefix(DM_CHANNEL_PREFIX), intent))
                else:
                    self.shown.append(("*", intent))
        return [tag(i, thread=self.thread, who_is=who_is, private_to=private_to) for i in intents]

    def _tick(self) -> None:
        self.clock.advance(timedelta(seconds=30))

    async def start_team(self, who: Person, method: str, topic: str) -> list[str]:
        self.thread = Place(platform=PLATFORM, workspace=WORKSPACE, channel=CHANNEL, thread="t1")
        result = await self.runtime.team.start(
            self.actor(who), self.thread, method=method, topic=topic, now=self.clock.now()
        )
        return self._lines(result.intents)

    async def say(self, who: Person, text: str) -> list[str]:
        self._tick()
        assert self.thread is not None
        actor = self.actor(who)
        coach = self.runtime.coach
        found = await coach.find(owner=actor.key(), place=self.thread.key())
        if found is not None:
            inbound = Inbound(
                actor=actor,
                place=self.thread,
                event=Reply(text=text),
                at=self.clock.now(),
                session_id=found.record.id,
            )
            return self._lines((await coach.handle(inbound, found=found)).intents)
        intents = await self.runtime.team.message(actor, self.thread, text, now=self.clock.now())
        return self._lines(intents or [])

    async def dm(self, who: Person, text: str) -> list[str]:
        self._tick()
        actor = self.actor(who)
        prefix = f"{PLATFORM}:{WORKSPACE}:{DM_CHANNEL_PREFIX}{who.key}:"
        sessions = await self.runtime.store.list_sessions(owner=actor.key(), unfinished_only=True)
        session = next((s for s in sessions if s.place.startswith(prefix)), None)
        if session is None:
            return [f"[dm {who.key}] Nothing is waiting for your answer here."]
        place = place_of(session, PLATFORM)
        assert place is not None
        inbound = Inbound(
            actor=actor,
            place=place,
            event=Reply(text=text),
            at=self.clock.now(),
            session_id=session.id,
        )
        return self._lines((await self.runtime.coach.handle(inbound)).intents)

    async def press(self, who: Person, label: str) -> list[str]:
        self._tick()
        actor = self.actor(who)
        for owner, ask in reversed(self.shown):
            if owner not in ("*", who.key):
                continue
            choice = next((c for c in ask.choices if c.label.startswith(label)), None)
            if choice is None:
                continue
            now = self.clock.now()
            if ask.action_id.startswith(TEAM_PREFIX):
                place = ask.to if isinstance(ask.to, Place) else None
                intents = await self.runtime.team.press(
                    actor, action_id=ask.action_id, value=choice.value, now=now, place=place
                )
                return self._lines(intents)
            if ask.action_id.startswith((NUDGE_PREFIX, PARTNER_PREFIX)):
                intents, _ = await self.runtime.accountability.act(
                    actor, action_id=ask.action_id, value=choice.value, now=now
                )
                return self._lines(intents)
            assert isinstance(ask.to, Place)
            found = await self.runtime.coach.find(owner=actor.key(), place=ask.to.key())
            assert found is not None, f"{who.key} pressed {label!r} in no session of theirs"
            inbound = Inbound(
                actor=actor,
                place=ask.to,
                event=Choose(action_id=ask.action_id, value=choice.value),
                at=now,
                session_id=found.record.id,
            )
            return self._lines((await self.runtime.coach.handle(inbound, found=found)).intents)
        raise AssertionError(f"{who.key} sees no button labelled {label!r}")

    async def command(self, who: Person, text: str) -> list[str]:
        self._tick()
        actor = self.actor(who)
        now = self.clock.now()
        channel = Place(platform=PLATFORM, workspace=WORKSPACE, channel=CHANNEL)
        word, _, rest = text.partition(" ")
        if word == "team":
            reply = await self.runtime.team.command(
                actor, channel, rest, now=now, is_admin=who.admin
            )
            lines = self._lines(reply.intents)
            if reply.private:
                lines.append(f"[private {who.key}] {reply.private}")
            return lines
        if word == "report":
            sessions = await self.runtime.store.list_sessions(owner=actor.key(), limit=20)
            if not sessions:
                return [f"[private {who.key}] You have no session to report on."]
            record = sessions[0]
            place = place_of(record, PLATFORM)
            document = await self.runtime.team.report(
                actor, record, to=place or DirectMessage(actor=actor)
            )
            return self._lines([document] if document else [])
        if word == "settings":
            reply_text, _ = await self.runtime.accountability.settings(actor, rest, now=now)
            return [f"[private {who.key}] {reply_text}"]
        raise AssertionError(f"the core driver has no command {text!r}")

    async def advance(self, delta: timedelta) -> list[str]:
        return await self.advance_to(self.clock.now() + delta)

    async def advance_to(self, end: datetime) -> list[str]:
        """Move the clock to ``end``, delivering every nudge due on the way, in order."""
        before = len(self.messenger.deliveries)
        await deliver_until(self.runtime, self.clock, self.dispatcher, end)
        intents = [i for batch in self.messenger.deliveries[before:] for i in batch]
        return self._lines(intents)


@dataclass
class ConsoleTeamDriver:
    """Plays a team transcript as lines typed into the console's team room."""

    runtime: Runtime
    clock: FakeClock
    people: list[Person]
    files_dir: Path
    stdout: io.StringIO = field(default_factory=io.StringIO)
    room: ConsoleTeamRoom | None = None
    dispatcher: Dispatcher | None = None

    async def _typed(self, line: str) -> list[str]:
        assert self.room is not None
        self.clock.advance(timedelta(seconds=30))
        since = len(self.stdout.getvalue())
        await self.room.line(line)
        return [self.stdout.getvalue()[since:]]

    async def start_team(self, who: Person, method: str, topic: str) -> list[str]:
        facilitator = Actor(
            platform="console",
            workspace="local",
            user_id=who.key,
            display_name=who.name,
            tz=who.tz,
        )
        self.room = ConsoleTeamRoom(
            team=self.runtime.team,
            facilitator=facilitator,
            clock=self.clock,
            files_dir=self.files_dir,
            stdin=io.StringIO(),
            stdout=self.stdout,
            admins=[p.key for p in self.people if p.admin],
        )
        for person in self.people:
            if person.key != who.key:
                self.room.introduce(person.name, tz=person.tz)
        self.dispatcher = self.runtime.dispatcher(self.room, pacing=None)
        since = len(self.stdout.getvalue())
        await self.room.start(method, topic)
        return [self.stdout.getvalue()[since:]]

    async def say(self, who: Person, text: str) -> list[str]:
        return await self._typed(f"{who.key}: {text}")

    async def dm(self, who: Person, text: str) -> list[str]:
        return await self._typed(f"{who.key} dm: {text}")

    async def press(self, who: Person, label: str) -> list[str]:
        return await self._typed(f"{who.key} press: {label}")

    async def command(self, who: Person, text: str) -> list[str]:
        return await self._typed(f"{who.key}: /{text}")

    async def advance(self, delta: timedelta) -> list[str]:
        assert self.dispatcher is not None
        since = len(self.stdout.getvalue())
        await deliver_until(self.runtime, self.clock, self.dispatcher, self.clock.now() + delta)
        return [self.stdout.getvalue()[since:]]
