"""Which inbound platform events were already handled: "exactly once" across replicas.

Chat platforms redeliver: Slack resends an event it thinks went unacknowledged, and
behind a load balancer the resend may reach another replica. A set in memory cannot
see what another process did, so the first sight of a key is an ``INSERT`` into
``inbound_events`` whose primary key refuses the second: whichever replica inserts
first handles the event, every other one drops it.
"""

from __future__ import annotations

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
    """``first_time(key)`` is true for exactly one caller per key, in every process."""

    def __init__(self, store: SqlStore, *, keep: timedelta = KEEP_EVENTS_FOR) -> None:
        self._store = store
        self._keep = keep
        self._dialect = store.engine.dialect.name
        self._last_prune: datetime | None = None

    async def first_time(self, key: str, *, now: datetime) -> bool:
        """Record ``key``; ``True`` when no one (no process) had recorded it before."""
        values = {"key": key, "seen_at": now}
        dialect = postgresql if self._dialect == "postgresql" else sqlite
        stmt = dialect.insert(inbound_events).values(values).on_conflict_do_nothing()
        try:
            async with self._store.connection() as conn, conn.begin():
                result = await conn.execute(stmt)
                inserted = result.rowcount == 1
                if self._due_for_prune(now):
                    await conn.execute(
                        delete(inbound_events).where(inbound_events.c.seen_at < now - self._keep)
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
