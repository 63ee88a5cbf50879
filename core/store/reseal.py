"""Re-seal every sealed value under the current data key (``breakthrough db rotate-key``).

After it, no value needs an old key, so the old keys can be dropped from the settings;
values stored plain (written before a key was set) are sealed too. It walks each table
in primary-key order, a batch per transaction, so it can be stopped at any point and run
again: a value already under the current key is left alone, and each batch commits on
its own. A bot may keep running meanwhile: an update applies only if the value is still
the one read (compared as text), so a turn that wrote the row in between is never undone;
the check at the end counts any value still under an old key (written by a process that
was not yet given the new key) and says to run again.

Overwriting a value does not erase it from the disk. SQLite keeps the old page in its
free list and its write-ahead log, so after a rotation the file is rebuilt (``VACUUM``)
and the log truncated: the plain text of rows written before the
key was set is then gone from both files. PostgreSQL keeps dead row versions until it
reuses their space; ``VACUUM FULL`` rewrites the tables, and is the operator's call
(it locks them), so the command only advises it.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Column, Row, Table, Text, bindparam, cast, func, select, update
from sqlalchemy.exc import SQLAlchemyError

from core.store.errors import DataKeyError
from core.store.models import Base
from core.store.repository import SqlStore
from core.store.sealed import (
    Keyring,
    SealedJSON,
    column_name,
    is_sealed,
    plain_read,
    sealed_columns,
)

__all__ = ["DEFAULT_BATCH", "Progress", "Resealed", "TableReseal", "check_keys", "reseal"]

_log = logging.getLogger(__name__)

DEFAULT_BATCH = 500
"""Rows per transaction: short enough not to hold SQLite's write lock for long."""

Progress = Callable[[str, int, int], None]
"""Called after each batch with the table's name, the rows done and the rows in all."""


@dataclass(slots=True)
class TableReseal:
    """What a rotation did to one table's sealed columns."""

    table: str
    rows: int = 0
    """Rows looked at."""
    resealed: int = 0
    """Rows whose sealed columns were written again under the current key."""
    were_plain: int = 0
    """Values that were stored plain and are now sealed."""
    old_keys: Counter[str] = field(default_factory=Counter)
    """Values that were under an old key, by that key's id."""
    left: int = 0
    """Rows still not all under the current key after the final check."""


@dataclass(slots=True)
class Resealed:
    """What a rotation did."""

    tables: list[TableReseal]
    compacted: bool | None = None
    """SQLite: whether the file was rebuilt and its log truncated (``False``: it could
    not be, another process holding the database); ``None`` on PostgreSQL."""

    @property
    def resealed(self) -> int:
        return sum(t.resealed for t in self.tables)

    @property
    def left(self) -> int:
        return sum(t.left for t in self.tables)


async def reseal(
    store: SqlStore, *, batch: int = DEFAULT_BATCH, progress: Progress | None = None
) -> Resealed:
    """Re-seal every sealed column of every table with ``store``'s current key.

    Raises :class:`DataKeyError` if the store has no current key, or a value cannot be
    opened with the keys it has (the batches before it stay committed).
    """
    keyring = store.keyring
    if not keyring.writes:
        raise DataKeyError("no data key to re-encrypt with: set BREAKTHROUGH_DATA_KEY")
    tables = sealed_columns(Base.metadata)
    reports = {table: TableReseal(table.name) for table in tables}
    for table, columns in tables.items():
        await _reseal_table(store, keyring, table, columns, reports[table], batch, progress)
    for table, columns in tables.items():
        reports[table].left = await _count_left(store, keyring, table, columns, batch)
    result = Resealed(list(reports.values()))
    if store.engine.dialect.name == "sqlite":  # every time: a run after a busy one does it
        result.compacted = await _compact_sqlite(store)
    return result


