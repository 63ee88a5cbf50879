"""A coaching turn over Slack's HTTP path, against a bare Bolt echo in the same run.

``python -m bench.slack [--clients 50] [--seconds 10] [--warmup 2] [--db sqlite|postgresql]``
(``make bench``) answers the issue's question: does a full coaching turn through our
Slack HTTP path (signed request -> ack -> engine turn committed to the database ->
``chat.postMessage``) reach at least 70 % of the throughput of a bare slack-bolt echo app
(ack + ``chat.postMessage``), with p99 acknowledgement under 3 s, at 50 concurrent
sessions? Absolute numbers depend on the machine; the ratio, measured in one run on one
machine, is what the goal is about.

Three parts, so that the bot under test has a core to itself:

* the bot, ``python -m bench.slack_bot`` in a child process (``echo``: a bare Bolt app;
  ``full``: :class:`~bots.slack.SlackService` on :class:`~bots.runtime.Runtime`, as
  ``breakthrough slack`` builds it, pacing off), serving HTTP on 127.0.0.1;
* a fake Slack Web API in this process (:class:`tests.slack.fake_slack.FakeSlack`),
  which also tells each client when the bot's reply for it has been posted;
* the load generator, also in this process: ``--clients`` people, each in a channel
  ``C<n>`` of their own, over one shared aiohttp session, in a closed loop (send a
  signed ``message`` event in their thread, wait for the reply to be posted, send the
  next). In ``full`` mode each first starts a PLAN session with ``/breakthrough plan``
  and then keeps answering the "what else needs to happen" question, so every turn is a
  real engine turn committed to the database before its reply is posted.

Each mode runs ``--warmup`` seconds (not counted), then ``--seconds`` measured. Per
request: ack latency (request sent -> HTTP 200) and reply latency (sent -> the bot's
``chat.postMessage`` reached the fake). Throughput is replies posted in the measured
window / its length. The bot's peak RSS (``VmHWM``) and CPU come from the bot process.
After the full run the database is read back: every session open, holding at least as
many answers as the client got replies for.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import hmac
import json
import math
import os
import platform
import secrets
import signal
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp

from bench.slack_bot import SIGNING_SECRET
from tests.slack.fake_slack import Call, FakeSlack

REPO = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get(
    "BREAKTHROUGH_BENCH_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
TEAM = "T0001"
MODES = ("echo", "full")
OUTCOME = "I want the beta out"
TOPIC = "Bench topic"
FIRST_QUESTION = "What would you like to happen"
ACK_TIMEOUT_S = 10.0
REPLY_TIMEOUT_S = 10.0
READY_TIMEOUT_S = 60.0

GOAL_RATIO = 0.70
GOAL_ACK_P99_S = 3.0
ISSUE_ECHO_RANGE = (800, 1800)

Key = tuple[str, str | None]


class BenchFailure(RuntimeError):
    """A run did not do what the benchmark requires; the numbers would be meaningless."""


def progress(text: str) -> None:
    sys.stderr.write(f"[bench.slack] {text}\n")
    sys.stderr.flush()


# -- the fake Slack, observed --------------------------------------------------------------


class ObservedSlack(FakeSlack):
    """:class:`FakeSlack` that also hands each successful ``chat.postMessage`` to a queue
    per ``(channel, thread_ts)``, with the moment it arrived, so a client waiting for its
    reply wakes up at once instead of polling the list of calls."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.inbox: dict[Key, asyncio.Queue[tuple[float, dict[str, Any]]]] = {}

    def queue(self, channel: str, thread_ts: str | None) -> asyncio.Queue[tuple[float, Any]]:
        return self.inbox.setdefault((channel, thread_ts), asyncio.Queue())

    def _chat_post_message(self, call: Call) -> dict[str, Any]:
        response = super()._chat_post_message(call)
        if response.get("ok"):
            at = time.perf_counter()
            thread = call.args.get("thread_ts")
            key = (str(call.args.get("channel")), str(thread) if thread else None)
            self.queue(*key).put_nowait((at, response))
        return response


