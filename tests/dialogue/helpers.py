"""A tiny conversation helper for engine tests: say a line, get the bot's text back."""

from __future__ import annotations

from datetime import timedelta

from core.dialogue.coach import Coach
from core.dialogue.events import Choose, Command, Event, Inbound, Reply, Start
from core.dialogue.intents import Intent
from core.dialogue.model import Actor, Place
from core.testing import FakeClock, intent_text


class Chat:
    """One person talking to the coach in one place."""

    def __init__(self, coach: Coach, actor: Actor, place: Place, clock: FakeClock) -> None:
        self.coach = coach
        self.actor = actor
        self.place = place
        self.clock = clock
        self.session_id: str | None = None
        self.last: list[Intent] = []

    async def send(self, event: Event) -> str:
        self.clock.advance(timedelta(seconds=20))
        result = await self.coach.handle(
            Inbound(actor=self.actor, place=self.place, event=event, at=self.clock.now())
        )
        if result.session_id:
            self.session_id = result.session_id
        self.last = result.intents
        return "\n".join(intent_text(i) for i in result.intents)

    async def start(self, method: str, topic: str = "") -> str:
        return await self.send(Start(method=method, topic=topic))

    async def say(self, text: str) -> str:
        return await self.send(Reply(text=text))

    async def choose(self, action_id: str, value: str) -> str:
        return await self.send(Choose(action_id=action_id, value=value))

    async def command(self, name: str) -> str:
        return await self.send(Command(name=name))

    async def script(self, lines: list[str]) -> str:
        out = ""
        for line in lines:
            out = await self.say(line)
        return out