async def _compact_sqlite(store: SqlStore) -> bool:
    """Rebuild the file and empty the write-ahead log, so no overwritten value stays on
    disk; ``False`` if another connection kept SQLite from doing it."""
    try:
        async with store.connection() as conn:
            auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await auto.exec_driver_sql("VACUUM")
            row = (await auto.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")).first()
    except SQLAlchemyError as exc:
        _log.warning("could not compact the database after re-encrypting (%s)", type(exc).__name__)
        return False
    # (busy, log pages, checkpointed pages): busy means a reader kept the log alive.
    return row is None or row[0] == 0


async def _reseal_table(
    store: SqlStore,
    keyring: Keyring,
    table: Table,
    columns: list[Column[Any]],
    report: TableReseal,
    batch: int,
    progress: Progress | None,
) -> None:
    (pk,) = table.primary_key.columns
    async with store.connection() as conn:
        total = int((await conn.execute(select(func.count()).select_from(table))).scalar_one())
    write = (
        update(table)
        .where(
            pk == bindparam("b_pk"),
            *(
                cast(c, Text).is_not_distinct_from(bindparam(f"b_old_{i}", type_=Text))
                for i, c in enumerate(columns)
            ),
        )
        .values({c.name: bindparam(f"b_new_{i}") for i, c in enumerate(columns)})
    )
    after: Any = None
    while True:
        async with store.transaction() as conn:
            rows = (await conn.execute(_page(table, pk, columns, after, batch))).all()
            if not rows:
                break
            changes = [_change(keyring, columns, row, report) for row in rows]
            todo = [params for params in changes if params is not None]
            if todo:
                await conn.execute(write, todo)
        after = rows[-1][0]
        report.rows += len(rows)
        report.resealed += len(todo)
        if progress is not None:
            progress(table.name, report.rows, max(total, report.rows))


async def _count_left(
    store: SqlStore, keyring: Keyring, table: Table, columns: list[Column[Any]], batch: int
) -> int:
    """Rows with a value not under the current key, read without writing anything."""
    (pk,) = table.primary_key.columns
    left, after = 0, None
    async with store.connection() as conn:
        while True:
            rows = (await conn.execute(_page(table, pk, columns, after, batch))).all()
            if not rows:
                return left
            left += sum(1 for row in rows if _stale(keyring, columns, row))
            after = rows[-1][0]


async def check_keys(store: SqlStore) -> None:
    """Refuse to serve a database whose answers need a key the store does not have.

    Looks at one row of each table with sealed columns (the last by primary key: an
    index lookup each, a few milliseconds in all), so a bot started without its key, or
    with the wrong one, stops at start-up with :class:`UnknownDataKey` saying what to
    set, instead of failing every turn. It is a sample: a rotation left half-done is
    found by ``rotate-key``, not here.
    """
    keyring = store.keyring
    async with store.connection() as conn:
        for table, columns in sealed_columns(Base.metadata).items():
            (pk,) = table.primary_key.columns
            stmt = select(*(cast(c, Text) for c in columns)).order_by(pk.desc()).limit(1)
            row = (await conn.execute(stmt)).first()
            for column, text in zip(columns, row or (), strict=False):
                value = None if text is None else _stored(column, text)
                if isinstance(value, str):
                    keyring.check_opens(value)


def _page(table: Table, pk: Column[Any], columns: list[Column[Any]], after: Any, batch: int) -> Any:
    """The next ``batch`` rows after ``after``: the key and each sealed column's stored
    text, as it is on disk (the cast bypasses the sealed type, so nothing is opened)."""
    stmt = select(pk, *(cast(c, Text) for c in columns)).order_by(pk).limit(batch)
    return stmt if after is None else stmt.where(pk > after)


def _stored(column: Column[Any], text: str) -> Any:
    """A column's value as stored: a sealed string, or a plain value (a JSON column's
    object; a text column's text, escaped if it looked sealed: see ``plain_read``)."""
    return json.loads(text) if isinstance(column.type, SealedJSON) else text


def _stale(keyring: Keyring, columns: list[Column[Any]], row: Row[Any]) -> bool:
    texts: tuple[str | None, ...] = tuple(row[1:])
    for column, text in zip(columns, texts, strict=True):
        if text is None:
            continue
        value = _stored(column, text)
        if not (isinstance(value, str) and is_sealed(value)):
            return True
        if keyring.sealed_with(value) != keyring.current_id:
            return True
    return False


def _change(
    keyring: Keyring, columns: list[Column[Any]], row: Row[Any], report: TableReseal
) -> dict[str, Any] | None:
    """The update's parameters for ``row``, or ``None`` if it is all under the current
    key. Every sealed column of the row is written again (one statement per table)."""
    if not _stale(keyring, columns, row):
        return None
    params: dict[str, Any] = {"b_pk": row[0]}
    texts: tuple[str | None, ...] = tuple(row[1:])
    for i, (column, text) in enumerate(zip(columns, texts, strict=True)):
        params[f"b_old_{i}"] = text
        if text is None:
            params[f"b_new_{i}"] = None
            continue
        value = _stored(column, text)
        if isinstance(value, str) and is_sealed(value):
            kid = keyring.sealed_with(value)
            if kid != keyring.current_id:
                report.old_keys[kid or "damaged"] += 1
            plain = keyring.open(value, column_name(column))
            value = json.loads(plain) if isinstance(column.type, SealedJSON) else plain
        else:
            report.were_plain += 1
            if not isinstance(column.type, SealedJSON):
                value = plain_read(value)
        params[f"b_new_{i}"] = value
    return params
