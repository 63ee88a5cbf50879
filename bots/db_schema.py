"""``breakthrough db upgrade`` and ``breakthrough db current``: the schema, by hand.

The bot migrates itself at start, so these exist for the moments an operator wants the
migration as its own step: a container entrypoint or systemd's ``ExecStartPre`` (so a
failed migration stops the deploy before the bot starts), and a look at where a database
is before deploying. They call :mod:`core.store.migrate` directly instead of
``SqlStore.open``, which would migrate as a side effect of merely looking.

:func:`schema_status`, :func:`database_problem` and :func:`reach` are shared with
``breakthrough doctor``, so both say the same thing about the same database.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Literal, TextIO

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from bots.settings import Settings
from core.store.engine import make_engine
from core.store.errors import SchemaTooNew, StoreError
from core.store.migrate import current_revision, head_revision, upgrade

__all__ = [
    "CONNECT_TIMEOUT_SECONDS",
    "SchemaStatus",
    "database_problem",
    "describe_failure",
    "engine_for",
    "masked_url",
    "reach",
    "run",
    "schema_status",
]

CONNECT_TIMEOUT_SECONDS = 5.0
"""How long to wait for the database to answer before saying it does not."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SchemaStatus:
    """Where a database's schema is compared with what this release knows."""

    current: str | None
    """The database's revision; ``None`` when it has never been migrated."""
    head: str
    """The newest revision this release knows."""
    known: bool
    """Whether ``current`` is one of this release's revisions (an empty database is)."""

    @property
    def state(self) -> Literal["empty", "behind", "newest", "newer"]:
        if not self.known:
            return "newer"
        if self.current is None:
            return "empty"
        return "newest" if self.current == self.head else "behind"

    def too_new(self) -> str:
        """Why this release refuses the database, in words an operator can act on."""
        return (
            f"The database is at schema revision {self.current}, which is newer than this "
            f"release knows (its newest is {self.head}): a newer Breakthrough has migrated "
            "it. Deploy that newer release (or restore the backup taken before the upgrade); "
            "this one will not run against it, so that nothing is damaged."
        )


def masked_url(url: str) -> str:
    """``url`` fit to print: the password, if any, replaced by ``***``."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(not a database URL)"


def database_problem(url: str) -> str | None:
    """What is wrong with the URL itself, before anything connects; ``None`` if nothing."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return (
            "BREAKTHROUGH_DATABASE_URL is not a database URL: use e.g. "
            "postgresql+asyncpg://USER:PASSWORD@HOST:5432/DB or sqlite+aiosqlite:///PATH"
        )
    backend, driver = parsed.get_backend_name(), parsed.get_driver_name()
    if backend == "postgresql" and driver != "asyncpg":
        return (
            "BREAKTHROUGH_DATABASE_URL must use the asyncpg driver: start it with "
            "postgresql+asyncpg:// instead of "
            f"{parsed.drivername}://"
        )
    if backend == "sqlite" and driver != "aiosqlite":
        return (
            "BREAKTHROUGH_DATABASE_URL must use the aiosqlite driver: start it with "
            f"sqlite+aiosqlite:/// instead of {parsed.drivername}://"
        )
    if backend not in ("postgresql", "sqlite"):
        return (
            f"BREAKTHROUGH_DATABASE_URL names a {backend} database: Breakthrough runs on "
            "PostgreSQL (postgresql+asyncpg://…) or SQLite (sqlite+aiosqlite:///…)"
        )
    return None


def engine_for(url: str) -> AsyncEngine:
    """An engine whose PostgreSQL connections give up after :data:`CONNECT_TIMEOUT_SECONDS`.

    asyncpg otherwise waits 60 s for a host that drops packets.
    """
    if make_url(url).get_backend_name() == "postgresql":
        return make_engine(url, connect_args={"timeout": CONNECT_TIMEOUT_SECONDS})
    return make_engine(url)


async def reach(engine: AsyncEngine, *, time_limit: float = CONNECT_TIMEOUT_SECONDS) -> None:
    """Connect and run one query, or raise within ``time_limit`` seconds."""
    async with asyncio.timeout(time_limit), engine.connect() as conn:
        await conn.exec_driver_sql("SELECT 1")