# -- signed requests, as Slack sends them ----------------------------------------------------


def signed(body: str, content_type: str) -> dict[str, str]:
    """Slack's headers: ``v0=HMAC-SHA256(secret, "v0:<ts>:<body>")``."""
    ts = str(int(time.time()))
    digest = hmac.new(
        SIGNING_SECRET.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256
    ).hexdigest()
    return {
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": f"v0={digest}",
        "Content-Type": content_type,
    }


def command_body(text: str, *, user: str, channel: str, response_url: str, n: int) -> str:
    return urlencode(
        {
            "token": "legacy",
            "team_id": TEAM,
            "team_domain": "bench",
            "channel_id": channel,
            "channel_name": channel.lower(),
            "user_id": user,
            "user_name": user.lower(),
            "command": "/breakthrough",
            "text": text,
            "api_app_id": "A0001",
            "response_url": response_url,
            "trigger_id": f"trigger{n}",
        }
    )


def message_body(text: str, *, user: str, channel: str, thread_ts: str, event_id: str) -> str:
    now = time.time()
    ts = f"{now:.6f}"
    return json.dumps(
        {
            "token": "legacy",
            "team_id": TEAM,
            "api_app_id": "A0001",
            "event": {
                "type": "message",
                "user": user,
                "text": text,
                "ts": ts,
                "event_ts": ts,
                "channel": channel,
                "channel_type": "channel",
                "team": TEAM,
                "thread_ts": thread_ts,
            },
            "type": "event_callback",
            "event_id": event_id,
            "event_time": int(now),
            "authorizations": [{"team_id": TEAM, "user_id": "UBOT", "is_bot": True}],
        }
    )


# -- one simulated person ---------------------------------------------------------------------


@dataclass(slots=True)
class Sample:
    """One request: when it was sent, acknowledged, and answered (perf_counter seconds)."""

    sent: float
    acked: float | None = None
    replied: float | None = None
    error: str | None = None


@dataclass(slots=True)
class Client:
    """One person in channel ``C<n>`` (user ``U<n>``), one request in flight at a time.

    A reply that misses its 10 s is counted as an error and the loop goes on; if it
    arrives later it is taken for the next request's reply (no run so far has had one).
    """

    n: int
    mode: str
    url: str
    http: aiohttp.ClientSession
    fake: ObservedSlack
    thread_ts: str = ""
    samples: list[Sample] = field(default_factory=list)
    texts_sent: int = 0
    replies: int = 0

    @property
    def user(self) -> str:
        return f"U{self.n}"

    @property
    def channel(self) -> str:
        return f"C{self.n}"

    async def post(self, body: str, content_type: str) -> int:
        timeout = aiohttp.ClientTimeout(total=ACK_TIMEOUT_S)
        async with self.http.post(
            self.url, data=body.encode(), headers=signed(body, content_type), timeout=timeout
        ) as response:
            await response.read()
            return response.status

    async def reply(self, thread_ts: str | None) -> tuple[float, dict[str, Any]]:
        queue = self.fake.queue(self.channel, thread_ts)
        return await asyncio.wait_for(queue.get(), REPLY_TIMEOUT_S)

    async def start_session(self) -> None:
        """``/breakthrough plan``: wait for the root message and the first question."""
        body = command_body(
            f"plan {TOPIC}",
            user=self.user,
            channel=self.channel,
            response_url=self.fake.response_url(),
            n=self.n,
        )
        status = await self.post(body, "application/x-www-form-urlencoded")
        if status != 200:
            raise BenchFailure(f"client {self.n}: /breakthrough plan answered HTTP {status}")
        _, root = await self.reply(None)
        self.thread_ts = str(root["ts"])
        _, question = await self.reply(self.thread_ts)
        if FIRST_QUESTION not in json.dumps(question["message"]["blocks"]):
            raise BenchFailure(f"client {self.n}: unexpected first question {question}")

    def next_text(self) -> str:
        if self.mode == "full" and self.texts_sent == 0:
            return OUTCOME
        return f"Step {self.texts_sent}"

    async def run(self, stop: asyncio.Event, counter: list[int]) -> None:
        """Closed loop: send, wait for the ack and the reply, send the next."""
        content_type = "application/json"
        while not stop.is_set():
            text = self.next_text()
            body = message_body(
                text,
                user=self.user,
                channel=self.channel,
                thread_ts=self.thread_ts,
                event_id=f"Ev{self.mode}{self.n}x{self.texts_sent}{secrets.token_hex(3)}",
            )
            sample = Sample(sent=time.perf_counter())
            self.samples.append(sample)
            self.texts_sent += 1
            try:
                status = await self.post(body, content_type)
            except (aiohttp.ClientError, TimeoutError) as exc:
                sample.error = f"request: {type(exc).__name__}"
                await asyncio.sleep(0.05)
                continue
            sample.acked = time.perf_counter()
            if status != 200:
                sample.error = f"HTTP {status}"
                continue
            try:
                replied, _ = await self.reply(self.thread_ts)
            except TimeoutError:
                sample.error = "no reply within 10 s"
                continue
            sample.replied = replied
            self.replies += 1
            counter[0] += 1


