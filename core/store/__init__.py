"""Durable state: SQLAlchemy 2.x models, the async :class:`SqlStore`, Alembic migrations.

SQLite (aiosqlite) is the embedded default, PostgreSQL (asyncpg) the production and
multi-replica database; both run the same code and the same tests. Start with
``await SqlStore.open(url)``, which migrates the schema first.
"""

from __future__ import annotations

from core.store.engine import default_database_url, make_engine
from core.store.errors import (
    DataKeyError,
    InvalidDataKey,
    InvalidRecord,
    ReadFailed,
    SchemaTooNew,
    SealBroken,
    StoreClosed,
    StoreError,
    UnknownDataKey,
    UnsupportedDatabase,
    WriteFailed,
)
from core.store.migrate import HEAD_REVISION, current_revision, head_revision, upgrade
from core.store.repository import OPEN_STATUSES, PersonRecord, SqlStore, WriterStats

__all__ = [
    "HEAD_REVISION",
    "OPEN_STATUSES",
    "DataKeyError",
    "InvalidDataKey",
    "InvalidRecord",
    "PersonRecord",
    "ReadFailed",
    "SchemaTooNew",
    "SealBroken",
    "SqlStore",
    "StoreClosed",
    "StoreError",
    "UnknownDataKey",
    "UnsupportedDatabase",
    "WriteFailed",
    "WriterStats",
    "current_revision",
    "default_database_url",
    "head_revision",
    "make_engine",
    "upgrade",
]
