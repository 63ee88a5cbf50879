"""``breakthrough export`` and ``breakthrough forget``: the console's way to the same rights."""

from __future__ import annotations

import argparse
import io
import json
from datetime import UTC, datetime
from pathlib import Path

from bots import privacy_cmd
from bots.runtime import Runtime
from bots.settings import Settings
from core.dialogue.model import Actor, Place
from core.testing import FakeClock
from tests.databases import Database
from tests.dialogue.helpers import Chat

START = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
ME = Actor(platform="console", workspace="local", user_id="sam", display_name="sam", tz="UTC")


async def _a_session(database: Database, settings: Settings, clock: FakeClock) -> None:
    runtime = await Runtime.open(settings, clock=clock, store=await database.open_store())
    try:
        place = Place(platform="console", workspace="local", channel="terminal", thread="t1")
        chat = Chat(runtime.coach, ME, place, clock)
        await chat.start("plan", "A quieter inbox")
        await chat.say("Fewer emails after six")
    finally:
        await runtime.close()


async def test_export_writes_both_files_and_says_where(database: Database, tmp_path: Path) -> None:
    clock = FakeClock(START)
    settings = Settings(data_dir=tmp_path)
    await _a_session(database, settings, clock)
    out = io.StringIO()
    code = await privacy_cmd.export(
        settings, ME, clock=clock, store=await database.open_store(), out=out
    )
    assert code == 0
    said, *paths = out.getvalue().splitlines()
    assert said.startswith("Here is everything Breakthrough keeps about you")
    files = {Path(p.strip()).suffix: Path(p.strip()) for p in paths}
    data = json.loads(files[".json"].read_text())
    assert data["person"] == "console:local:sam"
    assert "Fewer emails after six" in files[".md"].read_text()


async def test_forget_asks_and_only_yes_deletes(database: Database, tmp_path: Path) -> None:
    clock = FakeClock(START)
    settings = Settings(data_dir=tmp_path)
    await _a_session(database, settings, clock)

    async def forget(typed: str, *, yes: bool = False) -> tuple[int, str]:
        out = io.StringIO()
        code = await privacy_cmd.forget(
            argparse.Namespace(yes=yes),
            settings,
            ME,
            clock=clock,
            store=await database.open_store(),
            stdin=io.StringIO(typed),
            out=out,
        )
        return code, out.getvalue()

    code, out = await forget("no\n")
    assert code == 1 and "It cannot be undone" in out and out.endswith("Nothing was deleted.\n")
    code, out = await forget("yes\n")
    assert code == 0
    assert "Deleted everything about you:\n• 1 coaching session, with 1 answer\n" in out
    assert "any backups of the database" in out
    code, out = await forget("", yes=True)
    assert code == 0 and "There was nothing stored about you" in out
