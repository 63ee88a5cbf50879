"""The SQL implementation of :class:`core.ports.Store`, built for the turn path.

Every turn reads one session and writes it back with whatever commitments and
follow-ups it produced. Both sides are batched, because with aiosqlite the fixed cost of
a statement (a pool checkout and several hand-offs to the connection's thread) dwarfs
SQLite's own work: one query per call caps a 2-core machine near 1,700 turns/s.

Reads: concurrent :meth:`SqlStore.load_session` and :meth:`SqlStore.find_open_session`
calls are answered by one prepared Core ``SELECT ... WHERE id IN (...)`` on a pooled
connection per batch (:mod:`core.store.batching`), with the consistency of one query
per call. The other reads are plain Core selects.

Group commit: :meth:`SqlStore.save_turn` (and the other writing methods) put the write
on a queue and await a future. One writer task takes everything queued, applies it in
**one transaction** (``executemany`` upserts, deduplicated by primary key so the last
write in queue order wins), commits, and only then resolves the futures. While it
commits, the next writes queue up, so under load one commit (one WAL append, one
PostgreSQL round trip) carries hundreds of turns, and when idle a write commits at once.

When a batch fails:

- on a data error (a foreign key, a value the database or a type refuses), the batch is
  rolled back, split in halves and retried, in queue order, until the writes that cause
  the error stand alone: their callers get :class:`WriteFailed`, every other write
  commits. One person's broken turn never costs another person theirs, and each write
  stays atomic (its session, commitments and follow-ups land together or not at all).
- on anything else (the database is unreachable, locked past the busy timeout, the disk
  is full), every caller in the batch gets :class:`WriteFailed` and nothing was
  committed (or, if the connection died during ``COMMIT``, the outcome is unknown).

Either way no caller returns from a write that is not committed. A caller cancelled while
waiting does not withdraw its write: it was queued and will be committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Self, TypeVar

from sqlalchemy import (
    ColumnElement,
    Executable,
    Row,
    Table,
    bindparam,
    delete,
    func,
    select,
    tuple_,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, SQLAlchemyError, StatementError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.pool import StaticPool

from core.dialogue.model import Actor
from core.ports import CommitmentRecord, FollowUpRecord, SessionRecord, Store
from core.store.batching import ReadBatcher
from core.store.engine import make_engine
from core.store.errors import (
    InvalidRecord,
    ReadFailed,
    StoreClosed,
    UnsupportedDatabase,
    WriteFailed,
    error_name,
)
from core.store.migrate import upgrade
from core.store.models import commitments, followups, people, sessions
from core.store.sealed import Keyring, attach, keyring_of

__all__ = ["OPEN_STATUSES", "PersonRecord", "SqlStore", "WriterStats"]

_log = logging.getLogger(__name__)

OPEN_STATUSES: Final = ("active", "paused")
"""Session statuses that count as unfinished: a new event in the place resumes them."""

# Writes per transaction at most; more wait for the next one. Large enough that a burst
# of a thousand turns is one commit, small enough to bound one transaction's work.
DEFAULT_MAX_BATCH = 2000

_Params = dict[str, Any]
_K = TypeVar("_K")


@dataclass(slots=True, kw_only=True)
class PersonRecord:
    """A person as stored; ``key`` is :meth:`~core.dialogue.model.Actor.key`."""

    key: str
    platform: str
    workspace: str
    user_id: str
    display_name: str = ""
    tz: str | None = None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_actor(cls, actor: Actor, *, now: datetime) -> PersonRecord:
        """The record for ``actor`` as first seen (or seen again) at ``now``."""
        return cls(
            key=actor.key(),
            platform=actor.platform,
            workspace=actor.workspace,
            user_id=actor.user_id,
            display_name=actor.display_name,
            tz=actor.tz,
            created_at=now,
            updated_at=now,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class WriterStats:
    """What the group-commit writer has done so far, for benchmarks and health checks."""

    writes: int
    """Writes committed (one per save_turn, upsert_person or delete_session call)."""
    failed: int
    """Writes whose callers got :class:`WriteFailed`."""
    batches: int
    """Transactions committed; ``writes / batches`` is the mean group size."""
    largest_batch: int
    isolated_batches: int
    """Batches that failed on a data error and were split to isolate the bad writes."""


@dataclass(slots=True)
class _Write:
    """One caller's write, waiting in the queue for the writer task."""

    future: asyncio.Future[None]
    session: _Params | None = None
    commitments: list[_Params] | None = None
    followups: list[_Params] | None = None
    person: _Params | None = None
    delete_session_id: str | None = None
    barrier: bool = False
    """Writes nothing: its future resolves once every write queued before it is done."""


