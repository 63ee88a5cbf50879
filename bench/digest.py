"""A team channel's weekly digest: the text and the progress chart, rendered at size.

``python -m bench.digest`` (``make bench``) builds one deterministic channel
(``random.Random(--seed)``): 200 members, 1,000 steps across 5 team plans, created over
the last 10 weeks, 40 % done, 5 % unclaimed, 85 % dated (so some are overdue), and
times what the weekly digest costs: :func:`digest_text`, :func:`progress_picture` (8
weeks) and :func:`render_progress` (the PNG the adapter draws on delivery), one after
the other, as one digest.

Each of ``--processes`` fresh child processes (3) imports the modules (timed), renders
the digest once (the cold run: fonts loaded, caches empty), then ``--runs`` times more
(20, warm). Wall time is ``time.perf_counter()``, CPU is ``time.process_time()``; the
three parts are timed separately too. After the timed runs a child measures one more
digest under ``tracemalloc`` (its peak Python heap; Pillow allocates the pixels outside
it) and reports its peak RSS (``VmHWM``). Every run is checked: the text under 12,000
characters with 50 people listed, the chart's current week equal to the text's totals,
and a 900 x 450 PNG.
"""

from __future__ import annotations

import time

# As early as this module can take it: the import of the digest's modules is timed from here.
_T_MODULE = time.perf_counter()

import argparse  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import random  # noqa: E402
import re  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tracemalloc  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from datetime import UTC, datetime, timedelta  # noqa: E402
from importlib import metadata  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

_T_STDLIB = time.perf_counter()

from core.report import render_progress  # noqa: E402
from core.team.digest import DigestStep, digest_text, progress_picture  # noqa: E402

_T_CORE = time.perf_counter()

REPO = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
TZ = "Europe/London"
TITLE = "Weekly digest: #growth"
MEMBERS = 200
STEPS = 1000
PLANS = (
    "Launch the beta by March",
    "Hire two designers",
    "Move the office",
    "Ship the mobile app",
    "Run the spring conference",
)
DONE_SHARE = 0.40
UNCLAIMED_SHARE = 0.05
DATED_SHARE = 0.85
HISTORY = timedelta(weeks=10)
WEEKS = 8
TEXT_LIMIT = 12_000
PNG_SIZE = (900, 450)
GOAL_S = 1.0

_FIRST = ("Ana", "Bo", "Chidi", "Dörte", "Eun-ji", "Farid", "Grace", "Hiroshi", "Inés", "Jamal")
_LAST = ("Okafor", "Lindqvist", "Nakamura", "García", "Schmidt", "Kowalczyk", "Singh", "Ng")
_WORDS = (
    "draft the budget for the next quarter",
    "call the venue about the projector",
    "interview candidates",
    "write the onboarding guide",
    "fix the login bug",
    "review the contract with legal",
    "book travel",
    "ask the customers what they need",
    "set up the test devices",
    "plan the launch email",
    "agree the roles",
    "order furniture",
)


class BenchFailure(RuntimeError):
    """A run did not do what the benchmark requires; the numbers would be meaningless."""


# -- the channel -----------------------------------------------------------------------------


def channel(seed: int) -> list[DigestStep]:
    """1,000 steps of 200 members: every member owns at least one, 50 are unclaimed,
    400 done; the rest open, blocked or "not yet", due or not, some overdue."""
    rng = random.Random(seed)
    names = [f"{rng.choice(_FIRST)} {rng.choice(_LAST)} {n:03}" for n in range(MEMBERS)]
    unclaimed = set(rng.sample(range(STEPS), round(STEPS * UNCLAIMED_SHARE)))
    done = set(rng.sample(range(STEPS), round(STEPS * DONE_SHARE)))
    claimed = [n for n in range(STEPS) if n not in unclaimed]
    owners: dict[int, int] = {}
    # Each member owns one of the first 200 claimed steps, in a shuffled order; the rest
    # of the steps go to members at random.
    order = list(range(MEMBERS))
    rng.shuffle(order)
    for n, member in zip(claimed, order, strict=False):
        owners[n] = member
    for n in claimed[MEMBERS:]:
        owners[n] = rng.randrange(MEMBERS)
    steps: list[DigestStep] = []
    for n in range(STEPS):
        created = NOW - HISTORY * rng.random()
        due = created + timedelta(days=rng.uniform(7, 70)) if rng.random() < DATED_SHARE else None
        is_done = n in done
        done_at = min(NOW, created + timedelta(days=rng.uniform(0.5, 20))) if is_done else None
        owner = owners.get(n)
        words = rng.sample(_WORDS, rng.randint(1, 3))
        steps.append(
            DigestStep(
                plan=PLANS[n % len(PLANS)],
                text=f"{words[0].capitalize()}" + "".join(f", then {w}" for w in words[1:]),
                owner=None if owner is None else names[owner],
                owner_key=None if owner is None else f"bench:team:u{owner}",
                due=due,
                status="done" if is_done else rng.choice(("open", "open", "blocked", "not_yet")),
                done_at=done_at,
                created_at=created,
            )
        )
    return steps


