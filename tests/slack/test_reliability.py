"""Slack's reliability and security rules, one test each, through the real Bolt app."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from pathlib import Path
from typing import Any

from adapters.slack.app import NOT_IN_CHANNEL
from core.dialogue.coach import TurnResult
from core.dialogue.events import Inbound
from core.schedule.pacing import Pacer, Rate
from core.testing import FakeClock
from tests.databases import Database
from tests.slack.fake_slack import FakeSlack
from tests.slack.rig import (
    ANN,
    TEAM,
    USERS,
    SlackRig,
    element_ids,
    message_text,
    open_rig,
    signature_headers,
)


async def _start_plan(rig: SlackRig, channel: str = "C0001") -> str:
    await rig.command("plan Launch the beta", channel=channel)
    return str(rig.roots(channel)[-1].response["ts"])


async def test_a_slow_turn_is_acknowledged_at_once_and_answered_later(rig: SlackRig) -> None:
    gate = asyncio.Event()
    handle = rig.service.bot.coach.handle

    async def slow_handle(inbound: Inbound, **kwargs: Any) -> TurnResult:
        await gate.wait()  # the turn takes as long as the test says
        return await handle(inbound, **kwargs)

    rig.service.bot.coach.handle = slow_handle  # type: ignore[method-assign]
    form = "team_id=T0001&user_id=UANN&channel_id=C0001&command=%2Fbreakthrough&text=plan+x"
    form += f"&response_url={rig.fake.response_url()}"
    try:
        status, _, elapsed = await rig.post(form, "application/x-www-form-urlencoded")
        assert status == 200
        assert elapsed < 1.0  # acknowledged while the turn is still blocked
        (root,) = await rig.fake.wait_posted(1)  # the root goes out; the turn is held
        for _ in range(20):  # let the held turn run as far as it can, without a real wait
            await asyncio.sleep(0)
        assert not rig.thread("C0001", str(root.response["ts"]))
    finally:
        gate.set()  # never leave the turn blocked, or closing the rig would wait forever
    await rig.settle()
    (question,) = rig.thread("C0001", str(rig.roots("C0001")[0].response["ts"]))
    assert "What would you like to happen" in message_text(question)


async def test_a_retried_event_is_handled_once_across_replicas(
    database: Database, tmp_path: Path, clock: FakeClock
) -> None:
    """Two replicas on one database, the retry reaching the other one: one reply."""
    fake = FakeSlack(team_id=TEAM, users=USERS)
    await fake.start()
    rigs = []
    try:
        for n in range(2):
            rigs.append(await open_rig(database, tmp_path / str(n), clock, fake=fake))
        first, second = rigs
        ts = await _start_plan(first)
        before = len(fake.posted())
        event = {
            "type": "message",
            "user": ANN,
            "text": "I want the beta out",
            "ts": "1800000000.000100",
            "channel": "C0001",
            "channel_type": "channel",
            "thread_ts": ts,
        }
        assert await first.event(event, event_id="Ev0RETRY") == 200
        assert await second.event(event, event_id="Ev0RETRY", retry_num=1) == 200
        assert await first.event(event, event_id="Ev0RETRY", retry_num=2) == 200
        assert len(fake.posted()) == before + 1
        (session,) = await first.runtime.store.list_sessions()
        assert list(session.state["answers"].values()) == ["I want the beta out"]
    finally:
        for rig in rigs:
            await rig.close()
        await fake.close()


async def test_bad_or_stale_signatures_get_401_and_touch_nothing(rig: SlackRig) -> None:
    body = json.dumps(
        {
            "type": "event_callback",
            "team_id": TEAM,
            "event_id": "Ev0SIGNED",
            "event": {"type": "app_home_opened", "user": ANN, "tab": "home"},
        }
    )
    forged = signature_headers(body, secret="not-the-secret")
    stale = signature_headers(body, timestamp=int(time.time()) - 600)
    for headers in (forged, stale, {"X-Slack-Request-Timestamp": str(int(time.time()))}):
        async with rig.http.post(
            rig.url, data=body, headers={**headers, "Content-Type": "application/json"}
        ) as response:
            assert response.status == 401
    await rig.settle()
    assert rig.fake.calls == []
    async with rig.runtime.store.connection() as conn:
        seen = (await conn.exec_driver_sql("SELECT count(*) FROM inbound_events")).scalar()
    assert seen == 0  # not even marked as seen: the real event may still come


async def test_a_persons_words_never_ping_anyone(rig: SlackRig) -> None:
    ts = await _start_plan(rig)
    await rig.say("I want <!channel> <!here> <!everyone> <@U999> @here told", thread_ts=ts)
    (echo,) = rig.thread("C0001", ts)[-1:]
    raw = json.dumps(echo.args["blocks"]) + echo.args["text"]
    for ping in ("<!channel>", "<!here>", "<!everyone>", "<@U999>"):
        assert ping not in raw
    assert "&lt;!channel&gt;" in raw
    assert "<!channel> <!here> <!everyone> <@U999> @here" in message_text(echo)


async def test_a_429_is_waited_out_and_the_reply_still_arrives(rig: SlackRig) -> None:
    ts = await _start_plan(rig)
    rig.fake.fail_next("chat.postMessage", status=429, retry_after=1)
    started = time.monotonic()
    await rig.say("I want the beta out", thread_ts=ts)
    attempts = [c for c in rig.fake.calls_to("chat.postMessage") if c.args.get("thread_ts") == ts]
    assert [c.status for c in attempts[-2:]] == [429, 200]
    assert attempts[-1].at - attempts[-2].at >= 0.95  # after Retry-After, not before
    assert time.monotonic() - started < 5
    assert "the beta out" in message_text(rig.thread("C0001", ts)[-1])


async def test_posts_are_paced_per_channel(
    database: Database, tmp_path: Path, clock: FakeClock
) -> None:
    pacer = Pacer(per_destination=Rate(per_second=20.0, burst=1), per_workspace=None)
    rig = await open_rig(database, tmp_path, clock, pacing=True)
    rig.service.messenger.pacer = pacer
    try:
        await asyncio.gather(*(rig.command("plan x", channel="C0001") for _ in range(4)))
        await rig.settle()
        times = [c.at for c in rig.fake.posted() if c.args["channel"] == "C0001"]
        assert len(times) == 8  # four roots, four first questions
        # 20 a second, one at a time: 8 posts span at least 7 intervals of 50 ms (arrival
        # times jitter by a few ms on a busy machine, so the bound has a margin).
        assert times[-1] - times[0] >= 7 * 0.05 * 0.9
        assert min(b - a for a, b in itertools.pairwise(times)) >= 0.025
    finally:
        await rig.close()


async def test_a_channel_the_bot_is_not_in_gets_an_ephemeral_explanation(rig: SlackRig) -> None:
    rig.fake.not_in_channel.add("C0PRIVATE")
    url = await rig.command("plan Secret plan", channel="C0PRIVATE")
    (reply,) = rig.fake.responses_to(url)
    assert reply["response_type"] == "ephemeral"
    assert reply["text"] == NOT_IN_CHANNEL.replace("&", "&amp;")
    assert await rig.runtime.store.list_sessions() == []


async def test_own_and_other_bots_messages_are_ignored(rig: SlackRig) -> None:
    ts = await _start_plan(rig)
    before = len(rig.fake.calls)
    bot_message: dict[str, Any] = {"bot_id": "BOTHER", "subtype": "bot_message"}
    await rig.say("I want noise", thread_ts=ts, **bot_message)
    await rig.say("I want echo", user="UBOT", thread_ts=ts, bot_id="BBOT")
    await rig.say("edited", thread_ts=ts, subtype="message_changed")
    assert len(rig.fake.calls) == before
    (session,) = await rig.runtime.store.list_sessions()
    assert session.state["answers"] == {}


async def test_a_date_question_takes_the_date_picker(rig: SlackRig) -> None:
    """The whole plan up to its first date, then a date picked instead of typed."""
    ts = await _start_plan(rig)
    # Outcome, one step, "nothing else", that step first, its challenge, motivated.
    for answer in ("I want the beta out", "Fix the login bug", "nothing else", "1"):
        await rig.say(answer, thread_ts=ts)
    await rig.say("Finding the time", thread_ts=ts)
    await rig.say("1", thread_ts=ts)
    last = rig.thread("C0001", ts)[-1]
    assert "When will you have it done?" in message_text(last)
    (picker,) = element_ids(last, "datepicker")
    await rig.click(last, picker, selected_date="2026-11-25")
    assert "Wednesday 25 November" in message_text(rig.thread("C0001", ts)[-1])


async def test_another_persons_button_press_changes_nothing(rig: SlackRig) -> None:
    ts = await _start_plan(rig)
    for answer in ("I want the beta out", "Fix the login bug", "Hire", "nothing else"):
        await rig.say(answer, thread_ts=ts)
    last = rig.thread("C0001", ts)[-1]
    first_button = element_ids(last)[0]
    (before,) = await rig.runtime.store.list_sessions()
    url = await rig.click(last, first_button, user="UBEN")
    (reply,) = rig.fake.responses_to(url)
    assert "someone else's session" in reply["text"]
    (after,) = await rig.runtime.store.list_sessions()
    assert after.state == before.state


async def test_an_archived_channel_is_named_as_the_reason(rig: SlackRig) -> None:
    rig.fake.archived.add("C0OLD")
    url = await rig.command("plan Old plans", channel="C0OLD")
    (reply,) = rig.fake.responses_to(url)
    assert "is_archived" in reply["text"]
    assert "Nothing was started" in reply["text"]
    assert await rig.runtime.store.list_sessions() == []