class SqlStore:
    """Durable state in SQLite or PostgreSQL; see the module docstring for group commit.

    Make one per process with :meth:`open` (which migrates first), or wrap an engine you
    made with :func:`~core.store.engine.make_engine`. Close it when done: :meth:`close`
    flushes queued writes before releasing connections. Usable as ``async with``.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        owns_engine: bool = True,
        max_batch: int = DEFAULT_MAX_BATCH,
        keyring: Keyring | None = None,
    ) -> None:
        """Wrap ``engine`` (already migrated); ``close`` disposes it if ``owns_engine``.

        ``keyring`` seals answers at rest on this engine (:mod:`core.store.sealed`);
        ``None`` keeps the engine's, which is none unless one was attached.
        """
        dialect = engine.dialect.name
        if dialect not in ("sqlite", "postgresql"):
            raise UnsupportedDatabase(f"unsupported database {dialect!r}")
        if keyring is not None:
            attach(engine, keyring)
        self._engine = engine
        self._owns_engine = owns_engine
        self._max_batch = max_batch
        # An in-memory SQLite database is one connection shared by every checkout; its
        # transactions would interleave, so every use of it takes this lock.
        self._exclusive: asyncio.Lock | None = (
            asyncio.Lock() if isinstance(engine.pool, StaticPool) else None
        )
        self._statements = _Statements(dialect)
        self._sessions_by_id: ReadBatcher[str, SessionRecord] = ReadBatcher(
            self._fetch_sessions_by_id, name="sessions by id"
        )
        self._open_sessions: ReadBatcher[tuple[str, str], SessionRecord] = ReadBatcher(
            self._fetch_open_sessions, name="open sessions"
        )
        self._pending: list[_Write] = []
        self._wake = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        self._closing = False
        self._closed = False
        self._committing = False
        self._writes = 0
        self._failed = 0
        self._batches = 0
        self._largest_batch = 0
        self._isolated_batches = 0

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        migrate: bool = True,
        connect_args: dict[str, Any] | None = None,
        keyring: Keyring | None = None,
    ) -> SqlStore:
        """A store on ``url``, after bringing its schema to head when ``migrate``.

        ``keyring`` (from :func:`~core.store.sealed.parse_keys`) encrypts answers at
        rest; without one they are stored plain. Raises
        :class:`~core.store.errors.SchemaTooNew` if a newer release migrated it.
        """
        engine = make_engine(url, connect_args=connect_args)
        try:
            if migrate:
                await upgrade(engine)
        except BaseException:
            await engine.dispose()
            raise
        return cls(engine, keyring=keyring)

    @property
    def engine(self) -> AsyncEngine:
        """The engine underneath, for other components sharing the database."""
        return self._engine

    @property
    def keyring(self) -> Keyring:
        """The data keys this store's engine seals and opens answers with."""
        return keyring_of(self._engine)

    @property
    def stats(self) -> WriterStats:
        """A snapshot of the writer's counters."""
        return WriterStats(
            writes=self._writes,
            failed=self._failed,
            batches=self._batches,
            largest_batch=self._largest_batch,
            isolated_batches=self._isolated_batches,
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- reads ---------------------------------------------------------------------------

    async def load_session(self, session_id: str) -> SessionRecord | None:
        """The session with this id, or ``None``.

        Concurrent calls share one query (see :mod:`core.store.batching`).
        """
        self._check_open()
        return await self._sessions_by_id.get(session_id)

    async def find_open_session(self, *, owner: str, place: str) -> SessionRecord | None:
        """The most recently updated active or paused session of ``owner`` in ``place``.

        Concurrent calls share one query, as for :meth:`load_session`.
        """
        self._check_open()
        return await self._open_sessions.get((owner, place))

    async def list_sessions(
        self, *, owner: str | None = None, unfinished_only: bool = False, limit: int = 50
    ) -> list[SessionRecord]:
        """Sessions, most recently updated first; all owners when ``owner`` is ``None``."""
        where: list[ColumnElement[bool]] = []
        if owner is not None:
            where.append(sessions.c.owner == owner)
        if unfinished_only:
            where.append(sessions.c.status.in_(OPEN_STATUSES))
        stmt = (
            select(sessions)
            .where(*where)
            .order_by(sessions.c.updated_at.desc(), sessions.c.id.desc())
            .limit(limit)
        )
        return [_session_record(row) for row in await self._fetch(stmt)]

    async def list_commitments(
        self, *, owner: str | None = None, session_id: str | None = None, status: str | None = None
    ) -> list[CommitmentRecord]:
        """Commitments ordered by due time, then their position in the plan."""
        where: list[ColumnElement[bool]] = []
        if owner is not None:
            where.append(commitments.c.owner == owner)
        if session_id is not None:
            where.append(commitments.c.session_id == session_id)
        if status is not None:
            where.append(commitments.c.status == status)
        stmt = (
            select(commitments)
            .where(*where)
            .order_by(commitments.c.due_at, commitments.c.position, commitments.c.id)
        )
        return [_commitment_record(row) for row in await self._fetch(stmt)]

    async def list_followups(
        self, *, owner: str | None = None, session_id: str | None = None
    ) -> list[FollowUpRecord]:
        """Follow-ups ordered by due time."""
        where: list[ColumnElement[bool]] = []
        if owner is not None:
            where.append(followups.c.owner == owner)
        if session_id is not None:
            where.append(followups.c.session_id == session_id)
        stmt = select(followups).where(*where).order_by(followups.c.due_at, followups.c.id)
        return [_followup_record(row) for row in await self._fetch(stmt)]

    async def get_person(self, key: str) -> PersonRecord | None:
        """The person with this key (``platform:workspace:user``), or ``None``."""
        rows = await self._fetch(self._statements.person_by_key, {"key": key})
        return _person_record(rows[0]) if rows else None

    async def get_people(self, keys: Sequence[str]) -> dict[str, PersonRecord]:
        """The known people among ``keys``, by key, in one query."""
        if not keys:
            return {}
        stmt = select(people).where(people.c.key.in_(sorted(set(keys))))
        return {row.key: _person_record(row) for row in await self._fetch(stmt)}

    # -- writes --------------------------------------------------------------------------

    async def save_turn(
        self,
        session: SessionRecord,
        *,
        commitments: Sequence[CommitmentRecord] = (),
        followups: Sequence[FollowUpRecord] = (),
    ) -> None:
        """Upsert the session and the given commitments and follow-ups atomically.

        Returns once they are committed (group commit: see the module docstring). An
        existing row keeps its ``created_at``; every other column takes the new value.
        Do not mutate the records until this returns.
        """
        write = _Write(
            future=self._new_future(),
            session=_session_params(session),
            commitments=[_commitment_params(c) for c in commitments] or None,
            followups=[_followup_params(f) for f in followups] or None,
        )
        await self._submit(write)

    async def upsert_person(self, person: PersonRecord) -> None:
        """Insert the person, or update them keeping ``created_at``.

        A ``tz`` of ``None`` or an empty ``display_name`` keeps the stored value: a
        platform that does not tell us someone's zone on this event must not erase it.
        """
        _require_aware("person.created_at", person.created_at)
        _require_aware("person.updated_at", person.updated_at)
        params = {
            "key": person.key,
            "platform": person.platform,
            "workspace": person.workspace,
            "user_id": person.user_id,
            "display_name": person.display_name,
            "tz": person.tz,
            "created_at": person.created_at,
            "updated_at": person.updated_at,
        }
        await self._submit(_Write(future=self._new_future(), person=params))

    async def delete_session(self, session_id: str) -> None:
        """Delete the session and, by cascade, its commitments and follow-ups.

        Ordered with other queued writes: a save of the same session queued before it is
        deleted, one queued after it creates the session again.
        """
        await self._submit(_Write(future=self._new_future(), delete_session_id=session_id))

    async def flush(self) -> None:
        """Return once every write queued before this call is committed (or has failed).

        For a write outside the queue that must come after them: forgetting a person
        erases their rows in a transaction of its own, and a turn of theirs still queued
        would otherwise commit after the erase and leave their session behind.
        """
        if not self._pending and not self._committing:
            return
        with contextlib.suppress(WriteFailed):  # those writes' callers are told, not us
            await self._submit(_Write(future=self._new_future(), barrier=True))

    async def close(self) -> None:
        """Commit every queued write, stop the writer, and release connections.

        Writes submitted after ``close`` began raise :class:`StoreClosed`. Idempotent.
        """
        if self._closed:
            return
        self._closing = True
        await self._sessions_by_id.close()
        await self._open_sessions.close()
        writer = self._writer
        if writer is not None and not writer.done():
            self._wake.set()
            await writer
        self._closed = True
        if self._owns_engine:
            await self._engine.dispose()

    # -- the writer ----------------------------------------------------------------------

    def _new_future(self) -> asyncio.Future[None]:
        if self._closing:
            raise StoreClosed("the store is closed")
        return asyncio.get_running_loop().create_future()

    async def _submit(self, write: _Write) -> None:
        self._pending.append(write)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_loop(), name="SqlStore writer")
        self._wake.set()
        await write.future

    async def _write_loop(self) -> None:
        """Drain the queue batch by batch until ``close`` is called and nothing is left."""
        try:
            while True:
                if not self._pending:
                    if self._closing:
                        return
                    self._wake.clear()
                    await self._wake.wait()
                    continue
                batch = self._pending[: self._max_batch]
                del self._pending[: self._max_batch]
                self._committing = True
                try:
                    await self._commit_batch(batch)
                finally:
                    self._committing = False
        finally:
            # Reached with writes left only if this task was cancelled or broke: fail
            # them, so no caller waits for a commit that will never come.
            left, self._pending = self._pending, []
            for write in left:
                self._fail(write, WriteFailed("the store's writer stopped before this write"))

    async def _commit_batch(self, batch: list[_Write], *, retry: bool = False) -> None:
        """Commit ``batch`` in one transaction, or find the writes that spoil it.

        On a data error the batch is split in two and each half committed in turn (queue
        order is kept), recursively: the good writes still commit in groups, and one bad
        write among two thousand costs about twenty transactions, not two thousand.
        """
        try:
            await self._apply(batch)
        except asyncio.CancelledError:
            for write in batch:
                self._fail(write, WriteFailed("cancelled; this write may not be committed"))
            raise
        except Exception as exc:
            if _is_data_error(exc):
                if len(batch) > 1:
                    if not retry:
                        self._isolated_batches += 1
                        _log.warning(
                            "a group commit of %d writes hit a data error (%s); "
                            "splitting it to find the bad write",
                            len(batch),
                            exc.__class__.__name__,
                        )
                    middle = len(batch) // 2
                    await self._commit_batch(batch[:middle], retry=True)
                    await self._commit_batch(batch[middle:], retry=True)
                    return
                # The type only: the driver's message can quote the row (PostgreSQL's
                # "Failing row contains (...)"), which holds someone's words.
                _log.warning("a write was refused (%s)", error_name(exc))
            else:
                _log.error("a group commit of %d writes failed", len(batch), exc_info=exc)
            for write in batch:
                self._fail(write, _write_failed(exc))
            return
        writes = sum(not write.barrier for write in batch)
        if writes:
            self._batches += 1
            self._largest_batch = max(self._largest_batch, writes)
        for write in batch:
            self._succeed(write)

    def _succeed(self, write: _Write) -> None:
        if not write.barrier:
            self._writes += 1
        if not write.future.done():
            write.future.set_result(None)

    def _fail(self, write: _Write, error: WriteFailed) -> None:
        if not write.barrier:
            self._failed += 1
        if not write.future.done():
            write.future.set_exception(error)

    async def _apply(self, batch: list[_Write]) -> None:
        """Apply ``batch`` in one transaction, as if each write ran in queue order."""
        statements = self._statements
        if all(write.barrier for write in batch):
            return
        async with self._connection() as conn, conn.begin():
            merged = _Merged()
            for write in batch:
                if write.delete_session_id is not None:
                    await merged.flush(conn, statements)
                    await conn.execute(statements.delete_session, {"id": write.delete_session_id})
                else:
                    merged.add(write)
            await merged.flush(conn, statements)

    # -- connections ---------------------------------------------------------------------

    def connection(self) -> contextlib.AbstractAsyncContextManager[AsyncConnection]:
        """A pooled connection, for other components sharing this store's database.

        Use it rather than ``engine.connect()``: on an in-memory SQLite database it also
        takes the store's exclusive lock, without which two users of the one shared
        connection would interleave their transactions. Raises :class:`StoreClosed`
        once the store is closed. Writes through it bypass the group-commit queue:
        wrap them in ``conn.begin()``.
        """
        return self._connection()

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """One committed transaction for another component (nudges, teams), outside the
        group commit; on SQLite it takes the write lock up front.

        ``BEGIN IMMEDIATE`` waits (up to the busy timeout) for another writer instead of
        starting as a reader: a transaction that reads before it writes would otherwise
        fail at its first write with ``SQLITE_BUSY``, which no busy timeout retries,
        whenever another connection committed meanwhile. A database error is a
        :class:`WriteFailed`.
        """
        try:
            async with self._connection() as conn, conn.begin():
                if self._engine.dialect.name == "sqlite":
                    await conn.exec_driver_sql("BEGIN IMMEDIATE")
                yield conn
        except SQLAlchemyError as exc:
            raise WriteFailed(f"not committed: {exc.__class__.__name__}: {exc}") from exc

    @contextlib.asynccontextmanager
    async def _connection(self) -> AsyncIterator[AsyncConnection]:
        if self._closed:
            raise StoreClosed("the store is closed")
        if self._exclusive is None:
            async with self._engine.connect() as conn:
                yield conn
            return
        async with self._exclusive, self._engine.connect() as conn:
            yield conn

    def _check_open(self) -> None:
        if self._closing:
            raise StoreClosed("the store is closed")

    async def _fetch(self, stmt: Executable, params: _Params | None = None) -> Sequence[Row[Any]]:
        self._check_open()
        try:
            async with self._connection() as conn:
                result = await conn.execute(stmt, params)
                return result.all()
        except SQLAlchemyError as exc:
            raise ReadFailed(f"{exc.__class__.__name__}: {exc}") from exc

    async def _fetch_sessions_by_id(self, ids: list[str]) -> dict[str, SessionRecord]:
        async with self._connection() as conn:
            result = await conn.execute(self._statements.sessions_by_id, {"ids": _padded(ids)})
            return {row.id: _session_record(row) for row in result}

    async def _fetch_open_sessions(
        self, pairs: list[tuple[str, str]]
    ) -> dict[tuple[str, str], SessionRecord]:
        async with self._connection() as conn:
            result = await conn.execute(self._statements.open_sessions, {"pairs": _padded(pairs)})
            rows = result.all()
        # The newest per (owner, place), by the same order list_sessions uses.
        newest: dict[tuple[str, str], Row[Any]] = {}
        for row in rows:
            pair = (row.owner, row.place)
            best = newest.get(pair)
            if best is None or (row.updated_at, row.id) > (best.updated_at, best.id):
                newest[pair] = row
        return {pair: _session_record(row) for pair, row in newest.items()}


