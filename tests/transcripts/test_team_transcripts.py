"""Every team transcript gives the same result through the core, the console, Slack and
Discord: the same steps, owners, dates and states, and the same things refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bots.runtime import Runtime
from bots.settings import Settings
from core.store.team import SqlTeamStore
from core.testing import FakeClock
from tests.databases import Database
from tests.transcripts.team_core import ConsoleTeamDriver, CoreTeamDriver
from tests.transcripts.team_runner import (
    TeamTranscript,
    load_team_transcript,
    run_team_transcript,
)

HERE = Path(__file__).parent / "team"
TRANSCRIPTS = sorted(HERE.glob("*.yaml"))


async def team_final(runtime: Runtime) -> dict[str, Any]:
    """The plan as it was left: each step's text, author, owner and state; the plan's state."""
    teams = SqlTeamStore(runtime.store)
    plans = await teams.list_plans(active_only=False)
    assert len(plans) == 1
    (plan,) = plans
    steps = [s for s in await teams.list_steps([plan.session_id]) if s.position is not None]
    commitments = await teams.step_commitments([plan.session_id])
    rows = []
    for s in steps:
        c = commitments.get(s.commitment_id)
        rows.append([s.text, s.author_name, s.owner_name or None, c.status if c else None])
    return {"steps": rows, "plan": plan.status}


def check_team_final(result: dict[str, Any], transcript: TeamTranscript) -> None:
    expected = transcript.final
    if "steps" in expected:
        assert result["steps"] == [list(row) for row in expected["steps"]]
    if "plan" in expected:
        assert result["plan"] == expected["plan"]


@pytest.mark.parametrize("path", TRANSCRIPTS, ids=lambda p: p.stem)
async def test_team_transcript_through_the_core(
    path: Path, database: Database, tmp_path: Path
) -> None:
    transcript = load_team_transcript(path)
    clock = FakeClock(transcript.start)
    store = await database.open_store()
    settings = Settings(data_dir=tmp_path, tz="Europe/London")
    runtime = await Runtime.open(settings, clock=clock, store=store)
    try:
        driver = CoreTeamDriver.build(runtime, clock, list(transcript.people))
        await run_team_transcript(transcript, driver)
        check_team_final(await team_final(runtime), transcript)
    finally:
        await runtime.close()


@pytest.mark.parametrize("path", TRANSCRIPTS, ids=lambda p: p.stem)
async def test_team_transcript_through_the_console(
    path: Path, database: Database, tmp_path: Path
) -> None:
    transcript = load_team_transcript(path)
    clock = FakeClock(transcript.start)
    store = await database.open_store()
    settings = Settings(data_dir=tmp_path, tz="Europe/London")
    runtime = await Runtime.open(settings, clock=clock, store=store)
    try:
        driver = ConsoleTeamDriver(runtime, clock, list(transcript.people), tmp_path)
        await run_team_transcript(transcript, driver)
        check_team_final(await team_final(runtime), transcript)
    finally:
        await runtime.close()


# -- Discord (tests/transcripts/team_discord.py) ---------------------------------------------


@pytest.mark.parametrize("content", [True, False], ids=["content", "mentions"])
@pytest.mark.parametrize("path", TRANSCRIPTS, ids=lambda p: p.stem)
async def test_team_transcript_through_discord(
    path: Path, content: bool, database: Database, tmp_path: Path
) -> None:
    """The real discord.py client on a fake Discord: the slash command, the public thread,
    DMs, buttons and ephemeral replies, with each person's permissions and time zone; with
    the message content intent, and without it (people mention the bot in the thread)."""
    from tests.transcripts.team_discord import DiscordTeamDriver

    transcript = load_team_transcript(path)
    store = await database.open_store()
    driver = await DiscordTeamDriver.open(
        list(transcript.people),
        database_url=database.url,
        tmp_path=tmp_path,
        clock=FakeClock(transcript.start),
        store=store,
        message_content=content,
    )
    try:
        await run_team_transcript(transcript, driver)
        check_team_final(await team_final(driver.rig.runtime), transcript)
        assert driver.rig.service.bot.failures == 0
    finally:
        await driver.close()


# -- Slack (tests/transcripts/team_slack.py) -------------------------------------------------


@pytest.mark.parametrize("path", TRANSCRIPTS, ids=lambda p: p.stem)
async def test_team_transcript_through_slack(
    path: Path, database: Database, tmp_path: Path
) -> None:
    """The real Bolt app over signed HTTP on a fake Slack: the slash command, the plan's
    thread, DMs, buttons and ephemeral replies, with each person's profile (zone, admin)."""
    from tests.transcripts.team_slack import SlackTeamDriver

    transcript = load_team_transcript(path)
    store = await database.open_store()
    driver = await SlackTeamDriver.open(
        list(transcript.people),
        database_url=database.url,
        tmp_path=tmp_path,
        clock=FakeClock(transcript.start),
        store=store,
    )
    try:
        await run_team_transcript(transcript, driver)
        check_team_final(await team_final(driver.rig.runtime), transcript)
        assert driver.rig.service.bot.failures == 0
    finally:
        await driver.close()