# -- the bot process ---------------------------------------------------------------------------


@dataclass(slots=True)
class BotProcess:
    proc: asyncio.subprocess.Process
    port: int
    stderr_path: Path

    def cpu_s(self) -> tuple[float, float]:
        """CPU seconds (utime + stime) of the whole bot and of its main thread so far.

        The rest is other threads: aiosqlite runs each connection's calls on a thread of
        its own, and Bolt none; the event loop is the main thread.
        """
        pid = self.proc.pid
        return _stat_cpu(f"/proc/{pid}/stat"), _stat_cpu(f"/proc/{pid}/task/{pid}/stat")


def _stat_cpu(path: str) -> float:
    try:
        stat = Path(path).read_text()
    except OSError:
        return math.nan
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def start_bot(
    mode: str, api_url: str, db: Database, stderr_path: Path, args: argparse.Namespace
) -> BotProcess:
    argv = [sys.executable, "-m", "bench.slack_bot", "--mode", mode, "--api-url", api_url]
    if mode == "full":
        argv += ["--db", db.url]
        if db.schema:
            argv += ["--pg-schema", db.schema]
        if args.profile:
            argv += ["--profile", args.profile]
        if args.count_sql:
            argv += ["--count-sql"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with stderr_path.open("wb") as err:
        proc = await asyncio.create_subprocess_exec(
            *argv, cwd=REPO, env=env, stdout=asyncio.subprocess.PIPE, stderr=err
        )
    assert proc.stdout is not None
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), READY_TIMEOUT_S)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise BenchFailure(f"{mode} bot not ready in {READY_TIMEOUT_S:.0f} s") from None
    words = line.decode().split()
    if len(words) != 2 or words[0] != "ready":
        await proc.wait()
        raise BenchFailure(f"{mode} bot did not start:\n{tail(stderr_path)}")
    return BotProcess(proc, int(words[1]), stderr_path)


async def stop_bot(bot: BotProcess) -> dict[str, Any]:
    """SIGTERM; the bot finishes what it took and prints its JSON line."""
    bot.proc.send_signal(signal.SIGTERM)
    assert bot.proc.stdout is not None
    try:
        out = await asyncio.wait_for(bot.proc.stdout.read(), 60)
        code = await asyncio.wait_for(bot.proc.wait(), 10)
    except TimeoutError:
        bot.proc.kill()
        await bot.proc.wait()
        raise BenchFailure("the bot did not stop within 60 s of SIGTERM") from None
    lines = out.decode().strip().splitlines()
    if code != 0 or not lines:
        raise BenchFailure(f"the bot exited {code}:\n{tail(bot.stderr_path)}")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def tail(path: Path, chars: int = 3000) -> str:
    return path.read_text(errors="replace")[-chars:]


