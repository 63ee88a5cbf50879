"""Coaching turns through the real engine with durable SQLite persistence.

``python -m bench.turns`` (``make bench``) measures, each in a fresh child process so
one measurement's heap and page cache do not colour the next:

1. start-up: process start to ready (methods loaded, SQLite store opened and migrated,
   Coach built), with the import of the core modules on its own, then the first
   ``plan`` session after ready (cold: lazy imports and caches fill here);
2. throughput: ``--people`` people each run a whole ``plan`` session at once (asyncio
   tasks; each sends Start and the 17 replies of ``tests/transcripts/plan.yaml``, 18
   turns, awaiting every reply before the next), through :class:`Coach` with
   :class:`SqlStore` on a SQLite file; every turn is committed before its reply
   returns. The same run with :class:`MemoryStore` (nothing durable) is the engine's
   own cost. The last turn returns an :class:`Image` intent that describes the plan as a
   flow chart; the adapter draws it on delivery, outside the turn. After the timed run,
   a sample of those intents is drawn with :func:`render_picture` and the CPU time per
   picture reported on its own;
3. latency: one person runs ``--sessions`` sessions back to back, nothing else running;
4. memory: RSS (and, in a second child, tracemalloc) before and after ``--people``
   people have each started a session and answered half of it.

Each measured run follows one warm-up session (not counted) by a person in another
workspace. Every run is checked at the end: all sessions ``done`` with their three
commitments, read back from the database file with the standard library's sqlite3.
"""

from __future__ import annotations

import time

# As early as this module can take it; a child's interpreter start-up is measured by
# its parent from spawn to here (perf_counter is CLOCK_MONOTONIC on Linux, which is
# shared by all processes).
_T_MODULE = time.perf_counter()

import argparse  # noqa: E402
import asyncio  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import resource  # noqa: E402
import shutil  # noqa: E402
import sqlite3  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import tracemalloc  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from datetime import UTC, datetime, timedelta  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any, Protocol  # noqa: E402

_T_STDLIB = time.perf_counter()

from core.dialogue.coach import Coach, TurnResult  # noqa: E402
from core.dialogue.events import Inbound, Reply, Start  # noqa: E402
from core.dialogue.intents import Image  # noqa: E402
from core.dialogue.model import Actor, Place  # noqa: E402
from core.methods.loader import MethodLibrary  # noqa: E402
from core.report import render_picture  # noqa: E402
from core.store.repository import SqlStore  # noqa: E402
from core.store.sealed import Keyring, is_sealed, parse_keys  # noqa: E402

_T_CORE = time.perf_counter()

from core.testing import FakeClock, MemoryStore  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
METHOD = "plan"
TZ = "Europe/London"
START_AT = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
STEP_GAP = timedelta(seconds=30)
"""How far each person's clock moves between two of their turns."""

# tests/transcripts/plan.yaml, the person's side. ``{tag}`` makes each person's outcome
# and step texts their own; the choices and the date phrases are as in the transcript.
OUTCOME = "I want the beta launched by March{tag}"
STEPS = ("I need a landing page{tag}", "Recruit 20 testers{tag}", "Fix the login bug{tag}")
REPLIES = (
    OUTCOME,
    *STEPS,
    "nothing else",
    "3",
    "Finding the time",
    "1",
    "2",
    "1",
    "tomorrow",
    "yes",
    "next Friday",
    "yes",
    "end of the month",
    "yes",
    "2",  # record the plan as a flow chart (a PNG); "1" is a list
)
RECORD_CHOICES = {"list": "1", "flowchart": "2", "mindmap": "3"}
TURNS_PER_SESSION = 1 + len(REPLIES)
HALF_SESSION = TURNS_PER_SESSION // 2
# Due dates the transcript expects ("tomorrow", "next Friday", "end of the month").
DUE_DATES = {"2026-11-22", "2026-11-27", "2026-11-30"}

PEOPLE_WORKSPACE = "people"
WARMUP_WORKSPACE = "warmup"

GOAL_TURNS_PER_S = 3500.0
GOAL_CPU_MS_PER_TURN = 0.5


# -- the simulated person ------------------------------------------------------------------


class Handler(Protocol):
    async def handle(self, inbound: Inbound) -> TurnResult: ...


