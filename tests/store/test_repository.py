"""SqlStore against real databases: round trips, lookups, group commit, durability."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from core.dialogue.model import Actor
from core.ports import SessionRecord
from core.store.errors import InvalidRecord, ReadFailed, StoreClosed, StoreError, WriteFailed
from core.store.migrate import upgrade
from core.store.repository import PersonRecord, SqlStore
from tests.databases import Database

from .records import T0, commitment, followup, session

PARIS = ZoneInfo("Europe/Paris")


def _assert_utc(*values: datetime) -> None:
    for value in values:
        assert value.tzinfo is UTC, value


# -- round trips -----------------------------------------------------------------------


async def test_session_round_trip(store: SqlStore) -> None:
    stored = session(
        state={"answers": ["I want to — finish 🎓"], "nested": {"k": [1, 2.5, None]}},
        created_at=datetime(2025, 3, 30, 1, 59, tzinfo=PARIS),
        updated_at=datetime(2025, 3, 30, 3, 1, tzinfo=PARIS),  # after the DST jump
    )
    await store.save_turn(stored)
    loaded = await store.load_session("s1")
    assert loaded == stored
    assert loaded is not None
    _assert_utc(loaded.created_at, loaded.updated_at)
    assert loaded.updated_at - loaded.created_at == timedelta(minutes=2)
    assert await store.load_session("nope") is None


async def test_commitment_round_trip(store: SqlStore) -> None:
    stored = commitment(
        due_at=datetime(2025, 10, 26, 2, 30, fold=1, tzinfo=PARIS),  # the repeated hour
        status="done",
        kind="first-step",
        position=3,
    )
    await store.save_turn(session(), commitments=[stored])
    [loaded] = await store.list_commitments(session_id="s1")
    # PEP 495: a time in the fold never equals one in another zone, so compare in UTC.
    assert loaded == replace(stored, due_at=stored.due_at.astimezone(UTC))
    _assert_utc(loaded.due_at, loaded.created_at, loaded.updated_at)
    assert loaded.due_at == datetime(2025, 10, 26, 1, 30, tzinfo=UTC)  # the second 02:30


async def test_followup_round_trip(store: SqlStore) -> None:
    daily = followup("f1", recurrence="daily", extra={"time": "07:30", "days": [1, 2, 3]})
    once = followup("f2", due_at=T0 + timedelta(days=1))
    await store.save_turn(session(), followups=[daily, once])
    loaded = await store.list_followups(session_id="s1")
    assert loaded == [once, daily]  # by due time
    for record in loaded:
        _assert_utc(record.due_at, record.created_at)


async def test_person_round_trip_and_upsert(store: SqlStore) -> None:
    ann = Actor(platform="slack", workspace="T1", user_id="U1", display_name="Ann", tz="Asia/Tokyo")
    first = PersonRecord.from_actor(ann, now=T0)
    await store.upsert_person(first)
    assert await store.get_person("slack:T1:U1") == first
    assert await store.get_person("slack:T1:U2") is None

    # Seen again later, by an event that carries neither her zone nor her name.
    later = T0 + timedelta(days=1)
    anonymous = Actor(platform="slack", workspace="T1", user_id="U1")
    await store.upsert_person(PersonRecord.from_actor(anonymous, now=later))
    again = await store.get_person("slack:T1:U1")
    assert again is not None
    assert (again.display_name, again.tz) == ("Ann", "Asia/Tokyo")
    assert (again.created_at, again.updated_at) == (T0, later)
    _assert_utc(again.created_at, again.updated_at)

    renamed = Actor(platform="slack", workspace="T1", user_id="U1", display_name="Annie", tz="UTC")
    await store.upsert_person(PersonRecord.from_actor(renamed, now=later))
    again = await store.get_person("slack:T1:U1")
    assert again is not None and (again.display_name, again.tz) == ("Annie", "UTC")


async def test_upsert_keeps_created_at_and_updates_the_rest(store: SqlStore) -> None:
    await store.save_turn(session(), commitments=[commitment()], followups=[followup()])
    later = T0 + timedelta(hours=1)
    await store.save_turn(
        session(status="paused", state={"step": 2}, created_at=later, updated_at=later),
        commitments=[commitment(status="done", created_at=later, updated_at=later)],
        followups=[followup(text="changed", created_at=later)],
    )
    loaded = await store.load_session("s1")
    assert loaded is not None
    assert (loaded.status, loaded.state, loaded.created_at, loaded.updated_at) == (
        "paused",
        {"step": 2},
        T0,
        later,
    )
    [c] = await store.list_commitments()
    assert (c.status, c.created_at, c.updated_at) == ("done", T0, later)
    [f] = await store.list_followups()
    assert (f.text, f.created_at) == ("changed", T0)


async def test_naive_datetimes_are_refused_before_queueing(store: SqlStore) -> None:
    with pytest.raises(InvalidRecord):
        await store.save_turn(session(updated_at=datetime(2025, 1, 1)))
    with pytest.raises(InvalidRecord):
        await store.save_turn(session(), commitments=[commitment(due_at=datetime(2025, 1, 1))])
    assert store.stats.writes == 0
    assert await store.load_session("s1") is None


# -- lookups -----------------------------------------------------------------------------


async def test_find_open_session_picks_the_newest_unfinished_in_that_place(
    store: SqlStore,
) -> None:
    owner, place = "slack:T1:U1", "slack:T1:C1:"
    at = [T0 + timedelta(minutes=i) for i in range(6)]
    await store.save_turn(session("old", owner=owner, place=place, updated_at=at[0]))
    await store.save_turn(
        session("paused", owner=owner, place=place, status="paused", updated_at=at[1])
    )
    await store.save_turn(
        session("finished", owner=owner, place=place, status="finished", updated_at=at[2])
    )
    await store.save_turn(session("elsewhere", owner=owner, place="other", updated_at=at[3]))
    await store.save_turn(session("someone", owner="slack:T1:U2", place=place, updated_at=at[4]))
    found = await store.find_open_session(owner=owner, place=place)
    assert found is not None and found.id == "paused"

    await store.save_turn(session("old", owner=owner, place=place, updated_at=at[5]))
    found = await store.find_open_session(owner=owner, place=place)
    assert found is not None and found.id == "old"
    assert await store.find_open_session(owner=owner, place="nowhere") is None


async def test_concurrent_lookups_are_answered_right(store: SqlStore) -> None:
    """Many concurrent reads share queries; each caller still gets its own answer."""
    for i in range(20):
        await store.save_turn(session(f"s{i}", owner=f"o{i}", place=f"p{i}"))
    by_id = await asyncio.gather(*(store.load_session(f"s{i}") for i in [*range(25), 3]))
    assert [s.id if s else None for s in by_id] == [*(f"s{i}" for i in range(20))] + [None] * 5 + [
        "s3"
    ]
    assert by_id[3] is not by_id[-1]  # same session asked twice: two independent records
    assert by_id[3] is not None and by_id[-1] is not None
    by_id[3].state["mutated"] = True
    assert "mutated" not in by_id[-1].state

    opened = await asyncio.gather(
        *(store.find_open_session(owner=f"o{i}", place=f"p{i}") for i in range(22))
    )
    assert [s.id if s else None for s in opened] == [f"s{i}" for i in range(20)] + [None, None]


async def test_list_sessions_newest_first(store: SqlStore) -> None:
    for i, status in enumerate(["active", "finished", "paused", "stopped"]):
        await store.save_turn(session(f"s{i}", status=status, updated_at=T0 + timedelta(minutes=i)))
    await store.save_turn(session("x", owner="other", updated_at=T0 + timedelta(hours=1)))
    assert [s.id for s in await store.list_sessions()] == ["x", "s3", "s2", "s1", "s0"]
    assert [s.id for s in await store.list_sessions(owner="slack:T1:U1", limit=2)] == [
        "s3",
        "s2",
    ]
    assert [s.id for s in await store.list_sessions(unfinished_only=True)] == ["x", "s2", "s0"]
    assert [s.id for s in await store.list_sessions(owner="slack:T1:U1", unfinished_only=True)] == [
        "s2",
        "s0",
    ]


async def test_list_commitments_by_due_then_position(store: SqlStore) -> None:
    day = timedelta(days=1)
    await store.save_turn(session("s1"))
    await store.save_turn(session("s2", owner="slack:T1:U2"))
    await store.save_turn(
        session("s1"),
        commitments=[
            commitment("late", due_at=T0 + 3 * day, position=0),
            commitment("b", due_at=T0 + day, position=2),
            commitment("a", due_at=T0 + day, position=1, status="done"),
        ],
    )
    await store.save_turn(
        session("s2", owner="slack:T1:U2"),
        commitments=[commitment("theirs", "s2", owner="slack:T1:U2", due_at=T0)],
    )
    assert [c.id for c in await store.list_commitments()] == ["theirs", "a", "b", "late"]
    assert [c.id for c in await store.list_commitments(owner="slack:T1:U1")] == [
        "a",
        "b",
        "late",
    ]
    assert [c.id for c in await store.list_commitments(session_id="s2")] == ["theirs"]
    assert [c.id for c in await store.list_commitments(status="open")] == ["theirs", "b", "late"]
    assert [c.id for c in await store.list_commitments(owner="nobody")] == []


async def test_list_followups_filters(store: SqlStore) -> None:
    await store.save_turn(session("s1"), followups=[followup("f1"), followup("f2", due_at=T0)])
    await store.save_turn(session("s2", owner="o2"), followups=[followup("f3", "s2", owner="o2")])
    assert [f.id for f in await store.list_followups()] == ["f2", "f1", "f3"]
    assert [f.id for f in await store.list_followups(owner="o2")] == ["f3"]
    assert [f.id for f in await store.list_followups(session_id="s1")] == ["f2", "f1"]


async def test_delete_session_cascades(store: SqlStore) -> None:
    await store.save_turn(session("s1"), commitments=[commitment()], followups=[followup()])
    await store.save_turn(
        session("s2"), commitments=[commitment("c2", "s2")], followups=[followup("f2", "s2")]
    )
    await store.delete_session("s1")
    await store.delete_session("never-existed")
    assert await store.load_session("s1") is None
    assert [c.id for c in await store.list_commitments()] == ["c2"]
    assert [f.id for f in await store.list_followups()] == ["f2"]


# -- group commit ------------------------------------------------------------------------


async def test_concurrent_writes_are_grouped_and_in_order(store: SqlStore) -> None:
    """Writes to one session in one batch: the last queued wins, deletes keep their place."""
    await asyncio.gather(
        store.save_turn(session("s1", topic="v1"), commitments=[commitment("c1", text="v1")]),
        store.save_turn(session("s1", topic="v2")),
        store.save_turn(session("s1", topic="v3"), commitments=[commitment("c1", text="v3")]),
        store.save_turn(session("gone"), commitments=[commitment("cg", "gone")]),
        store.delete_session("gone"),
        store.save_turn(session("back")),
        store.delete_session("back"),
        store.save_turn(session("back", topic="again")),
    )
    assert store.stats.batches == 1
    assert store.stats.largest_batch == 8
    loaded = await store.load_session("s1")
    assert loaded is not None and loaded.topic == "v3"
    assert [c.text for c in await store.list_commitments()] == ["v3"]
    assert await store.load_session("gone") is None
    back = await store.load_session("back")
    assert back is not None and back.topic == "again"


async def test_a_bad_write_fails_alone_and_atomically(store: SqlStore) -> None:
    """Our semantics: a data error in a batch fails only the write that caused it.

    The batch is rolled back and split until the bad write stands alone; it commits
    nothing at all (not even its valid session row), the others commit.
    """
    results = await asyncio.gather(
        store.save_turn(session("a"), commitments=[commitment("ca", "a")]),
        store.save_turn(session("bad"), commitments=[commitment("cb", "no-such-session")]),
        store.save_turn(session("c"), followups=[followup("fc", "c")]),
        return_exceptions=True,
    )
    assert results[0] is None and results[2] is None
    failed = results[1]
    assert isinstance(failed, WriteFailed) and isinstance(failed, StoreError)
    assert isinstance(failed.__cause__, IntegrityError)
    assert store.stats.isolated_batches == 1
    assert (store.stats.writes, store.stats.failed) == (2, 1)

    assert await store.load_session("bad") is None
    assert {c.id for c in await store.list_commitments()} == {"ca"}
    assert await store.load_session("a") is not None
    assert await store.load_session("c") is not None

    await store.save_turn(session("after"))  # the writer carries on
    assert await store.load_session("after") is not None


async def test_bad_writes_in_a_big_batch_are_found_and_the_rest_commit(store: SqlStore) -> None:
    bad = {17, 60, 61}

    def write(i: int) -> SessionRecord:
        return session(f"s{i}", owner=f"o{i}", state={"i": i})

    results = await asyncio.gather(
        *(
            store.save_turn(
                write(i),
                commitments=[commitment(f"c{i}", "missing" if i in bad else f"s{i}")],
            )
            for i in range(100)
        ),
        return_exceptions=True,
    )
    assert {i for i, result in enumerate(results) if isinstance(result, WriteFailed)} == bad
    assert all(result is None for i, result in enumerate(results) if i not in bad)
    assert store.stats.isolated_batches == 1
    assert store.stats.batches < 40  # the good writes still committed in groups
    stored = await store.list_sessions(limit=200)
    assert {s.id for s in stored} == {f"s{i}" for i in range(100) if i not in bad}
    assert len(await store.list_commitments()) == 97


async def test_an_unserialisable_state_fails_alone(store: SqlStore) -> None:
    results = await asyncio.gather(
        store.save_turn(session("a")),
        store.save_turn(session("bad", state={"when": object()})),
        return_exceptions=True,
    )
    assert results[0] is None
    assert isinstance(results[1], WriteFailed)
    assert await store.load_session("a") is not None
    assert await store.load_session("bad") is None


async def test_a_database_failure_fails_the_whole_batch(store: SqlStore) -> None:
    """Not a data error (here, a missing table): every caller in the batch is told, and
    none of the batch is committed, including writes that touched only healthy tables."""
    async with store.engine.begin() as conn:
        await conn.execute(text("DROP TABLE followups"))
    results = await asyncio.gather(
        store.save_turn(session("a")),
        store.save_turn(session("b"), followups=[followup("fb", "b")]),
        store.save_turn(session("c")),
        return_exceptions=True,
    )
    assert all(isinstance(result, WriteFailed) for result in results)
    assert store.stats.isolated_batches == 0
    assert await store.list_sessions() == []


async def test_500_concurrent_turns_are_durable(database: Database) -> None:
    store = await database.open_store()
    try:
        await asyncio.gather(
            *(
                store.save_turn(
                    session(f"s{i}", owner=f"o{i}", state={"i": i}),
                    commitments=[commitment(f"c{i}", f"s{i}", owner=f"o{i}")],
                )
                for i in range(500)
            )
        )
        assert store.stats.writes == 500
        assert store.stats.batches < 500  # they were grouped

        # Durable once save_turn returned: visible to a second engine while the first
        # is still open (nothing left in its buffers, nothing left to flush).
        other = await database.open_store(migrate=False)
        try:
            assert len(await other.list_sessions(limit=1000)) == 500
        finally:
            await other.close()
    finally:
        await store.close()

    reopened = await database.open_store(migrate=False)
    try:
        loaded = await asyncio.gather(*(reopened.load_session(f"s{i}") for i in range(500)))
        assert [s.state["i"] if s else None for s in loaded] == list(range(500))
        assert len(await reopened.list_commitments()) == 500
    finally:
        await reopened.close()


async def test_a_cancelled_caller_does_not_withdraw_its_write(database: Database) -> None:
    store = await database.open_store()
    task = asyncio.create_task(store.save_turn(session("s1")))
    await asyncio.sleep(0)  # queued
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await store.close()  # flushes
    reopened = await database.open_store(migrate=False)
    try:
        assert await reopened.load_session("s1") is not None
    finally:
        await reopened.close()


# -- lifecycle ---------------------------------------------------------------------------


async def test_close_flushes_then_refuses(database: Database) -> None:
    store = await database.open_store()
    writes = [asyncio.create_task(store.save_turn(session(f"s{i}"))) for i in range(50)]
    await asyncio.sleep(0)
    await store.close()
    await store.close()  # idempotent
    await asyncio.gather(*writes)
    with pytest.raises(StoreClosed):
        await store.save_turn(session("late"))
    with pytest.raises(StoreClosed):
        await store.load_session("s1")
    with pytest.raises(StoreClosed):
        await store.list_sessions()
    async with await database.open_store(migrate=False) as reopened:
        assert len(await reopened.list_sessions(limit=100)) == 50


async def test_read_errors_are_store_errors(store: SqlStore) -> None:
    async with store.engine.begin() as conn:
        await conn.execute(text("DROP TABLE commitments"))
        await conn.execute(text("DROP TABLE followups"))
        await conn.execute(text("DROP TABLE nudges"))  # its foreign key blocks the next
        await conn.execute(text("DROP TABLE team_steps"))  # so do these two
        await conn.execute(text("DROP TABLE team_plans"))
        await conn.execute(text("DROP TABLE sessions"))
    with pytest.raises(ReadFailed):
        await store.load_session("s1")
    with pytest.raises(ReadFailed):
        await store.list_commitments()


async def test_memory_database_works_for_quick_tests() -> None:
    store = await SqlStore.open("sqlite+aiosqlite:///:memory:")
    async with store:
        await asyncio.gather(
            *(
                store.save_turn(session(f"s{i}"), commitments=[commitment(f"c{i}", f"s{i}")])
                for i in range(20)
            ),
            *(store.load_session(f"s{i}") for i in range(20)),
        )
        assert len(await store.list_sessions()) == 20
        assert len(await store.list_commitments()) == 20


async def test_open_without_migrating_an_empty_database_fails_on_use(database: Database) -> None:
    store = await database.open_store(migrate=False)
    try:
        with pytest.raises(ReadFailed):
            await store.load_session("s1")
        with pytest.raises(WriteFailed):
            await store.save_turn(session())
    finally:
        await store.close()


async def test_store_over_a_shared_engine(database: Database) -> None:
    engine = database.engine()
    try:
        await upgrade(engine)
        store = SqlStore(engine, owns_engine=False)
        await store.save_turn(session())
        await store.close()
        async with engine.connect() as conn:  # still usable
            assert (await conn.execute(text("SELECT count(*) FROM sessions"))).scalar_one() == 1
    finally:
        await engine.dispose()