def summarise_stderr(path: Path) -> dict[str, Any]:
    """The bot's stderr: how many lines, tracebacks, and its distinct log lines."""
    text = path.read_text(errors="replace")
    lines = [line for line in text.splitlines() if line.strip()]
    logged = Counter(
        line[:160] for line in lines if line.split(" ", 1)[0] in {"WARNING", "ERROR", "CRITICAL"}
    )
    return {
        "lines": len(lines),
        "tracebacks": text.count("Traceback (most recent call last)"),
        "top": logged.most_common(8),
        "tail": lines[-5:],
    }


# -- databases ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Database:
    url: str
    schema: str | None = None
    path: Path | None = None


@asynccontextmanager
async def fresh_database(backend: str, tmp: Path) -> AsyncIterator[Database]:
    """An empty database for one full run, removed afterwards."""
    if backend == "sqlite":
        path = tmp / "bench-slack.db"
        yield Database(f"sqlite+aiosqlite:///{path}", path=path)
        return
    from sqlalchemy.ext.asyncio import create_async_engine
    from sqlalchemy.pool import NullPool

    schema = f"bench_slack_{secrets.token_hex(4)}"
    admin = create_async_engine(PG_URL, poolclass=NullPool)
    async with admin.begin() as conn:
        await conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    try:
        yield Database(PG_URL, schema)
    finally:
        async with admin.begin() as conn:
            await conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await admin.dispose()


async def read_sessions(db: Database) -> list[tuple[str, str, Any]]:
    """``(owner, status, state)`` of every session, read after the bot has exited."""
    if db.path is not None:
        lite = sqlite3.connect(db.path)
        try:
            return list(lite.execute("SELECT owner, status, state FROM sessions"))
        finally:
            lite.close()
    from sqlalchemy.ext.asyncio import create_async_engine
    from sqlalchemy.pool import NullPool

    engine = create_async_engine(
        db.url,
        poolclass=NullPool,
        connect_args={"server_settings": {"search_path": db.schema or "public"}},
    )
    try:
        async with engine.connect() as conn:
            rows = await conn.exec_driver_sql("SELECT owner, status, state FROM sessions")
            found = [tuple(row) for row in rows]
            return [(str(r[0]), str(r[1]), r[2]) for r in found]
    finally:
        await engine.dispose()


def check_sessions(rows: list[tuple[str, str, Any]], clients: Sequence[Client]) -> dict[str, Any]:
    """Every client's session is open and holds every answer it got a reply to.

    The bot posts a turn's reply only after the turn is committed, so the answers saved
    (the outcome plus the items collected) are at least the replies the client saw, and
    at most what it sent.
    """
    by_user: dict[str, list[tuple[str, Any]]] = {}
    for owner, status, state in rows:
        doc = json.loads(state) if isinstance(state, str | bytes) else state
        by_user.setdefault(owner.rsplit(":", 1)[1], []).append((status, doc))
    problems = []
    saved_total = 0
    for c in clients:
        found = by_user.get(c.user, [])
        if len(found) != 1 or found[0][0] != "active":
            problems.append(f"{c.user}: sessions {[s for s, _ in found]}")
            continue
        doc = found[0][1]
        items = len(doc.get("work", {}).get("items", []))
        saved = items + (1 if "outcome" in doc.get("answers", {}) else 0)
        saved_total += saved
        if not c.replies <= saved <= c.texts_sent:
            problems.append(f"{c.user}: {saved} answers saved, {c.replies} replies seen")
    if problems:
        raise BenchFailure("the database does not hold the turns:\n" + "\n".join(problems[:10]))
    return {"sessions_open": len(clients), "answers_saved": saved_total}


# -- one mode -------------------------------------------------------------------------------------


def percentile(values: Sequence[float], pct: float) -> float:
    """The ``pct`` percentile by nearest rank."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(pct / 100 * len(ordered))))
    return ordered[rank - 1]


def machine_busy() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine, from ``/proc/stat``."""
    try:
        first = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return 0, 0
    values = [int(v) for v in first]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return sum(values) - idle, sum(values)


