"""A whole accountability setup on a real database with a fake clock, for scheduling tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from core.dialogue.coach import Coach
from core.dialogue.events import Inbound, Reply
from core.dialogue.model import Actor, Place
from core.methods.loader import MethodLibrary
from core.schedule.accountability import Accountability, Delivery
from core.schedule.dispatcher import Dispatcher
from core.schedule.model import NudgeRecord
from core.store.nudges import SqlNudgeStore
from core.store.repository import SqlStore
from core.testing import FakeClock, RecordingMessenger, intent_text, load_transcript
from tests.dialogue.helpers import Chat

__all__ = ["PLAN_SCRIPT", "Rig"]

# The person's side of tests/transcripts/plan.yaml: a PLAN session that ends with three
# commitments, when started on Saturday 21 November 2026 at 10:00 in London: "Fix the
# login bug" due Sunday 22 November 17:00, "Recruit 20 testers" Friday 27 November 17:00,
# "I need a landing page" Monday 30 November 17:00.
PLAN_SCRIPT = [
    str(turn["say"])
    for turn in load_transcript(Path(__file__).parents[1] / "transcripts" / "plan.yaml").turns
    if "say" in turn
]


@dataclass
class Rig:
    """Store, coach, accountability and a dispatcher delivering to a recording messenger."""

    store: SqlStore
    nudges: SqlNudgeStore
    coach: Coach
    acc: Accountability
    clock: FakeClock
    messenger: RecordingMessenger
    dispatcher: Dispatcher
    delivered: list[Delivery]

    @classmethod
    def build(cls, store: SqlStore, methods: MethodLibrary, clock: FakeClock) -> Rig:
        nudges = SqlNudgeStore(store)
        coach = Coach(store=store, methods=methods, default_tz="Europe/London")
        acc = Accountability(store=store, nudges=nudges, coach=coach, default_tz="Europe/London")
        messenger = RecordingMessenger()
        delivered: list[Delivery] = []
        dispatcher = Dispatcher(
            nudges=nudges,
            accountability=acc,
            messenger=messenger,
            clock=clock,
            worker="w1",
            pacing=None,
            on_delivered=delivered.append,
        )
        return cls(store, nudges, coach, acc, clock, messenger, dispatcher, delivered)

    def chat(self, actor: Actor, thread: str = "t1") -> Chat:
        place = Place(
            platform=actor.platform, workspace=actor.workspace, channel="c", thread=thread
        )
        return Chat(self.coach, actor, place, self.clock)

    async def plan(self, actor: Actor) -> Chat:
        """Run :data:`PLAN_SCRIPT`; the session ends with three commitments."""
        chat = self.chat(actor)
        await chat.start("plan", "Launch the beta")
        await chat.script(PLAN_SCRIPT)
        return chat

    async def at(self, when: datetime) -> list[str]:
        """Move the clock to ``when``, run the dispatcher, return what it delivered."""
        self.clock.set(when)
        before = len(self.messenger.deliveries)
        await self.dispatcher.tick()
        return self.messenger.texts()[before:]

    async def run_until(self, when: datetime) -> list[tuple[datetime, str]]:
        """Step the clock from nudge to nudge up to ``when``, as the timer would."""
        out: list[tuple[datetime, str]] = []
        while True:
            upcoming = await self.nudges.next_due()
            if upcoming is None or upcoming > when:
                self.clock.set(when)
                await self.dispatcher.tick()
                return out
            self.clock.set(max(upcoming, self.clock.now()))
            for text in await self.at(self.clock.now()):
                out.append((self.clock.now(), text))

    async def answer(self, actor: Actor, session_id: str, text: str) -> str:
        """Reply in a check-in the dispatcher opened."""
        self.clock.advance(timedelta(seconds=30))
        result = await self.coach.handle(
            Inbound(
                actor=actor,
                place=Place(platform=actor.platform, workspace=actor.workspace, channel="dm"),
                event=Reply(text=text),
                at=self.clock.now(),
                session_id=session_id,
            )
        )
        return "\n".join(intent_text(i) for i in result.intents)

    async def upcoming(self, owner: str) -> list[NudgeRecord]:
        return await self.acc.upcoming(owner)
