"""A database holding someone's words in every column that can: the encryption tests' world.

Ann runs a whole PLAN session (topic, outcome, steps, a challenge: answers and
commitments, and the nudges they schedule) with a follow-up, facilitates a team PLAN in
which Bob claims and dates a step (team plan, team steps, his commitment), and one nudge
fails with a driver's message that quotes her words. Every text is a made-up word, so finding it in
the raw database can only mean it was stored in plain text.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from bots.runtime import Runtime
from bots.settings import Settings
from core.dialogue.model import Actor, Place
from core.ports import FollowUpRecord
from core.schedule.model import NudgeOutcome
from core.store.repository import SqlStore
from core.testing import FakeClock
from tests.dialogue.helpers import Chat
from tests.transcripts.team_core import CoreTeamDriver
from tests.transcripts.team_runner import Person

__all__ = ["ANN", "START", "WORDS", "ann_actor", "write_world"]

START = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)  # a Saturday
ANN = Person(key="ann", name="Ann", tz="Europe/London")
BOB = Person(key="bob", name="Bob", tz="America/New_York")

TOPIC = "Zephyrquill launch"
OUTCOME = "the Xanthoriel beta out by March"
STEPS = ("Quokkafeather landing page", "Recruit Brindlemoss testers", "Fix the Vellichor bug")
CHALLENGE = "Finding Gossamerine time"
TEAM_TOPIC = "Marzipanolith offsite"
TEAM_OUTCOME = "The Tumbleweft offsite booked"
TEAM_STEPS = ("A Pumpernickelia venue", "Snickersnee invitations")
FAILURE = "Failing row contains (Wobbleganza)"
FOLLOW_UP = "Review the Flibbertigibbet plan"

WORDS = (
    "Zephyrquill",
    "Xanthoriel",
    "Quokkafeather",
    "Brindlemoss",
    "Vellichor",
    "Gossamerine",
    "Marzipanolith",
    "Tumbleweft",
    "Pumpernickelia",
    "Snickersnee",
    "Wobbleganza",
    "Flibbertigibbet",
    "Kerfufflewick",
)
"""One made-up word from each text above; none is a name, an id or a date."""


def ann_actor() -> Actor:
    return Actor(
        platform="test", workspace="w1", user_id="ann", display_name="Ann", tz="Europe/London"
    )


async def write_world(store: SqlStore, tmp_path: Path) -> Runtime:
    """Write the world through ``store`` as a runtime would; the caller closes the
    runtime it returns (and with it ``store``), so a test can look at the files first."""
    clock = FakeClock(START)
    runtime = await Runtime.open(
        Settings(data_dir=tmp_path, tz="Europe/London"), clock=clock, store=store
    )
    try:
        await _personal_plan(runtime, clock)
        await _follow_up(runtime, clock)
        await _team_plan(runtime, clock)
        await _failed_nudge(runtime, clock)
    except BaseException:
        await runtime.close()
        raise
    return runtime


async def _personal_plan(runtime: Runtime, clock: FakeClock) -> None:
    place = Place(platform="test", workspace="w1", channel="D-ann", thread="p1")
    chat = Chat(runtime.coach, ann_actor(), place, clock)
    await chat.start("plan", TOPIC)
    await chat.script([OUTCOME, *STEPS, "nothing else", "3", CHALLENGE, "1", "2", "1"])
    await chat.script(["tomorrow", "yes", "next Friday", "yes", "end of the month", "yes"])
    said = await chat.say("1")
    assert "That's your plan" in said, said


async def _follow_up(runtime: Runtime, clock: FakeClock) -> None:
    """A follow-up on Ann's plan, as a method schedules one (PLAN itself has none)."""
    (session,) = await runtime.store.list_sessions(owner=ann_actor().key())
    follow_up = FollowUpRecord(
        id=f"{session.id}:review",
        session_id=session.id,
        owner=session.owner,
        kind="review",
        text=FOLLOW_UP,
        due_at=clock.now() + timedelta(days=14),
        tz="Europe/London",
        extra={"note": "Kerfufflewick"},
        created_at=clock.now(),
    )
    await runtime.store.save_turn(session, followups=[follow_up])


async def _team_plan(runtime: Runtime, clock: FakeClock) -> None:
    team = CoreTeamDriver.build(runtime, clock, [ANN, BOB])
    await team.start_team(ANN, "plan", TEAM_TOPIC)
    await team.say(ANN, TEAM_OUTCOME)
    await team.say(BOB, TEAM_STEPS[0])
    await team.say(ANN, TEAM_STEPS[1])
    await team.say(ANN, "nothing else")
    await team.say(ANN, "1")  # first: the venue
    await team.say(ANN, "Time")
    await team.say(ANN, "1")  # then the invitations
    await team.say(ANN, "1")  # recorded as a list
    await team.say(BOB, "claim 1")
    await team.dm(BOB, "next Friday")
    await team.dm(BOB, "yes")


async def _failed_nudge(runtime: Runtime, clock: FakeClock) -> None:
    """The first due nudge fails with a driver's message that quotes someone's words."""
    upcoming = await runtime.nudges.next_due()
    assert upcoming is not None
    now = max(upcoming, clock.now()) + timedelta(minutes=1)
    (nudge, *_) = await runtime.nudges.claim_due(
        now=now, worker="test", lease=timedelta(minutes=5), limit=1
    )
    outcome = NudgeOutcome(key=nudge.key, status="failed", error=FAILURE)
    assert await runtime.nudges.finish([outcome], worker="test", now=now) == 1
