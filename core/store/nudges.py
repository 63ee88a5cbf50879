"""The SQL implementation of :class:`core.schedule.ports.NudgeStore`.

:class:`SqlNudgeStore` shares a :class:`~core.store.repository.SqlStore`'s engine and
its connection discipline (:meth:`SqlStore.connection`), but not its group-commit queue:
scheduling writes are few and each caller needs its own answer (how many rows were
inserted, which were claimed), so each write is one plain transaction.

Three things are built for volume, because a dispatcher may face a backlog of hundreds
of thousands of due nudges and a restart may find a million pending ones:

- :meth:`~SqlNudgeStore.add_nudges` is one statement per batch on PostgreSQL (``INSERT
  ... SELECT`` with each column sent as one JSON array) and one ``executemany`` of
  pre-encoded tuples on SQLite, so 100,000 drafts insert in a couple of seconds rather
  than a round trip (or a Python bind-processing pass) per row.
- :meth:`~SqlNudgeStore.claim_due` is one ``UPDATE ... RETURNING`` whose candidates are
  two ordered, limited range scans of the ``(status, due_at)`` index (pending rows due,
  claimed rows whose lease expired) merged by ``UNION ALL``. A single ``status IN
  ('pending', 'claimed') ORDER BY due_at`` cannot be read in order from that index, so
  every claim would sort the whole backlog. On PostgreSQL each arm locks its rows with
  ``FOR UPDATE SKIP LOCKED``, so concurrent dispatchers take disjoint rows without
  waiting for each other; SQLite has one writer, which makes the statement atomic.
- :meth:`~SqlNudgeStore.finish` locks the outcomes' rows with one select, then applies
  them with one ``UPDATE`` for every ``sent`` key and one ``executemany`` per other
  status: a thousand outcomes are a handful of statements.

Key lists travel as one parameter (a PostgreSQL array, a JSON array that SQLite reads
with ``json_each``), so the SQL text is the same for any number of keys: each
connection prepares it once, and no list can exceed a bind-parameter limit.
"""

from __future__ import annotations

import contextlib
import json
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, Final, TypeVar, get_args

