"""Which inbound platform events were already handled: "exactly once" across replicas.

Chat platforms redeliver: Slack resends an event it thinks went unacknowledged, and
behind a load balancer the resend may reach another replica. A set in memory cannot
see what another process did, so the first sight of a key is an ``INSERT`` into
``inbound_events`` whose primary key refuses the second: whichever replica inserts
first handles the event, every other one drops it.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from core.store.errors import WriteFailed
from core.store.models import inbound_events
from core.store.repository import SqlStore

__all__ = ["KEEP_EVENTS_FOR", "SqlEventLog"]

KEEP_EVENTS_FOR = timedelta(days=1)
"""How long a key is remembered: Slack retries for minutes, never for a day."""


class SqlEventLog:
    """``first_time(key)`` is true for exactly one caller per key, in every process.

    Calls that arrive together share one ``INSERT … ON CONFLICT DO NOTHING RETURNING``:
    under load every message event asks, and one transaction per event would have them
    queue for SQLite's single write lock behind each other and the turns' group commits.
    """

    def __init__(self, store: SqlStore, *, keep: timedelta = KEEP_EVENTS_FOR) -> None:
        self._store = store
        self._keep = keep
        dialect = postgresql if store.engine.dialect.name == "postgresql" else sqlite
        self._statement = (
            dialect.insert(inbound_events).on_conflict_do_nothing().returning(inbound_events.c.key)
        )
        self._last_prune: datetime | None = None
        self._queue: list[tuple[str, datetime, asyncio.Future[bool]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def first_time(self, key: str, *, now: datetime) -> bool:
        """Record ``key``; ``True`` when no one (no process) had recorded it before."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._queue.append((key, now, future))
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        try:
            await asyncio.sleep(0)  # let the callers of this loop iteration join
            while self._queue:
                batch, self._queue = self._queue, []
                try:
                    inserted = await self._insert(batch)
                except WriteFailed as exc:
                    for _, _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                answered: set[str] = set()
                for key, _, future in batch:
                    first = key in inserted and key not in answered
                    answered.add(key)
                    if not future.done():
                        future.set_result(first)
        finally:
            self._flusher = None

    async def _insert(self, batch: list[tuple[str, datetime, asyncio.Future[bool]]]) -> set[str]:
        rows: dict[str, datetime] = {}
        for key, now, _ in batch:
            rows.setdefault(key, now)
        latest = max(rows.values())
        params = [{"key": k, "seen_at": t} for k, t in rows.items()]
        try:
            async with self._store.connection() as conn, conn.begin():
                # One statement for any number of keys (executemany with RETURNING is
                # sent as multi-row INSERTs), compiled once rather than once per size.
                result = await conn.execute(self._statement, params)
                inserted = {str(k) for k in result.scalars()}
                if self._due_for_prune(latest):
                    await conn.execute(
                        delete(inbound_events).where(inbound_events.c.seen_at < latest - self._keep)
                    )
        except SQLAlchemyError as exc:
            raise WriteFailed(f"not committed: {exc.__class__.__name__}: {exc}") from exc
        return inserted

    def _due_for_prune(self, now: datetime) -> bool:
        """Prune at most hourly per process: the delete is cheap but not free."""
        if self._last_prune is not None and now - self._last_prune < timedelta(hours=1):
            return False
        self._last_prune = now
        return True
