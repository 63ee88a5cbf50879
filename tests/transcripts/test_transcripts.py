"""Every transcript runs through the engine and the console and ends the same way."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect

from core.dialogue.coach import Coach
from core.dialogue.events import Inbound
from core.dialogue.intents import Intent
from core.dialogue.model import Actor, Place
from core.methods.loader import MethodLibrary
from core.store.models import Base
from core.store.repository import SqlStore
from core.testing import EngineDriver, FakeClock, MemoryStore, load_transcript, run_transcript
from tests.databases import Database
from tests.discord.fake_discord import FakeDiscord
from tests.discord.rig import open_rig as open_discord_rig
from tests.slack.fake_slack import FakeSlack
from tests.slack.rig import ANN, TEAM, open_rig
from tests.transcripts.drivers import ConsoleDriver, DiscordDriver, SlackDriver

HERE = Path(__file__).parent
TRANSCRIPTS = sorted(HERE.glob("*.yaml"))


def _actor(tz: str) -> Actor:
    return Actor(platform="console", workspace="local", user_id="ann", display_name="Ann", tz=tz)


async def _final(store: MemoryStore) -> dict[str, Any]:
    (session,) = store.sessions.values()
    commitments = sorted(store.commitments.values(), key=lambda c: c.position)
    return {
        "status": session.status,
        "answers": session.state["answers"],
        "commitments": [(c.text, c.due_at) for c in commitments],
        "followups": sorted(f.kind for f in store.followups.values()),
    }


def _check_final(result: dict[str, Any], expected: dict[str, Any]) -> None:
    if "status" in expected:
        assert result["status"] == expected["status"]
    if "commitments" in expected:
        assert [text for text, _ in result["commitments"]] == expected["commitments"]
    if "followups" in expected:
        assert result["followups"] == sorted(expected["followups"])


@pytest.mark.parametrize("path", TRANSCRIPTS, ids=lambda p: p.stem)
async def test_transcript_through_every_adapter(
    path: Path, methods: MethodLibrary, database: Database, tmp_path: Path
) -> None:
    """The engine and the console in memory; Slack and Discord each on ``database``,
    emptied before every run, as a new bot would find it."""
    transcript = load_transcript(path)
    finals = {}

    # The engine, straight through the coach.
    store = MemoryStore()
    coach = Coach(store=store, methods=methods)
    clock = FakeClock(transcript.start)
    place = Place(platform="console", workspace="local", channel="terminal", thread="t")

    async def handle(inbound: Inbound) -> list[Intent]:
        return (await coach.handle(inbound)).intents

    await run_transcript(
        transcript, EngineDriver(handle, actor=_actor(transcript.tz), place=place, clock=clock)
    )
    finals["engine"] = await _final(store)

    # The console adapter.
    store = MemoryStore()
    coach = Coach(store=store, methods=methods)
    clock = FakeClock(transcript.start)
    driver = ConsoleDriver(coach, actor=_actor(transcript.tz), clock=clock, files_dir=tmp_path)
    try:
        await run_transcript(transcript, driver)
    finally:
        await driver.close()
    finals["console"] = await _final(store)

    # Slack: the real Bolt app over signed HTTP, typing every answer in the thread, and
    # again pressing the buttons where a question shows them.
    for click in (False, True):
        fake = FakeSlack(team_id=TEAM, users={ANN: {"real_name": "Ann", "tz": transcript.tz}})
        await fake.start()
        await _empty(database)
        rig = await open_rig(database, tmp_path, FakeClock(transcript.start), fake=fake)
        try:
            await run_transcript(transcript, SlackDriver(rig, click=click))
            finals[f"slack-click={click}"] = await _final_sql(rig.runtime.store)
            assert rig.service.bot.failures == 0
        finally:
            await rig.close()

    # Discord: the real discord.py client on a fake gateway, typing in the session's
    # thread, and again pressing the buttons.
    for click in (False, True):
        async with FakeDiscord() as discord_fake:
            await _empty(database)
            discord_rig = await open_discord_rig(
                discord_fake, database, tmp_path, FakeClock(transcript.start)
            )
            try:
                discord_driver = DiscordDriver(discord_rig, tz=transcript.tz, click=click)
                await run_transcript(transcript, discord_driver)
                finals[f"discord-click={click}"] = await _final_sql(discord_rig.runtime.store)
                assert discord_rig.service.bot.failures == 0
            finally:
                await discord_rig.close()

    _check_final(finals["engine"], transcript.final)
    assert finals["console"] == finals["engine"]
    assert finals["discord-click=False"] == finals["engine"]
    assert finals["discord-click=True"] == finals["engine"]
    assert finals["slack-click=False"] == finals["engine"]
    assert finals["slack-click=True"] == finals["engine"]


async def _empty(database: Database) -> None:
    """Delete the rows of every table of the store (none when it is not made yet)."""
    engine = database.engine()
    try:
        async with engine.begin() as conn:
            present = await conn.run_sync(lambda sync: set(inspect(sync).get_table_names()))
            for table in reversed(Base.metadata.sorted_tables):
                if table.name in present:
                    await conn.execute(table.delete())
    finally:
        await engine.dispose()


async def _final_sql(store: SqlStore) -> dict[str, Any]:
    (session,) = await store.list_sessions()
    commitments = await store.list_commitments(session_id=session.id)
    followups = await store.list_followups(session_id=session.id)
    return {
        "status": session.status,
        "answers": session.state["answers"],
        "commitments": [(c.text, c.due_at) for c in sorted(commitments, key=lambda c: c.position)],
        "followups": sorted(f.kind for f in followups),
    }


@pytest.mark.parametrize("path", TRANSCRIPTS, ids=lambda p: p.stem)
async def test_transcript_persisted_in_the_database(
    path: Path, methods: MethodLibrary, database: Database
) -> None:
    """The same conversation over a real database (SQLite and PostgreSQL) ends the same."""
    transcript = load_transcript(path)
    store = await database.open_store()
    try:
        coach = Coach(store=store, methods=methods)
        clock = FakeClock(transcript.start)
        place = Place(platform="console", workspace="local", channel="terminal", thread="t")

        async def handle(inbound: Inbound) -> list[Intent]:
            return (await coach.handle(inbound)).intents

        driver = EngineDriver(handle, actor=_actor(transcript.tz), place=place, clock=clock)
        await run_transcript(transcript, driver)
        (session,) = await store.list_sessions()
        commitments = await store.list_commitments(session_id=session.id)
        followups = await store.list_followups(session_id=session.id)
        _check_final(
            {
                "status": session.status,
                "commitments": [
                    (c.text, c.due_at) for c in sorted(commitments, key=lambda c: c.position)
                ],
                "followups": sorted(f.kind for f in followups),
            },
            transcript.final,
        )
        assert all(c.due_at.tzinfo is not None for c in commitments)
    finally:
        await store.close()
