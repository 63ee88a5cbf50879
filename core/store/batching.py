"""Read batching: the read-side twin of group commit.

On the turn path a thousand people may each ask for their session at the same moment.
One query per ask costs a pooled connection checkout and, with aiosqlite, several
hand-offs to the connection's thread; that, not SQLite, caps throughput. A
:class:`ReadBatcher` instead collects the keys asked for while its previous query runs
and fetches them all with one ``IN (...)`` query.

Consistency is that of one query per ask: a key joins the *next* query, never one
already running, so a read issued after a write returned sees that write.
"""

from __future__ import annotations

import asyncio
import copy
import logging
from collections.abc import Awaitable, Callable, Hashable, Mapping
from typing import Generic, TypeVar

from core.store.errors import DataKeyError, ReadFailed, StoreClosed

__all__ = ["DEFAULT_MAX_KEYS", "ReadBatcher"]

_log = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)
R = TypeVar("R")

# Keys per query at most. SQLite allows 32,766 bound parameters per statement; a pair of
# keys takes two. Beyond a few hundred rows a bigger batch saves nothing.
DEFAULT_MAX_KEYS = 500


class ReadBatcher(Generic[K, R]):
    """Answers concurrent ``get(key)`` calls with one ``fetch(keys)`` per batch.

    ``fetch`` returns the found records by key; keys it leaves out are answered ``None``.
    Callers asking for the same key in one batch each get their own deep copy, since
    records are mutable. The batching task starts on the first ``get`` and stops in
    :meth:`close` once every waiting caller has its answer.
    """

    def __init__(
        self,
        fetch: Callable[[list[K]], Awaitable[Mapping[K, R]]],
        *,
        name: str,
        max_keys: int = DEFAULT_MAX_KEYS,
    ) -> None:
        self._fetch = fetch
        self._name = name
        self._max_keys = max_keys
        self._waiting: dict[K, list[asyncio.Future[R | None]]] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self.queries = 0
        """Queries run so far (for tests and benchmarks)."""

    async def get(self, key: K) -> R | None:
        """The record for ``key``, or ``None``; raises :class:`ReadFailed` if the query fails."""
        if self._closing:
            raise StoreClosed("the store is closed")
        future: asyncio.Future[R | None] = asyncio.get_running_loop().create_future()
        waiters = self._waiting.get(key)
        if waiters is None:
            self._waiting[key] = [future]
        else:
            waiters.append(future)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name=f"{self._name} reads")
        self._wake.set()
        return await future

    async def close(self) -> None:
        """Answer every waiting caller, then stop. Later ``get`` calls raise StoreClosed."""
        self._closing = True
        task = self._task
        if task is not None and not task.done():
            self._wake.set()
            await task

    async def _run(self) -> None:
        try:
            while True:
                if not self._waiting:
                    if self._closing:
                        return
                    self._wake.clear()
                    await self._wake.wait()
                    continue
                batch = self._take()
                await self._answer(batch)
        finally:
            # Only reached with callers waiting if this task was cancelled.
            left, self._waiting = self._waiting, {}
            for waiters in left.values():
                for future in waiters:
                    if not future.done():
                        future.set_exception(ReadFailed(f"{self._name}: reader stopped"))

    def _take(self) -> dict[K, list[asyncio.Future[R | None]]]:
        if len(self._waiting) <= self._max_keys:
            batch, self._waiting = self._waiting, {}
            return batch
        batch = {}
        for key in list(self._waiting)[: self._max_keys]:
            batch[key] = self._waiting.pop(key)
        return batch

    async def _answer(self, batch: dict[K, list[asyncio.Future[R | None]]]) -> None:
        try:
            found = await self._fetch(list(batch))
        except asyncio.CancelledError:
            for waiters in batch.values():
                for future in waiters:
                    if not future.done():
                        future.set_exception(ReadFailed(f"{self._name}: cancelled"))
            raise
        except Exception as exc:
            # The type only: a driver's message can quote the values it was given.
            _log.warning(
                "%s: a batched read of %d keys failed (%s)",
                self._name,
                len(batch),
                exc.__class__.__name__,
            )
            for waiters in batch.values():
                for future in waiters:
                    if not future.done():
                        future.set_exception(_read_failed(self._name, exc))
            return
        self.queries += 1
        for key, waiters in batch.items():
            record = found.get(key)
            for index, future in enumerate(waiters):
                if not future.done():
                    future.set_result(record if index == 0 else copy.deepcopy(record))


def _read_failed(name: str, exc: Exception) -> Exception:
    """What a waiting caller gets: a data key problem as it is (its message tells the
    operator what to set), anything else as a :class:`ReadFailed`."""
    if isinstance(exc, DataKeyError):
        return exc
    error = ReadFailed(f"{name}: {exc.__class__.__name__}: {exc}")
    error.__cause__ = exc
    return error