def describe_failure(exc: BaseException, *, time_limit: float = CONNECT_TIMEOUT_SECONDS) -> str:
    """The reason a database call failed, in one line and without the SQL or parameters."""
    if isinstance(exc, TimeoutError):
        return f"no answer within {time_limit:g} s"
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        exc = exc.orig
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    name = type(exc).__name__
    return f"{name}: {text}" if text else name


async def schema_status(engine: AsyncEngine) -> SchemaStatus:
    """Read the database's revision and compare it with this release's migrations."""
    current = await current_revision(engine)
    return SchemaStatus(current=current, head=head_revision(), known=_is_known(current))


def _is_known(revision: str | None) -> bool:
    if revision is None:
        return True
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from core.store.migrate import alembic_config

    config: Config = alembic_config()
    return revision in {r.revision for r in ScriptDirectory.from_config(config).walk_revisions()}


async def run(args: argparse.Namespace, settings: Settings) -> int:
    """``db upgrade`` or ``db current`` on the configured database; the exit code."""
    url = settings.db_url
    problem = database_problem(url)
    if problem is not None:
        print(problem, file=sys.stderr)
        return 2
    async with _engine(url) as engine:
        if args.db_command == "upgrade":
            return await upgrade_database(engine, url=url)
        return await show_current(engine, url=url)


@asynccontextmanager
async def _engine(url: str) -> AsyncIterator[AsyncEngine]:
    engine = engine_for(url)
    try:
        yield engine
    finally:
        await engine.dispose()


async def upgrade_database(
    engine: AsyncEngine,
    *,
    url: str | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Bring ``engine``'s database to this release's newest schema; say what happened.

    Exit codes: 0 migrated or already newest; 2 unreachable or newer than this release.
    """
    out, err = out or sys.stdout, err or sys.stderr
    before = await _status(engine, url, err)
    if before is None:
        return 2
    if before.state == "newer":
        print(before.too_new(), file=err)
        return 2
    if before.state == "newest":
        print(f"Database at {before.head} (newest)", file=out)
        return 0
    try:
        await upgrade(engine)
    except SchemaTooNew:  # another release migrated it between our look and the lock
        print((await schema_status(engine)).too_new(), file=err)
        return 2
    except (StoreError, SQLAlchemyError, OSError) as exc:
        reason = _scrub(describe_failure(exc), url)
        print(f"The migration failed and was rolled back: {reason}", file=err)
        return 2
    after = await schema_status(engine)
    start = before.current or "an empty database"
    print(f"Migrated from {start} to {after.current}", file=out)
    return 0


async def show_current(
    engine: AsyncEngine,
    *,
    url: str | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Print the database's revision and whether it is the newest this release knows."""
    out, err = out or sys.stdout, err or sys.stderr
    status = await _status(engine, url, err)
    if status is None:
        return 2
    if status.state == "newest":
        print(f"Database at {status.current} (newest)", file=out)
    elif status.state == "empty":
        print(
            f"Database is empty (never migrated); this release's newest is {status.head}: "
            "run breakthrough db upgrade",
            file=out,
        )
    elif status.state == "behind":
        print(
            f"Database at {status.current}; this release's newest is {status.head}: "
            "run breakthrough db upgrade",
            file=out,
        )
    else:
        print(status.too_new(), file=err)
        return 2
    return 0


async def _status(engine: AsyncEngine, url: str | None, out: TextIO) -> SchemaStatus | None:
    """The schema status, or ``None`` after saying why the database cannot be read."""
    where = f" at {masked_url(url)}" if url else ""
    try:
        await reach(engine)
        return await schema_status(engine)
    except (StoreError, SQLAlchemyError, OSError, TimeoutError) as exc:
        print(
            f"Cannot reach the database{where}: {_scrub(describe_failure(exc), url)}. Check "
            "BREAKTHROUGH_DATABASE_URL and that the database server is running.",
            file=out,
        )
        return None


def _scrub(text: str, url: str | None) -> str:
    """``text`` without the URL's password, should a driver's message ever quote it."""
    if url is None:
        return text
    try:
        password = make_url(url).password
    except ArgumentError:
        return text
    return text.replace(password, "***") if password else text
