"""``breakthrough db prune [--dry-run]``: retention on demand.

The running bot prunes once a day by itself (:class:`~core.store.retention.DailyRetention`
on the dispatcher's tick); this is for an operator who lowered the retention and wants it
applied now, or wants to see first what a retention would delete (``--dry-run``).
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path
from typing import TextIO

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from bots.db_schema import describe_failure
from bots.runtime import Runtime
from bots.settings import Settings
from core.language.counts import counted
from core.ports import Clock, SystemClock
from core.store.engine import is_memory_database
from core.store.errors import StoreError
from core.store.repository import SqlStore
from core.store.retention import PruneCounts, SqlRetention, cutoff

__all__ = ["NO_RETENTION", "describe", "run"]

NO_RETENTION = (
    "No retention is set (BREAKTHROUGH_RETENTION_DAYS), so Breakthrough keeps finished "
    "sessions until their person deletes them with /breakthrough forget, and there is "
    "nothing to prune.\n"
    "To delete finished sessions a year after their last activity, set "
    "BREAKTHROUGH_RETENTION_DAYS=365 (in the environment or the .env file), then run "
    "`breakthrough db prune --dry-run` to see what would go, and `breakthrough db prune`."
)


async def run(
    args: argparse.Namespace,
    settings: Settings,
    *,
    clock: Clock | None = None,
    store: SqlStore | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Prune (or count, with ``--dry-run``) what is past retention; the exit code.

    0: done (also when nothing was past retention); 1: the database failed; 2: no
    retention is set. ``store`` (tests) is used instead of opening the configured one.
    """
    out, err = out or sys.stdout, err or sys.stderr
    days = settings.retention_days
    if days is None:
        print(NO_RETENTION, file=err)
        return 2
    if store is None and _missing_sqlite_file(settings.db_url):
        print(f"There is no database yet at {settings.db_url}: nothing to prune.", file=out)
        return 0
    now = (clock or SystemClock()).now()
    dry_run = bool(getattr(args, "dry_run", False))
    try:
        runtime = await Runtime.open(settings, clock=clock or SystemClock(), store=store)
        try:
            counts = await SqlRetention(runtime.store).prune(
                before=cutoff(now, days), now=now, dry_run=dry_run
            )
        finally:
            await runtime.close()
    except (StoreError, SQLAlchemyError, OSError) as exc:
        print(
            f"Could not finish pruning: {describe_failure(exc)}. What was already deleted stays "
            "deleted; run it again once that is fixed (`breakthrough doctor` checks the "
            "database settings).",
            file=err,
        )
        return 1
    print(describe(counts, days=days, now=now, dry_run=dry_run), file=out)
    return 0


def describe(counts: PruneCounts, *, days: int, now: datetime, dry_run: bool) -> str:
    """What went (or would go), in one short paragraph an operator can read."""
    before = cutoff(now, days)
    assert before is not None
    rule = (
        f"Retention is {days} days: finished sessions whose last activity was before "
        f"{before:%d %B %Y %H:%M} UTC go."
    )
    if not counts.sessions and not counts.inbound_events:
        return f"{rule}\nNothing is past retention; nothing was deleted."
    verb = "Would delete" if dry_run else "Deleted"
    parts = [
        f"{counted(counts.sessions, 'session')}, with {counted(counts.commitments, 'commitment')}, "
        f"{counted(counts.followups, 'follow-up')} and {counted(counts.nudges, 'nudge')}"
    ]
    if counts.team_plans:
        parts.append(
            f"{counted(counts.team_plans, 'team plan')} ({counted(counts.team_steps, 'step')})"
        )
    if counts.inbound_events:
        parts.append(f"{counted(counts.inbound_events, 'inbound event id')} older than a day")
    text = f"{rule}\n{verb} " + "; ".join(parts) + "."
    if dry_run:
        text += "\nThis was a dry run: nothing was deleted."
    return text


def _missing_sqlite_file(url: str) -> bool:
    parsed = make_url(url)
    database = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or is_memory_database(parsed):
        return False
    return not database.startswith("file:") and not Path(database).expanduser().exists()
