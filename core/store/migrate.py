"""Schema migrations, run in code: the application migrates itself at start.

Alembic's configuration is built here in Python, pointing at the ``migrations`` folder
beside this module, so an installed wheel needs no ``alembic.ini``. Call :func:`upgrade`
before serving (``SqlStore.open`` does by default); it is safe to call on every start,
from several processes or replicas at once: the whole upgrade runs in one transaction
under a lock (PostgreSQL: an advisory lock; SQLite: ``BEGIN IMMEDIATE``), and a
database already at head is left untouched.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from core.store.engine import make_engine
from core.store.errors import SchemaTooNew, StoreError

if TYPE_CHECKING:
    from alembic.config import Config

# Alembic is imported only when a migration may be needed: a database already at
# HEAD_REVISION is recognised with one query, which keeps ~100 ms of imports out of
# every start-up.

__all__ = [
    "HEAD_REVISION",
    "MIGRATIONS_DIR",
    "alembic_config",
    "current_revision",
    "head_revision",
    "lock_for_migration",
    "upgrade",
]

_log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().with_name("migrations")

# The newest revision this code knows; a test checks it against the migrations folder.
HEAD_REVISION = "0004"

# Any constant works, as long as nothing else in the database uses it as an advisory lock.
_PG_MIGRATION_LOCK = 0x62_72_6B_74_68_72_75


def alembic_config(url: str | None = None) -> Config:
    """Alembic's configuration for the store's migrations, without any ini file."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        # ConfigParser interpolates "%"; a password may contain one.
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def head_revision() -> str:
    """The newest revision in the migrations folder."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise StoreError(f"no migrations found in {MIGRATIONS_DIR}")
    return head


async def upgrade(target: str | AsyncEngine) -> None:
    """Bring the database to the newest schema (``alembic upgrade head``).

    ``target`` is a URL (an engine is made and disposed here) or an engine the caller
    keeps, which is the only way to migrate an in-memory SQLite database or one that
    needs ``connect_args``. Raises :class:`SchemaTooNew` when the database holds a
    revision this code has never heard of, before touching anything.
    """
    async with _engine(target) as engine:
        if await _at_head(engine):
            return
        async with engine.begin() as conn:
            await lock_for_migration(conn)
            await conn.run_sync(_upgrade_sync)


async def _at_head(engine: AsyncEngine) -> bool:
    """Whether the database is exactly at :data:`HEAD_REVISION` (one cheap query)."""
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(text("SELECT version_num FROM alembic_version"))).all()
    except SQLAlchemyError:
        return False  # no version table yet: a new database
    return [row[0] for row in rows] == [HEAD_REVISION]


async def current_revision(target: str | AsyncEngine) -> str | None:
    """The revision the database is at, or ``None`` before the first migration."""
    async with _engine(target) as engine, engine.connect() as conn:
        heads = await conn.run_sync(_current_heads)
    return heads[0] if heads else None


async def lock_for_migration(conn: AsyncConnection) -> None:
    """Serialise migrations across processes for the rest of ``conn``'s transaction.

    Called first thing in the transaction: on SQLite, ``BEGIN IMMEDIATE`` takes the write
    lock (waiting up to the busy timeout) and makes the DDL atomic, which pysqlite's
    implicit transactions would not; on PostgreSQL, a transaction-scoped advisory lock.
    """
    dialect = conn.dialect.name
    if dialect == "sqlite":
        await conn.exec_driver_sql("BEGIN IMMEDIATE")
    elif dialect == "postgresql":
        await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})


@asynccontextmanager
async def _engine(target: str | AsyncEngine) -> AsyncIterator[AsyncEngine]:
    if isinstance(target, AsyncEngine):
        yield target
        return
    engine = make_engine(target)
    try:
        yield engine
    finally:
        await engine.dispose()


def _current_heads(connection: Connection) -> tuple[str, ...]:
    from alembic.runtime.migration import MigrationContext

    return tuple(MigrationContext.configure(connection).get_current_heads())


def _upgrade_sync(connection: Connection) -> None:
    from alembic import command
    from alembic.script import ScriptDirectory

    config = alembic_config()
    script = ScriptDirectory.from_config(config)
    known = {revision.revision for revision in script.walk_revisions()}
    heads = _current_heads(connection)
    unknown = sorted(set(heads) - known)
    if unknown:
        raise SchemaTooNew(
            f"the database is at revision {', '.join(unknown)}, which this release does not "
            f"know (newest known: {script.get_current_head()}); deploy the newer release"
        )
    if heads == (script.get_current_head(),):
        _log.debug("schema already at %s", heads[0])
        return
    _log.info("migrating schema from %s to head", ", ".join(heads) or "empty")
    config.attributes["connection"] = connection
    command.upgrade(config, "head")