class _Merged:
    """The writes of a run of upserts, last write per primary key winning."""

    __slots__ = ("commitments", "followups", "people", "sessions")

    def __init__(self) -> None:
        self.sessions: dict[str, _Params] = {}
        self.commitments: dict[str, _Params] = {}
        self.followups: dict[str, _Params] = {}
        self.people: dict[str, _Params] = {}

    def add(self, write: _Write) -> None:
        if write.session is not None:
            self.sessions[write.session["id"]] = write.session
        for params in write.commitments or ():
            self.commitments[params["id"]] = params
        for params in write.followups or ():
            self.followups[params["id"]] = params
        if write.person is not None:
            self.people[write.person["key"]] = write.person

    async def flush(self, conn: AsyncConnection, statements: _Statements) -> None:
        # Sessions before the rows whose foreign keys point at them.
        for stmt, rows in (
            (statements.upsert_person, self.people),
            (statements.upsert_session, self.sessions),
            (statements.upsert_commitment, self.commitments),
            (statements.upsert_followup, self.followups),
        ):
            if rows:
                await conn.execute(stmt, list(rows.values()))
                rows.clear()


class _Statements:
    """Every statement the hot path runs, built once per store for its dialect."""

    def __init__(self, dialect: str) -> None:
        self.sessions_by_id = select(sessions).where(
            sessions.c.id.in_(bindparam("ids", expanding=True))
        )
        self.open_sessions = select(sessions).where(
            tuple_(sessions.c.owner, sessions.c.place).in_(bindparam("pairs", expanding=True)),
            sessions.c.status.in_(OPEN_STATUSES),
        )
        self.person_by_key = select(people).where(people.c.key == bindparam("key"))
        self.delete_session = delete(sessions).where(sessions.c.id == bindparam("id"))
        self.upsert_session = _upsert(dialect, sessions, keep=("created_at",))
        self.upsert_commitment = _upsert(dialect, commitments, keep=("created_at",))
        self.upsert_followup = _upsert(dialect, followups, keep=("created_at",))
        self.upsert_person = _upsert_person(dialect)


