"""Answers at rest: what a key hides, what rotation keeps readable, what is refused."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Text, cast, select, text
from sqlalchemy.engine import make_url

from bots.runtime import Runtime
from bots.settings import Settings
from core.dialogue.model import Place
from core.store.errors import InvalidDataKey, SealBroken, UnknownDataKey
from core.store.models import Base
from core.store.privacy import SqlPersonData
from core.store.repository import SqlStore
from core.store.reseal import reseal
from core.store.sealed import (
    Keyring,
    SealedJSON,
    column_name,
    key_id,
    new_key,
    parse_keys,
    sealed_columns,
)
from core.store.team import SqlTeamStore
from core.testing import FakeClock
from tests.databases import Database
from tests.dialogue.helpers import Chat
from tests.store.private_world import START, TOPIC, WORDS, ann_actor, write_world

PLACE = Place(platform="test", workspace="w1", channel="D-ann", thread="p1")

# -- keys and values, no database ---------------------------------------------------------


def test_a_new_key_seals_a_value_that_only_it_opens() -> None:
    keyring = parse_keys(new_key())
    sealed = keyring.seal("I want to stop procrastinating", "sessions.topic")
    assert sealed.startswith(f"bt1:{keyring.current_id}:")
    assert "procrastinating" not in sealed
    assert keyring.seal("I want to stop procrastinating", "sessions.topic") != sealed
    assert keyring.open(sealed, "sessions.topic") == "I want to stop procrastinating"
    with pytest.raises(UnknownDataKey, match=r"key id \w+\): .* BREAKTHROUGH_OLD_DATA_KEYS"):
        parse_keys(new_key()).open(sealed, "sessions.topic")


def test_a_value_moved_to_another_column_does_not_open() -> None:
    keyring = parse_keys(new_key())
    sealed = keyring.seal("Fix the login bug", "commitments.text")
    with pytest.raises(SealBroken, match=r"team_steps\.text .*copied from another column"):
        keyring.open(sealed, "team_steps.text")


@pytest.mark.parametrize("where", [0, 14, -3])
def test_a_changed_value_is_refused_not_garbled(where: int) -> None:
    keyring = parse_keys(new_key())
    sealed = keyring.seal("Fix the login bug", "commitments.text")
    head, body = sealed.rsplit(":", 1)
    raw = bytearray(base64.urlsafe_b64decode(body))
    raw[where] ^= 1
    changed = f"{head}:{base64.urlsafe_b64encode(bytes(raw)).decode()}"
    with pytest.raises(SealBroken, match="integrity check"):
        keyring.open(changed, "commitments.text")
    with pytest.raises(SealBroken, match="damaged"):
        keyring.open(f"{head}:AAAA", "commitments.text")


@pytest.mark.parametrize(
    ("current", "old", "named"),
    [
        ("hunter2-not-a-key", None, "BREAKTHROUGH_DATA_KEY is not a valid data key"),
        (new_key()[:-2], None, "BREAKTHROUGH_DATA_KEY is not a valid data key"),
        (new_key(), "hunter2-not-a-key", "BREAKTHROUGH_OLD_DATA_KEYS is not a valid data key"),
        (None, f"{new_key()}, hunter2", "BREAKTHROUGH_OLD_DATA_KEYS (key 2 of 2) is not a valid"),
    ],
)
def test_a_wrong_key_names_the_setting_and_never_shows_the_key(
    current: str | None, old: str | None, named: str
) -> None:
    with pytest.raises(InvalidDataKey) as caught:
        parse_keys(current, old)
    message = str(caught.value)
    assert message.startswith(named)
    assert "breakthrough db new-key" in message
    for given in (current, *(old or "").split(",")):
        if given and given.strip():
            assert given.strip()[:8] not in message


def test_keys_are_described_by_id_only() -> None:
    current, old = new_key(), new_key()
    keyring = parse_keys(f" {current} ", f"{old},, {current}")
    ids = (key_id(base64.urlsafe_b64decode(current)), key_id(base64.urlsafe_b64decode(old)))
    assert keyring.ids == ids
    described = keyring.describe()
    assert (
        described == f"answers are encrypted with key {ids[0]}; 1 old key(s) still read ({ids[1]})"
    )
    assert current not in described and old not in described
    assert parse_keys(None, " , ").describe() == "no data key: answers are stored in plain text"
    assert not parse_keys("", None).writes


# -- in the database ----------------------------------------------------------------------


async def _open(database: Database, keyring: Keyring | None) -> SqlStore:
    return await SqlStore.open(
        database.url, connect_args=dict(database.connect_args), keyring=keyring
    )


async def _raw(database: Database, store: SqlStore) -> str:
    """Everything the database holds, as stored: the SQLite file and its write-ahead log
    (read while the store is open, so the log still exists), or every PostgreSQL row."""
    if database.kind == "sqlite":
        return _files(Path(make_url(database.url).database or ""))
    rows: list[str] = []
    async with store.connection() as conn:
        for table in Base.metadata.sorted_tables:
            query = text(f'SELECT CAST(t AS TEXT) FROM "{table.name}" AS t')
            rows += [row[0] for row in await conn.execute(query)]
    return "\n".join(rows)


def _files(path: Path) -> str:
    wal = path.with_name(path.name + "-wal")
    data = path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
    return data.decode("latin-1")


async def _read_back(store: SqlStore) -> str:
    """Ann's and Bob's data as export reads it (every table, through the models)."""
    data = SqlPersonData(store)
    people = [ann_actor().key(), "test:w1:bob"]
    return json.dumps([await data.collect(key) for key in people], ensure_ascii=False)


async def _stored_key_ids(store: SqlStore) -> dict[str, set[str]]:
    """For each sealed column, the ids of the keys its values are sealed with ("plain"
    for a value stored in plain text)."""
    found: dict[str, set[str]] = {}
    names = Keyring()
    async with store.connection() as conn:
        for columns in sealed_columns(Base.metadata).values():
            for column in columns:
                ids = found.setdefault(column_name(column), set())
                for (stored,) in await conn.execute(select(cast(column, Text))):
                    if stored is None:
                        continue
                    value = json.loads(stored) if isinstance(column.type, SealedJSON) else stored
                    kid = names.sealed_with(value) if isinstance(value, str) else None
                    ids.add(kid or "plain")
    return found


def _only(found: dict[str, set[str]]) -> set[str]:
    return set().union(*found.values())


@pytest.mark.parametrize("keyed", [True, False], ids=["with a key", "without a key"])
async def test_with_a_key_the_database_holds_none_of_the_answers(
    database: Database, tmp_path: Path, keyed: bool
) -> None:
    keyring = parse_keys(new_key()) if keyed else None
    runtime = await write_world(await _open(database, keyring), tmp_path)
    try:
        raw = await _raw(database, runtime.store)
        found = [word for word in WORDS if word in raw]
        # Without a key every word is there: the scan can see them when they are.
        assert found == ([] if keyed else list(WORDS))
        sessions = await runtime.store.list_sessions(owner=ann_actor().key())
        assert TOPIC in {session.topic for session in sessions}
        exported = await runtime.privacy.export(ann_actor(), now=START)
        assert "Zephyrquill" in "".join(getattr(intent, "markdown", "") for intent in exported)
        read = await _read_back(runtime.store)
        assert [word for word in WORDS if word not in read] == []
    finally:
        await runtime.close()
    if keyed and database.kind == "sqlite":
        # Closing checkpoints the log into the file: still nothing there.
        raw = _files(Path(make_url(database.url).database or ""))
        assert [w for w in WORDS if w in raw] == []


async def test_rotation_keeps_everything_readable_and_frees_the_old_key(
    database: Database, tmp_path: Path
) -> None:
    a, b = new_key(), new_key()
    a_id, b_id = parse_keys(a).current_id, parse_keys(b).current_id
    await (await write_world(await _open(database, parse_keys(a)), tmp_path)).close()

    # The new key writes, the old one still reads.
    store = await _open(database, parse_keys(b, a))
    try:
        assert [w for w in WORDS if w not in await _read_back(store)] == []
        sessions = await store.list_sessions(owner=ann_actor().key())
        (session,) = [s for s in sessions if s.topic == TOPIC]
        await store.save_turn(replace(session, updated_at=session.updated_at + timedelta(hours=1)))
        by_column = await _stored_key_ids(store)
        assert by_column.pop("sessions.topic") == by_column.pop("sessions.state") == {a_id, b_id}
        assert by_column == {
            column: {a_id}
            for column in (
                "commitments.text",
                "followups.text",
                "followups.extra",
                "nudges.payload",
                "nudges.error",
                "team_plans.topic",
                "team_steps.text",
            )
        }
        seen: list[tuple[str, int, int]] = []
        reports = (await reseal(store, batch=3, progress=lambda *args: seen.append(args))).tables
        assert ("sessions", 3, 4) in seen and ("sessions", 4, 4) in seen
        done = {r.table: (r.rows, r.resealed, r.left) for r in reports}
        assert done["sessions"] == (4, 3, 0)  # Ann's saved session was under b already
        assert done["team_steps"] == (2, 2, 0)
        assert sum(r.old_keys[a_id] for r in reports) > 0
        assert sum(r.were_plain for r in reports) == 0
        assert (await reseal(store)).resealed == 0
    finally:
        await store.close()

    store = await _open(database, parse_keys(b))
    try:
        assert [w for w in WORDS if w not in await _read_back(store)] == []
        assert _only(await _stored_key_ids(store)) == {b_id}
    finally:
        await store.close()

    store = await _open(database, parse_keys(a))
    try:
        expected = f"encrypted with a key that is not configured \\(key id {b_id}\\)"
        with pytest.raises(UnknownDataKey, match=expected):
            await store.list_sessions()
        with pytest.raises(UnknownDataKey, match=expected):
            await store.load_session(session.id)
        # A bot given only the old key stops at start-up, saying what to set.
        with pytest.raises(UnknownDataKey, match="BREAKTHROUGH_DATA_KEY"):
            await Runtime.open(Settings(data_dir=tmp_path), clock=FakeClock(START), store=store)
    finally:
        await store.close()


async def test_rows_from_before_the_key_read_and_rotation_seals_them(
    database: Database, tmp_path: Path
) -> None:
    await (await write_world(await _open(database, None), tmp_path)).close()
    keyring = parse_keys(new_key())
    store = await _open(database, keyring)
    try:
        assert [w for w in WORDS if w not in await _read_back(store)] == []
        assert _only(await _stored_key_ids(store)) == {"plain"}
        reports = (await reseal(store)).tables
        assert sum(r.were_plain for r in reports) > sum(r.rows for r in reports)  # 2 a row
        assert _only(await _stored_key_ids(store)) == {keyring.current_id}
        assert [w for w in WORDS if w in await _raw(database, store)] == []
        assert [w for w in WORDS if w not in await _read_back(store)] == []
    finally:
        await store.close()


class _Stop(Exception):
    pass


async def test_an_interrupted_rotation_finishes_when_run_again(
    database: Database, tmp_path: Path
) -> None:
    a, b = new_key(), new_key()
    await (await write_world(await _open(database, parse_keys(a)), tmp_path)).close()
    store = await _open(database, parse_keys(b, a))
    try:

        def stop_in_sessions(table: str, done: int, total: int) -> None:
            if table == "sessions" and done == 2:
                raise _Stop

        with pytest.raises(_Stop):
            await reseal(store, batch=2, progress=stop_in_sessions)
        assert (await _stored_key_ids(store))["sessions.state"] == {
            parse_keys(a).current_id,
            parse_keys(b).current_id,
        }
        reports = (await reseal(store, batch=2)).tables
        assert {r.table: r.resealed for r in reports}["sessions"] == 2
        assert _only(await _stored_key_ids(store)) == {parse_keys(b).current_id}
        assert [w for w in WORDS if w not in await _read_back(store)] == []
    finally:
        await store.close()


async def _set_raw(store: SqlStore, table: str, column: str, key: str, value: Any) -> None:
    pk = Base.metadata.tables[table].primary_key.columns.values()[0].name
    async with store.transaction() as conn:
        await conn.execute(
            text(f"UPDATE {table} SET {column} = :value WHERE {pk} = :key"),
            {"value": value, "key": key},
        )


async def _get_raw(store: SqlStore, table: str, column: str) -> list[tuple[str, str]]:
    pk = Base.metadata.tables[table].primary_key.columns.values()[0].name
    async with store.connection() as conn:
        result = await conn.execute(text(f"SELECT {pk}, CAST({column} AS TEXT) FROM {table}"))
        return [(row[0], row[1]) for row in result]


async def test_a_value_changed_in_the_database_is_an_error_not_garbage(
    database: Database, tmp_path: Path
) -> None:
    await (await write_world(await _open(database, parse_keys(a := new_key())), tmp_path)).close()
    store = await _open(database, parse_keys(a))
    try:
        # One character of a commitment's ciphertext changed.
        key, stored = (await _get_raw(store, "commitments", "text"))[0]
        swapped = stored[:-4] + ("A" if stored[-4] != "A" else "B") + stored[-3:]
        await _set_raw(store, "commitments", "text", key, swapped)
        with pytest.raises(SealBroken, match=r"commitments\.text .*integrity check"):
            await store.list_commitments()
        # A session's sealed topic copied over the team plan's.
        (plan_id, _), *_ = await _get_raw(store, "team_plans", "topic")
        topic = dict(await _get_raw(store, "sessions", "topic"))[plan_id]
        await _set_raw(store, "team_plans", "topic", plan_id, topic)
        with pytest.raises(SealBroken, match=r"in team_plans\.topic"):
            await SqlTeamStore(store).list_plans()
    finally:
        await store.close()


async def test_plain_text_that_looks_encrypted_reads_back_as_typed(
    database: Database, tmp_path: Path
) -> None:
    lookalike = f"bt1:{'0' * 8}:{'A' * 40}"
    store = await _open(database, None)
    clock = FakeClock(START)
    runtime = await Runtime.open(Settings(data_dir=tmp_path), clock=clock, store=store)
    try:
        chat = Chat(runtime.coach, ann_actor(), PLACE, clock)
        await chat.start("plan", lookalike)
        await chat.say("bt0:escaped already")
        (session,) = await store.list_sessions()
        assert session.topic == lookalike
        assert "bt0:escaped already" in json.dumps(session.state)
    finally:
        await runtime.close()
    # Neither the start-up check nor a key nor a rotation takes it for a sealed value.
    keyring = parse_keys(new_key())
    store = await _open(database, keyring)
    runtime = await Runtime.open(Settings(data_dir=tmp_path), clock=clock, store=store)
    try:
        loaded = await store.load_session(session.id)
        assert loaded is not None and loaded.topic == lookalike
        await reseal(store)
        assert (await _stored_key_ids(store))["sessions.topic"] == {keyring.current_id}
        (session,) = await store.list_sessions()
        assert session.topic == lookalike
    finally:
        await runtime.close()
