"""Restart: a dispatcher process killed with a claim outstanding, and a new one started
two hours later, delivers every missed nudge once and nothing twice.

Real processes (``breakthrough dispatch``) on a real database, SQLite and PostgreSQL;
their clocks are set with ``--clock-start`` instead of waiting for time to pass.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from core.dialogue.model import Actor
from core.methods.loader import MethodLibrary
from core.store.nudges import SqlNudgeStore
from core.store.repository import SqlStore
from core.testing import FakeClock
from tests.programs import program_env
from tests.schedule.rig import Rig

ROOT = Path(__file__).resolve().parents[2]
SUNDAY_0855 = datetime(2026, 11, 22, 8, 55, tzinfo=UTC)


def _dispatch_once(tmp_path: Path, url: str, at: datetime) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bots.cli", "dispatch", "--once", "--clock-start", at.isoformat()],
        capture_output=True,
        text=True,
        env=program_env(tmp_path, database_url=url),
        cwd=ROOT,
        timeout=120,
        check=False,
    )


async def _plan(url: str, methods: MethodLibrary, ann: Actor) -> None:
    store = await SqlStore.open(url)
    clock = FakeClock(datetime(2026, 11, 21, 10, 0, tzinfo=UTC))
    await Rig.build(store, methods, clock).plan(ann)
    await store.close()


async def _claim_and_die(url: str, at: datetime) -> str:
    """What a dispatcher does before it is killed mid-delivery: claim, then nothing."""
    store = await SqlStore.open(url)
    nudges = SqlNudgeStore(store)
    [claimed] = await nudges.claim_due(now=at, worker="dead", lease=timedelta(minutes=5), limit=1)
    await store.close()
    return claimed.kind


def test_killed_and_restarted_two_hours_later_delivers_missed_nudges_once(
    database_url: str, tmp_path: Path, methods: MethodLibrary, ann: Actor
) -> None:
    asyncio.run(_plan(database_url, methods, ann))

    # A running dispatcher, killed hard before the 09:00 reminder.
    running = subprocess.Popen(
        [sys.executable, "-m", "bots.cli", "dispatch", "--clock-start", SUNDAY_0855.isoformat()],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=program_env(tmp_path, database_url=database_url),
        cwd=ROOT,
    )
    assert running.stderr is not None
    assert "Delivering nudges" in running.stderr.readline()
    running.send_signal(signal.SIGKILL)
    running.wait(timeout=30)

    # And one that died between claiming the reminder and sending it.
    at_nine = SUNDAY_0855 + timedelta(minutes=5)
    assert asyncio.run(_claim_and_die(database_url, at_nine)) == "reminder"

    # Two hours later a new process starts: the reminder is delivered, once.
    later = at_nine + timedelta(hours=2)
    first = _dispatch_once(tmp_path, database_url, later)
    assert first.returncode == 0, first.stderr
    assert first.stdout.count("A reminder: “Fix the login bug” is due today at 17:00.") == 1
    assert "Delivered 1 nudges" in first.stderr

    again = _dispatch_once(tmp_path, database_url, later)
    assert again.returncode == 0, again.stderr
    assert "A reminder" not in again.stdout
    assert "Delivered 0 nudges" in again.stderr

    # The afternoon's check-in still comes, at its time, once.
    evening = _dispatch_once(tmp_path, database_url, datetime(2026, 11, 22, 17, 0, tzinfo=UTC))
    assert evening.stdout.count("Check-in time: “Fix the login bug”") == 1