from sqlalchemy import (
    ColumnElement,
    Executable,
    Row,
    String,
    Text,
    any_,
    bindparam,
    column,
    delete,
    exists,
    func,
    literal,
    literal_column,
    not_,
    select,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection

from core.ports import SessionRecord
from core.schedule.model import (
    ALL_DAYS,
    NudgeDraft,
    NudgeOutcome,
    NudgeRecord,
    NudgeStatus,
    OutcomeStatus,
    PartnerLink,
    Preferences,
)
from core.store.errors import InvalidRecord, ReadFailed
from core.store.models import nudges, partners, preferences, sessions
from core.store.repository import SqlStore, _session_record

if TYPE_CHECKING:
    from core.schedule.ports import NudgeStore

__all__ = ["NUDGE_STATUSES", "SqlNudgeStore"]

NUDGE_STATUSES: Final[tuple[NudgeStatus, ...]] = get_args(NudgeStatus)
"""Every status a nudge row can have, in lifecycle order."""

_OUTCOME_STATUSES: Final[tuple[OutcomeStatus, ...]] = get_args(OutcomeStatus)

_Params = dict[str, Any]

# The columns add_nudges writes, in the order of its SQLite tuples and PostgreSQL columns.
_INSERT_COLUMNS: Final = (
    "key",
    "kind",
    "owner",
    "target",
    "session_id",
    "due_at",
    "tz",
    "payload",
    "status",
    "attempts",
    "created_at",
    "updated_at",
)


class SqlNudgeStore:
    """Nudges, preferences and partner links in the database of a :class:`SqlStore`.

    Holds no connection of its own: every call checks one out through
    :meth:`SqlStore.connection`, so closing the ``SqlStore`` closes this too. Read
    errors raise :class:`ReadFailed`, write errors :class:`WriteFailed` (nothing was
    committed), a naive ``datetime`` :class:`InvalidRecord` before anything is sent.
    """

    def __init__(self, store: SqlStore) -> None:
        self._store = store
        self._dialect = store.engine.dialect.name
        self._sql = _Statements(self._dialect)

    # -- scheduling ----------------------------------------------------------------------

    async def add_nudges(self, drafts: Sequence[NudgeDraft], *, now: datetime) -> int:
        """Insert the drafts whose key is new; return how many were inserted.

        An existing key is left untouched whatever its status (the dedupe); so is a key
        repeated within ``drafts`` after its first occurrence.
        """
        _require_aware("now", now)
        if not drafts:
            return 0
        rows = self._encode_drafts(drafts, now)
        async with self._write() as conn:
            return await self._insert(conn, rows)

    async def replace_nudges(
        self, *, target: str, drafts: Sequence[NudgeDraft], now: datetime
    ) -> None:
        """Make ``drafts`` the pending nudges of ``target``, in one transaction.

        Pending rows of ``target`` whose key is not among the drafts are cancelled. A
        draft whose key is pending already updates that row to the draft (its due time,
        payload, zone...: a re-plan after a settings change moves the nudge it keyed);
        a new key is inserted; a key that is claimed or final is left alone, so a nudge
        being delivered right now is neither cancelled nor scheduled again. A key
        repeated in ``drafts`` counts once, its first draft.
        """
        _require_aware("now", now)
        unique = list({draft.key: draft for draft in reversed(drafts)}.values())[::-1]
        rows = self._encode_drafts(unique, now) if unique else None
        keys = self._keys_param([draft.key for draft in unique])
        async with self._write() as conn:
            await conn.execute(
                self._sql.cancel_others_of_target, {"b_target": target, "keys": keys, "now": now}
            )
            if rows is not None:
                await self._insert(conn, rows, update_pending=True)

    async def cancel_nudges(
        self,
        *,
        now: datetime,
        owner: str | None = None,
        target: str | None = None,
        session_id: str | None = None,
        kinds: Sequence[str] | None = None,
    ) -> int:
        """Cancel the pending nudges matching every given filter; return how many.

        With no filter at all, every pending nudge is cancelled. An empty ``kinds``
        matches nothing.
        """
        _require_aware("now", now)
        where: list[ColumnElement[bool]] = [nudges.c.status == "pending"]
        if owner is not None:
            where.append(nudges.c.owner == owner)
        if target is not None:
            where.append(nudges.c.target == target)
        if session_id is not None:
            where.append(nudges.c.session_id == session_id)
        if kinds is not None:
            where.append(nudges.c.kind.in_(list(kinds)))
        stmt = update(nudges).where(*where).values(status="cancelled", updated_at=now)
        async with self._write() as conn:
            return (await conn.execute(stmt)).rowcount

    async def reschedule(self, key: str, *, due_at: datetime, now: datetime) -> bool:
        """Move a pending nudge to ``due_at``; ``False`` if it is not pending."""
        _require_aware("due_at", due_at)
        _require_aware("now", now)
        async with self._write() as conn:
            result = await conn.execute(
                self._sql.reschedule, {"b_key": key, "b_due_at": due_at, "now": now}
            )
            return result.rowcount > 0

    # -- delivery ------------------------------------------------------------------------

    async def claim_due(
        self, *, now: datetime, worker: str, lease: timedelta, limit: int
    ) -> list[NudgeRecord]:
        """Atomically claim up to ``limit`` due nudges for ``worker``, earliest first.

        One ``UPDATE ... RETURNING`` (see the module docstring for why its candidates
        come from two index scans). The list is ordered by ``due_at`` then key.
        """
        _require_aware("now", now)
        if limit <= 0:
            return []
        params = {"now": now, "worker": worker, "until": now + lease, "limit": limit}
        async with self._write() as conn:
            rows = (await conn.execute(self._sql.claim, params)).all()
        records = [_nudge_record(row) for row in rows]
        records.sort(key=lambda record: (record.due_at, record.key))
        return records

    async def finish(self, outcomes: Sequence[NudgeOutcome], *, worker: str, now: datetime) -> int:
        """Record outcomes of nudges ``worker`` claimed, in one transaction.

        The rows still claimed by ``worker`` are selected (and on PostgreSQL locked)
        first, so exactly the outcomes that apply are known before anything is written:
        only their ``then`` drafts are inserted. The updates keep the same guard, as a
        second line of defence. When ``outcomes`` names a key twice, the first wins, as
        if they were recorded one after another. ``retry`` without ``retry_at`` means
        ``now``.
        """
        _require_aware("now", now)
        first: dict[str, NudgeOutcome] = {}
        for outcome in outcomes:
            if outcome.status not in _OUTCOME_STATUSES:
                raise InvalidRecord(f"nudge {outcome.key!r}: unknown outcome {outcome.status!r}")
            if outcome.retry_at is not None:
                _require_aware("outcome.retry_at", outcome.retry_at)
            _require_aware_drafts(outcome.then)
            first.setdefault(outcome.key, outcome)
        if not first:
            return 0
        keys = self._keys_param(list(first))
        async with self._write() as conn:
            result = await conn.execute(self._sql.claimed_by, {"keys": keys, "worker": worker})
            held = set(result.scalars())
            applied = [outcome for key, outcome in first.items() if key in held]
            sent = [outcome.key for outcome in applied if outcome.status == "sent"]
            if sent:
                params = {"keys": self._keys_param(sent), "worker": worker, "now": now}
                await conn.execute(self._sql.finish_sent, params)
            each: dict[str, list[_Params]] = defaultdict(list)
            for outcome in applied:
                if outcome.status != "sent":
                    each[outcome.status].append(
                        {
                            "b_key": outcome.key,
                            "worker": worker,
                            "now": now,
                            "b_error": outcome.error,
                            "b_due_at": outcome.retry_at or now,  # used by retry only
                        }
                    )
            for status, params_list in each.items():
                await conn.execute(self._sql.finish_each[status], params_list)
            then = [draft for outcome in applied for draft in outcome.then]
            if then:
                await self._insert(conn, self._encode_drafts(then, now))
        return len(applied)

    async def release(self, *, worker: str, now: datetime) -> int:
        """Put every row ``worker`` still claims back to ``pending`` (a clean shutdown).

        ``attempts`` keeps the claim's increment: the worker may have been half-way
        through a delivery when it was told to stop.
        """
        _require_aware("now", now)
        async with self._write() as conn:
            result = await conn.execute(self._sql.release, {"worker": worker, "now": now})
            return result.rowcount

    async def next_due(self) -> datetime | None:
        """When the next nudge may be claimed, or ``None`` when there is nothing to do.

        One query of two index lookups (the first pending row in ``(status, due_at)``
        order, and the earliest lease among the few claimed rows): it costs the same
        with a million pending rows as with ten.
        """
        row = (await self._read(self._sql.next_due))[0]
        times = [value for value in (row.pending, row.claimed) if value is not None]
        return min(times) if times else None

    # -- reading -------------------------------------------------------------------------

    async def get_nudge(self, key: str) -> NudgeRecord | None:
        """The nudge with this key, whatever its status, or ``None``."""
        rows = await self._read(self._sql.nudge_by_key, {"b_key": key})
        return _nudge_record(rows[0]) if rows else None

    async def list_nudges(
        self,
        *,
        owner: str | None = None,
        target: str | None = None,
        statuses: Sequence[NudgeStatus] | None = None,
        limit: int = 100,
    ) -> list[NudgeRecord]:
        """Nudges ordered by ``due_at`` then key."""
        where: list[ColumnElement[bool]] = []
        if owner is not None:
            where.append(nudges.c.owner == owner)
        if target is not None:
            where.append(nudges.c.target == target)
        if statuses is not None:
            where.append(nudges.c.status.in_(list(statuses)))
        stmt = select(nudges).where(*where).order_by(nudges.c.due_at, nudges.c.key).limit(limit)
        return [_nudge_record(row) for row in await self._read(stmt)]

    async def count_nudges(self) -> dict[str, int]:
        """How many rows in each status (every status present, zero if none)."""
        counts: dict[str, int] = dict.fromkeys(NUDGE_STATUSES, 0)
        for row in await self._read(self._sql.count_by_status):
            counts[row.status] = row.n
        return counts

    async def count_due(self, now: datetime) -> int:
        """How many nudges are due by ``now`` and not sent yet (pending, or claimed and
        being delivered): the backlog the metrics show. Two range counts of the
        ``(status, due_at)`` index, cheap enough for every scrape."""
        _require_aware("now", now)
        c = nudges.c
        stmt = select(func.count()).where(c.status.in_(("pending", "claimed")), c.due_at <= now)
        return int((await self._read(stmt))[0][0])

    async def silent_sessions(
        self, *, before: datetime, exclude_methods: Sequence[str], limit: int
    ) -> list[SessionRecord]:
        """Active sessions last updated before ``before`` with no ``resume:<id>`` nudge
        (of any status, so a session is nudged about its silence once), oldest first."""
        _require_aware("before", before)
        params = {"before": before, "methods": list(exclude_methods), "limit": limit}
        return [_session_record(row) for row in await self._read(self._sql.silent, params)]

    # -- preferences and partners -------------------------------------------------------

    async def get_preferences(self, owner: str) -> Preferences | None:
        """The person's settings, or ``None`` if they never saved any."""
        rows = await self._read(self._sql.preferences_by_owner, {"b_owner": owner})
        return _preferences(rows[0]) if rows else None

    async def get_preferences_many(self, owners: Sequence[str]) -> dict[str, Preferences]:
        """The saved settings of each of ``owners`` who has any, in one query."""
        if not owners:
            return {}
        stmt = select(preferences).where(preferences.c.owner.in_(sorted(set(owners))))
        return {row.owner: _preferences(row) for row in await self._read(stmt)}

    async def save_preferences(self, prefs: Preferences, *, now: datetime) -> None:
        """Insert or replace the person's settings.

        Times of day are stored as ``HH:MM`` (seconds are dropped), ``lead`` in whole
        minutes, ``working_days`` as its sorted digits.
        """
        _require_aware("now", now)
        if prefs.paused_until is not None:
            _require_aware("prefs.paused_until", prefs.paused_until)
        if not prefs.working_days <= ALL_DAYS:
            raise InvalidRecord(f"working_days must be within 0-6, got {set(prefs.working_days)}")
        params = {
            "owner": prefs.owner,
            "tz": prefs.tz,
            "quiet_start": _hhmm(prefs.quiet_start),
            "quiet_end": _hhmm(prefs.quiet_end),
            "working_days": "".join(str(day) for day in sorted(prefs.working_days)),
            "lead_minutes": (None if prefs.lead is None else int(prefs.lead.total_seconds() // 60)),
            "morning": _hhmm(prefs.morning),
            "paused_until": prefs.paused_until,
            "nudges": prefs.nudges,
            "share": prefs.share,
            "updated_at": now,
        }
        async with self._write() as conn:
            await conn.execute(self._sql.upsert_preferences, params)

    async def get_partner(self, owner: str) -> PartnerLink | None:
        """The partner link ``owner`` made, if any."""
        rows = await self._read(self._sql.partner_by_owner, {"b_owner": owner})
        return _partner_link(rows[0]) if rows else None

    async def partners_of(self, partner: str) -> list[PartnerLink]:
        """Links in which ``partner`` was named, any status, oldest first."""
        rows = await self._read(self._sql.partners_of, {"b_partner": partner})
        return [_partner_link(row) for row in rows]

    async def save_partner(self, link: PartnerLink) -> None:
        """Insert or replace the owner's link (one per owner), every column included."""
        _require_aware("link.created_at", link.created_at)
        _require_aware("link.updated_at", link.updated_at)
        params = {
            "owner": link.owner,
            "partner": link.partner,
            "partner_name": link.partner_name,
            "owner_name": link.owner_name,
            "status": link.status,
            "created_at": link.created_at,
            "updated_at": link.updated_at,
        }
        async with self._write() as conn:
            await conn.execute(self._sql.upsert_partner, params)

    async def delete_partner(self, owner: str) -> bool:
        """Delete the owner's link; ``False`` if there was none."""
        async with self._write() as conn:
            result = await conn.execute(self._sql.delete_partner, {"b_owner": owner})
            return result.rowcount > 0

    # -- plumbing ------------------------------------------------------------------------

    def _write(self) -> contextlib.AbstractAsyncContextManager[AsyncConnection]:
        """One committed transaction (see :meth:`SqlStore.transaction`)."""
        return self._store.transaction()

    async def _read(self, stmt: Executable, params: _Params | None = None) -> Sequence[Row[Any]]:
        """Run a query on a pooled connection; a database error is a :class:`ReadFailed`."""
        try:
            async with self._store.connection() as conn:
                return (await conn.execute(stmt, params)).all()
        except SQLAlchemyError as exc:
            raise ReadFailed(f"{exc.__class__.__name__}: {exc}") from exc

    def _keys_param(self, keys: list[str]) -> Any:
        """A list of keys as the one parameter the ``keys`` statements expect."""
        return keys if self._dialect == "postgresql" else json.dumps(keys)

    def _encode_drafts(self, drafts: Sequence[NudgeDraft], now: datetime) -> Any:
        """The drafts as :meth:`_insert` sends them: PostgreSQL columns, SQLite tuples.

        Encoded here rather than by SQLAlchemy's bind processors, which would run a
        Python function per value (300,000 of them for a 100,000-row batch). Times are
        checked to be aware first, as :class:`~core.store.models.UTCDateTime` would, and
        payloads sealed when the store has a data key, as
        :class:`~core.store.sealed.SealedJSON` would (a payload quotes topics and
        commitments).
        """
        _require_aware_drafts(drafts)
        keyring = self._store.keyring
        seal = keyring.sealer("nudges.payload") if keyring.writes else None
        if self._dialect == "postgresql":
            # In key order (stably: a repeated key's first draft still wins), so two
            # transactions inserting overlapping keys wait for each other in the same
            # order instead of deadlocking.
            drafts = sorted(drafts, key=_draft_key)
            return {
                "keys": [d.key for d in drafts],
                "kinds": [d.kind for d in drafts],
                "owners": [d.owner for d in drafts],
                "targets": [d.target for d in drafts],
                "session_ids": [d.session_id for d in drafts],
                "due_ats": [d.due_at for d in drafts],
                "tzs": [d.tz for d in drafts],
                "payloads": (
                    [d.payload for d in drafts]
                    if seal is None
                    else [seal(_dumps(d.payload)) for d in drafts]  # JSON strings
                ),
                "now": now,
            }
        stamp, timestamp = _sqlite_timestamp(now), _sqlite_timestamp
        dumps = _dumps if seal is None else _sealed_dumps(seal)
        return [
            (
                d.key,
                d.kind,
                d.owner,
                d.target,
                d.session_id,
                timestamp(d.due_at),
                d.tz,
                dumps(d.payload),
                stamp,
                stamp,
            )
            for d in drafts
        ]

    async def _insert(
        self, conn: AsyncConnection, rows: Any, *, update_pending: bool = False
    ) -> int:
        """Insert encoded drafts, skipping existing keys; how many rows were inserted.

        With ``update_pending``, an existing key that is still pending takes the draft's
        values instead of being skipped (and then counts too).
        """
        if self._dialect == "postgresql":
            stmt = self._sql.upsert_pending_pg if update_pending else self._sql.insert_pg
            result = await conn.execute(stmt, rows)
        else:
            sql = self._sql.upsert_pending_sqlite if update_pending else self._sql.insert_sqlite
            # pysqlite's executemany sums the changes of every row: skipped keys add 0.
            result = await conn.exec_driver_sql(sql, rows)
        return result.rowcount


class _Statements:
    """The statements :class:`SqlNudgeStore` runs, built once for its dialect."""

    def __init__(self, dialect: str) -> None:
        c = nudges.c
        self.insert_pg = _insert_columns_pg(update_pending=False)
        self.upsert_pending_pg = _insert_columns_pg(update_pending=True)
        self.insert_sqlite = _insert_sqlite(update_pending=False)
        self.upsert_pending_sqlite = _insert_sqlite(update_pending=True)
        in_keys = _in_keys(dialect)

        self.cancel_others_of_target = (
            update(nudges)
            .where(c.target == bindparam("b_target"), c.status == "pending", not_(in_keys))
            .values(status="cancelled", updated_at=bindparam("now"))
        )
        self.reschedule = (
            update(nudges)
            .where(c.key == bindparam("b_key"), c.status == "pending")
            .values(due_at=bindparam("b_due_at"), updated_at=bindparam("now"))
        )

        now = bindparam("now", type_=c.due_at.type)
        limit = bindparam("limit", type_=c.attempts.type)
        pending = (
            select(c.key, c.due_at)
            .where(c.status == "pending", c.due_at <= now)
            .order_by(c.due_at)
            .limit(limit)
        )
        expired = (
            select(c.key, c.due_at)
            .where(c.status == "claimed", c.due_at <= now, c.claim_until < now)
            .order_by(c.due_at)
            .limit(limit)
        )
        if dialect == "postgresql":
            pending = pending.with_for_update(skip_locked=True)
            expired = expired.with_for_update(skip_locked=True)
        # Each arm as a subquery: SQLite refuses ORDER BY/LIMIT on a bare UNION arm.
        arms = [select(*arm.subquery().c) for arm in (pending, expired)]
        candidates = union_all(*arms).subquery("candidates")
        chosen = select(candidates.c.key).order_by(candidates.c.due_at).limit(limit)
        self.claim = (
            update(nudges)
            .where(c.key.in_(chosen))
            .values(
                status="claimed",
                claimed_by=bindparam("worker"),
                claim_until=bindparam("until"),
                attempts=c.attempts + 1,
                updated_at=now,
            )
            .returning(*nudges.c)
        )

        self.claimed_by = select(c.key).where(
            in_keys, c.status == "claimed", c.claimed_by == bindparam("worker")
        )
        if dialect == "postgresql":
            self.claimed_by = self.claimed_by.with_for_update()
        mine = (
            c.key == bindparam("b_key"),
            c.status == "claimed",
            c.claimed_by == bindparam("worker"),
        )
        finished: dict[str, Any] = {"updated_at": bindparam("now"), "claim_until": None}
        # Every sent outcome gets the same values: one statement for all their keys.
        self.finish_sent = (
            update(nudges)
            .where(in_keys, *mine[1:])
            .values(status="sent", sent_at=bindparam("now"), error=None, **finished)
        )
        # The others carry their own error (and retry time): one executemany per status.
        self.finish_each: dict[str, Executable] = {
            "failed": update(nudges)
            .where(*mine)
            .values(status="failed", error=bindparam("b_error"), **finished),
            "skipped": update(nudges)
            .where(*mine)
            .values(status="skipped", error=bindparam("b_error"), **finished),
            "retry": update(nudges)
            .where(*mine)
            .values(
                status="pending",
                due_at=bindparam("b_due_at"),
                error=bindparam("b_error"),
                claimed_by=None,
                **finished,
            ),
        }
        self.release = (
            update(nudges)
            .where(c.status == "claimed", c.claimed_by == bindparam("worker"))
            .values(
                status="pending", claimed_by=None, claim_until=None, updated_at=bindparam("now")
            )
        )

        first_pending = (
            select(c.due_at).where(c.status == "pending").order_by(c.due_at).limit(1)
        ).scalar_subquery()
        first_lease = (
            select(func.min(c.claim_until)).where(c.status == "claimed")
        ).scalar_subquery()
        self.next_due = select(first_pending.label("pending"), first_lease.label("claimed"))

        self.nudge_by_key = select(nudges).where(c.key == bindparam("b_key"))
        self.count_by_status = select(c.status, func.count().label("n")).group_by(c.status)

        resume_key = literal("resume:", String) + sessions.c.id
        self.silent = (
            select(sessions)
            .where(
                sessions.c.status == "active",
                sessions.c.updated_at < bindparam("before"),
                sessions.c.method.not_in(bindparam("methods", expanding=True)),
                ~exists().where(c.key == resume_key),
            )
            .order_by(sessions.c.updated_at, sessions.c.id)
            .limit(bindparam("limit"))
        )

        self.preferences_by_owner = select(preferences).where(
            preferences.c.owner == bindparam("b_owner")
        )
        self.upsert_preferences = _upsert(dialect, preferences)
        p = partners.c
        self.partner_by_owner = select(partners).where(p.owner == bindparam("b_owner"))
        self.partners_of = (
            select(partners)
            .where(p.partner == bindparam("b_partner"))
            .order_by(p.created_at, p.owner)
        )
        self.upsert_partner = _upsert(dialect, partners)
        self.delete_partner = delete(partners).where(p.owner == bindparam("b_owner"))


def _in_keys(dialect: str) -> ColumnElement[bool]:
    """``nudges.key`` is in the ``keys`` parameter: one array or JSON text, any length."""
    if dialect == "postgresql":
        return nudges.c.key == any_(bindparam("keys", type_=postgresql.ARRAY(String)))
    listed = select(column("value", String)).select_from(
        func.json_each(bindparam("keys", type_=Text))
    )
    return nudges.c.key.in_(listed)


def _insert_columns_pg(*, update_pending: bool) -> Executable:
    """PostgreSQL: every draft in one ``INSERT ... SELECT``, the rows sent column-wise.

    Each column travels as one parameter, a JSON array (the due times as one
    ``timestamptz[]``), unpacked by set-returning functions in the select list, which
    PostgreSQL runs in lockstep (like ``ROWS FROM``): row *i* takes element *i* of each.
    One round trip and one statement however many rows, no 32,767-parameter ceiling,
    and Python's C JSON encoder does in one call per column what asyncpg's array
    encoder does element by element (it measured twice as slow for text arrays).
    """

    def each(name: str, function: Any = func.json_array_elements_text) -> Any:
        return function(bindparam(name, type_=postgresql.JSON))

    now = bindparam("now", type_=nudges.c.created_at.type)
    rows = select(
        each("keys"),
        each("kinds"),
        each("owners"),
        each("targets"),
        each("session_ids"),  # JSON null becomes SQL NULL
        # Plain timestamptz: the drafts were checked to be aware already, and
        # UTCDateTime's processor per element is what this statement exists to avoid.
        func.unnest(
            bindparam("due_ats", type_=postgresql.ARRAY(postgresql.TIMESTAMP(timezone=True)))
        ),
        each("tzs"),
        each("payloads", func.json_array_elements),
        literal("pending"),
        literal(0),
        now,
        now,
    )
    insert = postgresql.insert(nudges).from_select(list(_INSERT_COLUMNS), rows)
    return _on_conflict(insert, update_pending=update_pending)


def _insert_sqlite(*, update_pending: bool) -> str:
    """SQLite: the insert as driver SQL, for an ``executemany`` of pre-encoded tuples.

    ``status`` and ``attempts`` are constants in the SQL text: two values fewer to bind
    per row.
    """
    values: dict[str, Any] = {name: bindparam(name) for name in _INSERT_COLUMNS}
    values.update(status=literal_column("'pending'"), attempts=literal_column("0"))
    stmt = _on_conflict(sqlite.insert(nudges).values(values), update_pending=update_pending)
    compiled = stmt.compile(dialect=sqlite.dialect(paramstyle="qmark"))
    expected = [name for name in _INSERT_COLUMNS if name not in ("status", "attempts")]
    assert compiled.positiontup == expected, compiled.positiontup
    return str(compiled)


_Insert = TypeVar("_Insert", sqlite.Insert, postgresql.Insert)


def _on_conflict(insert: _Insert, *, update_pending: bool) -> _Insert:
    """Skip an existing key; or, with ``update_pending``, update it if pending or cancelled.

    The update sets what a draft holds (plus ``updated_at``) and leaves the delivery
    columns (attempts, error) alone. A cancelled row is scheduled again: a re-plan that
    wants a key back (nudges off, then on) must get it, or the nudge would be lost. A row
    that is claimed, sent, failed or skipped does not match the ``WHERE`` and is kept.
    """
    if not update_pending:
        return insert.on_conflict_do_nothing(index_elements=["key"])
    drafted = ("kind", "owner", "target", "session_id", "due_at", "tz", "payload", "updated_at")
    set_: dict[str, Any] = {name: insert.excluded[name] for name in drafted}
    set_["status"] = literal_column("'pending'")
    return insert.on_conflict_do_update(
        index_elements=["key"],
        set_=set_,
        # Literals, not parameters: the SQLite statement binds only the rows' values.
        where=nudges.c.status.in_([literal_column("'pending'"), literal_column("'cancelled'")]),
    )


def _upsert(dialect: str, table: Any) -> Executable:
    """``INSERT ... ON CONFLICT (pk) DO UPDATE`` replacing every other column."""
    insert = sqlite.insert(table) if dialect == "sqlite" else postgresql.insert(table)
    updates = {col.name: insert.excluded[col.name] for col in table.columns if not col.primary_key}
    return insert.on_conflict_do_update(index_elements=list(table.primary_key), set_=updates)


# -- encoding ----------------------------------------------------------------------------


def _require_aware(name: str, value: datetime) -> None:
    """Refuse a naive time before it reaches the database, as the repository does."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidRecord(f"{name} is a naive datetime ({value!r}); use an aware one")


def _require_aware_drafts(drafts: Sequence[NudgeDraft]) -> None:
    """:func:`_require_aware` for every draft's ``due_at``, in one cheap pass."""
    for draft in drafts:
        if draft.due_at.utcoffset() is None:  # naive, or a tzinfo that gives no offset
            raise InvalidRecord(
                f"nudge {draft.key!r}: due_at is a naive datetime ({draft.due_at!r}); "
                "use an aware one"
            )


def _draft_key(draft: NudgeDraft) -> str:
    """The sort key for drafts (a named function: ``sorted`` calls it 100,000 times)."""
    return draft.key


_encode_json = json.JSONEncoder().encode  # json.dumps without its per-call argument checks


def _dumps(payload: dict[str, Any]) -> str:
    """A payload as JSON text, exactly as ``json.dumps`` (the ``JSON`` type) writes it."""
    return _encode_json(payload) if payload else "{}"


def _sealed_dumps(seal: Callable[[str], str]) -> Callable[[dict[str, Any]], str]:
    """:func:`_dumps`, sealed: the JSON string :class:`~core.store.sealed.SealedJSON` stores."""

    def dumps(payload: dict[str, Any]) -> str:
        return _encode_json(seal(_dumps(payload)))

    return dumps


def _sqlite_timestamp(value: datetime) -> str:
    """``value`` as :class:`~core.store.models.UTCDateTime` stores it on SQLite.

    Naive UTC in SQLAlchemy's fixed ``DATETIME`` format, always with microseconds, so
    text comparison and ``ORDER BY`` agree with rows written through the models. The
    slice drops ``isoformat``'s "+00:00" (the fastest correct spelling measured).
    """
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.isoformat(" ", "microseconds")[:26]


def _hhmm(value: time | None) -> str | None:
    """A time of day as stored: ``"HH:MM"``, which sorts and reads the same everywhere."""
    return None if value is None else f"{value.hour:02d}:{value.minute:02d}"


def _time(value: str | None) -> time | None:
    """The inverse of :func:`_hhmm`."""
    if value is None:
        return None
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def _nudge_record(row: Sequence[Any]) -> NudgeRecord:
    """A row of ``select(nudges)`` or ``RETURNING`` every column, in table order.

    Unpacked by position: a claim turns a thousand rows into records, and a Row's
    attribute lookup by name costs several times a tuple's.
    """
    (
        key,
        kind,
        owner,
        target,
        session_id,
        due_at,
        tz,
        payload,
        status,
        attempts,
        claimed_by,
        claim_until,
        sent_at,
        error,
        created_at,
        updated_at,
    ) = row
    return NudgeRecord(
        key=key,
        kind=kind,
        owner=owner,
        target=target,
        due_at=due_at,
        tz=tz,
        session_id=session_id,
        payload=payload,
        status=status,
        attempts=attempts,
        claimed_by=claimed_by,
        claim_until=claim_until,
        sent_at=sent_at,
        error=error,
        created_at=created_at,
        updated_at=updated_at,
    )


def _preferences(row: Row[Any]) -> Preferences:
    """A ``preferences`` row back as the value :meth:`save_preferences` was given."""
    morning = _time(row.morning)
    assert morning is not None
    return Preferences(
        owner=row.owner,
        tz=row.tz,
        quiet_start=_time(row.quiet_start),
        quiet_end=_time(row.quiet_end),
        working_days=frozenset(int(day) for day in row.working_days),
        lead=None if row.lead_minutes is None else timedelta(minutes=row.lead_minutes),
        morning=morning,
        paused_until=row.paused_until,
        nudges=row.nudges,
        share=row.share if row.share in ("always", "never") else "ask",
    )


def _partner_link(row: Row[Any]) -> PartnerLink:
    """A ``partners`` row as a :class:`PartnerLink`."""
    return PartnerLink(
        owner=row.owner,
        partner=row.partner,
        partner_name=row.partner_name,
        owner_name=row.owner_name,
        status=row.status,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


if TYPE_CHECKING:

    def _implements_the_port(store: SqlNudgeStore) -> NudgeStore:
        """mypy fails here if SqlNudgeStore drifts from :class:`NudgeStore`."""
        return store
