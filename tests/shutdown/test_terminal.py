"""SIGTERM (and Ctrl-C) to the programs without a chat platform: the ``dispatch`` worker
and a console session, the default command when no platform is configured."""

from __future__ import annotations

import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.schedule.model import NudgeDraft, Preferences
from core.store.nudges import SqlNudgeStore
from core.store.repository import SqlStore
from tests.programs import program_env, session_topics
from tests.shutdown.programs import Program

ANN = "console:local:ann"


async def test_the_dispatch_worker_stops_cleanly_on_sigterm(
    database_url: str, tmp_path: Path
) -> None:
    store = await SqlStore.open(database_url)
    try:
        nudges = SqlNudgeStore(store)
        now = datetime.now(UTC)
        await nudges.save_preferences(
            Preferences(owner=ANN, quiet_start=None, quiet_end=None), now=now
        )
        draft = NudgeDraft(
            key="notice:ann",
            kind="notice",
            owner=ANN,
            target="ann",
            due_at=now - timedelta(minutes=1),
            tz="UTC",
            payload={"text": "Sam accepted your invitation."},
        )
        await nudges.add_nudges([draft], now=now)
    finally:
        await store.close()

    env = program_env(tmp_path, database_url=database_url)
    worker = await Program.start("dispatch", env=env, ready="Delivering")
    try:
        await worker.wait_output("Sam accepted your invitation.")
        worker.signal()
        assert await worker.exit_code() == 0, worker.output
    finally:
        await worker.kill()
    assert "Stopping (SIGTERM)" in worker.output
    store = await SqlStore.open(database_url)
    try:
        [row] = await SqlNudgeStore(store).list_nudges()
    finally:
        await store.close()
    assert (row.status, row.claim_until) == ("sent", None)


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 0), (signal.SIGINT, 130)])
async def test_a_console_session_waiting_for_an_answer_stops_at_once(
    database_url: str, tmp_path: Path, sig: int, code: int
) -> None:
    env = program_env(tmp_path, database_url=database_url)
    console = await Program.start(
        "console", "plan", "Launch the beta", env=env, ready="What would you like", stdin=True
    )
    try:
        console.signal(sig)
        assert await console.exit_code(timeout=10) == code, console.output
    finally:
        await console.kill()
    assert "Stopped. Your session is saved where you left it." in console.output
    assert await session_topics(database_url) == ["Launch the beta"]