def describe(steps: Sequence[DigestStep]) -> dict[str, int]:
    return {
        "steps": len(steps),
        "members": len({s.owner_key for s in steps if s.owner_key is not None}),
        "plans": len({s.plan for s in steps}),
        "done": sum(s.status == "done" for s in steps),
        "unclaimed": sum(s.owner_key is None for s in steps),
        "overdue": sum(s.status != "done" and s.due is not None and s.due < NOW for s in steps),
        "undated": sum(s.due is None for s in steps),
    }


# -- one digest ------------------------------------------------------------------------------


def render(steps: Sequence[DigestStep]) -> tuple[dict[str, float], str, Any, bytes]:
    """One digest: text, chart points, PNG; wall and CPU seconds of each and in all."""
    wall, cpu = time.perf_counter, time.process_time
    w0, c0 = wall(), cpu()
    text = digest_text(steps, title=TITLE, now=NOW, tz=TZ)
    w1, c1 = wall(), cpu()
    picture = progress_picture(steps, title=TITLE, now=NOW, tz=TZ, weeks=WEEKS)
    w2, c2 = wall(), cpu()
    png = render_progress(picture)
    w3, c3 = wall(), cpu()
    times = {
        "wall_s": w3 - w0,
        "cpu_s": c3 - c0,
        "text_wall_s": w1 - w0,
        "text_cpu_s": c1 - c0,
        "points_wall_s": w2 - w1,
        "points_cpu_s": c2 - c1,
        "png_wall_s": w3 - w2,
        "png_cpu_s": c3 - c2,
    }
    return times, text, picture, png


def check(text: str, picture: Any, png: bytes, facts: dict[str, int]) -> dict[str, Any]:
    from PIL import Image

    people = sum(1 for line in text.splitlines() if line.startswith("• ") and " done, " in line)
    if len(text) >= TEXT_LIMIT:
        raise BenchFailure(f"the digest is {len(text)} characters, over {TEXT_LIMIT}")
    if people != 50:
        raise BenchFailure(f"{people} people listed, expected 50")
    _, total, done, overdue = picture.weeks[-1]
    totals = text.splitlines()[1]
    if (
        total != facts["steps"]
        or done != facts["done"]
        or overdue != facts["overdue"]
        or not totals.startswith(f"{total:,} steps: {done} done, ")
        or f", {overdue} overdue" not in totals
    ):
        raise BenchFailure(f"chart ({total}, {done}, {overdue}) and text {totals!r} disagree")
    image = Image.open(io.BytesIO(png))
    image.load()
    if image.format != "PNG" or image.size != PNG_SIZE:
        raise BenchFailure(f"the chart is a {image.format} of {image.size}, not PNG {PNG_SIZE}")
    return {
        "text_chars": len(text),
        "text_lines": len(text.splitlines()),
        "people_listed": people,
        "more_people_line": bool(re.search(r"…and \d+ more people", text)),
        "png_kb": len(png) / 1024,
        "weeks": len(picture.weeks),
        "totals_line": totals,
    }


def peak_rss_mb() -> float | None:
    try:
        for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def run_child(args: argparse.Namespace) -> dict[str, Any]:
    """In a fresh process: one cold digest, then ``--runs`` warm ones, then memory."""
    steps = channel(args.seed)
    facts = describe(steps)
    cold, text, picture, png = render(steps)
    checked = check(text, picture, png, facts)
    warm: list[dict[str, float]] = []
    for _ in range(args.runs):
        times, text, picture, png = render(steps)
        check(text, picture, png, facts)
        warm.append(times)
    tracemalloc.start()
    render(steps)
    traced_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {
        "import_stdlib_s": _T_STDLIB - _T_MODULE,
        "import_core_s": _T_CORE - _T_STDLIB,
        "cold": cold,
        "warm": warm,
        "check": checked,
        "facts": facts,
        "traced_peak_kb": traced_peak / 1024,
        "peak_rss_mb": peak_rss_mb(),
    }


# -- the parent ------------------------------------------------------------------------------


