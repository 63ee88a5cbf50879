"""Engines for the two databases we run on, configured the way the store relies on.

SQLite is the embedded default. Each new connection gets ``journal_mode=WAL`` and
``synchronous=NORMAL`` (our definition of durable: a commit is in the write-ahead log
before it returns, and survives a process crash; the last commits can be lost only if the
machine itself loses power), ``foreign_keys=ON`` (SQLite ignores ``ON DELETE CASCADE``
otherwise) and a ``busy_timeout`` so a second process waits for the write lock instead of
failing at once. PostgreSQL (asyncpg) needs nothing special.

Both engines hide SQL parameters (``hide_parameters=True``): they are people's answers and
reflections, and SQLAlchemy would otherwise put them into every error message and every
line of its SQL echo, and so into the logs.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry, StaticPool

from core.store.errors import UnsupportedDatabase

__all__ = [
    "DATABASE_FILENAME",
    "SQLITE_BUSY_TIMEOUT_MS",
    "default_database_url",
    "is_memory_database",
    "make_engine",
]

_log = logging.getLogger(__name__)

DATABASE_FILENAME = "breakthrough.db"

# Long enough to ride out another process's migration or checkpoint; the wait happens in
# aiosqlite's thread, so the event loop keeps running meanwhile.
SQLITE_BUSY_TIMEOUT_MS = 10_000

# Connections per engine. SQLite in WAL mode reads in parallel with its one writer; more
# connections than this only add threads (aiosqlite runs one per connection) competing
# for the GIL. PostgreSQL replicas share the server's max_connections, so stay modest.
_POOL_SIZE = 8
_MAX_OVERFLOW = 8


def default_database_url(data_dir: Path) -> str:
    """The embedded database: a SQLite file in ``data_dir`` (created on first connect)."""
    return f"sqlite+aiosqlite:///{(data_dir / DATABASE_FILENAME).resolve()}"


def is_memory_database(url: str | URL) -> bool:
    """Whether ``url`` is an in-memory SQLite database, which lives as long as its engine."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return False
    database = parsed.database or ""
    return database in ("", ":memory:") or parsed.query.get("mode") == "memory"


def make_engine(url: str | URL, *, connect_args: dict[str, Any] | None = None) -> AsyncEngine:
    """An async engine for ``url`` (``sqlite+aiosqlite`` or ``postgresql+asyncpg``).

    ``connect_args`` go to the driver's ``connect()``, for what a URL cannot say (asyncpg's
    ``server_settings``, for example a ``search_path``). The parent folder of a SQLite
    file is created here, so a fresh data directory just works.
    """
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    args = dict(connect_args or {})
    if backend == "sqlite":
        return _make_sqlite_engine(parsed, args)
    if backend == "postgresql":
        return create_async_engine(
            parsed,
            connect_args=args,
            pool_size=_POOL_SIZE,
            max_overflow=_MAX_OVERFLOW,
            hide_parameters=True,
            # No pool_pre_ping: it costs a round trip per checkout on the turn path. A
            # connection found dead raises once and the pool is invalidated and refilled.
        )
    raise UnsupportedDatabase(f"unsupported database {backend!r}: use SQLite or PostgreSQL")


def _make_sqlite_engine(url: URL, connect_args: dict[str, Any]) -> AsyncEngine:
    if is_memory_database(url):
        # One connection shared by everyone, or each checkout would see its own empty
        # database. The store serialises access to it (see SqlStore).
        engine = create_async_engine(
            url, connect_args=connect_args, poolclass=StaticPool, hide_parameters=True
        )
    else:
        database = url.database or ""
        if not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(
            url,
            connect_args=connect_args,
            pool_size=_POOL_SIZE,
            max_overflow=_MAX_OVERFLOW,
            hide_parameters=True,
        )
    event.listen(engine.sync_engine, "connect", _configure_sqlite_connection)
    return engine


def _configure_sqlite_connection(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    """Run once per new SQLite connection, before the pool hands it out.

    ``busy_timeout`` comes first: switching to WAL needs a lock another process may hold.
    ``journal_mode`` is stored in the file, the others last for the connection only.
    """
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        _switch_to_wal(dbapi_connection, cursor)
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def _switch_to_wal(dbapi_connection: Any, cursor: Any) -> None:
    """``PRAGMA journal_mode = WAL``, retried while another connection is doing the same.

    On a file still in rollback mode (a fresh one), the pragma reads page 1 under a shared
    lock, then promotes it to a write lock to mark the header as WAL. SQLite does not call
    the busy handler for a promotion from a shared lock, since waiting could deadlock
    (https://sqlite.org/c3ref/busy_handler.html): when several connections open a fresh
    file together, those that lose the race fail at once with SQLITE_BUSY whatever the
    busy timeout. So we wait here instead, until the busy timeout. Once the header says
    WAL the pragma writes nothing and cannot fail this way, so retries happen only on a
    brand-new database. The sleep goes through the event loop (``run_async``), which
    may meanwhile be running the connection that holds the lock.
    """
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    delay = 0.001
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            # The primary code, so SQLITE_BUSY_RECOVERY and the like count too.
            busy = getattr(exc, "sqlite_errorcode", 0) & 0xFF == sqlite3.SQLITE_BUSY
            if not busy or time.monotonic() + delay > deadline:
                raise
        _log.debug("database busy while switching to WAL; retrying in %.3fs", delay)
        dbapi_connection.run_async(lambda _driver, pause=delay: asyncio.sleep(pause))
        delay = min(delay * 2, 0.05)
