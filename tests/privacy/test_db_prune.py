"""``breakthrough db prune [--dry-run]``: what an operator sees, and what it deletes."""

from __future__ import annotations

import argparse
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bots import db_prune
from bots.runtime import Runtime
from bots.settings import Settings
from core.dialogue.model import Actor, Place
from core.testing import FakeClock
from tests.databases import Database
from tests.dialogue.helpers import Chat

START = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
ANN = Actor(platform="test", workspace="w1", user_id="ann", display_name="Ann", tz="Europe/London")


async def _stopped_session(database: Database, tmp_path: Path, clock: FakeClock) -> None:
    store = await database.open_store()
    runtime = await Runtime.open(Settings(data_dir=tmp_path), clock=clock, store=store)
    try:
        place = Place(platform="test", workspace="w1", channel="C1", thread="t1")
        chat = Chat(runtime.coach, ANN, place, clock)
        await chat.start("plan", "An old idea")
        await chat.say("A calmer launch")
        await chat.command("stop")
        await chat.choose("stop", "yes")
    finally:
        await runtime.close()


async def _prune(
    database: Database, tmp_path: Path, clock: FakeClock, *, days: int | None, dry_run: bool
) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    settings = Settings(data_dir=tmp_path, retention_days=days)
    code = await db_prune.run(
        argparse.Namespace(db_command="prune", dry_run=dry_run),
        settings,
        clock=clock,
        store=await database.open_store(),
        out=out,
        err=err,
    )
    return code, out.getvalue(), err.getvalue()


async def _sessions(database: Database) -> int:
    store = await database.open_store()
    try:
        return len(await store.list_sessions())
    finally:
        await store.close()


async def test_prune_says_what_it_deleted(database: Database, tmp_path: Path) -> None:
    clock = FakeClock(START)
    await _stopped_session(database, tmp_path, clock)
    clock.set(START + timedelta(days=40))

    code, out, err = await _prune(database, tmp_path, clock, days=30, dry_run=True)
    assert (code, err) == (0, "")
    assert out == (
        "Retention is 30 days: finished sessions whose last activity was before "
        "01 December 2026 10:00 UTC go.\n"
        "Would delete 1 session, with 0 commitments, 0 follow-ups and 0 nudges.\n"
        "This was a dry run: nothing was deleted.\n"
    )
    assert await _sessions(database) == 1

    code, out, _ = await _prune(database, tmp_path, clock, days=30, dry_run=False)
    assert code == 0
    assert "Deleted 1 session, with 0 commitments" in out and "dry run" not in out
    assert await _sessions(database) == 0

    code, out, _ = await _prune(database, tmp_path, clock, days=30, dry_run=False)
    assert code == 0 and out.endswith("Nothing is past retention; nothing was deleted.\n")


async def test_a_session_inside_the_retention_is_not_counted(
    database: Database, tmp_path: Path
) -> None:
    clock = FakeClock(START)
    await _stopped_session(database, tmp_path, clock)
    clock.set(START + timedelta(days=20))
    code, out, _ = await _prune(database, tmp_path, clock, days=30, dry_run=False)
    assert code == 0 and "Nothing is past retention" in out
    assert await _sessions(database) == 1


async def test_without_a_retention_it_says_how_to_set_one_and_exits_2(
    database: Database, tmp_path: Path
) -> None:
    clock = FakeClock(START)
    await _stopped_session(database, tmp_path, clock)
    code, out, err = await _prune(database, tmp_path, clock, days=None, dry_run=False)
    assert (code, out) == (2, "")
    assert "BREAKTHROUGH_RETENTION_DAYS=365" in err and "--dry-run" in err
    assert await _sessions(database) == 1


async def test_without_a_database_file_it_prunes_nothing_and_creates_none(
    tmp_path: Path,
) -> None:
    out = io.StringIO()
    settings = Settings(data_dir=tmp_path / "data", retention_days=90)
    args = argparse.Namespace(db_command="prune", dry_run=False)
    assert await db_prune.run(args, settings, out=out) == 0
    assert out.getvalue().startswith("There is no database yet at sqlite+aiosqlite:///")
    assert not (tmp_path / "data").exists()