@dataclass(slots=True)
class Person:
    """One simulated person: their own actor, channel, clock and words."""

    index: int
    workspace: str
    actor: Actor
    clock: FakeClock
    record: str
    sessions: int = 0

    @classmethod
    def make(cls, index: int, *, workspace: str = PEOPLE_WORKSPACE, record: str) -> Person:
        actor = Actor(
            platform="bench",
            workspace=workspace,
            user_id=f"u{index}",
            display_name=f"Person {index}",
            tz=TZ,
        )
        return cls(index, workspace, actor, FakeClock(START_AT), record)

    @property
    def tag(self) -> str:
        return f" for team {self.index}"

    def replies(self) -> list[str]:
        lines = [line.format(tag=self.tag) for line in REPLIES]
        lines[-1] = RECORD_CHOICES[self.record]
        return lines

    def step_texts(self) -> set[str]:
        return {s.format(tag=self.tag) for s in STEPS}

    def new_place(self) -> Place:
        self.sessions += 1
        return Place(
            platform="bench",
            workspace=self.workspace,
            channel=f"c{self.index}",
            thread=f"s{self.sessions}",
        )


async def run_session(
    coach: Handler,
    person: Person,
    *,
    latencies: list[float] | None = None,
    stop_after: int | None = None,
    pause: asyncio.Event | None = None,
    arrived: asyncio.Queue[int] | None = None,
    pictures: list[Image] | None = None,
) -> str:
    """Play one ``plan`` session; return its id.

    With ``pictures`` the :class:`Image` intents of the final turn are appended to it.

    With ``stop_after`` turns done the person reports to ``arrived`` and waits for
    ``pause`` to be set before carrying on (for the memory measurement).
    """
    place = person.new_place()
    clock = person.clock
    timer = time.perf_counter
    start = Inbound(
        actor=person.actor,
        place=place,
        event=Start(method=METHOD, topic=f"Launch the beta{person.tag}"),
        at=clock.now(),
    )
    began = timer()
    result = await coach.handle(start)
    if latencies is not None:
        latencies.append(timer() - began)
    session_id = result.session_id
    if session_id is None:
        raise BenchFailure(f"person {person.index}: the session did not start: {result.intents}")
    for done, text in enumerate(person.replies(), start=1):
        if stop_after is not None and done == stop_after:
            assert pause is not None and arrived is not None
            arrived.put_nowait(person.index)
            await pause.wait()
        clock.advance(STEP_GAP)
        inbound = Inbound(
            actor=person.actor,
            place=place,
            event=Reply(text=text),
            at=clock.now(),
            session_id=session_id,
        )
        began = timer()
        result = await coach.handle(inbound)
        if latencies is not None:
            latencies.append(timer() - began)
    if not result.finished:
        raise BenchFailure(f"person {person.index}: session {session_id} did not finish")
    if pictures is not None:
        images = [i for i in result.intents if isinstance(i, Image)]
        if len(images) != 1:
            raise BenchFailure(f"person {person.index}: final turn gave {len(images)} images")
        pictures.append(images[0])
    clock.advance(timedelta(minutes=1))
    return session_id


class BenchFailure(RuntimeError):
    """A run did not do what the benchmark requires; the numbers would be meaningless."""


# -- measurements in this process -----------------------------------------------------------


def rss_mb(field: str = "VmRSS") -> float:
    """This process's resident set (``VmRSS``) or its peak (``VmHWM``), in MB."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    # No /proc: ru_maxrss is the peak, in KB on Linux and bytes on macOS.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024 if sys.platform == "darwin" else 1024)


def percentile(values: Sequence[float], pct: float) -> float:
    """The ``pct`` percentile by nearest rank (``values`` need not be sorted)."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(pct / 100 * len(ordered))))
    return ordered[rank - 1]


def latency_summary(latencies: Sequence[float]) -> dict[str, float]:
    ms = [s * 1000 for s in latencies]
    return {
        "p50_ms": percentile(ms, 50),
        "p99_ms": percentile(ms, 99),
        "max_ms": max(ms),
        "mean_ms": statistics.fmean(ms),
    }


def db_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def fresh_db(db_dir: Path, name: str) -> Path:
    """``db_dir/name``, with any database of that name a previous run left removed."""
    path = db_dir / name
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return path


def db_size_mb(path: Path) -> float:
    """The database file and its write-ahead log, in MB."""
    wal = Path(f"{path}-wal")
    return (path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)) / 1e6


