"""Retention: finished sessions past ``retention_days`` go, with what hangs on them; open,
recent, still-scheduled and live-team sessions stay. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bots.runtime import Runtime
from bots.settings import Settings
from core.dialogue.model import Actor, Place
from core.store.events import SqlEventLog
from core.store.models import inbound_events, nudges, team_plans, team_steps
from core.store.retention import DailyRetention, PruneCounts, SqlRetention
from core.testing import FakeClock, RecordingMessenger
from tests.databases import Database
from tests.dialogue.helpers import Chat
from tests.schedule.rig import PLAN_SCRIPT
from tests.transcripts.team_core import CoreTeamDriver, deliver_until
from tests.transcripts.team_runner import Person

START = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)  # a Saturday
DAYS = 30
ANN = Person(key="ann", name="Ann", tz="Europe/London")
BOB = Person(key="bob", name="Bob", tz="America/New_York")
CAI = Person(key="cai", name="Cai", tz="Asia/Tokyo")


@dataclass
class Bot:
    runtime: Runtime
    clock: FakeClock
    team: CoreTeamDriver

    def chat(self, who: Person, thread: str) -> Chat:
        actor = self.team.actor(who)
        place = Place(platform="test", workspace="w1", channel="C2", thread=thread)
        return Chat(self.runtime.coach, actor, place, self.clock)

    def key(self, who: Person) -> str:
        return self.team.actor(who).key()

    async def until(self, when: datetime) -> None:
        """Deliver every nudge due up to ``when`` (the bot running meanwhile)."""
        await deliver_until(self.runtime, self.clock, self.team.dispatcher, when)

    async def prune(self, *, dry_run: bool = False) -> PruneCounts:
        now = self.clock.now()
        return await SqlRetention(self.runtime.store).prune(
            before=now - timedelta(days=DAYS), now=now, dry_run=dry_run
        )

    async def sessions(self, who: Person) -> dict[str, str]:
        found = await self.runtime.store.list_sessions(owner=self.key(who), limit=100)
        return {f"{s.method}: {s.topic}": s.status for s in found}


@pytest.fixture
async def bot(database: Database, tmp_path: Path) -> AsyncIterator[Bot]:
    clock = FakeClock(START)
    store = await database.open_store()
    # No retention in the bot's own dispatcher: each test prunes when it means to.
    settings = Settings(data_dir=tmp_path, tz="Europe/London")
    runtime = await Runtime.open(settings, clock=clock, store=store)
    try:
        yield Bot(runtime, clock, CoreTeamDriver.build(runtime, clock, [ANN, BOB, CAI]))
    finally:
        await runtime.close()


async def _finished_plan(bot: Bot, who: Person, thread: str, topic: str) -> None:
    chat = bot.chat(who, thread)
    await chat.start("plan", topic)
    await chat.script(PLAN_SCRIPT)


async def _count(bot: Bot, table: object) -> int:
    async with bot.runtime.store.connection() as conn:
        return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())


async def test_an_old_finished_session_goes_with_its_commitments_and_nudges(bot: Bot) -> None:
    await _finished_plan(bot, ANN, "a1", "Launch the beta")
    await bot.chat(ANN, "a2").start("plan", "Still thinking")  # open, never answered
    await bot.until(START + timedelta(days=45))
    assert (await bot.sessions(ANN))["plan: Launch the beta"] == "done"
    checkins = {t: s for t, s in (await bot.sessions(ANN)).items() if s == "active"}

    counts = await bot.prune()

    assert (counts.sessions, counts.commitments) == (1, 3)
    assert counts.nudges >= 6  # a reminder or check-in and an overdue note per commitment
    left = await bot.sessions(ANN)
    assert "plan: Launch the beta" not in left
    # Open sessions stay however old: the unanswered PLAN, the check-ins it opened.
    assert left == {"plan: Still thinking": "active", **checkins}
    assert await bot.runtime.store.list_commitments(owner=bot.key(ANN)) == []


async def test_a_session_finished_within_the_retention_stays(bot: Bot) -> None:
    await _finished_plan(bot, ANN, "a1", "Old one")
    await bot.until(START + timedelta(days=20))
    await _finished_plan(bot, BOB, "b1", "Recent one")
    await bot.until(START + timedelta(days=45))

    counts = await bot.prune()

    assert counts.sessions == 1
    assert "plan: Old one" not in await bot.sessions(ANN)
    assert (await bot.sessions(BOB))["plan: Recent one"] == "done"
    assert len(await bot.runtime.store.list_commitments(owner=bot.key(BOB))) == 3


async def test_a_session_with_a_nudge_still_to_come_stays(bot: Bot) -> None:
    await _finished_plan(bot, ANN, "a1", "Launch the beta")
    far = bot.chat(BOB, "b1")  # dates a year out: its reminders are still to come
    await far.start("plan", "Next year")
    await far.script([*PLAN_SCRIPT[:10], "21 November 2027", "yes", *PLAN_SCRIPT[12:]])
    await bot.until(START + timedelta(days=45))

    await bot.prune()

    assert "plan: Launch the beta" not in await bot.sessions(ANN)
    assert (await bot.sessions(BOB))["plan: Next year"] == "done"


async def test_a_dry_run_counts_the_same_and_deletes_nothing(bot: Bot) -> None:
    await _finished_plan(bot, ANN, "a1", "Launch the beta")
    await bot.until(START + timedelta(days=45))
    before = await bot.sessions(ANN)

    dry = await bot.prune(dry_run=True)
    assert await bot.sessions(ANN) == before
    assert await bot.prune() == dry
    assert dry.sessions == 1 and dry.commitments == 3


async def test_a_live_team_plan_keeps_its_sessions_until_it_ended_long_enough_ago(
    bot: Bot,
) -> None:
    team = bot.team
    await team.start_team(ANN, "plan", "Team launch")
    for who, text in [
        (ANN, "The beta launched by March"),
        (BOB, "A landing page"),
        (ANN, "Fix the login bug"),
        (ANN, "nothing else"),
        (ANN, "2"),
        (ANN, "Time"),
        (ANN, "1"),
        (ANN, "1"),
    ]:
        await team.say(who, text)
    await team.say(BOB, "claim 2")
    await team.dm(BOB, "next Friday")
    await team.dm(BOB, "yes")
    await bot.until(START + timedelta(days=45))
    claims = await bot.sessions(BOB)
    assert claims["claim: A landing page"] == "done"

    await bot.prune()  # the plan runs: its dialogue, steps and Bob's claim all stay
    assert (await bot.sessions(ANN))["plan: Team launch"] == "done"
    assert await bot.sessions(BOB) == claims
    assert await _count(bot, team_steps) == 2

    await team.say(ANN, "end")
    await bot.prune()  # ended today: kept for the retention still
    assert await _count(bot, team_plans) == 1

    await bot.until(START + timedelta(days=80))
    counts = await bot.prune()
    assert (counts.team_plans, counts.team_steps) == (1, 2)
    assert await _count(bot, team_plans) == 0
    assert "plan: Team launch" not in await bot.sessions(ANN)
    assert "claim: A landing page" not in await bot.sessions(BOB)  # the claim went with its plan


async def test_two_replicas_pruning_at_once_delete_each_row_once(
    bot: Bot, database: Database
) -> None:
    for n in range(3):
        await _finished_plan(bot, ANN, f"a{n}", f"Plan {n}")
    await bot.until(START + timedelta(days=45))
    other = await database.open_store()
    try:
        now = bot.clock.now()
        before = now - timedelta(days=DAYS)
        first, second = await asyncio.gather(
            SqlRetention(bot.runtime.store).prune(before=before, now=now),
            SqlRetention(other).prune(before=before, now=now),
        )
    finally:
        await other.close()
    assert first.sessions + second.sessions == 3
    assert first.commitments + second.commitments == 9
    assert await bot.prune() == PruneCounts()


async def test_inbound_event_ids_are_kept_a_day(bot: Bot) -> None:
    events = SqlEventLog(bot.runtime.store)
    await events.first_time("slack:Ev1", now=START)
    await events.first_time("slack:Ev2", now=START + timedelta(hours=20))
    bot.clock.set(START + timedelta(hours=30))

    counts = await bot.prune()

    assert counts.inbound_events == 1
    async with bot.runtime.store.connection() as conn:
        left = (await conn.execute(select(inbound_events.c.key))).scalars().all()
    assert left == ["slack:Ev2"]


async def test_the_running_bot_prunes_once_a_day_on_its_clock(bot: Bot) -> None:
    bot.runtime.settings = bot.runtime.settings.model_copy(update={"retention_days": 1})
    dispatcher = bot.runtime.dispatcher(RecordingMessenger(), pacing=None)

    async def stopped(who: Person, topic: str) -> None:
        chat = bot.chat(who, topic)
        await chat.start("plan", topic)
        await chat.command("stop")
        await chat.choose("stop", "yes")

    async def tick_at(when: timedelta) -> None:
        bot.clock.set(START + when)
        await dispatcher.tick()

    await stopped(ANN, "Ann's")
    bot.clock.set(START + timedelta(days=2))
    await stopped(BOB, "Bob's")
    await tick_at(timedelta(days=2, hours=12))
    assert await bot.sessions(ANN) == {}  # a day old: pruned on the bot's first tick
    assert await bot.sessions(BOB) == {"plan: Bob's": "stopped"}  # twelve hours old

    await tick_at(timedelta(days=3, hours=1))
    assert await bot.sessions(BOB) == {"plan: Bob's": "stopped"}  # due, but pruned today
    await tick_at(timedelta(days=3, hours=12))
    assert await bot.sessions(BOB) == {}


async def test_daily_retention_runs_at_most_once_a_day_and_survives_a_failure(
    bot: Bot,
) -> None:
    daily = DailyRetention(SqlRetention(bot.runtime.store), days=DAYS)
    assert await daily(START) == PruneCounts()
    assert await daily(START + timedelta(hours=23)) is None
    assert await daily(START + timedelta(days=1)) == PruneCounts()
    await bot.runtime.store.close()
    assert await daily(START + timedelta(days=2)) is None  # logged; tried again tomorrow


async def test_without_a_retention_setting_only_event_ids_go(bot: Bot) -> None:
    await _finished_plan(bot, ANN, "a1", "Launch the beta")
    await bot.until(START + timedelta(days=400))
    daily = DailyRetention(SqlRetention(bot.runtime.store), days=None)
    assert await daily(bot.clock.now()) == PruneCounts()
    assert "plan: Launch the beta" in await bot.sessions(ANN)
    assert await _count(bot, nudges) > 0


def test_actor_keys_are_what_the_tests_assume() -> None:
    actor = Actor(platform="test", workspace="w1", user_id="ann", display_name="Ann")
    assert actor.key() == "test:w1:ann"


async def test_a_bot_that_is_stopping_leaves_the_prune_for_later(bot: Bot) -> None:
    await _finished_plan(bot, ANN, "a1", "Launch the beta")
    await bot.until(START + timedelta(days=400))
    now = bot.clock.now()
    retention = SqlRetention(bot.runtime.store)

    counts = await retention.prune(
        before=now - timedelta(days=DAYS), now=now, stopping=lambda: True
    )

    assert counts.sessions == 0
    assert "plan: Launch the beta" in await bot.sessions(ANN)
    counts = await retention.prune(before=now - timedelta(days=DAYS), now=now)
    assert counts.sessions == 1


async def test_due_nudges_go_out_before_the_day_s_prune(bot: Bot) -> None:
    await _finished_plan(bot, ANN, "a1", "Launch the beta")
    due = await bot.runtime.nudges.next_due()
    assert due is not None
    messenger = RecordingMessenger()
    delivered_before_upkeep: list[int] = []

    async def upkeep(now: datetime, stopping: object) -> None:
        delivered_before_upkeep.append(len(messenger.deliveries))

    dispatcher = bot.runtime.dispatcher(messenger, pacing=None)
    dispatcher.upkeep = upkeep
    bot.clock.set(due)
    await dispatcher.tick()

    assert delivered_before_upkeep and delivered_before_upkeep[0] >= 1