def _insert(dialect: str, table: Table) -> sqlite.Insert | postgresql.Insert:
    return sqlite.insert(table) if dialect == "sqlite" else postgresql.insert(table)


def _upsert(dialect: str, table: Table, *, keep: tuple[str, ...]) -> Executable:
    """``INSERT ... ON CONFLICT (pk) DO UPDATE`` setting every column not in ``keep``."""
    insert = _insert(dialect, table)
    updates = {
        column.name: insert.excluded[column.name]
        for column in table.columns
        if not column.primary_key and column.name not in keep
    }
    return insert.on_conflict_do_update(index_elements=list(table.primary_key), set_=updates)


def _upsert_person(dialect: str) -> Executable:
    """Like :func:`_upsert`, but an unknown zone or name does not erase a known one."""
    insert = _insert(dialect, people)
    excluded = insert.excluded
    updates: dict[str, Any] = {
        "platform": excluded.platform,
        "workspace": excluded.workspace,
        "user_id": excluded.user_id,
        "display_name": func.coalesce(
            func.nullif(excluded.display_name, ""), people.c.display_name
        ),
        "tz": func.coalesce(excluded.tz, people.c.tz),
        "updated_at": excluded.updated_at,
    }
    return insert.on_conflict_do_update(index_elements=[people.c.key], set_=updates)


