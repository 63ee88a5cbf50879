"""Forget is ordered with the turns' group commit: a turn saved before it is erased too.

The writer commits queued turns in its own transactions, so an erase running beside it
could commit first and the turn land afterwards, leaving a session of the forgotten
person. The test makes that interleaving certain: the store gets a one-connection pool,
the test holds the connection, and whoever asks for it next gets it in turn (the pool's
queue is first come, first served).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from core.store.privacy import SqlPersonData
from core.store.repository import SqlStore
from tests.databases import Database
from tests.store.records import commitment, session

ZOE = "slack:T1:UZOE"
BOB = "slack:T1:UBOB"


@pytest.fixture
async def store(database: Database) -> AsyncIterator[SqlStore]:
    """A migrated store whose engine has exactly one connection."""
    migrated = await database.open_store()
    await migrated.close()
    engine = create_async_engine(
        database.url, connect_args=dict(database.connect_args), pool_size=1, max_overflow=0
    )
    opened = SqlStore(engine)
    try:
        yield opened
    finally:
        await opened.close()


async def _settle() -> None:
    """Let every task run until it waits for something (here: the one connection)."""
    for _ in range(50):
        await asyncio.sleep(0)


async def test_a_turn_queued_before_forget_is_erased_with_the_rest(store: SqlStore) -> None:
    data = SqlPersonData(store)
    await store.save_turn(session("z1", owner=ZOE), commitments=[commitment("zc", "z1", owner=ZOE)])
    held = await store.engine.connect()
    # The writer takes Bob's turn and waits for the connection; Zoë's last turn queues
    # behind it; then she confirms forget.
    bob = asyncio.create_task(store.save_turn(session("b1", owner=BOB)))
    await _settle()
    last_turn = session("z1", owner=ZOE, status="done")
    zoe = asyncio.create_task(
        store.save_turn(last_turn, commitments=[replace(commitment("zc", "z1"), owner=ZOE)])
    )
    await _settle()
    erase = asyncio.create_task(data.erase(ZOE))
    await _settle()
    await held.close()
    await asyncio.gather(bob, zoe)
    counts = await erase

    assert await store.list_sessions(owner=ZOE) == []
    assert await store.list_commitments(owner=ZOE) == []
    assert counts["sessions"] == 1 and counts["commitments"] == 1
    assert [s.id for s in await store.list_sessions()] == ["b1"]


async def test_forget_with_nothing_queued_does_not_wait(store: SqlStore) -> None:
    data = SqlPersonData(store)
    await store.save_turn(session("z1", owner=ZOE))
    counts = await asyncio.wait_for(data.erase(ZOE), timeout=10)
    assert counts["sessions"] == 1
    assert await store.list_sessions() == []
