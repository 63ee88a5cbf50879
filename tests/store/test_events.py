"""The inbound event log: a key is "first" for exactly one caller, also in one batch."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from core.store.events import SqlEventLog
from tests.databases import Database

NOW = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)


async def test_each_key_is_first_once_whatever_arrives_together(database: Database) -> None:
    store = await database.open_store()
    other = await database.open_store()  # a second replica on the same database
    try:
        logs = [SqlEventLog(store), SqlEventLog(other)]
        keys = [f"slack:Ev{n % 40}" for n in range(200)]  # every key five times
        answers = await asyncio.gather(
            *(logs[n % 2].first_time(k, now=NOW) for n, k in enumerate(keys))
        )
        firsts = [k for k, first in zip(keys, answers, strict=True) if first]
        assert sorted(firsts) == sorted(set(keys))
        assert not await logs[0].first_time("slack:Ev7", now=NOW)
        assert await logs[1].first_time("slack:Ev-new", now=NOW)
    finally:
        await store.close()
        await other.close()


async def test_old_keys_are_pruned(database: Database) -> None:
    store = await database.open_store()
    try:
        log = SqlEventLog(store)
        assert await log.first_time("slack:old", now=NOW)
        later = NOW + timedelta(days=2)
        assert await log.first_time("slack:new", now=later)  # prunes what is a day old
        assert await log.first_time("slack:old", now=later)
    finally:
        await store.close()
