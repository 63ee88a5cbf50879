"""Scheduling and delivering nudges at volume, on SQLite and on PostgreSQL.

``python -m bench.nudges [--quick]`` (``make bench``) measures, on each database:

1. schedule: one :meth:`SqlNudgeStore.add_nudges` call of 100,000 ``notice`` drafts
   (1,000 owners, due times spread over the next week) on an empty table;
2. restart: a table holding 1,000,000 pending future nudges (filled in chunks of
   100,000, then closed), then a fresh child process measured from spawn to "ready to
   dispatch": :meth:`SqlStore.open` (migrate: a no-op at head), :class:`SqlNudgeStore`,
   :meth:`~SqlNudgeStore.next_due` and one ``claim_due(limit=200)`` that finds nothing
   due. Its peak RSS is compared with a child that only imports the same modules;
3. dispatch: 100,000 due notices delivered by one :class:`Dispatcher` (``pacing=None``,
   :class:`RecordingMessenger`, batch 200, a :class:`FakeClock` fixed after every due
   time) with one ``await dispatcher.tick()``; checked: every text delivered exactly
   once and 100,000 rows ``sent``;
4. pacing: 10,000 due notices, all in one workspace, with a workspace rate ``R`` of
   about half the unpaced throughput of step 3 and a burst of a tenth of a second's worth
   (the dispatcher pauses sending between batches to claim and record, and a token
   bucket with no burst can never make that time up: with ``burst=1`` the achieved rate
   was 9-36 % below ``R``); the achieved rate, after the first ``burst`` sends that a
   full bucket lets through at once,
   (delivered / wall time) is compared with ``R``. The pacer runs on the real monotonic
   clock and ``asyncio.sleep``.

``--quick`` divides every count by 10 (a smoke run). PostgreSQL is used through a fresh
schema (``search_path``) dropped afterwards; SQLite through a file in a temporary
directory removed afterwards.
"""

from __future__ import annotations

import time

# As early as this module can take it: the parent measures a child from spawn to ready
# (perf_counter is CLOCK_MONOTONIC on Linux, shared by all processes).
_T_MODULE = time.perf_counter()

import argparse  # noqa: E402
import asyncio  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import secrets  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from collections import Counter  # noqa: E402
from collections.abc import AsyncIterator  # noqa: E402
from contextlib import asynccontextmanager  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from datetime import UTC, datetime, timedelta  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from sqlalchemy.ext.asyncio import create_async_engine  # noqa: E402
from sqlalchemy.pool import NullPool  # noqa: E402

from core.dialogue.coach import Coach  # noqa: E402
from core.dialogue.intents import Say  # noqa: E402
from core.methods.loader import MethodLibrary  # noqa: E402
from core.schedule.accountability import Accountability  # noqa: E402
from core.schedule.dispatcher import Dispatcher  # noqa: E402
from core.schedule.model import NudgeDraft  # noqa: E402
from core.schedule.pacing import Pacer, Rate  # noqa: E402
from core.store.nudges import SqlNudgeStore  # noqa: E402
from core.store.repository import SqlStore  # noqa: E402
from core.testing import FakeClock, RecordingMessenger  # noqa: E402

_T_IMPORTED = time.perf_counter()

REPO = Path(__file__).resolve().parents[1]
PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
"""The bench's fixed time: noon UTC, outside the default quiet hours (21:00-08:00)."""
WEEK_S = 7 * 24 * 3600
PEOPLE = 1000
CHUNK = 100_000
BATCH = 200
WORKER = "bench"

GOAL_SCHEDULE_S = 2.0
GOAL_READY_S = 1.0
GOAL_PACING_DEVIATION = 0.05


class BenchFailure(RuntimeError):
    """A run did not do what the benchmark requires; the numbers would be meaningless."""


