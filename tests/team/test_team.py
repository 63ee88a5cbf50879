"""Team plans through the core: forgetting a member, other methods as a team, admins,
the scheduled digest. (The whole four-person session is tests/transcripts/team/plan.yaml.)"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bots.runtime import Runtime
from bots.settings import Settings
from core.dialogue.intents import DirectMessage
from core.privacy import forget_action_id
from core.store.team import FORMER_FACILITATOR, SqlTeamStore
from core.team.words import parse_digest_schedule, parse_step_word, parse_team_command
from core.testing import FakeClock
from tests.databases import Database
from tests.transcripts.team_core import CoreTeamDriver
from tests.transcripts.team_runner import Person

START = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)  # a Saturday
ANN = Person(key="ann", name="Ann", tz="Europe/London")
BOB = Person(key="bob", name="Bob", tz="America/New_York")
CAI = Person(key="cai", name="Cai", tz="Asia/Tokyo")
DEE = Person(key="dee", name="Dee", tz="Europe/Berlin", admin=True)


@pytest.fixture
async def team(database: Database, tmp_path: Path) -> AsyncIterator[CoreTeamDriver]:
    clock = FakeClock(START)
    store = await database.open_store()
    runtime = await Runtime.open(
        Settings(data_dir=tmp_path, tz="Europe/London"), clock=clock, store=store
    )
    try:
        yield CoreTeamDriver.build(runtime, clock, [ANN, BOB, CAI, DEE])
    finally:
        await runtime.close()


async def _plan_with_owners(team: CoreTeamDriver) -> None:
    """Ann facilitates; Bob adds and owns "A landing page" (dated); Cai owns step 1."""
    await team.start_team(ANN, "plan", "Launch the beta")
    await team.say(ANN, "The beta launched by March")
    await team.say(BOB, "A landing page")
    await team.say(ANN, "Fix the login bug")
    await team.say(ANN, "nothing else")
    await team.say(ANN, "2")  # first: Fix the login bug
    await team.say(ANN, "Time")
    await team.say(ANN, "1")  # next: A landing page
    await team.say(ANN, "1")  # recorded as a list
    await team.say(BOB, "claim 2")
    await team.dm(BOB, "next Friday")
    await team.dm(BOB, "yes")
    await team.say(CAI, "claim 1")


async def _steps(team: CoreTeamDriver) -> list[tuple[str, str, str | None]]:
    teams = SqlTeamStore(team.runtime.store)
    (plan,) = await teams.list_plans(active_only=False)
    return [
        (s.text, s.author_name, s.owner)
        for s in await teams.list_steps([plan.session_id])
        if s.position is not None
    ]


async def test_forgetting_an_owner_makes_their_steps_unowned_and_keeps_the_plan(
    team: CoreTeamDriver,
) -> None:
    await _plan_with_owners(team)
    bob = team.actor(BOB)
    told = await team.runtime.privacy.forget(bob, action_id=forget_action_id(bob), value="yes")
    words = " ".join(getattr(i, "text", "") for i in told)
    assert "1 step you owned, now unclaimed" in words
    assert await _steps(team) == [
        ("Fix the login bug", "Ann", "test:w1:cai"),
        ("A landing page", "", None),  # Bob's name is gone from the step he added
    ]
    assert await team.runtime.store.list_commitments(owner=bob.key()) == []
    board = await team.say(ANN, "board")
    assert any("A landing page — unclaimed" in line for line in board)


async def test_forgetting_the_facilitator_leaves_the_team_its_plan_and_commitments(
    team: CoreTeamDriver,
) -> None:
    await _plan_with_owners(team)
    ann = team.actor(ANN)
    await team.runtime.privacy.forget(ann, action_id=forget_action_id(ann), value="yes")
    teams = SqlTeamStore(team.runtime.store)
    (plan,) = await teams.list_plans()
    assert (plan.facilitator, plan.facilitator_name) == (None, FORMER_FACILITATOR)
    kept = await team.runtime.store.list_commitments(owner=team.actor(BOB).key())
    assert [c.text for c in kept] == ["A landing page"]
    session = await team.runtime.store.load_session(plan.session_id)
    assert session is not None and "Ann" not in str(session.state["owner"])
    data = await team.runtime.privacy.data.collect(ann.key())
    assert all(rows == [] for rows in data.values())
    # Nobody facilitates any more; an admin may still end it.
    refused = await team.say(BOB, "end")
    assert "Nothing was changed" in " ".join(refused)
    ended = await team.command(DEE, f"team end {plan.session_id[:8]}")
    assert any("ended this team plan" in line for line in ended)


async def test_seven_step_as_a_team_keeps_personal_steps_private(team: CoreTeamDriver) -> None:
    shown = await team.start_team(ANN, "seven-step", "Our release incident")
    assert any("the personal questions are for each of you alone" in s for s in shown)
    said: list[str] = []
    for answer in ("ready", "ready", "The release broke login"):
        said += await team.say(ANN, answer)
    joined = " ".join(said)
    # Step 1's pattern and feelings questions are personal: the thread goes to the truth.
    assert "keeps happening" not in joined
    assert "What is true about this event?" in joined
    record = await team.runtime.store.load_session(
        (await SqlTeamStore(team.runtime.store).list_plans())[0].session_id
    )
    assert record is not None and record.state["context"].get("team") == "1"


async def test_a_member_reflects_privately_on_the_personal_steps_only(team: CoreTeamDriver) -> None:
    await _plan_with_owners(team)
    asked = await team.press(BOB, "Reflect privately")
    assert asked[-1].startswith("[dm bob] Are you genuinely motivated")
    done = await team.dm(BOB, "1")
    assert any("These answers are yours alone" in line for line in done)
    assert not any(line.startswith("[thread]") for line in done)


async def test_listing_and_ending_by_id_is_for_admins(team: CoreTeamDriver) -> None:
    await _plan_with_owners(team)
    (plan,) = await SqlTeamStore(team.runtime.store).list_plans()
    refused = await team.command(BOB, f"team end {plan.session_id[:8]}")
    assert "only Ann (the facilitator) or a workspace admin" in " ".join(refused)
    assert (await SqlTeamStore(team.runtime.store).list_plans()) != []
    listed = await team.command(DEE, "team list")
    assert plan.session_id[:8] in " ".join(listed)


async def test_the_weekly_digest_comes_at_the_chosen_time_and_again_a_week_later(
    team: CoreTeamDriver,
) -> None:
    await _plan_with_owners(team)
    set_to = await team.command(ANN, "team digest friday 16:00")
    assert "every Friday at 16:00 (Europe/London)" in " ".join(set_to)
    early = await team.advance_to(datetime(2026, 11, 27, 15, 59, tzinfo=UTC))
    assert not any(line.startswith("[channel]") for line in early)
    posted = await team.advance_to(datetime(2026, 11, 27, 16, 1, tzinfo=UTC))
    assert any(line.startswith("[channel] This week in the team's plans") for line in posted)
    assert any(line.startswith("[channel] [image team-progress-2026-11-27.png") for line in posted)
    later = await team.advance_to(datetime(2026, 12, 4, 16, 1, tzinfo=UTC))
    assert sum(line.startswith("[channel] This week") for line in later) == 1
    await team.say(ANN, "end")
    after_end = await team.advance_to(datetime(2026, 12, 11, 16, 1, tzinfo=UTC))
    assert not any(line.startswith("[channel]") for line in after_end)


def test_team_words() -> None:
    assert parse_step_word("Claim #2") is not None
    word = parse_step_word("date 3 next Friday at 5pm")
    assert word is not None and (word.action, word.number, word.rest) == (
        "date",
        3,
        "next Friday at 5pm",
    )
    assert parse_step_word("I think we should claim the prize") is None
    assert parse_step_word("end") is not None and parse_step_word("the end is near") is None
    assert parse_team_command("Launch the beta").name == "start"
    assert parse_team_command("session Our hiring").method == "session"
    assert parse_team_command("end").name == "step"  # "end" alone is the thread's word
    assert parse_team_command("end 1a2b").name == "end"
    schedule = parse_digest_schedule("Fri 4pm")
    assert not isinstance(schedule, str) and (schedule.day, schedule.time) == (4, "16:00")
    assert isinstance(parse_digest_schedule("someday"), str)
    off = parse_digest_schedule("off")
    assert not isinstance(off, str) and not off.on


async def test_a_date_given_after_the_step_was_given_back_is_not_kept(
    team: CoreTeamDriver,
) -> None:
    await _plan_with_owners(team)  # Cai claimed step 1; its date question waits in her DMs
    await team.say(CAI, "unclaim 1")
    late = await team.dm(CAI, "tomorrow")
    late += await team.dm(CAI, "yes")
    assert any("isn't yours any more" in line for line in late)
    assert not any(line.startswith("[thread] Cai will have") for line in late)
    assert await team.runtime.store.list_commitments(owner=team.actor(CAI).key()) == []


async def test_the_facilitators_report_with_their_reflection_goes_only_to_their_dms(
    team: CoreTeamDriver,
) -> None:
    await _plan_with_owners(team)
    for answer in ("A slow start", "Ask sooner", "Listen more", "Show the list"):
        await team.dm(ANN, answer)
    teams = SqlTeamStore(team.runtime.store)
    (plan,) = await teams.list_plans()
    record = await team.runtime.store.load_session(plan.session_id)
    assert record is not None and team.thread is not None
    ann = team.actor(ANN)
    document = await team.runtime.team.report(ann, record, to=team.thread)
    assert document is not None and "Show the list" in document.markdown
    assert document.to == DirectMessage(actor=ann)
    # Anyone else asking for the team's report gets it without the reflection.
    public = await team.runtime.team.report(team.actor(BOB), record, to=team.thread)
    assert public is not None and "Show the list" not in public.markdown
    assert "## Owners" in public.markdown
