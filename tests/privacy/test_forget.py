"""``forget`` leaves nothing of the person in any table, and everything of everyone else."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import MetaData, select

from bots.runtime import Runtime
from bots.settings import Settings
from core.dialogue.intents import Say
from core.privacy import forget_action_id
from core.testing import FakeClock
from tests.databases import Database
from tests.privacy.world import BOB, MARK, ZOE, World, build_world

START = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)  # a Saturday

Rows = dict[str, list[str]]


@pytest.fixture
async def world(database: Database, tmp_path: Path) -> AsyncIterator[World]:
    clock = FakeClock(START)
    store = await database.open_store()
    runtime = await Runtime.open(
        Settings(data_dir=tmp_path, tz="Europe/London"), clock=clock, store=store
    )
    try:
        yield await build_world(runtime, clock)
    finally:
        await runtime.close()


async def _every_row(world: World) -> Rows:
    """Every row of every table in the live database, each as one line of text.

    The tables are reflected, not taken from the models: a table a migration added is
    walked even if no model names it.
    """
    out: Rows = {}
    async with world.runtime.store.connection() as conn:
        schema = MetaData()
        await conn.run_sync(lambda sync: schema.reflect(sync))
        for table in schema.sorted_tables:
            if table.name == "alembic_version":
                continue
            rows = (await conn.execute(select(table))).all()
            out[table.name] = sorted(_text(row._mapping) for row in rows)
    return out


def _text(row: Any) -> str:
    return json.dumps({k: _plain(v) for k, v in row.items()}, ensure_ascii=False, sort_keys=True)


def _plain(value: Any) -> Any:
    if isinstance(value, str):
        try:  # SQLite hands JSON columns back as text when reflected
            return json.loads(value) if value[:1] in "{[" else value
        except ValueError:
            return value
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _traces_of_zoe() -> tuple[str, ...]:
    """What may not appear anywhere once Zoë is forgotten (compared case-insensitively)."""
    return ("test:w1:zq42", "zq42", ZOE.name, *ZOE.name.split(), MARK)


def _mentions_zoe(line: str) -> list[str]:
    folded = line.casefold()
    return [t for t in _traces_of_zoe() if t.casefold() in folded]


async def test_forget_leaves_no_trace_of_the_person_in_any_table(world: World) -> None:
    before = await _every_row(world)
    empty = [name for name, rows in before.items() if not rows]
    assert empty == [], (
        f"tables {empty} have no rows: put the person (or, if the table can never mention "
        "anyone, some row) into tests/privacy/world.py so forget is tested against them"
    )
    mentioned = [name for name, rows in before.items() if any(_mentions_zoe(r) for r in rows)]
    about_no_one = {"inbound_events", "team_channels"}
    assert sorted(mentioned) == sorted(set(before) - about_no_one), "Zoë is not in every table"

    zoe = world.actor(ZOE)
    told = await world.runtime.privacy.forget(zoe, action_id=forget_action_id(zoe), value="yes")

    after = await _every_row(world)
    leftovers = {
        name: [(row, _mentions_zoe(row)) for row in rows if _mentions_zoe(row)]
        for name, rows in after.items()
    }
    assert {name: rows for name, rows in leftovers.items() if rows} == {}
    # Everyone else's rows that never mentioned her are all still there, unchanged.
    for name, rows in before.items():
        kept = [row for row in rows if not _mentions_zoe(row)]
        missing = [row for row in kept if row not in after[name]]
        assert missing == [], f"{name} lost rows that were not Zoë's"
    (receipt,) = [i.text for i in told if isinstance(i, Say)]
    lines = receipt.splitlines()
    assert lines[0] == "Deleted everything about you:"
    assert lines[1].startswith("• 6 coaching sessions, with ")
    assert lines[1].endswith(" answers and 1 breakthrough moment")
    assert "• 2 commitments" in lines and "• 2 scheduled follow-ups" in lines
    assert "• 3 accountability partner links" in lines
    assert any(line.endswith("still to come") for line in lines if "nudges" in line)
    assert lines[-4:] == [
        "Team plans keep their steps:",
        "• 1 step you owned, now unclaimed for someone else to take on",
        "• 1 step you added, now without your name",
        "• 1 team plan you facilitated, now the team's, without your name",
    ]


async def test_the_others_keep_their_sessions_commitments_and_the_team_plan(world: World) -> None:
    store = world.runtime.store
    bob = world.actor(BOB).key()
    sessions = await store.list_sessions(owner=bob)
    commitments = await store.list_commitments(owner=bob)
    zoe = world.actor(ZOE)
    await world.runtime.privacy.forget(zoe, action_id=forget_action_id(zoe), value="yes")
    assert await store.list_sessions(owner=bob) == sessions
    assert await store.list_commitments(owner=bob) == commitments
    assert len(commitments) == 4  # three of his own plan, one team step
    board = await world.team.say(BOB, "board")
    assert any("Fix the login bug — unclaimed" in line for line in board), board