@dataclass(frozen=True, slots=True)
class Sizes:
    schedule: int
    pending: int
    dispatch: int
    paced: int
    chunk: int

    @classmethod
    def make(cls, quick: bool) -> Sizes:
        d = 10 if quick else 1
        return cls(100_000 // d, 1_000_000 // d, 100_000 // d, 10_000 // d, CHUNK // d)


# -- databases -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Database:
    """Where one measurement's tables live: a SQLite file, or a PostgreSQL schema."""

    url: str
    schema: str | None = None

    def connect_args(self) -> dict[str, Any] | None:
        if self.schema is None:
            return None
        return {"server_settings": {"search_path": self.schema}}

    async def open(self) -> SqlStore:
        return await SqlStore.open(self.url, connect_args=self.connect_args())


def remove_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


@asynccontextmanager
async def fresh_database(backend: str, tmp: Path, name: str) -> AsyncIterator[Database]:
    """An empty database, removed afterwards."""
    if backend == "sqlite":
        path = tmp / f"{name}.db"
        try:
            yield Database(f"sqlite+aiosqlite:///{path}")
        finally:
            remove_sqlite(path)
        return
    schema = f"bench_{name}_{secrets.token_hex(4)}"
    admin = create_async_engine(PG_URL, poolclass=NullPool)
    async with admin.begin() as conn:
        await conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    try:
        yield Database(PG_URL, schema)
    finally:
        async with admin.begin() as conn:
            await conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await admin.dispose()


def notices(count: int, *, start: int = 0, due: str) -> list[NudgeDraft]:
    """``count`` notice drafts over :data:`PEOPLE` owners.

    ``due="future"`` spreads them over the week after :data:`NOW`; ``due="past"`` over
    the ten minutes before it (all due).
    """
    drafts = []
    for i in range(start, start + count):
        if due == "future":
            at = NOW + timedelta(seconds=60 + (i * 7919) % WEEK_S)
        else:
            at = NOW - timedelta(seconds=1 + i % 600)
        drafts.append(
            NudgeDraft(
                key=f"notice:{i:07d}",
                kind="notice",
                owner=f"console:local:p{i % PEOPLE}",
                target=f"t{i}",
                due_at=at,
                tz="UTC",
                payload={"text": f"notice {i:07d}"},
            )
        )
    return drafts


def dispatcher_for(store: SqlStore, messenger: RecordingMessenger, pacing: Any) -> Dispatcher:
    nudges = SqlNudgeStore(store)
    coach = Coach(store=store, methods=MethodLibrary.load())
    return Dispatcher(
        nudges=nudges,
        accountability=Accountability(store=store, nudges=nudges, coach=coach),
        messenger=messenger,
        clock=FakeClock(NOW),
        worker=WORKER,
        batch=BATCH,
        pacing=pacing,
    )


def delivered_texts(messenger: RecordingMessenger) -> list[str]:
    texts = []
    for intents in messenger.deliveries:
        first = intents[0]
        if not isinstance(first, Say):
            raise BenchFailure(f"a notice was delivered as {first!r}")
        texts.append(first.text)
    return texts


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- 1. schedule ---------------------------------------------------------------------------


async def phase_schedule(backend: str, tmp: Path, sizes: Sizes) -> dict[str, Any]:
    drafts = notices(sizes.schedule, due="future")
    async with fresh_database(backend, tmp, "schedule") as db:
        store = await db.open()
        try:
            nudges = SqlNudgeStore(store)
            t0 = time.perf_counter()
            inserted = await nudges.add_nudges(drafts, now=NOW)
            elapsed = time.perf_counter() - t0
            counts = await nudges.count_nudges()
        finally:
            await store.close()
    if inserted != sizes.schedule or counts["pending"] != sizes.schedule:
        raise BenchFailure(f"schedule: inserted {inserted}, counts {counts}")
    return {"count": sizes.schedule, "seconds": elapsed, "per_s": sizes.schedule / elapsed}


# -- 2. restart with a million pending ------------------------------------------------------


async def fill_pending(db: Database, sizes: Sizes) -> float:
    store = await db.open()
    t0 = time.perf_counter()
    try:
        nudges = SqlNudgeStore(store)
        for start in range(0, sizes.pending, sizes.chunk):
            count = min(sizes.chunk, sizes.pending - start)
            added = await nudges.add_nudges(notices(count, start=start, due="future"), now=NOW)
            if added != count:
                raise BenchFailure(f"fill: {added} of {count} inserted")
            log(
                f"  filled {start + count:,} / {sizes.pending:,} ({time.perf_counter() - t0:.1f} s)"
            )
        counts = await nudges.count_nudges()
    finally:
        await store.close()
    if counts["pending"] != sizes.pending:
        raise BenchFailure(f"fill: counts {counts}")
    return time.perf_counter() - t0


def run_child(mode: str, db: Database) -> dict[str, Any]:
    """Run this module as a child in ``mode``; its JSON plus spawn-to-ready seconds."""
    cmd = [sys.executable, "-m", "bench.nudges", "--child", mode, "--url", db.url]
    if db.schema is not None:
        cmd += ["--schema", db.schema]
    spawned = time.perf_counter()
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BenchFailure(f"child {mode} failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["spawn_to_module_s"] = result["t_module"] - spawned
    if "t_ready" in result:
        result["spawn_to_ready_s"] = result["t_ready"] - spawned
    return result


async def child_ready(url: str, schema: str | None) -> dict[str, Any]:
    t0 = time.perf_counter()
    store = await Database(url, schema).open()
    t1 = time.perf_counter()
    nudges = SqlNudgeStore(store)
    upcoming = await nudges.next_due()
    t2 = time.perf_counter()
    claimed = await nudges.claim_due(
        now=NOW, worker=WORKER, lease=timedelta(minutes=5), limit=BATCH
    )
    t3 = time.perf_counter()
    await store.close()
    if upcoming is None or upcoming <= NOW or claimed:
        raise BenchFailure(f"restart: next_due {upcoming}, claimed {len(claimed)}")
    return {
        "t_module": _T_MODULE,
        "t_ready": t3,
        "import_s": _T_IMPORTED - _T_MODULE,
        "open_s": t1 - t0,
        "next_due_s": t2 - t1,
        "claim_s": t3 - t2,
        "open_to_ready_s": t3 - t0,
        "next_due": upcoming.isoformat(),
        "peak_rss_mb": peak_rss_mb(),
        "rss_mb": rss_mb(),
    }


def rss_mb(field: str = "VmRSS") -> float:
    """This process's resident set (``VmRSS``) or its peak (``VmHWM``), in MB.

    The peak is ``VmHWM``, not ``ru_maxrss``: Linux carries the peak of the address
    space a process had before ``execve`` into ``ru_maxrss``, and ``subprocess`` spawns
    with ``vfork``, so a child's ``ru_maxrss`` is at least its parent's peak (here, the
    parent that just built a million drafts). Without ``/proc``, ``ru_maxrss`` it is.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def peak_rss_mb() -> float:
    return rss_mb("VmHWM")


async def phase_restart(backend: str, tmp: Path, sizes: Sizes, runs: int) -> dict[str, Any]:
    async with fresh_database(backend, tmp, "restart") as db:
        fill_s = await fill_pending(db, sizes)
        baseline = [run_child("baseline", db) for _ in range(runs)]
        ready = [run_child("ready", db) for _ in range(runs)]
    base_rss = statistics.median(r["peak_rss_mb"] for r in baseline)
    ready_rss = statistics.median(r["peak_rss_mb"] for r in ready)

    def med(key: str) -> float:
        return statistics.median(r[key] for r in ready)

    return {
        "pending": sizes.pending,
        "fill_s": fill_s,
        "runs": runs,
        "spawn_to_ready_s": med("spawn_to_ready_s"),
        "spawn_to_ready_max_s": max(r["spawn_to_ready_s"] for r in ready),
        "import_s": med("import_s"),
        "open_s": med("open_s"),
        "next_due_s": med("next_due_s"),
        "claim_s": med("claim_s"),
        "open_to_ready_s": med("open_to_ready_s"),
        "open_to_ready_max_s": max(r["open_to_ready_s"] for r in ready),
        "baseline_rss_mb": base_rss,
        "ready_rss_mb": ready_rss,
        "rss_delta_mb": ready_rss - base_rss,
        "baseline_vmrss_mb": statistics.median(r["rss_mb"] for r in baseline),
        "ready_vmrss_mb": statistics.median(r["rss_mb"] for r in ready),
    }


# -- 3. dispatch throughput, 4. pacing ------------------------------------------------------


async def deliver_due(
    backend: str, tmp: Path, name: str, count: int, pacing: Any
) -> dict[str, Any]:
    async with fresh_database(backend, tmp, name) as db:
        store = await db.open()
        try:
            nudges = SqlNudgeStore(store)
            for start in range(0, count, CHUNK):
                n = min(CHUNK, count - start)
                await nudges.add_nudges(notices(n, start=start, due="past"), now=NOW)
            messenger = RecordingMessenger()
            dispatcher = dispatcher_for(store, messenger, pacing)
            t0 = time.perf_counter()
            handled = await dispatcher.tick()
            elapsed = time.perf_counter() - t0
            counts = await nudges.count_nudges()
        finally:
            await store.close()
    texts = delivered_texts(messenger)
    seen = Counter(texts)
    duplicates = sum(n - 1 for n in seen.values() if n > 1)
    lost = count - len(seen)
    if handled != count or duplicates or lost or counts["sent"] != count:
        raise BenchFailure(
            f"{name}: handled {handled}, {duplicates} duplicates, {lost} lost, counts {counts}"
        )
    return {
        "count": count,
        "seconds": elapsed,
        "per_s": count / elapsed,
        "delivered": len(texts),
        "unique": len(seen),
        "duplicates": duplicates,
        "lost": lost,
        "sent_rows": counts["sent"],
        "claims": dispatcher.stats.claimed,
    }


def round_rate(rate: float) -> float:
    """Two significant figures: 1,234 -> 1,200."""
    digits = len(str(int(rate))) - 2
    return float(round(rate, -digits)) if digits > 0 else float(round(rate))


async def phase_pacing(backend: str, tmp: Path, sizes: Sizes, unpaced: float) -> dict[str, Any]:
    rate = round_rate(unpaced / 2)

    burst = max(1, round(rate / 10))

    def pacing(platform: str) -> Pacer:
        return Pacer(per_destination=None, per_workspace=Rate(rate, burst=burst))

    run = await deliver_due(backend, tmp, "paced", sizes.paced, pacing)
    # A token bucket starts full: its first `burst` sends go at once by design, and the
    # contract is "at most burst + R * t in any t". The rate it paces to is what follows.
    achieved = (run["count"] - burst) / run["seconds"]
    return {
        **run,
        "rate": rate,
        "burst": burst,
        "raw_per_s": run["per_s"],
        "achieved": achieved,
        "deviation": achieved / rate - 1,
    }


# -- driver --------------------------------------------------------------------------------


async def bench_backend(backend: str, tmp: Path, sizes: Sizes, runs: int) -> dict[str, Any]:
    log(f"[{backend}] 1. schedule {sizes.schedule:,}")
    schedule = await phase_schedule(backend, tmp, sizes)
    log(f"  {schedule['seconds']:.2f} s")
    log(f"[{backend}] 2. restart with {sizes.pending:,} pending")
    restart = await phase_restart(backend, tmp, sizes, runs)
    log(f"  ready in {restart['spawn_to_ready_s']:.2f} s")
    log(f"[{backend}] 3. dispatch {sizes.dispatch:,}")
    dispatch = await deliver_due(backend, tmp, "dispatch", sizes.dispatch, None)
    log(f"  {dispatch['per_s']:,.0f} nudges/s")
    log(f"[{backend}] 4. pacing {sizes.paced:,}")
    paced = await phase_pacing(backend, tmp, sizes, dispatch["per_s"])
    log(f"  {paced['achieved']:,.1f}/s against {paced['rate']:,.0f}/s")
    return {"schedule": schedule, "restart": restart, "dispatch": dispatch, "pacing": paced}


def table(results: dict[str, dict[str, Any]], sizes: Sizes) -> str:
    backends = list(results)
    rows: list[tuple[str, list[str]]] = []

    def row(label: str, fmt: Any) -> None:
        rows.append((label, [fmt(results[b]) for b in backends]))

    def ok(met: bool) -> str:
        return "met" if met else "MISSED"

    row(
        f"1. schedule {sizes.schedule:,} (goal < {GOAL_SCHEDULE_S:.0f} s)",
        lambda r: (
            f"{r['schedule']['seconds']:.2f} s ({ok(r['schedule']['seconds'] < GOAL_SCHEDULE_S)})"
        ),
    )
    row(f"2. fill {sizes.pending:,} pending (setup)", lambda r: f"{r['restart']['fill_s']:.1f} s")
    row(
        f"   spawn -> ready (goal < {GOAL_READY_S:.0f} s)",
        lambda r: (
            f"{r['restart']['spawn_to_ready_s']:.3f} s "
            f"({ok(r['restart']['spawn_to_ready_s'] < GOAL_READY_S)})"
        ),
    )
    row("     of which imports", lambda r: f"{r['restart']['import_s']:.3f} s")
    row(
        "     open + next_due + claim",
        lambda r: (
            f"{r['restart']['open_s'] * 1000:.1f} + {r['restart']['next_due_s'] * 1000:.1f}"
            f" + {r['restart']['claim_s'] * 1000:.1f} ms"
        ),
    )
    row(
        "   peak RSS: ready / imports only",
        lambda r: (
            f"{r['restart']['ready_rss_mb']:.1f} / {r['restart']['baseline_rss_mb']:.1f} MB"
            f" (+{r['restart']['rss_delta_mb']:.1f})"
        ),
    )
    row(
        f"3. dispatch {sizes.dispatch:,} unpaced",
        lambda r: f"{r['dispatch']['per_s']:,.0f} /s ({r['dispatch']['seconds']:.1f} s)",
    )
    row(
        "   duplicates / lost / rows sent",
        lambda r: (
            f"{r['dispatch']['duplicates']} / {r['dispatch']['lost']} / "
            f"{r['dispatch']['sent_rows']:,}"
        ),
    )
    row(
        f"4. paced {sizes.paced:,}: R / achieved",
        lambda r: f"{r['pacing']['rate']:,.0f} / {r['pacing']['achieved']:,.1f} /s",
    )
    row(
        f"   deviation (goal within {GOAL_PACING_DEVIATION:.0%})",
        lambda r: (
            f"{r['pacing']['deviation']:+.1%} "
            f"({ok(abs(r['pacing']['deviation']) <= GOAL_PACING_DEVIATION)})"
        ),
    )
    width = max(len(label) for label, _ in rows)
    cols = [max(len(b), *(len(v[i]) for _, v in rows)) for i, b in enumerate(backends)]
    lines = [
        " | ".join([" " * width, *(b.ljust(c) for b, c in zip(backends, cols, strict=True))]),
        "-+-".join(["-" * width, *("-" * c for c in cols)]),
    ]
    for label, values in rows:
        cells = [v.ljust(c) for v, c in zip(values, cols, strict=True)]
        lines.append(" | ".join([label.ljust(width), *cells]))
    return "\n".join(lines)


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    sizes = Sizes.make(args.quick)
    tmp = Path(tempfile.mkdtemp(prefix="bench-nudges-"))
    try:
        results = {b: await bench_backend(b, tmp, sizes, args.runs) for b in args.backends}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {"sizes": _sizes_dict(sizes), "results": results}


def _sizes_dict(sizes: Sizes) -> dict[str, int]:
    return {
        "schedule": sizes.schedule,
        "pending": sizes.pending,
        "dispatch": sizes.dispatch,
        "paced": sizes.paced,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="every count / 10 (a smoke run)")
    parser.add_argument(
        "--backends", nargs="+", default=["sqlite", "postgresql"], choices=["sqlite", "postgresql"]
    )
    parser.add_argument("--runs", type=int, default=3, help="restart children (median)")
    parser.add_argument("--json", action="store_true", help="also print the results as JSON")
    parser.add_argument("--child", choices=["ready", "baseline"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--schema", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child == "baseline":
        baseline = {"t_module": _T_MODULE, "peak_rss_mb": peak_rss_mb(), "rss_mb": rss_mb()}
        print(json.dumps(baseline))
        return 0
    if args.child == "ready":
        print(json.dumps(asyncio.run(child_ready(args.url, args.schema))))
        return 0

    began = time.perf_counter()
    report = asyncio.run(main_async(args))
    report["bench_wall_s"] = time.perf_counter() - began
    sizes = Sizes.make(args.quick)
    if args.json:
        print(json.dumps(report, indent=2))
    print(table(report["results"], sizes))
    print(f"(whole bench: {report['bench_wall_s']:.0f} s{', --quick' if args.quick else ''})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
