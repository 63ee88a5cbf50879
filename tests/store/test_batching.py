"""Read batching: concurrent asks share one query, and a query never serves a stale ask."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import pytest

from core.store.batching import ReadBatcher
from core.store.errors import ReadFailed, StoreClosed


class FakeTable:
    """A lookup that records each batch of keys and can be held open or made to fail."""

    def __init__(self, rows: dict[str, dict[str, int]]) -> None:
        self.rows = rows
        self.batches: list[list[str]] = []
        self.gate: asyncio.Event | None = None
        self.error: Exception | None = None
        self.started = asyncio.Event()

    async def fetch(self, keys: list[str]) -> Mapping[str, dict[str, int]]:
        self.batches.append(keys)
        self.started.set()
        if self.gate is not None:
            await self.gate.wait()
        if self.error is not None:
            raise self.error
        return {key: self.rows[key] for key in keys if key in self.rows}


async def test_concurrent_gets_share_one_query() -> None:
    table = FakeTable({"a": {"v": 1}, "b": {"v": 2}})
    batcher = ReadBatcher(table.fetch, name="t")
    got = await asyncio.gather(batcher.get("a"), batcher.get("b"), batcher.get("zz"))
    assert got == [{"v": 1}, {"v": 2}, None]
    assert table.batches == [["a", "b", "zz"]]
    assert batcher.queries == 1
    await batcher.close()


async def test_same_key_twice_gets_independent_copies() -> None:
    table = FakeTable({"a": {"v": 1}})
    batcher = ReadBatcher(table.fetch, name="t")
    first, second = await asyncio.gather(batcher.get("a"), batcher.get("a"))
    assert first == second == {"v": 1}
    assert first is not second
    assert table.batches == [["a"]]
    await batcher.close()


async def test_a_key_asked_during_a_query_waits_for_the_next_one() -> None:
    """The running query may predate a write the late caller already saw committed."""
    table = FakeTable({"a": {"v": 1}})
    table.gate = asyncio.Event()
    batcher = ReadBatcher(table.fetch, name="t")
    early = asyncio.create_task(batcher.get("a"))
    await table.started.wait()
    table.rows["a"] = {"v": 2}  # committed while the first query runs
    late = asyncio.create_task(batcher.get("a"))
    await asyncio.sleep(0)
    table.gate.set()
    assert await late == {"v": 2}
    assert await early in ({"v": 1}, {"v": 2})
    assert table.batches == [["a"], ["a"]]
    await batcher.close()


async def test_batches_are_capped() -> None:
    table = FakeTable({str(i): {"v": i} for i in range(5)})
    batcher = ReadBatcher(table.fetch, name="t", max_keys=2)
    got = await asyncio.gather(*(batcher.get(str(i)) for i in range(5)))
    assert got == [{"v": i} for i in range(5)]
    assert [len(batch) for batch in table.batches] == [2, 2, 1]
    await batcher.close()


async def test_a_failed_query_fails_only_its_batch() -> None:
    table = FakeTable({"a": {"v": 1}})
    table.error = OSError("disk on fire")
    batcher = ReadBatcher(table.fetch, name="t")
    results = await asyncio.gather(batcher.get("a"), batcher.get("b"), return_exceptions=True)
    for result in results:
        assert isinstance(result, ReadFailed)
        assert isinstance(result.__cause__, OSError)
    assert results[0] is not results[1]
    table.error = None
    assert await batcher.get("a") == {"v": 1}
    await batcher.close()


async def test_close_answers_waiting_callers_then_refuses() -> None:
    table = FakeTable({"a": {"v": 1}})
    table.gate = asyncio.Event()
    batcher = ReadBatcher(table.fetch, name="t")
    waiting = asyncio.create_task(batcher.get("a"))
    await table.started.wait()
    closing = asyncio.create_task(batcher.close())
    await asyncio.sleep(0)
    table.gate.set()
    await closing
    assert await waiting == {"v": 1}
    with pytest.raises(StoreClosed):
        await batcher.get("a")
