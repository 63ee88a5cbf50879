"""A coaching turn over Discord's gateway, against a bare discord.py echo in the same run.

``python -m bench.discord [--clients 50] [--seconds 10] [--warmup 2] [--db sqlite|postgresql]``
(``make bench``) answers the issue's question: does a full coaching turn through our
Discord path (MESSAGE_CREATE from the gateway -> engine turn committed to the database ->
``POST /channels/{id}/messages``) reach at least 70 % of the throughput of a bare
discord.py echo bot (MESSAGE_CREATE -> ``channel.send``) at 50 concurrent sessions, on
the same fake Discord? Absolute numbers depend on the machine; the ratio, measured in
one run on one machine, is what the goal is about.

Three parts, so that the bot under test has a core to itself:

* the bot, ``python -m bench.discord_bot`` in a child process (``echo``: a bare
  ``discord.Client``; ``full``: :class:`~bots.discord.DiscordService` on
  :class:`~bots.runtime.Runtime`, as ``breakthrough discord`` builds it, with the
  message content intent), connected over one gateway WebSocket (one shard) and the
  REST API of
* a fake Discord in this process (:class:`tests.discord.fake_discord.FakeDiscord`),
  which also tells each client when the bot has posted a message in its channel; it
  does not echo the bot's own messages back over the gateway;
* the load generator, also in this process: ``--clients`` people (each a member of the
  fake's server), each in a thread of their own, in a closed loop (post a message in
  their thread, which the fake dispatches as MESSAGE_CREATE; wait for the bot's message
  in that thread; post the next). In ``echo`` mode the threads exist before the bot
  connects. In ``full`` mode each person first runs ``/breakthrough plan`` (an
  INTERACTION_CREATE); the bot opens a private thread, asks the first question there and
  answers the command with a link to the thread; then the person keeps answering the
  "what else needs to happen" question, so every turn is a real engine turn committed
  to the database before its reply is posted.

Each mode runs ``--warmup`` seconds (not counted), then ``--seconds`` measured. Per
message: reply latency, from just before the fake dispatches the MESSAGE_CREATE to the
moment the bot's ``POST /channels/{id}/messages`` reached the fake. Throughput is replies
posted in the measured window / its length. The bot's peak RSS (``VmHWM``) and CPU come
from the bot process. After the full run the database is read back: every session
open, holding at least as many answers as the client got replies for.

What it reuses from :mod:`bench.slack`: the bot-process plumbing (``BotProcess``,
``stop_bot``, stderr summaries), the fresh databases and their read-back, percentiles,
machine facts. What is Discord's own is here: the observed fake, the clients, the
report.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import re
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.slack import (
    READY_TIMEOUT_S,
    BenchFailure,
    BotProcess,
    Database,
    Sample,
    cli,
    fresh_database,
    machine_busy,
    percentile,
    read_sessions,
    stop_bot,
    summarise_stderr,
    tail,
)
from bench.slack import machine as slack_machine
from tests.discord.fake_discord import PUBLIC_THREAD, Call, FakeDiscord, Json

REPO = Path(__file__).resolve().parents[1]
OUTCOME = "I want the beta out"
TOPIC = "Bench topic"
FIRST_QUESTION = "What would you like to happen"
TOKEN = "bench-discord-token"
REPLY_TIMEOUT_S = 10.0
SETUP_TIMEOUT_S = 30.0
HEARTBEAT_MS = 3_600_000
"""An hour: no heartbeats during a run (Discord's 41.25 s would add one frame a run)."""
USER_BASE = 1_400_000_000_000_000_000
"""Client ``n`` is user ``USER_BASE + n``, ``bench<n>``, a member of the fake's server."""

GOAL_RATIO = 0.70
_CHANNEL_MENTION = re.compile(r"<#(\d+)>")


def progress(text: str) -> None:
    sys.stderr.write(f"[bench.discord] {text}\n")
    sys.stderr.flush()


# -- the fake Discord, observed ------------------------------------------------------------


class ObservedDiscord(FakeDiscord):
    """:class:`FakeDiscord` that also hands each message the bot posts in a channel
    (``POST /channels/{id}/messages``) to a queue per channel, and each interaction
    follow-up to a queue per interaction token, with the moment it arrived, so a client
    waiting for its reply wakes up at once instead of polling the list of calls."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.inbox: dict[int, asyncio.Queue[tuple[float, Json]]] = {}
        self.followups: dict[str, asyncio.Queue[tuple[float, Json]]] = {}

    def queue(self, channel_id: int) -> asyncio.Queue[tuple[float, Json]]:
        return self.inbox.setdefault(channel_id, asyncio.Queue())

    def followup_queue(self, token: str) -> asyncio.Queue[tuple[float, Json]]:
        return self.followups.setdefault(token, asyncio.Queue())

    def add_thread(self, name: str, *, owner_id: int) -> int:
        """A public thread in "general", known before the bot connects (GUILD_CREATE)."""
        thread_id = self.snowflake()
        self.channels[thread_id] = self._thread(
            thread_id, self.channel_id, name, PUBLIC_THREAD, owner_id=owner_id
        )
        return thread_id

    async def _create_message(self, call: Call, p: dict[str, str]) -> tuple[int, Any]:
        status, body = await super()._create_message(call, p)
        if status < 300 and isinstance(body, dict):
            self.queue(int(p["channel_id"])).put_nowait((time.perf_counter(), body))
        return status, body

    async def _execute_webhook(self, call: Call, p: dict[str, str]) -> tuple[int, Any]:
        status, body = await super()._execute_webhook(call, p)
        if status < 300:
            self.followup_queue(p["webhook_token"]).put_nowait((time.perf_counter(), call.json))
        return status, body


# -- one simulated person ----------------------------------------------------------------------


@dataclass(slots=True)
class Client:
    """Person ``bench<n>`` in a thread of their own, one message in flight at a time.

    ``Sample.sent`` is just before the fake dispatches the MESSAGE_CREATE, ``acked`` when
    the gateway frame has been written to the bot's socket, ``replied`` when the bot's
    message reached the fake. A reply that misses its 10 s is counted as an error and the
    loop goes on; if it arrives later it is taken for the next message's reply.
    """

    n: int
    mode: str
    fake: ObservedDiscord
    thread: int = 0
    samples: list[Sample] = field(default_factory=list)
    texts_sent: int = 0
    replies: int = 0
    wrong_replies: int = 0

    @property
    def user_id(self) -> int:
        return USER_BASE + self.n

    @property
    def username(self) -> str:
        return f"bench{self.n}"

    async def reply(self) -> tuple[float, Json]:
        return await asyncio.wait_for(self.fake.queue(self.thread).get(), REPLY_TIMEOUT_S)

    async def start_session(self) -> None:
        """``/breakthrough plan``: wait for the link to the thread and the first question."""
        interaction = await self.fake.slash_command(
            "breakthrough", "plan", {"topic": TOPIC}, user=self.user_id
        )
        queue = self.fake.followup_queue(str(interaction["token"]))
        _, followup = await asyncio.wait_for(queue.get(), SETUP_TIMEOUT_S)
        found = _CHANNEL_MENTION.search(str((followup or {}).get("content") or ""))
        if found is None:
            raise BenchFailure(f"client {self.n}: /breakthrough plan answered {followup}")
        self.thread = int(found.group(1))
        _, question = await asyncio.wait_for(self.fake.queue(self.thread).get(), SETUP_TIMEOUT_S)
        if FIRST_QUESTION not in str(question.get("content")):
            raise BenchFailure(f"client {self.n}: unexpected first question {question}")

    def next_text(self) -> str:
        if self.mode == "full" and self.texts_sent == 0:
            return OUTCOME
        return f"Step {self.texts_sent}"

    async def run(self, stop: asyncio.Event, counter: list[int]) -> None:
        """Closed loop: post, wait for the bot's message in the thread, post the next."""
        while not stop.is_set():
            text = self.next_text()
            sample = Sample(sent=time.perf_counter())
            self.samples.append(sample)
            self.texts_sent += 1
            try:
                dispatched = await self.fake.message_create(self.thread, text, author=self.user_id)
            except (AssertionError, ConnectionError, RuntimeError) as exc:
                sample.error = f"dispatch: {type(exc).__name__}"
                await asyncio.sleep(0.05)
                continue
            sample.acked = time.perf_counter()
            if dispatched is None or dispatched.get("content") != text:
                sample.error = "the bot was not sent the message's content"
                await asyncio.sleep(0.05)
                continue
            try:
                replied, message = await self.reply()
            except TimeoutError:
                sample.error = "no reply within 10 s"
                continue
            sample.replied = replied
            self.replies += 1
            counter[0] += 1
            if self.mode == "echo" and message.get("content") != text:
                self.wrong_replies += 1


# -- the bot process ---------------------------------------------------------------------------


async def start_bot(
    mode: str,
    fake: ObservedDiscord,
    db: Database,
    stderr_path: Path,
    args: argparse.Namespace,
) -> BotProcess:
    """Start ``bench.discord_bot`` and wait for its ``ready`` (connected, READY seen).

    It listens on no port (it dials the fake), so ``BotProcess.port`` is 0.
    """
    argv = [
        sys.executable,
        "-m",
        "bench.discord_bot",
        "--mode",
        mode,
        "--api-url",
        fake.api_url,
        "--gateway-url",
        fake.gateway_url,
        "--token",
        TOKEN,
    ]
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
    if line.decode().strip() != "ready":
        await proc.wait()
        raise BenchFailure(f"{mode} bot did not start:\n{tail(stderr_path)}")
    return BotProcess(proc, 0, stderr_path)


# -- the database check ----------------------------------------------------------------------


def check_sessions(rows: list[tuple[str, str, Any]], clients: Sequence[Client]) -> dict[str, Any]:
    """Every client's session is open and holds every answer it got a reply to.

    The bot posts a turn's reply only after the turn is committed, so the answers saved
    (the outcome plus the items collected) are at least the replies the client saw, and
    at most what it sent. Sessions are owned by ``discord:users:<user id>``.
    """
    by_user: dict[str, list[tuple[str, Any]]] = {}
    for owner, status, state in rows:
        doc = json.loads(state) if isinstance(state, str | bytes) else state
        by_user.setdefault(owner, []).append((status, doc))
    problems = []
    saved_total = 0
    for c in clients:
        owner = f"discord:users:{c.user_id}"
        found = by_user.get(owner, [])
        if len(found) != 1 or found[0][0] != "active":
            problems.append(f"{owner}: sessions {[s for s, _ in found]}")
            continue
        doc = found[0][1]
        items = len(doc.get("work", {}).get("items", []))
        saved = items + (1 if "outcome" in doc.get("answers", {}) else 0)
        saved_total += saved
        if not c.replies <= saved <= c.texts_sent:
            problems.append(f"{owner}: {saved} answers saved, {c.replies} replies seen")
    if len(rows) != len(clients):
        problems.append(f"{len(rows)} sessions in the database for {len(clients)} clients")
    if problems:
        raise BenchFailure("the database does not hold the turns:\n" + "\n".join(problems[:10]))
    return {"sessions_open": len(clients), "answers_saved": saved_total}


# -- one mode ------------------------------------------------------------------------------------


def new_fake(mode: str, clients: int) -> tuple[ObservedDiscord, list[int]]:
    """The fake with one member per client and, for the echo, one thread per client."""
    fake = ObservedDiscord(token=TOKEN, heartbeat_interval=HEARTBEAT_MS, echo_own_messages=False)
    threads = []
    for n in range(clients):
        fake.add_user(USER_BASE + n, f"bench{n}")
        if mode == "echo":
            threads.append(fake.add_thread(f"echo {n}", owner_id=USER_BASE + n))
    return fake, threads


async def run_mode(mode: str, args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    fake, threads = new_fake(mode, args.clients)
    await fake.start()
    stderr_path = tmp / f"{mode}-stderr.txt"
    try:
        async with fresh_database(args.db, tmp) as db:
            progress(f"{mode}: starting the bot" + (f" on {args.db}" if mode == "full" else ""))
            bot = await start_bot(mode, fake, db, stderr_path, args)
            try:
                result = await drive(mode, args, fake, bot, threads)
            finally:
                stopped = await stop_bot(bot) if bot.proc.returncode is None else {}
            result["bot"] = stopped
            result["stderr"] = summarise_stderr(stderr_path)
            clients: list[Client] = result.pop("clients")
            if mode == "full":
                result["check"] = check_sessions(await read_sessions(db), clients)
    finally:
        await fake.close()
    result["fake_calls"] = Counter(f"{c.method} {c.route or c.path}" for c in fake.calls)
    result["gateway"] = {
        "connections": len(fake.connections),
        "identifies": len(fake.identifies),
        "heartbeats": len(fake.heartbeats),
        "dispatched": Counter(f.t for f in fake.frames("sent", op=0)),
    }
    return result


async def drive(
    mode: str,
    args: argparse.Namespace,
    fake: ObservedDiscord,
    bot: BotProcess,
    threads: list[int],
) -> dict[str, Any]:
    clients = [Client(n, mode, fake) for n in range(args.clients)]
    setup_s = 0.0
    if mode == "full":
        progress(f"full: {args.clients} clients start a PLAN session (/breakthrough plan)")
        t0 = time.perf_counter()
        await asyncio.gather(*(c.start_session() for c in clients))
        setup_s = time.perf_counter() - t0
        if len({c.thread for c in clients}) != len(clients):
            raise BenchFailure("two clients were given the same thread")
    else:
        for c, thread in zip(clients, threads, strict=True):
            c.thread = thread
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
    done, pending = await asyncio.wait(tasks, timeout=REPLY_TIMEOUT_S + 5)
    for task in pending:
        task.cancel()
    for task in done:
        task.result()
    window = end - start
    samples = [s for c in clients for s in c.samples]
    in_window = [s for s in samples if start <= s.sent < end]
    replies = sum(1 for s in samples if s.replied is not None and start <= s.replied < end)
    turns = [s.replied - s.sent for s in in_window if s.replied is not None]
    frames = [s.acked - s.sent for s in in_window if s.acked is not None]
    errors = Counter(s.error for s in samples if s.error is not None)
    wrong = sum(c.wrong_replies for c in clients)
    if wrong:
        errors["echo reply with other text"] += wrong
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
        "messages_in_window": len(in_window),
        "frame_p50_ms": percentile(frames, 50) * 1000,
        "frame_p99_ms": percentile(frames, 99) * 1000,
        "reply_p50_ms": percentile(turns, 50) * 1000,
        "reply_p99_ms": percentile(turns, 99) * 1000,
        "reply_max_ms": max(turns, default=math.nan) * 1000,
        "errors": dict(errors),
        "error_count": sum(errors.values()),
        "bot_cpu_pct": bot_cpu / window * 100,
        "bot_main_thread_cpu_pct": (cpu_bot1[1] - cpu_bot0[1]) / window * 100,
        "bot_cpu_ms_per_turn": bot_cpu / max(1, replies) * 1000,
        "loadgen_cpu_pct": (cpu_gen1 - cpu_gen0) / window * 100,
        "loadgen_cpu_ms_per_turn": (cpu_gen1 - cpu_gen0) / max(1, replies) * 1000,
        "machine_busy_pct": (busy1[0] - busy0[0]) / jiffies * 100 * cpus,
        "others_cpu_pct": (busy1[0] - busy0[0]) / jiffies * 100 * cpus
        - (bot_cpu + cpu_gen1 - cpu_gen0) / window * 100,
        "messages_sent": sum(c.texts_sent for c in clients),
        "stray_posts": sum(q.qsize() for q in fake.inbox.values()),
    }


# -- the report ---------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    """The Slack bench's machine facts, with discord.py's version."""
    facts = slack_machine()
    for name in ("slack_bolt", "slack_sdk"):
        facts.pop(name, None)
    with contextlib.suppress(metadata.PackageNotFoundError):
        facts["discord.py"] = metadata.version("discord.py")
    return facts


def report(r: dict[str, Any]) -> str:
    m = r["machine"]
    lines = [
        "bench/discord — a coaching turn over the Discord gateway vs a bare discord.py echo",
        f"machine: {m['cpus']} CPUs, {m['cpu']}, {m['ram_gib']} GiB RAM, Python {m['python']}, "
        f"aiohttp {m.get('aiohttp')}, discord.py {m.get('discord.py')}, {m['os']}",
        f"{r['clients']} concurrent clients (closed loop, one thread each, one gateway "
        f"connection), {r['warmup']:g} s warm-up + {r['seconds']:g} s measured per mode; "
        f"database for full: {r['db']}",
        "",
        f"  {'mode':6} {'turns/s':>8} {'reply p50':>10} {'reply p99':>10} {'errors':>6} "
        f"{'bot CPU':>8} {'CPU ms/turn':>11} {'peak RSS':>9} {'loadgen CPU':>11}",
    ]
    for mode in r["modes"]:
        x = r[mode]
        lines.append(
            f"  {mode:6} {x['turns_per_s']:>8,.0f} {x['reply_p50_ms']:>8.1f}ms "
            f"{x['reply_p99_ms']:>8.1f}ms {x['error_count']:>6} {x['bot_cpu_pct']:>7.0f}% "
            f"{x['bot_cpu_ms_per_turn']:>11.2f} {x['bot']['peak_rss_mb']:>7.1f}MB "
            f"{x['loadgen_cpu_pct']:>10.0f}%"
        )
    lines.append("  (reply: from just before the fake dispatches MESSAGE_CREATE to the bot's POST)")
    lines.append("")
    for mode in r["modes"]:
        x = r[mode]
        err = x["stderr"]
        gw = x["gateway"]
        calls = ", ".join(f"{k} {v}" for k, v in sorted(x["fake_calls"].items()))
        dispatched = ", ".join(f"{k} {v}" for k, v in sorted(gw["dispatched"].items()))
        lines.append(
            f"  {mode}: {x['replies']} replies in {x['window_s']:.2f} s, "
            f"{x['messages_in_window']} messages sent in the window, reply max "
            f"{x['reply_max_ms']:.0f} ms, gateway frame written p50/p99 "
            f"{x['frame_p50_ms']:.2f}/{x['frame_p99_ms']:.2f} ms, machine busy "
            f"{x['machine_busy_pct']:.0f}% of {m['cpus']} CPUs (other processes "
            f"{x['others_cpu_pct']:.0f}%); load generator + fake "
            f"{x['loadgen_cpu_ms_per_turn']:.2f} ms CPU per turn; errors {x['errors'] or 'none'}"
        )
        lines.append(f"    fake Discord REST: {calls}")
        lines.append(
            f"    gateway: {gw['connections']} connection(s), {gw['identifies']} IDENTIFY, "
            f"{gw['heartbeats']} heartbeats; dispatched {dispatched}"
        )
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
                f"    SQL per message (over {per} sent, incl. warm-up): "
                + ", ".join(f"{k} {v / per:.2f}" for k, v in sorted(statements.items()))
            )
        if x["stray_posts"]:
            lines.append(f"    {x['stray_posts']} bot messages nobody waited for")
        if mode == "full":
            c = x["check"]
            lines.append(
                f"    setup: {r['clients']} sessions started in {x['setup_s']:.2f} s; checked: "
                f"{c['sessions_open']} sessions open, {c['answers_saved']} answers saved; "
                f"handler failures {x['bot'].get('handler_failures')}"
            )
    if "echo" in r and "full" in r:
        ratio = r["full"]["turns_per_s"] / r["echo"]["turns_per_s"]
        ok = ratio >= GOAL_RATIO
        r["ratio"] = ratio
        r["verdict"] = "PASS" if ok else "FAIL"
        lines += [
            "",
            f"ratio full / echo: {ratio:.2f} (goal >= {GOAL_RATIO:.2f}: "
            f"{'met' if ok else 'MISSED'}) -> {r['verdict']}",
        ]
    lines.append(f"(whole bench: {r['bench_wall_s']:.0f} s)")
    return "\n".join(lines)


async def run_all(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {
        "machine": machine(),
        "date": time.strftime("%Y-%m-%d"),
        "command": "python -m bench.discord " + " ".join(sys.argv[1:]),
        "clients": args.clients,
        "seconds": args.seconds,
        "warmup": args.warmup,
        "db": args.db,
        "modes": args.modes,
    }
    with tempfile.TemporaryDirectory(prefix="bench-discord-") as tmp:
        for mode in args.modes:
            results[mode] = await run_mode(mode, args, Path(tmp))
    return results


def main(argv: Sequence[str] | None = None) -> int:
    return cli(
        argv,
        prog="python -m bench.discord",
        description="A coaching turn over the Discord gateway against a bare discord.py "
        "echo, same run.",
        run_all=run_all,
        report=report,
    )


if __name__ == "__main__":
    raise SystemExit(main())