def percentile(values: Sequence[float], pct: float) -> float:
    """The ``pct`` percentile by nearest rank (of 20 values, p99 is the largest)."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(pct / 100 * len(ordered))))
    return ordered[rank - 1]


def child(args: argparse.Namespace) -> dict[str, Any]:
    argv = [sys.executable, "-m", "bench.digest", "--child"]
    argv += ["--runs", str(args.runs), "--seed", str(args.seed)]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise BenchFailure(f"a child failed (exit {done.returncode}); see above")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


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
        "pillow": metadata.version("pillow"),
        "os": platform.platform(),
        "load_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
    }


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms"


def report(r: dict[str, Any]) -> str:
    m = r["machine"]
    f = r["children"][0]["facts"]
    c = r["children"][0]["check"]
    lines = [
        "bench/digest — a team channel's weekly digest (text + progress chart)",
        f"machine: {m['cpus']} CPUs, {m['cpu']}, {m['ram_gib']} GiB RAM, Python {m['python']}, "
        f"Pillow {m['pillow']}, {m['os']}; load average {m['load_1min']:.2f} at start",
        f"channel (seed {r['seed']}): {f['members']} members, {f['steps']:,} steps in "
        f"{f['plans']} plans over 10 weeks; {f['done']} done, {f['overdue']} overdue, "
        f"{f['unclaimed']} without an owner, {f['undated']} undated; chart of {WEEKS} weeks",
        f"one digest = digest_text + progress_picture + render_progress; "
        f"{r['processes']} fresh processes, each: 1 cold run, then {r['runs']} warm runs",
        "",
        f"  {'process':8} {'import':>9} {'cold wall':>10} {'cold CPU':>9} {'warm p50':>9} "
        f"{'warm p99':>9} {'CPU p50':>9} {'heap peak':>10} {'peak RSS':>9}",
    ]
    for n, x in enumerate(r["children"], start=1):
        walls = [w["wall_s"] for w in x["warm"]]
        cpus = [w["cpu_s"] for w in x["warm"]]
        lines.append(
            f"  {n:<8} {_ms(x['import_core_s']):>9} {_ms(x['cold']['wall_s']):>10} "
            f"{_ms(x['cold']['cpu_s']):>9} {_ms(statistics.median(walls)):>9} "
            f"{_ms(percentile(walls, 99)):>9} {_ms(statistics.median(cpus)):>9} "
            f"{x['traced_peak_kb']:>8.0f}KB {x['peak_rss_mb'] or math.nan:>7.1f}MB"
        )
    warm = [w for x in r["children"] for w in x["warm"]]
    colds = [x["cold"] for x in r["children"]]
    lines.append("")
    lines.append(f"All {len(warm)} warm runs, median by part (wall):")
    for key, label in (
        ("text_wall_s", "digest_text"),
        ("points_wall_s", "progress_picture"),
        ("png_wall_s", "render_progress (PNG)"),
        ("wall_s", "the whole digest"),
    ):
        lines.append(
            f"  {label:24} {_ms(statistics.median(w[key] for w in warm)):>9}   "
            f"cold (median of {len(colds)}): {_ms(statistics.median(c_[key] for c_ in colds))}"
        )
    lines.append(
        f"  whole digest: p99 {_ms(percentile([w['wall_s'] for w in warm], 99))} wall, "
        f"CPU median {_ms(statistics.median(w['cpu_s'] for w in warm))}"
    )
    lines.append("")
    lines.append(
        f"checked every run: text {c['text_chars']:,} characters in {c['text_lines']} lines "
        f"(< {TEXT_LIMIT:,}), {c['people_listed']} people listed + a '…and N more people' "
        f"line; chart's current week = text totals ({c['totals_line']!r}); "
        f"PNG {PNG_SIZE[0]}x{PNG_SIZE[1]}, {c['png_kb']:.0f} KB"
    )
    worst = max([*(c_["wall_s"] for c_ in colds), *(w["wall_s"] for w in warm)])
    met = worst < GOAL_S
    lines.append(
        f"Goal: a digest of 200 members and 1,000 steps in < {GOAL_S:g} s: "
        f"{'met' if met else 'MISSED'} (slowest run, cold included: {_ms(worst)})"
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.digest",
        description="A team channel's weekly digest: text and progress chart at size.",
    )
    parser.add_argument("--processes", type=int, default=3, help="fresh child processes (3)")
    parser.add_argument("--runs", type=int, default=20, help="warm runs per process (20)")
    parser.add_argument("--seed", type=int, default=2026, help="the channel's random seed")
    parser.add_argument("--json", action="store_true", help="also print the results as JSON")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.processes < 1 or args.runs < 1:
        parser.error("--processes and --runs must be at least 1")
    if args.child:
        sys.stdout.write(json.dumps(run_child(args)) + "\n")
        return 0
    results: dict[str, Any] = {
        "machine": machine(),
        "date": datetime.now(UTC).date().isoformat(),
        "command": "python -m bench.digest " + " ".join(sys.argv[1:]),
        "seed": args.seed,
        "processes": args.processes,
        "runs": args.runs,
        "children": [child(args) for _ in range(args.processes)],
    }
    print(report(results))
    if args.json:
        print(json.dumps(results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
