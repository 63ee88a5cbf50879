"""A database in which one person, Zoë, appears in every table, beside people who stay.

Everything is made the way the bot makes it (the coach, the team coach, accountability,
the dispatcher), not by inserting rows, so a forget test sees whatever the real flows
leave behind: a name copied into a notice, an answer kept in a team session's state.

Zoë's private answers all contain :data:`MARK`; what she adds to a team plan in the
team's thread does not (it stays the team's, anonymous, when she is forgotten).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from bots.runtime import Runtime
from core.dialogue.model import Actor, Place
from core.schedule.compose import partner_action_id
from core.store.events import SqlEventLog
from core.testing import FakeClock
from tests.dialogue.helpers import Chat
from tests.transcripts.team_core import CoreTeamDriver
from tests.transcripts.team_runner import Person

__all__ = ["MARK", "PEOPLE", "ZOE", "World", "build_world"]

MARK = "Xylophone"
"""In every private answer of Zoë's: none may survive her forget."""

ZOE = Person(key="zq42", name="Zoë Quill", tz="Europe/London")
BOB = Person(key="bob7", name="Bob Ray", tz="America/New_York")
CAI = Person(key="cai9", name="Cai Sun", tz="Asia/Tokyo")
DEE = Person(key="dee3", name="Dee Moss", tz="Europe/Berlin", admin=True)
PEOPLE = [ZOE, BOB, CAI, DEE]

# Zoë's seven-step session: a breakthrough moment (the 😭), a commitment, a daily
# visualisation and a review (follow-ups). Her free-text answers carry the mark.
SEVEN_STEP = [
    "ready",
    "ok",
    f"{MARK} asking my manager for a raise",
    f"{MARK} it keeps happening every review",
    f"{MARK} I freeze up in reviews",
    f"{MARK} anxious and small",
    f"{MARK} I stayed silent",
    f"{MARK} ask directly\n{MARK} write it down first",
    "nothing else",
    "1",
    f"{MARK} scary but right",
    f"{MARK} a fair raise and respect",
    f"{MARK} light, proud 😭",
    f"{MARK} like I deserve it",
    "Yes",
    f"{MARK} collected my wins",
    f"{MARK} talk to HR about bands",
    "nothing else",
    "7am",
    f"{MARK} fear of hearing no",
    "nothing else",
    f"{MARK} breathe and ask anyway",
    f"{MARK} book a meeting with my manager",
    "Monday at 9am",
    "yes",
    f"{MARK} my partner",
    "next Friday",
    "yes",
]

# Bob's own PLAN (tests/transcripts/plan.yaml): three commitments that must survive.
BOB_PLAN = [
    "I want the beta launched by March",
    "I need a landing page",
    "Recruit 20 testers",
    "Fix the login bug",
    "nothing else",
    "3",
    "Finding the time",
    "1",
    "2",
    "1",
    "tomorrow",
    "yes",
    "next Friday",
    "yes",
    "end of the month",
    "yes",
    "2",
]


@dataclass
class World:
    runtime: Runtime
    clock: FakeClock
    team: CoreTeamDriver

    def actor(self, who: Person) -> Actor:
        return self.team.actor(who)

    def chat(self, who: Person, thread: str) -> Chat:
        actor = self.actor(who)
        place = Place(
            platform=actor.platform, workspace=actor.workspace, channel="C2", thread=thread
        )
        return Chat(self.runtime.coach, actor, place, self.clock)


async def build_world(runtime: Runtime, clock: FakeClock) -> World:
    """Zoë in every table; Bob, Cai and Dee around her (see the module docstring)."""
    team = CoreTeamDriver.build(runtime, clock, PEOPLE)
    world = World(runtime, clock, team)
    acc = runtime.accountability
    zoe, bob, cai, dee = (world.actor(p) for p in PEOPLE)

    # A team plan Zoë facilitates, with a step she adds and owns, one Bob adds and owns.
    await team.start_team(ZOE, "plan", "Launch the beta")
    await team.say(ZOE, "The beta launched by March")
    await team.say(BOB, "A landing page")
    await team.say(CAI, "Recruit 20 testers")
    await team.say(ZOE, "Fix the login bug")
    await team.say(ZOE, "nothing else")
    for answer in ("3", "Finding the time", "2", "1", "1"):
        await team.say(ZOE, answer)
    await team.say(ZOE, "claim 1")
    await team.dm(ZOE, "tomorrow")
    await team.dm(ZOE, "yes")
    await team.press(BOB, "Claim 3")
    await team.dm(BOB, "next Friday")
    await team.dm(BOB, "yes")
    # Her private reflection as facilitator, asked in her DMs.
    for answer in ("the ordering took a while", "show the list first", "fewer questions", "go"):
        await team.dm(ZOE, f"{MARK} {answer}")
    await team.command(ZOE, "team digest friday 16:00")

    # Her own sessions: a finished seven-step, an unfinished PLAN; her settings.
    seven = world.chat(ZOE, "z1")
    await seven.start("seven-step", f"{MARK} asking for a raise")
    await seven.script(SEVEN_STEP)
    unfinished = world.chat(ZOE, "z2")
    await unfinished.start("plan", f"{MARK} a quieter week")
    await unfinished.say(f"{MARK} evenings free")
    await acc.settings(zoe, "quiet 22:00-07:00", now=clock.now())

    # Bob's own session and settings: all of it stays.
    await world.chat(BOB, "b1").start("plan", "Launch the beta")
    await world.chat(BOB, "b1").script(BOB_PLAN)
    await acc.settings(bob, "quiet 21:00-06:00", now=clock.now())

    # Partner links both ways: Zoë asked Bob (he accepted); Cai asked Zoë (she accepted);
    # Dee asked Zoë and is still waiting.
    await acc.invite_partner(zoe, bob, now=clock.now())
    await acc.act(bob, action_id=partner_action_id(zoe.key()), value="accept", now=clock.now())
    await acc.invite_partner(cai, zoe, now=clock.now())
    await acc.act(zoe, action_id=partner_action_id(cai.key()), value="accept", now=clock.now())
    await acc.invite_partner(dee, zoe, now=clock.now())

    # Two days on: notices, reminders, check-ins and the visualisation are delivered (sent
    # rows), the check-in opens a session in her DMs, later ones stay pending.
    await team.advance(timedelta(days=2))

    # An inbound platform event (Slack's event_id): kept a day, about no one.
    await SqlEventLog(runtime.store).first_time("slack:Ev0123ABCD", now=clock.now())
    return world
