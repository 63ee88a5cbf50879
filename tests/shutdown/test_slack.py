"""SIGTERM to ``breakthrough slack`` (HTTP mode) during a turn and during a nudge's delivery.

Real processes on a real database, against the fake Slack, which holds the bot's
``chat.postMessage`` so the signal lands while the bot waits on Slack. After the exit,
and after a restart: the answer is in the session, each reply and nudge was posted
exactly once, and no nudge is left claimed.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import aiohttp

from core.dialogue.state import SessionState
from core.schedule.model import NudgeDraft, NudgeRecord, Preferences
from core.store.nudges import SqlNudgeStore
from core.store.repository import SqlStore
from tests.programs import program_env
from tests.shutdown.programs import Program
from tests.slack.fake_slack import Call, FakeSlack
from tests.slack.rig import ANN, SIGNING_SECRET, TEAM, USERS, message_text, signature_headers

BOT_TOKEN = "xoxb-shutdown-test"
ANN_KEY = f"slack:{TEAM}:{ANN}"
LISTENING = "Breakthrough is listening on "


def _env(tmp_path: Path, db_url: str, fake: FakeSlack, **extra: str) -> dict[str, str]:
    return program_env(
        tmp_path,
        database_url=db_url,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=fake.api_url,
        **extra,
    )


async def _slack(env: dict[str, str]) -> tuple[Program, str]:
    args = ("slack", "--host", "127.0.0.1", "--port", "0")
    bot = await Program.start(*args, env=env, ready=LISTENING)
    line = await bot.wait_output(LISTENING)
    return bot, line.split(LISTENING, 1)[1].split()[0].rstrip(".")


async def _post(http: aiohttp.ClientSession, url: str, body: str, content_type: str) -> int:
    headers = {**signature_headers(body), "Content-Type": content_type}
    async with http.post(url, data=body.encode(), headers=headers) as response:
        return response.status


async def _command(http: aiohttp.ClientSession, url: str, fake: FakeSlack, text: str) -> None:
    form = {
        "team_id": TEAM,
        "user_id": ANN,
        "channel_id": "C0001",
        "command": "/breakthrough",
        "text": text,
        "response_url": fake.response_url(),
        "trigger_id": uuid.uuid4().hex,
    }
    assert await _post(http, url, urlencode(form), "application/x-www-form-urlencoded") == 200


async def _answer(http: aiohttp.ClientSession, url: str, text: str, thread_ts: str) -> None:
    event = {
        "type": "message",
        "user": ANN,
        "text": text,
        "ts": f"{time.time():.6f}",
        "channel": "C0001",
        "channel_type": "channel",
        "team": TEAM,
        "thread_ts": thread_ts,
    }
    body = {
        "team_id": TEAM,
        "api_app_id": "A0001",
        "event": event,
        "type": "event_callback",
        "event_id": f"Ev{uuid.uuid4().hex[:10]}",
        "event_time": int(time.time()),
    }
    assert await _post(http, url, json.dumps(body), "application/json") == 200


_PROBE_WAIT = 1.0
"""Seconds one probe of :func:`_refused` waits for an answer before it tries again."""


async def _refused(url: str) -> None:
    """Wait until the bot's port refuses connections: it has stopped taking requests.

    The probe is unsigned, so while the port still listens it is answered 401 and does
    nothing; Slack, refused, retries the event later (at another replica).

    Each probe waits at most :data:`_PROBE_WAIT`: a connection accepted in the instant
    the bot stops listening can be left open and unanswered until the bot's garbage
    collector runs (an asyncio bug, cpython gh-109564, still open). Waiting on it, the
    test never released the held delivery, and the bot's 25 s grace ran out (exit 1).
    """
    deadline = time.monotonic() + 5
    while True:
        try:
            async with (
                asyncio.timeout(_PROBE_WAIT),
                aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as fresh,
                fresh.post(url, data=b"{}", headers={"Content-Type": "application/json"}),
            ):
                pass
        except TimeoutError:
            pass  # not answered, so not taken: ask again
        except aiohttp.ClientConnectionError:
            return
        assert time.monotonic() < deadline, "the bot still takes requests after SIGTERM"
        await asyncio.sleep(0.01)


async def _due_notice(db_url: str, key: str, text: str) -> None:
    """A one-off nudge to Ann, due a minute ago (quiet hours off: the test runs any time)."""
    store = await SqlStore.open(db_url)
    try:
        nudges = SqlNudgeStore(store)
        now = datetime.now(UTC)
        prefs = Preferences(owner=ANN_KEY, quiet_start=None, quiet_end=None)
        await nudges.save_preferences(prefs, now=now)
        draft = NudgeDraft(
            key=key,
            kind="notice",
            owner=ANN_KEY,
            target=key,
            due_at=now - timedelta(minutes=1),
            tz="Europe/London",
            payload={"text": text},
        )
        assert await nudges.add_nudges([draft], now=now) == 1
    finally:
        await store.close()


async def _nudges(db_url: str) -> list[NudgeRecord]:
    store = await SqlStore.open(db_url)
    try:
        return await SqlNudgeStore(store).list_nudges()
    finally:
        await store.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _sqlite(tmp_path: Path) -> str:
    """For the tests of the signals and the grace: they behave the same on any database
    (giving claims back is tested on both in test_dispatcher)."""
    return f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"


def _dms(fake: FakeSlack) -> list[str]:
    return [message_text(c) for c in fake.posted() if str(c.args.get("channel")).startswith("D")]


def _thread(fake: FakeSlack, ts: str) -> list[Call]:
    return [c for c in fake.posted() if c.args.get("thread_ts") == ts]


async def test_a_turn_under_way_finishes_once_and_later_requests_are_refused(
    database_url: str, tmp_path: Path
) -> None:
    async with FakeSlack(team_id=TEAM, users=USERS) as fake, aiohttp.ClientSession() as http:
        env = _env(tmp_path, database_url, fake)
        bot, url = await _slack(env)
        try:
            await _command(http, url, fake, "plan Launch the beta")
            root = (await fake.wait_posted(2))[0]
            thread = str(root.response["ts"])
            fake.hold("chat.postMessage")
            await _answer(http, url, "the beta ships on time", thread)
            await fake.wait_for(lambda: len(fake.waiting) == 1)  # the reply is on its way
            bot.signal()
            await _refused(url)
            assert bot.running  # still finishing the turn
            fake.release("chat.postMessage")
            assert await bot.exit_code() == 0, bot.output
        finally:
            fake.release("chat.postMessage")
            await bot.kill()
        _, reply = _thread(fake, thread)  # the question, and the reply: posted once
        assert "the beta ships on time" in message_text(reply).lower()

        store = await SqlStore.open(database_url)
        try:
            [session] = await store.list_sessions(owner=ANN_KEY)
            assert "the beta ships on time" in json.dumps(
                SessionState.from_json(session.state).answers
            )
        finally:
            await store.close()

        # Restarted, the session goes on from the question that was asked.
        bot, url = await _slack(env)
        try:
            await _answer(http, url, "customers can sign up", thread)
            await fake.wait_for(lambda: len(_thread(fake, thread)) == 3)
            bot.signal()
            assert await bot.exit_code() == 0, bot.output
        finally:
            await bot.kill()
        after_restart = message_text(_thread(fake, thread)[2])
        assert "Customers can sign up." in after_restart
        assert "“the beta ships on time”" in after_restart  # what was answered before
        assert len(fake.posted()) == 4  # root, and three questions: nothing sent twice


async def test_a_nudge_under_way_is_sent_once_and_recorded_as_sent(
    database_url: str, tmp_path: Path
) -> None:
    await _due_notice(database_url, "notice:first", "Your partner said yes.")
    async with FakeSlack(team_id=TEAM, users=USERS) as fake, aiohttp.ClientSession() as http:
        metrics = _free_port()
        readyz = f"http://127.0.0.1:{metrics}/readyz"
        env = _env(
            tmp_path,
            database_url,
            fake,
            BREAKTHROUGH_METRICS_HOST="127.0.0.1",
            BREAKTHROUGH_METRICS_PORT=str(metrics),
        )
        fake.hold("chat.postMessage")
        bot, url = await _slack(env)
        try:
            await fake.wait_for(lambda: len(fake.waiting) == 1)
            async with http.get(readyz) as ready:
                assert ready.status == 200, await ready.text()
            bot.signal()
            await _refused(url)
            assert bot.running  # still delivering
            async with http.get(readyz) as ready:  # the load balancer sends no more work
                assert ready.status == 503
                assert (await ready.json())["checks"]["shutdown"] == "shutting down"
            fake.release("chat.postMessage")
            assert await bot.exit_code() == 0, bot.output
        finally:
            fake.release("chat.postMessage")
            await bot.kill()
        assert _dms(fake) == ["Your partner said yes."]
        [row] = await _nudges(database_url)
        assert (row.status, row.claim_until) == ("sent", None)

        # Restarted, it sends what is due now, and never the first one again.
        await _due_notice(database_url, "notice:second", "Your plan is one week old.")
        bot, _ = await _slack(env)
        try:
            await fake.wait_for(lambda: len(_dms(fake)) == 2)
            bot.signal()
            assert await bot.exit_code() == 0, bot.output
        finally:
            await bot.kill()
        assert _dms(fake) == ["Your partner said yes.", "Your plan is one week old."]
        rows = await _nudges(database_url)
        assert [(n.status, n.claim_until) for n in rows] == [("sent", None)] * 2


async def test_when_the_grace_runs_out_the_delivery_is_cut_and_released(tmp_path: Path) -> None:
    db_url = _sqlite(tmp_path)
    await _due_notice(db_url, "notice:first", "Your partner said yes.")
    async with FakeSlack(team_id=TEAM, users=USERS) as fake:
        env = _env(tmp_path, db_url, fake, BREAKTHROUGH_SHUTDOWN_GRACE_SECONDS="0.5")
        fake.hold("chat.postMessage")
        bot, _ = await _slack(env)
        try:
            await fake.wait_for(lambda: len(fake.waiting) == 1)
            bot.signal()
            started = time.monotonic()
            assert await bot.exit_code() == 1, bot.output
            assert time.monotonic() - started < 5
        finally:
            fake.release("chat.postMessage")
            await bot.kill()
        assert "grace of 0.5 s ran out" in bot.output
        assert "0 turn(s) and 1 nudge delivery(ies)" in bot.output
        [row] = await _nudges(db_url)
        assert (row.status, row.claimed_by) == ("pending", None)  # the next start sends it


async def test_a_second_signal_stops_at_once(tmp_path: Path) -> None:
    db_url = _sqlite(tmp_path)
    await _due_notice(db_url, "notice:first", "Your partner said yes.")
    async with FakeSlack(team_id=TEAM, users=USERS) as fake:
        env = _env(tmp_path, db_url, fake)  # the default grace: 25 s
        fake.hold("chat.postMessage")
        bot, _ = await _slack(env)
        try:
            await fake.wait_for(lambda: len(fake.waiting) == 1)
            bot.signal()
            await bot.wait_output("Stopping (SIGTERM)")
            bot.signal()
            started = time.monotonic()
            assert await bot.exit_code() == 1, bot.output
            assert time.monotonic() - started < 5
        finally:
            fake.release("chat.postMessage")
            await bot.kill()
        assert "a second stop signal came" in bot.output
        [row] = await _nudges(db_url)
        assert (row.status, row.claimed_by) == ("pending", None)


async def test_the_probe_of_a_stopped_port_moves_past_a_connection_left_unanswered() -> None:
    """What the bot's event loop may do to a connection in the instant it stops listening
    (see :func:`_refused`): accept it, then neither answer nor close it."""
    release = asyncio.Event()
    accepted = asyncio.Event()

    async def hold(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.set()
        await release.wait()
        writer.close()

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]

    async def stop_listening() -> None:
        await accepted.wait()
        server.close()  # the connection accepted stays open

    stopping = asyncio.create_task(stop_listening())
    try:
        async with asyncio.timeout(_PROBE_WAIT + 3):
            await _refused(f"http://127.0.0.1:{port}/slack/events")
        assert accepted.is_set()
    finally:
        release.set()
        await stopping
        await server.wait_closed()