async def run_mode(mode: str, args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    users = {f"U{n}": {"real_name": f"P{n}", "tz": "UTC"} for n in range(args.clients)}
    fake = ObservedSlack(team_id=TEAM, users=users)
    await fake.start()
    stderr_path = tmp / f"{mode}-stderr.txt"
    try:
        async with fresh_database(args.db, tmp) as db:
            progress(f"{mode}: starting the bot" + (f" on {args.db}" if mode == "full" else ""))
            bot = await start_bot(mode, fake.api_url, db, stderr_path, args)
            try:
                result = await drive(mode, args, fake, bot)
            finally:
                stopped = await stop_bot(bot) if bot.proc.returncode is None else {}
            result["bot"] = stopped
            result["stderr"] = summarise_stderr(stderr_path)
            if mode == "full":
                result["check"] = check_sessions(await read_sessions(db), result.pop("clients"))
            else:
                result.pop("clients")
    finally:
        await fake.close()
    result["fake_calls"] = Counter(c.method for c in fake.calls)
    return result


async def drive(
    mode: str, args: argparse.Namespace, fake: ObservedSlack, bot: BotProcess
) -> dict[str, Any]:
    url = f"http://127.0.0.1:{bot.port}/slack/events"
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        clients = [Client(n, mode, url, http, fake) for n in range(args.clients)]
        setup_s = 0.0
        if mode == "full":
            progress(f"full: {args.clients} clients start a PLAN session (/breakthrough plan)")
            t0 = time.perf_counter()
            await asyncio.gather(*(c.start_session() for c in clients))
            setup_s = time.perf_counter() - t0
        else:
            for c in clients:
                c.thread_ts = f"1600000000.{c.n:06d}"
        stop = asyncio.Event()
        counter = [0]
        tasks = [asyncio.create_task(c.run(stop, counter)) for c in clients]
        progress(f"{mode}: {args.clients} clients, {args.warmup:g} s warm-up")
        await asyncio.sleep(args.warmup)
        progress(f"{mode}: measuring for {args.seconds:g} s")
        cpu_bot0, cpu_gen0, busy0 = bot.cpu_s(), time.process_time(), machine_busy()
        start = time.perf_counter()
        last = counter[0]
        for second in range(1, math.ceil(args.seconds) + 1):
            await asyncio.sleep(max(0.0, start + min(second, args.seconds) - time.perf_counter()))
            now = counter[0]
            progress(f"{mode}: {second:>3} s  {now - last:>6} replies")
            last = now
        end = time.perf_counter()
        cpu_bot1, cpu_gen1, busy1 = bot.cpu_s(), time.process_time(), machine_busy()
        stop.set()
        done, pending = await asyncio.wait(tasks, timeout=ACK_TIMEOUT_S + REPLY_TIMEOUT_S + 5)
        for task in pending:
            task.cancel()
        for task in done:
            task.result()
    window = end - start
    samples = [s for c in clients for s in c.samples]
    in_window = [s for s in samples if start <= s.sent < end]
    replies = sum(1 for s in samples if s.replied is not None and start <= s.replied < end)
    acks = [s.acked - s.sent for s in in_window if s.acked is not None and s.error is None]
    turns = [s.replied - s.sent for s in in_window if s.replied is not None]
    errors = Counter(s.error for s in samples if s.error is not None)
    jiffies = max(1, busy1[1] - busy0[1])
    bot_cpu = cpu_bot1[0] - cpu_bot0[0]
    cpus = os.cpu_count() or 1
    return {
        "mode": mode,
        "clients": clients,
        "setup_s": setup_s,
        "window_s": window,
        "replies": replies,
        "turns_per_s": replies / window,
        "requests_in_window": len(in_window),
        "ack_p50_ms": percentile(acks, 50) * 1000,
        "ack_p99_ms": percentile(acks, 99) * 1000,
        "ack_max_ms": max(acks, default=math.nan) * 1000,
        "reply_p50_ms": percentile(turns, 50) * 1000,
        "reply_p99_ms": percentile(turns, 99) * 1000,
        "reply_max_ms": max(turns, default=math.nan) * 1000,
        "errors": dict(errors),
        "error_count": sum(errors.values()),
        "bot_cpu_pct": bot_cpu / window * 100,
        "bot_main_thread_cpu_pct": (cpu_bot1[1] - cpu_bot0[1]) / window * 100,
        "bot_cpu_ms_per_turn": bot_cpu / max(1, replies) * 1000,
        "loadgen_cpu_pct": (cpu_gen1 - cpu_gen0) / window * 100,
        "machine_busy_pct": (busy1[0] - busy0[0]) / jiffies * 100 * cpus,
        "others_cpu_pct": (busy1[0] - busy0[0]) / jiffies * 100 * cpus
        - (bot_cpu + cpu_gen1 - cpu_gen0) / window * 100,
        "messages_sent": sum(c.texts_sent for c in clients),
        "stray_posts": sum(q.qsize() for q in fake.inbox.values()),
    }


# -- the report ---------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    cpu = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    versions = {}
    for name in ("aiohttp", "slack_bolt", "slack_sdk", "SQLAlchemy", "aiosqlite", "asyncpg"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[name] = metadata.version(name)
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "ram_gib": round(ram, 1),
        "python": platform.python_version(),
        "os": platform.platform(),
        **versions,
    }


def report(r: dict[str, Any]) -> str:
    m = r["machine"]
    lines = [
        "bench/slack — a coaching turn over Slack HTTP vs a bare Bolt echo",
        f"machine: {m['cpus']} CPUs, {m['cpu']}, {m['ram_gib']} GiB RAM, Python {m['python']}, "
        f"aiohttp {m.get('aiohttp')}, slack_bolt {m.get('slack_bolt')}, {m['os']}",
        f"{r['clients']} concurrent clients (closed loop, one shared aiohttp session), "
        f"{r['warmup']:g} s warm-up + {r['seconds']:g} s measured per mode; "
        f"database for full: {r['db']}",
        "",
        f"  {'mode':6} {'turns/s':>8} {'ack p50':>8} {'ack p99':>8} {'reply p50':>10} "
        f"{'reply p99':>10} {'errors':>6} {'bot CPU':>8} {'CPU ms/turn':>11} {'peak RSS':>9} "
        f"{'loadgen CPU':>11}",
    ]
    for mode in r["modes"]:
        x = r[mode]
        lines.append(
            f"  {mode:6} {x['turns_per_s']:>8,.0f} {x['ack_p50_ms']:>6.1f}ms "
            f"{x['ack_p99_ms']:>6.1f}ms {x['reply_p50_ms']:>8.1f}ms {x['reply_p99_ms']:>8.1f}ms "
            f"{x['error_count']:>6} {x['bot_cpu_pct']:>7.0f}% {x['bot_cpu_ms_per_turn']:>11.2f} "
            f"{x['bot']['peak_rss_mb']:>7.1f}MB {x['loadgen_cpu_pct']:>10.0f}%"
        )
    lines.append("")
    for mode in r["modes"]:
        x = r[mode]
        err = x["stderr"]
        calls = ", ".join(f"{k} {v}" for k, v in sorted(x["fake_calls"].items()))
        lines.append(
            f"  {mode}: {x['replies']} replies in {x['window_s']:.2f} s, "
            f"{x['requests_in_window']} requests sent in the window, ack max "
            f"{x['ack_max_ms']:.0f} ms, reply max {x['reply_max_ms']:.0f} ms, machine busy "
            f"{x['machine_busy_pct']:.0f}% of {m['cpus']} CPUs (other processes "
            f"{x['others_cpu_pct']:.0f}%); errors {x['errors'] or 'none'}"
        )
        lines.append(f"    fake Slack saw: {calls}")
        lines.append(
            f"    bot stderr: {err['lines']} lines, {err['tracebacks']} tracebacks"
            + "".join(f"\n      {n} x {line}" for line, n in err["top"])
        )
        lines.append(
            f"    bot CPU {x['bot_cpu_pct']:.0f}% of a core, of which the event loop thread "
            f"{x['bot_main_thread_cpu_pct']:.0f}% (the rest: database driver threads)"
        )
        statements = x["bot"].get("statements")
        if statements:
            per = max(1, x["messages_sent"])
            lines.append(
                f"    SQL per message event (over {per} sent, incl. warm-up): "
                + ", ".join(f"{k} {v / per:.2f}" for k, v in sorted(statements.items()))
            )
        if mode == "full":
            c = x["check"]
            lines.append(
                f"    setup: {r['clients']} sessions started in {x['setup_s']:.2f} s; checked: "
                f"{c['sessions_open']} sessions open, {c['answers_saved']} answers saved"
            )
    if "echo" in r and "full" in r:
        ratio = r["full"]["turns_per_s"] / r["echo"]["turns_per_s"]
        ack_p99_s = r["full"]["ack_p99_ms"] / 1000
        ok_ratio = ratio >= GOAL_RATIO
        ok_ack = ack_p99_s < GOAL_ACK_P99_S
        r["ratio"] = ratio
        r["verdict"] = "PASS" if ok_ratio and ok_ack else "FAIL"
        lines += [
            "",
            f"ratio full / echo: {ratio:.2f} (goal >= {GOAL_RATIO:.2f}: "
            f"{'met' if ok_ratio else 'MISSED'}); full ack p99 {ack_p99_s * 1000:.0f} ms "
            f"(goal < {GOAL_ACK_P99_S:g} s: {'met' if ok_ack else 'MISSED'}) -> {r['verdict']}",
        ]
        lo, hi = ISSUE_ECHO_RANGE
        echo = r["echo"]["turns_per_s"]
        if not lo <= echo <= hi:
            lines.append(
                f"note: the echo did {echo:,.0f} requests/s, outside the issue's {lo:,}-{hi:,}"
            )
    lines.append(f"(whole bench: {r['bench_wall_s']:.0f} s)")
    return "\n".join(lines)


async def run_all(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {
        "machine": machine(),
        "date": time.strftime("%Y-%m-%d"),
        "command": "python -m bench.slack " + " ".join(sys.argv[1:]),
        "clients": args.clients,
        "seconds": args.seconds,
        "warmup": args.warmup,
        "db": args.db,
        "modes": args.modes,
    }
    with tempfile.TemporaryDirectory(prefix="bench-slack-") as tmp:
        for mode in args.modes:
            results[mode] = await run_mode(mode, args, Path(tmp))
    return results


def cli(
    argv: Sequence[str] | None,
    *,
    prog: str,
    description: str,
    run_all: Callable[[argparse.Namespace], Coroutine[Any, Any, dict[str, Any]]],
    report: Callable[[dict[str, Any]], str],
) -> int:
    """The command line every echo-vs-full benchmark shares: parse, run, report."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--clients", type=int, default=50, help="concurrent clients (50)")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds (10)")
    parser.add_argument("--warmup", type=float, default=2.0, help="warm-up seconds (2)")
    parser.add_argument(
        "--db", choices=("sqlite", "postgresql"), default="sqlite", help="full mode's database"
    )
    parser.add_argument(
        "--modes", nargs="+", choices=MODES, default=list(MODES), help="(echo full)"
    )
    parser.add_argument(
        "--profile", default="", help="cProfile the full bot's serving into this file"
    )
    parser.add_argument(
        "--count-sql", action="store_true", help="count the full bot's SQL statements per turn"
    )
    parser.add_argument("--json", action="store_true", help="also print the results as JSON")
    args = parser.parse_args(argv)
    if args.clients < 1 or args.seconds <= 0 or args.warmup < 0:
        parser.error("--clients must be at least 1, --seconds above 0, --warmup not negative")
    if args.profile:
        args.profile = str(Path(args.profile).resolve())
    began = time.perf_counter()
    results = asyncio.run(run_all(args))
    results["bench_wall_s"] = time.perf_counter() - began
    print(report(results))
    if args.json:
        print(json.dumps(results, indent=2, default=str))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return cli(
        argv,
        prog="python -m bench.slack",
        description="A coaching turn over Slack HTTP against a bare Bolt echo, same run.",
        run_all=run_all,
        report=report,
    )


if __name__ == "__main__":
    raise SystemExit(main())
