"""``breakthrough db new-key`` and ``breakthrough db rotate-key``: the data key's life.

``new-key`` prints a key on standard output and nothing else there, so it can go
straight into a secret store (``breakthrough db new-key > data.key``); the advice goes to
standard error. ``rotate-key`` re-seals every answer under ``BREAKTHROUGH_DATA_KEY``
(:mod:`core.store.reseal`), with progress on standard error, so that the keys in
``BREAKTHROUGH_OLD_DATA_KEYS`` can be dropped afterwards.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from typing import TextIO

from bots.settings import Settings
from core.store.repository import SqlStore
from core.store.reseal import TableReseal, reseal
from core.store.sealed import (
    DATA_KEY_SETTING,
    OLD_DATA_KEYS_SETTING,
    Keyring,
    new_key,
    parse_keys,
)

__all__ = ["run"]

_PROGRESS_EVERY = 0.5
"""Seconds between progress lines for one table (its last line is always shown)."""


async def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run ``db new-key`` or ``db rotate-key``; the exit code."""
    if args.db_command == "new-key":
        print(new_key())
        print(
            f"Set it as {DATA_KEY_SETTING} (in the environment or .env) for every "
            "Breakthrough process, and keep a copy somewhere safe: without it the "
            "encrypted answers cannot be read.",
            file=sys.stderr,
        )
        return 0
    return await _rotate(settings)


async def _rotate(settings: Settings) -> int:
    keyring = parse_keys(settings.data_key, settings.old_data_keys)
    if not keyring.writes:
        print(
            f"There is no key to encrypt with: set {DATA_KEY_SETTING} to the new key "
            "(make one with: breakthrough db new-key), list the keys used so far in "
            f"{OLD_DATA_KEYS_SETTING}, and run this again.",
            file=sys.stderr,
        )
        return 2
    if not settings.database_url:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = await SqlStore.open(settings.db_url, keyring=keyring)
    try:
        done = await reseal(store, progress=_Progress(sys.stderr))
    finally:
        await store.close()
    print(_summary(keyring, done.tables))
    if done.compacted is False:
        print(
            "The database file could not be compacted while another process uses it, so "
            "earlier copies of some values may remain in its free space: stop every "
            "Breakthrough process and run breakthrough db rotate-key again.",
            file=sys.stderr,
        )
    if done.compacted is None and any(t.were_plain for t in done.tables):
        print(
            "PostgreSQL keeps the replaced plain-text row versions until it reuses their "
            "space; to drop them now, run VACUUM FULL on the database in a quiet hour "
            "(it locks each table while it rewrites it). Backups taken before today still "
            "hold them.",
            file=sys.stderr,
        )
    if done.left:
        print(
            f"{done.left} rows were written meanwhile by a process that does not have the "
            f"new key yet: give every process {DATA_KEY_SETTING}, restart them, and run "
            "breakthrough db rotate-key again.",
            file=sys.stderr,
        )
        return 1
    return 0 if done.compacted is not False else 1


class _Progress:
    """Prints "sessions: 1200/5000" lines, at most a couple a second per table."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._last: dict[str, float] = {}

    def __call__(self, table: str, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - self._last.get(table, 0.0) < _PROGRESS_EVERY:
            return
        self._last[table] = now
        print(f"{table}: {done}/{total}", file=self._out, flush=True)


def _summary(keyring: Keyring, reports: list[TableReseal]) -> str:
    current = keyring.current_id
    rows = sum(r.rows for r in reports)
    resealed = sum(r.resealed for r in reports)
    plain = sum(r.were_plain for r in reports)
    old: Counter[str] = Counter()
    for r in reports:
        old.update(r.old_keys)
    if not resealed:
        lines = [f"Nothing to do: all {rows} rows were already encrypted with key {current}."]
    else:
        lines = [f"Re-encrypted {resealed} of {rows} rows with key {current}:"]
        lines += [f"  {r.table}: {r.resealed} of {r.rows}" for r in reports if r.resealed]
        if plain:
            lines.append(f"  {plain} values were stored in plain text before")
        lines += [f"  {n} values were encrypted with the old key {kid}" for kid, n in old.items()]
    if len(keyring.ids) > 1:
        lines.append(
            f"The old keys are no longer needed: remove them from {OLD_DATA_KEYS_SETTING} "
            "(but keep a copy while backups made before now still exist)."
        )
    return "\n".join(lines)