def _padded(keys: list[_K]) -> list[_K]:
    """``keys`` padded to a power of two by repeating the last one (harmless in ``IN``).

    Each length of an expanded ``IN (...)`` is a different SQL text, and both SQLite's
    and asyncpg's per-connection statement caches are keyed on the text: without this a
    busy store would prepare a new statement for almost every batch.
    """
    size = 1 << (len(keys) - 1).bit_length()
    return keys + [keys[-1]] * (size - len(keys))


def _is_data_error(exc: BaseException) -> bool:
    """Whether ``exc`` came from the data of some write, not from the database's health."""
    if isinstance(exc, IntegrityError | DataError):
        return True
    # A StatementError that is not a DBAPIError was raised while binding parameters
    # (a naive datetime, a state that is not JSON-serialisable): a bad value, too.
    return isinstance(exc, StatementError) and not isinstance(exc, DBAPIError)


def _write_failed(exc: Exception) -> WriteFailed:
    error = WriteFailed(f"not committed: {exc.__class__.__name__}: {exc}")
    error.__cause__ = exc
    return error


def _require_aware(name: str, value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidRecord(f"{name} is a naive datetime ({value!r}); use an aware one")


def _session_params(s: SessionRecord) -> _Params:
    _require_aware("session.created_at", s.created_at)
    _require_aware("session.updated_at", s.updated_at)
    return {
        "id": s.id,
        "owner": s.owner,
        "place": s.place,
        "method": s.method,
        "topic": s.topic,
        "status": s.status,
        "state": s.state,
        "created_at": s.created_at,
        "updated_at": s.updated_at,
    }


def _commitment_params(c: CommitmentRecord) -> _Params:
    _require_aware("commitment.due_at", c.due_at)
    _require_aware("commitment.created_at", c.created_at)
    _require_aware("commitment.updated_at", c.updated_at)
    return {
        "id": c.id,
        "session_id": c.session_id,
        "owner": c.owner,
        "text": c.text,
        "due_at": c.due_at,
        "tz": c.tz,
        "status": c.status,
        "kind": c.kind,
        "position": c.position,
        "slips": c.slips,
        "created_at": c.created_at,
        "updated_at": c.updated_at,
    }


def _followup_params(f: FollowUpRecord) -> _Params:
    _require_aware("followup.due_at", f.due_at)
    _require_aware("followup.created_at", f.created_at)
    return {
        "id": f.id,
        "session_id": f.session_id,
        "owner": f.owner,
        "kind": f.kind,
        "text": f.text,
        "due_at": f.due_at,
        "tz": f.tz,
        "recurrence": f.recurrence,
        "extra": f.extra,
        "created_at": f.created_at,
    }


def _session_record(row: Row[Any]) -> SessionRecord:
    return SessionRecord(
        id=row.id,
        owner=row.owner,
        place=row.place,
        method=row.method,
        topic=row.topic,
        status=row.status,
        state=row.state,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _commitment_record(row: Row[Any]) -> CommitmentRecord:
    return CommitmentRecord(
        id=row.id,
        session_id=row.session_id,
        owner=row.owner,
        text=row.text,
        due_at=row.due_at,
        tz=row.tz,
        status=row.status,
        kind=row.kind,
        position=row.position,
        slips=row.slips,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _followup_record(row: Row[Any]) -> FollowUpRecord:
    return FollowUpRecord(
        id=row.id,
        session_id=row.session_id,
        owner=row.owner,
        kind=row.kind,
        text=row.text,
        due_at=row.due_at,
        tz=row.tz,
        recurrence=row.recurrence,
        extra=row.extra,
        created_at=row.created_at,
    )


def _person_record(row: Row[Any]) -> PersonRecord:
    return PersonRecord(
        key=row.key,
        platform=row.platform,
        workspace=row.workspace,
        user_id=row.user_id,
        display_name=row.display_name,
        tz=row.tz,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


if TYPE_CHECKING:

    def _implements_the_port(store: SqlStore) -> Store:
        """mypy fails here if SqlStore drifts from :class:`core.ports.Store`."""
        return store
