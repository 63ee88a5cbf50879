"""A whole plan session and its check-in, through the real Slack and Discord clients,
with every logger at DEBUG and JSON logs on: no answer, topic, commitment, name, token
or secret may appear in what was logged.

The words below are unusual on purpose, so that finding one in the log can only mean it
leaked. The scan is checked twice for being able to fail: it finds a planted word, and
it finds the answers when a library that logs bodies is let through.
"""

from __future__ import annotations

import io
import json
import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bots.logs import configure_logging
from bots.settings import Settings
from core.testing import FakeClock
from tests.databases import Database
from tests.discord.fake_discord import FakeDiscord
from tests.discord.rig import DiscordRig
from tests.discord.test_sessions import start_plan
from tests.slack.fake_slack import FakeSlack
from tests.slack.rig import (
    ANN,
    BEN,
    BOT_TOKEN,
    SIGNING_SECRET,
    TEAM,
    SlackRig,
    message_text,
    open_rig,
)

pytestmark = pytest.mark.usefixtures("restore_logging")

TOPIC = "Launch the quokka beta"
OUTCOME = "I want the zeppelin release out"
STEP = "Fix the marmalade login bug"
CHALLENGE = "Finding the xylophone hours"
BLOCKER = "Waiting on the pangolin review"
NAME = "Ottoline Quimby"
PLAN = (OUTCOME, STEP, "nothing else", "1", CHALLENGE, "1", "tomorrow", "yes", "1")
WORDS = ("quokka", "zeppelin", "marmalade", "xylophone", "pangolin", "Ottoline", "Quimby")

SUNDAY_EVENING = datetime(2026, 11, 22, 17, 1, tzinfo=UTC)  # the check-in is due at 17:00

# Everything at DEBUG, and SQLAlchemy's SQL echo on as well.
NOISY = "DEBUG,sqlalchemy.engine=INFO"


def leaks(log: str, secrets: tuple[str, ...]) -> list[str]:
    """The secrets found in ``log`` (case-insensitive), in the order given."""
    lowered = log.lower()
    return [s for s in secrets if s.lower() in lowered]


def _capture(level: str = NOISY) -> io.StringIO:
    out = io.StringIO()
    configure_logging(Settings(log_format="json", log_level=level), stream=out)
    return out


def _loggers(log: str) -> set[str]:
    """Every line must be JSON; the names of the loggers that wrote them."""
    return {json.loads(line)["logger"] for line in log.splitlines()}


async def _slack_session(rig: SlackRig, clock: FakeClock) -> None:
    await rig.command(f"plan {TOPIC}")
    ts = str(rig.roots("C0001")[-1].response["ts"])
    for answer in PLAN:
        await rig.say(answer, thread_ts=ts)
    (commitment,) = await rig.runtime.store.list_commitments()
    assert commitment.text == STEP
    clock.set(SUNDAY_EVENING)
    assert await rig.service.dispatcher.tick() >= 1
    await rig.say("blocked", channel=f"D{ANN}", channel_type="im")
    await rig.say(BLOCKER, channel=f"D{ANN}", channel_type="im")
    assert "smallest next step" in message_text(rig.roots(f"D{ANN}")[-1])
    assert rig.service.bot.failures == 0


async def _open_slack(database: Database, tmp_path: Path, clock: FakeClock) -> SlackRig:
    fake = FakeSlack(
        team_id=TEAM,
        users={
            ANN: {"real_name": NAME, "tz": "Europe/London"},
            BEN: {"real_name": "Ben", "tz": "America/New_York"},
        },
    )
    await fake.start()
    store = await database.open_store()
    rig = await SlackRig.open(
        database_url=database.url, tmp_path=tmp_path, clock=clock, store=store, fake=fake
    )
    rig.owns_fake = True
    return rig


async def test_a_slack_session_and_check_in_log_no_words_names_or_secrets(
    database: Database, tmp_path: Path, clock: FakeClock
) -> None:
    out = _capture()
    rig = await _open_slack(database, tmp_path, clock)
    try:
        await _slack_session(rig, clock)
    finally:
        await rig.close()
    log = out.getvalue()
    assert leaks(log, (*WORDS, BOT_TOKEN, SIGNING_SECRET)) == []
    # The capture saw the noisy places: our DEBUG lines, the SQL echo, the HTTP server.
    loggers = _loggers(log)
    assert {"core.dialogue.coach", "sqlalchemy.engine.Engine", "aiohttp.access"} <= loggers
    assert "INSERT INTO" in log
    # The scanner itself can fail: a planted word is found.
    logging.getLogger("tests").warning("planted: %s", STEP)
    assert leaks(out.getvalue(), WORDS) == ["marmalade"]


async def test_the_hold_is_what_keeps_slack_sdk_bodies_out(
    database: Database, tmp_path: Path, clock: FakeClock
) -> None:
    """Naming slack_sdk lets its DEBUG through: then the answers are in the log. So the
    scan above would see a leak, and the hold is what prevents it."""
    out = _capture("DEBUG,slack_sdk=DEBUG")
    rig = await open_rig(database, tmp_path, clock)
    try:
        await rig.command(f"plan {TOPIC}")
        ts = str(rig.roots("C0001")[-1].response["ts"])
        await rig.say(OUTCOME, thread_ts=ts)
    finally:
        await rig.close()
    assert "zeppelin" in leaks(out.getvalue(), WORDS)


async def test_a_discord_session_and_check_in_log_no_words_names_or_secrets(
    database: Database, tmp_path: Path, clock: FakeClock
) -> None:
    out = _capture()
    async with FakeDiscord() as fake:
        fake.users[fake.ann_id]["global_name"] = NAME
        store = await database.open_store()
        rig = await DiscordRig.open(
            fake=fake, database_url=database.url, tmp_path=tmp_path, clock=clock, store=store
        )
        try:
            thread = await start_plan(rig, TOPIC)
            for answer in PLAN:
                await rig.say(thread, answer)
            (commitment,) = await rig.runtime.store.list_commitments()
            assert commitment.text == STEP
            clock.set(SUNDAY_EVENING)
            assert await rig.service.dispatcher.tick() >= 1
            await rig.say(0, "blocked", dm=True)
            await rig.say(0, BLOCKER, dm=True)
            assert rig.service.bot.failures == 0
        finally:
            await rig.close()
        token = fake.token
    log = out.getvalue()
    assert leaks(log, (*WORDS, token)) == []
    assert {"core.dialogue.coach", "sqlalchemy.engine.Engine", "discord.gateway"} <= _loggers(log)
