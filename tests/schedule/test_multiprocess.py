"""Three dispatchers in three processes on one database deliver each nudge exactly once.

This is the replica story: on PostgreSQL ``FOR UPDATE SKIP LOCKED`` claims, on SQLite
(the console and a ``dispatch`` worker sharing a file) its one writer at a time; not
luck. Each process writes what its messenger received; the test counts dedupe keys
across all of them.
"""

from __future__ import annotations

import asyncio
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from core.schedule.model import NudgeDraft
from core.store.nudges import SqlNudgeStore
from core.store.repository import SqlStore

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
COUNT = 10_000
ROOT = Path(__file__).resolve().parents[2]


async def test_three_processes_deliver_ten_thousand_nudges_exactly_once(
    database_url: str, tmp_path: Path
) -> None:
    store = await SqlStore.open(database_url)
    try:
        drafts = [
            NudgeDraft(
                key=f"notice:{i:05d}",
                kind="notice",
                owner=f"console:local:person{i % 1000}",
                target=f"t{i}",
                due_at=NOW - timedelta(seconds=i % 600),
                tz="UTC",
                payload={"text": f"notice:{i:05d}"},
            )
            for i in range(COUNT)
        ]
        assert await SqlNudgeStore(store).add_nudges(drafts, now=NOW) == COUNT
    finally:
        await store.close()

    outs = [tmp_path / f"worker{n}.txt" for n in range(3)]
    workers = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.schedule.dispatch_worker",
            database_url,
            NOW.isoformat(),
            str(out),
            cwd=ROOT,
        )
        for out in outs
    ]
    codes = await asyncio.wait_for(asyncio.gather(*(w.wait() for w in workers)), 300)
    assert codes == [0, 0, 0]

    per_worker = [out.read_text().splitlines() for out in outs]
    seen = Counter(key for lines in per_worker for key in lines)
    assert len(seen) == COUNT, "every nudge delivered"
    assert max(seen.values()) == 1, "no nudge delivered twice"
    assert sum(1 for lines in per_worker if lines) >= 2, "the work was shared"

    store = await SqlStore.open(database_url, migrate=False)
    try:
        counts = await SqlNudgeStore(store).count_nudges()
    finally:
        await store.close()
    assert counts["sent"] == COUNT
    assert counts["pending"] == counts["claimed"] == 0