async def check_pragmas(store: SqlStore) -> dict[str, Any]:
    """The settings make_engine gives each connection, read back from a pooled one."""
    async with store.engine.connect() as conn:
        journal = (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar()
        synchronous = (await conn.exec_driver_sql("PRAGMA synchronous")).scalar()
        foreign_keys = (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar()
    found = {"journal_mode": journal, "synchronous": synchronous, "foreign_keys": foreign_keys}
    # synchronous: 0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA.
    if str(journal).lower() != "wal" or synchronous != 1:
        raise BenchFailure(f"SQLite is not WAL with synchronous=NORMAL: {found}")
    return found


def verify_on_disk(path: Path, people: Sequence[Person]) -> dict[str, Any]:
    """Read the closed database file back and check every person's session finished.

    Done with the standard library, not the store, so nothing cached can answer.
    """
    conn = sqlite3.connect(path)
    try:
        like = f"bench:{PEOPLE_WORKSPACE}:%"
        statuses = dict(
            conn.execute(
                "SELECT status, count(*) FROM sessions WHERE owner LIKE ? GROUP BY status", (like,)
            ).fetchall()
        )
        rows = conn.execute(
            "SELECT c.owner, c.session_id, c.text, c.due_at FROM commitments c "
            "JOIN sessions s ON s.id = c.session_id WHERE c.owner LIKE ?",
            (like,),
        ).fetchall()
        journal = conn.execute("PRAGMA journal_mode").fetchone()[0]
    finally:
        conn.close()
    keyring = data_keys()
    by_owner: dict[str, list[tuple[str, str, str]]] = {}
    for owner, session_id, text, due_at in rows:
        if is_sealed(text):
            text = keyring.open(text, "commitments.text")
        by_owner.setdefault(owner, []).append((session_id, text, str(due_at)[:10]))
    expect_sessions = sum(p.sessions for p in people)
    problems: list[str] = []
    if statuses != {"done": expect_sessions}:
        problems.append(f"session statuses {statuses}, expected {{'done': {expect_sessions}}}")
    for person in people:
        found = by_owner.get(person.actor.key(), [])
        per_session: dict[str, list[tuple[str, str]]] = {}
        for session_id, text, due in found:
            per_session.setdefault(session_id, []).append((text, due))
        if len(per_session) != person.sessions:
            problems.append(
                f"person {person.index}: commitments in {len(per_session)} sessions, "
                f"expected {person.sessions}"
            )
        for session_id, items in per_session.items():
            texts = {t for t, _ in items}
            dues = {d for _, d in items}
            if len(items) != 3 or texts != person.step_texts() or dues != DUE_DATES:
                problems.append(f"person {person.index}, session {session_id}: {items}")
        if len(problems) > 5:
            break
    if problems:
        raise BenchFailure(
            "the database does not hold what the sessions did:\n" + "\n".join(problems)
        )
    return {
        "sessions_done": statuses.get("done", 0),
        "commitments": len(rows),
        "journal_mode_on_disk": journal,
    }


def verify_memory_store(store: MemoryStore, people: Sequence[Person]) -> dict[str, Any]:
    keys = {p.actor.key(): p for p in people}
    sessions = [s for s in store.sessions.values() if s.owner in keys]
    counts: dict[str, int] = {}
    for c in store.commitments.values():
        if c.owner in keys:
            counts[c.session_id] = counts.get(c.session_id, 0) + 1
    expect = sum(p.sessions for p in people)
    done = sum(1 for s in sessions if s.status == "done")
    if done != expect or len(sessions) != expect or any(counts.get(s.id) != 3 for s in sessions):
        raise BenchFailure(
            f"MemoryStore: {done} of {len(sessions)} sessions done (expected {expect}), "
            f"commitment counts {sorted(set(counts.values()))}"
        )
    return {"sessions_done": done, "commitments": sum(counts.values())}


def data_keys() -> Keyring:
    """``BREAKTHROUGH_DATA_KEY`` from the environment, as a configured bot reads it: set
    it to measure the turns with answers encrypted at rest."""
    return parse_keys(os.environ.get("BREAKTHROUGH_DATA_KEY"))


async def open_sql(path: Path) -> SqlStore:
    return await SqlStore.open(db_url(path), keyring=data_keys())


async def warm_up(coach: Coach, record: str) -> None:
    """One session by someone outside the measured people: fills lazy imports and caches."""
    await run_session(coach, Person.make(0, workspace=WARMUP_WORKSPACE, record=record))


# -- phases (each runs in its own child process) -------------------------------------------


async def phase_startup(args: argparse.Namespace) -> dict[str, Any]:
    db_path = Path(args.db_file)
    t0 = time.perf_counter()
    methods = MethodLibrary.load()
    t1 = time.perf_counter()
    store = await open_sql(db_path)
    t2 = time.perf_counter()
    coach = Coach(store=store, methods=methods)
    t3 = time.perf_counter()
    # The first session after ready pays for whatever the core loads lazily.
    latencies: list[float] = []
    person = Person.make(0, workspace=WARMUP_WORKSPACE, record="flowchart")
    await run_session(coach, person, latencies=latencies)
    t4 = time.perf_counter()
    await store.close()
    return {
        "t_module": _T_MODULE,
        "stdlib_import_s": _T_STDLIB - _T_MODULE,
        "core_import_s": _T_CORE - _T_STDLIB,
        "methods_s": t1 - t0,
        "store_s": t2 - t1,
        "coach_s": t3 - t2,
        "module_to_ready_s": t3 - _T_MODULE,
        "t_ready": t3,
        "first_session_s": t4 - t3,
        "first_turn_s": latencies[0],
    }


async def phase_throughput(args: argparse.Namespace) -> dict[str, Any]:
    methods = MethodLibrary.load()
    people = [Person.make(i, record=args.record) for i in range(args.people)]
    sql: SqlStore | None = None
    memory: MemoryStore | None = None
    db_path = Path(args.db_file) if args.db_file else None
    if args.store == "sqlite":
        assert db_path is not None
        sql = await open_sql(db_path)
        coach = Coach(store=sql, methods=methods)
        pragmas: dict[str, Any] = await check_pragmas(sql)
    else:
        memory = MemoryStore()
        coach = Coach(store=memory, methods=methods)
        pragmas = {}
    await warm_up(coach, args.record)
    writes_before = sql.stats.writes if sql else 0
    batches_before = sql.stats.batches if sql else 0
    reads_before = _read_queries(sql)
    latencies: list[float] = []
    gc.collect()
    rss_before = rss_mb()
    wall0, cpu0 = time.perf_counter(), time.process_time()
    pictures: list[Image] | None = [] if args.pictures else None
    await asyncio.gather(
        *(run_session(coach, p, latencies=latencies, pictures=pictures) for p in people)
    )
    wall = time.perf_counter() - wall0
    cpu = time.process_time() - cpu0
    turns = len(latencies)
    result: dict[str, Any] = {
        "store": args.store,
        "record": args.record,
        "durable": sql is not None,
        "people": len(people),
        "turns": turns,
        "wall_s": wall,
        "turns_per_s": turns / wall,
        "cpu_ms_per_turn": cpu / turns * 1000,
        "rss_before_mb": rss_before,
        "peak_rss_mb": rss_mb("VmHWM"),
        **latency_summary(latencies),
    }
    if turns != len(people) * TURNS_PER_SESSION:
        raise BenchFailure(f"{turns} turns, expected {len(people) * TURNS_PER_SESSION}")
    if pictures is not None:
        if len(pictures) != len(people):
            raise BenchFailure(f"{len(pictures)} pictures for {len(people)} sessions")
        result["pictures"] = draw_pictures(pictures[: args.pictures])
    if sql is not None:
        assert db_path is not None
        stats = sql.stats
        reads = _read_queries(sql)
        await sql.close()
        writes = stats.writes - writes_before
        batches = stats.batches - batches_before
        if writes != turns or stats.failed:
            raise BenchFailure(
                f"{writes} writes committed for {turns} turns, {stats.failed} failed"
            )
        result["store_stats"] = {
            "writes": writes,
            "batches": batches,
            "largest_batch": stats.largest_batch,
            "mean_batch": writes / batches if batches else 0.0,
            "failed": stats.failed,
            "read_queries": None if reads is None else reads - (reads_before or 0),
        }
        result["pragmas"] = pragmas
        result["check"] = verify_on_disk(db_path, people)
        result["db_mb"] = db_path.stat().st_size / 1e6
    else:
        assert memory is not None
        result["check"] = verify_memory_store(memory, people)
    return result


def draw_pictures(images: Sequence[Image]) -> dict[str, Any]:
    """Draw each picture as the adapter does on delivery; CPU ms per picture.

    Outside the timed run: this is work the turn no longer does.
    """
    cpu_ms: list[float] = []
    sizes: list[int] = []
    for image in images:
        cpu0 = time.process_time()
        png = render_picture(image.picture)
        cpu_ms.append((time.process_time() - cpu0) * 1000)
        if not png.startswith(b"\x89PNG\r\n\x1a\n"):
            raise BenchFailure(f"render_picture gave no PNG for {image.filename}")
        sizes.append(len(png))
    mean = statistics.fmean(cpu_ms)
    return {
        "drawn": len(images),
        "style": images[0].picture.style,
        "cpu_ms_mean": mean,
        "cpu_ms_p50": percentile(cpu_ms, 50),
        "cpu_ms_p99": percentile(cpu_ms, 99),
        "cpu_ms_max": max(cpu_ms),
        "cpu_ms_per_turn_amortised": mean / TURNS_PER_SESSION,
        "png_kb_mean": statistics.fmean(sizes) / 1024,
    }


def _read_queries(store: SqlStore | None) -> int | None:
    """Queries the store's batched session reader has run (a private counter; None if gone)."""
    reader = getattr(store, "_sessions_by_id", None)
    queries = getattr(reader, "queries", None)
    return queries if isinstance(queries, int) else None


async def phase_latency(args: argparse.Namespace) -> dict[str, Any]:
    methods = MethodLibrary.load()
    db_path = Path(args.db_file)
    store = await open_sql(db_path)
    coach = Coach(store=store, methods=methods)
    await check_pragmas(store)
    await warm_up(coach, "flowchart")
    person = Person.make(1, record="flowchart")
    latencies: list[float] = []
    wall0, cpu0 = time.perf_counter(), time.process_time()
    for _ in range(args.sessions):
        await run_session(coach, person, latencies=latencies)
    wall = time.perf_counter() - wall0
    cpu = time.process_time() - cpu0
    await store.close()
    check = verify_on_disk(db_path, [person])
    finals = latencies[TURNS_PER_SESSION - 1 :: TURNS_PER_SESSION]
    others = [t for i, t in enumerate(latencies) if i % TURNS_PER_SESSION != TURNS_PER_SESSION - 1]
    return {
        "sessions": args.sessions,
        "turns": len(latencies),
        "wall_s": wall,
        "turns_per_s": len(latencies) / wall,
        "cpu_ms_per_turn": cpu / len(latencies) * 1000,
        **latency_summary(latencies),
        "final_turn_p50_ms": percentile([t * 1000 for t in finals], 50),
        "other_turns_p50_ms": percentile([t * 1000 for t in others], 50),
        "check": check,
    }


async def phase_memory(args: argparse.Namespace) -> dict[str, Any]:
    """Memory held while ``--people`` sessions are open half-way through."""
    use_tracemalloc = args.phase == "memory-tracemalloc"
    methods = MethodLibrary.load()
    db_path = Path(args.db_file)
    store = await open_sql(db_path)
    coach = Coach(store=store, methods=methods)
    await warm_up(coach, "flowchart")
    people = [Person.make(i, record="flowchart") for i in range(args.people)]
    pause = asyncio.Event()
    arrived: asyncio.Queue[int] = asyncio.Queue()
    gc.collect()
    if use_tracemalloc:
        tracemalloc.start(1)
    base_snapshot = tracemalloc.take_snapshot() if use_tracemalloc else None
    traced_before = tracemalloc.get_traced_memory()[0] if use_tracemalloc else 0
    rss_before = rss_mb()
    tasks = [
        asyncio.create_task(
            run_session(coach, p, stop_after=HALF_SESSION, pause=pause, arrived=arrived)
        )
        for p in people
    ]
    for _ in people:
        await arrived.get()
    # Everyone has sent Start and HALF_SESSION - 1 replies; their writes are committed.
    gc.collect()
    rss_after = rss_mb()
    result: dict[str, Any] = {
        "people": len(people),
        "turns_each": HALF_SESSION,
        "rss_before_mb": rss_before,
        "rss_after_mb": rss_after,
        "rss_mb_per_1000": (rss_after - rss_before) / len(people) * 1000,
    }
    if use_tracemalloc:
        assert base_snapshot is not None
        traced_after = tracemalloc.get_traced_memory()[0]
        snapshot = tracemalloc.take_snapshot()
        tracemalloc.stop()
        top = snapshot.compare_to(base_snapshot, "filename")[:6]
        result["traced_mb_per_1000"] = (traced_after - traced_before) / 1e6 / len(people) * 1000
        result["traced_top"] = [
            {
                "file": _short_path(str(stat.traceback[0].filename)),
                "kb": stat.size_diff / 1024,
            }
            for stat in top
        ]
    active = await store.list_sessions(unfinished_only=True, limit=len(people) + 10)
    result["active_sessions"] = sum(1 for s in active if s.owner.startswith("bench:people:"))
    result["db_mb_at_half"] = db_size_mb(db_path)
    if result["active_sessions"] != len(people):
        raise BenchFailure(f"{result['active_sessions']} active sessions at the half-way point")
    pause.set()
    await asyncio.gather(*tasks)
    await store.close()
    verify_on_disk(db_path, people)
    return result


def _short_path(path: str) -> str:
    """A path relative to the repository, site-packages or the standard library."""
    for marker in (
        str(REPO) + "/",
        "site-packages/",
        f"/python{sys.version_info.major}.{sys.version_info.minor}/",
    ):
        if marker in path:
            return path.split(marker, 1)[1]
    return path


PHASES = {
    "startup": phase_startup,
    "throughput": phase_throughput,
    "latency": phase_latency,
    "memory-rss": phase_memory,
    "memory-tracemalloc": phase_memory,
}


def run_phase(args: argparse.Namespace) -> None:
    """Child process: run one phase and print its result as one JSON line."""
    result = asyncio.run(PHASES[args.phase](args))
    sys.stdout.write(json.dumps(result) + "\n")


# -- the parent: spawn the phases, print the table ------------------------------------------


def child(phase: str, **options: Any) -> dict[str, Any]:
    """Run ``python -m bench.turns --phase ...`` and return its JSON (with ``spawned_at``)."""
    argv = [sys.executable, "-m", "bench.turns", "--phase", phase]
    for key, value in options.items():
        argv += [f"--{key.replace('_', '-')}", str(value)]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    spawned_at = time.perf_counter()
    done = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise BenchFailure(f"phase {phase} failed (exit {done.returncode}); see above")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["spawned_at"] = spawned_at
    return result


STARTUP_FIGURES = (
    "interpreter_s",
    "stdlib_import_s",
    "core_import_s",
    "methods_s",
    "store_s",
    "coach_s",
    "module_to_ready_s",
    "process_to_ready_s",
    "first_session_s",
    "first_turn_s",
)


def startup_runs(db_dir: Path, runs: int) -> dict[str, Any]:
    same_clock = "CLOCK_MONOTONIC" in time.get_clock_info("perf_counter").implementation
    out: dict[str, Any] = {}
    for kind in ("first", "restart"):
        samples = []
        for k in range(runs):
            name = f"startup-{k}.db"
            path = fresh_db(db_dir, name) if kind == "first" else db_dir / name
            r = child("startup", db_file=path)
            r["interpreter_s"] = r["t_module"] - r["spawned_at"] if same_clock else None
            r["process_to_ready_s"] = r["t_ready"] - r["spawned_at"] if same_clock else None
            samples.append(r)
        figures: dict[str, Any] = {"runs": runs}
        for key in STARTUP_FIGURES:
            values = [s[key] for s in samples if s.get(key) is not None]
            figures[key] = statistics.median(values) if values else None
        out[kind] = figures
    return out


def machine() -> dict[str, Any]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "ram_gib": round(ram, 1),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "os": platform.platform(),
    }


def progress(text: str) -> None:
    sys.stderr.write(f"[bench.turns] {text}\n")
    sys.stderr.flush()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.turns",
        description="Coaching turns through the engine with SQLite persistence.",
    )
    parser.add_argument("--people", type=int, default=1000, help="concurrent people (1000)")
    parser.add_argument(
        "--sessions", type=int, default=20, help="back-to-back sessions for latency (20)"
    )
    parser.add_argument(
        "--db-dir",
        type=Path,
        default=None,
        help="where the SQLite files go (default: a fresh temp dir, removed afterwards)",
    )
    parser.add_argument("--json", action="store_true", help="also print the results as JSON")
    parser.add_argument(
        "--draw",
        type=int,
        default=200,
        help="pictures from the SQLite run drawn after it, as an adapter would (200)",
    )
    parser.add_argument(
        "--startup-runs", type=int, default=3, help="fresh processes per start-up figure (3)"
    )
    # Used by the parent to run one measurement in a child process.
    parser.add_argument("--phase", choices=sorted(PHASES), help=argparse.SUPPRESS)
    parser.add_argument("--db-file", default="", help=argparse.SUPPRESS)
    parser.add_argument(
        "--store", choices=("sqlite", "memory"), default="sqlite", help=argparse.SUPPRESS
    )
    parser.add_argument(
        "--record", choices=sorted(RECORD_CHOICES), default="flowchart", help=argparse.SUPPRESS
    )
    parser.add_argument("--pictures", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.phase:
        run_phase(args)
        return 0
    if args.people < 1 or args.sessions < 1 or args.startup_runs < 1 or args.draw < 1:
        parser.error("--people, --sessions, --startup-runs and --draw must be at least 1")

    temporary = args.db_dir is None
    db_dir: Path = Path(tempfile.mkdtemp(prefix="bench-turns-")) if temporary else args.db_dir
    db_dir.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    results: dict[str, Any] = {
        "machine": machine(),
        "date": datetime.now(UTC).date().isoformat(),
        "command": "python -m bench.turns " + " ".join(sys.argv[1:]),
        "answers_encrypted": data_keys().writes,
        "people": args.people,
        "sessions": args.sessions,
        "turns_per_session": TURNS_PER_SESSION,
        "db_dir": str(db_dir),
    }
    try:
        progress(f"start-up ({args.startup_runs} fresh processes, first start and restart)")
        results["startup"] = startup_runs(db_dir, args.startup_runs)
        progress(f"throughput, SQLite: {args.people} people x {TURNS_PER_SESSION} turns")
        results["throughput_sqlite"] = child(
            "throughput",
            people=args.people,
            pictures=args.draw,
            db_file=fresh_db(db_dir, "throughput.db"),
        )
        progress("throughput, MemoryStore (not durable)")
        results["throughput_memory"] = child("throughput", people=args.people, store="memory")
        progress(f"latency: one person, {args.sessions} sessions")
        results["latency"] = child(
            "latency", sessions=args.sessions, db_file=fresh_db(db_dir, "latency.db")
        )
        progress(f"memory: {args.people} sessions half-way (RSS, then tracemalloc)")
        results["memory_rss"] = child(
            "memory-rss", people=args.people, db_file=fresh_db(db_dir, "memory-rss.db")
        )
        results["memory_tracemalloc"] = child(
            "memory-tracemalloc", people=args.people, db_file=fresh_db(db_dir, "memory-tm.db")
        )
    finally:
        if temporary:
            shutil.rmtree(db_dir, ignore_errors=True)
    results["bench_wall_s"] = time.perf_counter() - began
    print(report(results))
    if args.json:
        print(json.dumps(results, indent=2, default=str))
    return 0


# -- the table -----------------------------------------------------------------------------


def _ms(seconds: float | None) -> str:
    return "n/a" if seconds is None else f"{seconds * 1000:,.1f} ms"


def report(r: dict[str, Any]) -> str:
    m = r["machine"]
    lines = [
        "bench/turns — coaching turns through the engine with SQLite persistence",
        f"machine: {m['cpus']} CPUs, {m['cpu']}, {m['ram_gib']} GiB RAM, Python {m['python']}, "
        f"SQLite {m['sqlite']}, {m['os']}",
        f"dialogue: plan, {r['turns_per_session']} turns per session "
        f"(Start + {r['turns_per_session'] - 1} replies)",
        "",
    ]
    s = r["startup"]
    lines.append(f"Start-up (median of {s['first']['runs']} fresh processes each)")
    lines.append(f"  {'':42} {'first start':>13} {'restart':>13}")
    for key, label in (
        ("interpreter_s", "process start -> bench module (interpreter)"),
        ("core_import_s", "import core modules"),
        ("methods_s", "load methods"),
        ("store_s", "open SQLite store + migrate"),
        ("coach_s", "build Coach"),
        ("process_to_ready_s", "total: process start -> ready"),
        ("first_session_s", "then first plan session (cold)"),
        ("first_turn_s", "  of which its first turn"),
    ):
        lines.append(f"  {label:42} {_ms(s['first'][key]):>13} {_ms(s['restart'][key]):>13}")
    lines.append("")

    lines.append(f"Throughput: {r['people']} concurrent people, one plan session each")
    header = (
        f"  {'run':38} {'turns':>6} {'wall s':>7} {'turns/s':>8} {'CPU ms/turn':>11} "
        f"{'p50 ms':>7} {'p99 ms':>7} {'peak RSS MB':>11}"
    )
    lines.append(header)
    for key, label in (
        ("throughput_sqlite", "SQLite file, durable (the benchmark)"),
        ("throughput_memory", "MemoryStore, NOT durable (baseline)"),
    ):
        t = r[key]
        lines.append(
            f"  {label:38} {t['turns']:>6} {t['wall_s']:>7.2f} {t['turns_per_s']:>8,.0f} "
            f"{t['cpu_ms_per_turn']:>11.3f} {t['p50_ms']:>7.1f} {t['p99_ms']:>7.1f} "
            f"{t['peak_rss_mb']:>11.0f}"
        )
    t = r["throughput_sqlite"]
    st = t["store_stats"]
    lines.append(
        f"  store (SQLite run): {st['writes']} writes in {st['batches']} commits, largest batch "
        f"{st['largest_batch']}, mean {st['mean_batch']:.0f}; {st['read_queries']} batched "
        f"session reads; {st['failed']} failed; database {t['db_mb']:.1f} MB"
    )
    p = t["pragmas"]
    lines.append(
        f"  checked: {t['check']['sessions_done']}/{r['people']} sessions done with "
        f"{t['check']['commitments']} commitments (3 each) read back from the file; "
        f"journal_mode={p['journal_mode']}, synchronous={p['synchronous']} (1 = NORMAL)"
    )
    pic = t["pictures"]
    lines.append(
        f"  picture, drawn by the adapter on delivery, outside the turn ({pic['drawn']} "
        f"{pic['style']} Image intents of this run, render_picture after it): "
        f"{pic['cpu_ms_mean']:.2f} CPU ms mean, p99 {pic['cpu_ms_p99']:.2f} ms, PNG "
        f"{pic['png_kb_mean']:.0f} KB; {pic['cpu_ms_per_turn_amortised']:.3f} ms per turn "
        f"if every session draws its picture"
    )
    lines.append("")

    la = r["latency"]
    lines.append(
        f"Latency: one person, {la['sessions']} sessions back to back, nothing else running"
    )
    lines.append(
        f"  {la['turns']} turns in {la['wall_s']:.2f} s = {la['turns_per_s']:,.0f} turns/s, "
        f"{la['cpu_ms_per_turn']:.3f} CPU ms/turn"
    )
    lines.append(
        f"  per turn: p50 {la['p50_ms']:.2f} ms, p99 {la['p99_ms']:.2f} ms, "
        f"max {la['max_ms']:.2f} ms, mean {la['mean_ms']:.2f} ms "
        f"(final turn p50 {la['final_turn_p50_ms']:.2f} ms, other turns p50 "
        f"{la['other_turns_p50_ms']:.2f} ms)"
    )
    lines.append("")

    mr, mt = r["memory_rss"], r["memory_tracemalloc"]
    lines.append(
        f"Memory: {mr['people']} sessions active (each after {mr['turns_each']} of "
        f"{r['turns_per_session']} turns)"
    )
    lines.append(
        f"  RSS {mr['rss_before_mb']:.1f} -> {mr['rss_after_mb']:.1f} MB: "
        f"{mr['rss_mb_per_1000']:.2f} MB per 1,000 active sessions"
    )
    top = ", ".join(f"{x['file']} {x['kb']:+,.0f} KB" for x in mt["traced_top"][:4])
    lines.append(
        f"  tracemalloc (Python heap): {mt['traced_mb_per_1000']:.2f} MB per 1,000 (largest: {top})"
    )
    lines.append(f"  database file + WAL at that point: {mr['db_mb_at_half']:.1f} MB")
    lines.append("")

    rate_ok = t["turns_per_s"] >= GOAL_TURNS_PER_S
    cpu_ok = t["cpu_ms_per_turn"] < GOAL_CPU_MS_PER_TURN
    lines.append(
        f"Goal (durable, {r['people']} people): >= {GOAL_TURNS_PER_S:,.0f} turns/s: "
        f"{'met' if rate_ok else 'MISSED'} ({t['turns_per_s']:,.0f}); "
        f"< {GOAL_CPU_MS_PER_TURN} CPU ms/turn: {'met' if cpu_ok else 'MISSED'} "
        f"({t['cpu_ms_per_turn']:.3f})"
    )
    lines.append(f"(whole bench: {r['bench_wall_s']:.0f} s)")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
