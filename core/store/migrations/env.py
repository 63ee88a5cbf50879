"""Alembic's environment for the store's migrations.

Normally run in-process by :func:`core.store.migrate.upgrade`, which hands over an open
connection (``config.attributes["connection"]``) already inside a locked transaction.
A developer may also run Alembic by hand (``alembic -c core/store/alembic.ini upgrade
head``, or ``-x url=...`` for another database); that path makes its own async engine
and takes the same lock.
"""

from __future__ import annotations

import asyncio
from logging.config import fileConfig

from alembic import context
from sqlalchemy.engine import Connection

from core.store.engine import make_engine
from core.store.migrate import lock_for_migration
from core.store.models import Base

config = context.config
target_metadata = Base.metadata


def _configure(connection: Connection) -> None:
    # render_as_batch: SQLite cannot ALTER most things, so autogenerate writes
    # batch operations (copy and rename the table), which PostgreSQL runs as plain ALTERs.
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        render_as_batch=True,
    )


def run_on_connection(connection: Connection) -> None:
    """Run pending migrations on ``connection``; the caller owns its transaction."""
    _configure(connection)
    with context.begin_transaction():
        context.run_migrations()


def _url() -> str:
    url = context.get_x_argument(as_dictionary=True).get("url")
    return url or config.get_main_option("sqlalchemy.url") or ""


async def _run_from_url() -> None:
    engine = make_engine(_url())
    try:
        async with engine.begin() as conn:
            await lock_for_migration(conn)
            await conn.run_sync(run_on_connection)
    finally:
        await engine.dispose()


def _run_offline() -> None:
    context.configure(
        url=_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


_given = config.attributes.get("connection")
if context.is_offline_mode():
    _run_offline()
elif isinstance(_given, Connection):
    run_on_connection(_given)
else:
    # Alembic's cookbook switch: a caller with its own logging sets it to False.
    if config.config_file_name is not None and config.attributes.get("configure_logger", True):
        fileConfig(config.config_file_name, disable_existing_loggers=False)
    asyncio.run(_run_from_url())
