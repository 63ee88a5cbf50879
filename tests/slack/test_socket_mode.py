"""Socket Mode: the same bot, reached over Slack's WebSocket instead of signed HTTP.

``SlackService`` connects with the app token (``apps.connections.open`` on the fake, then
its ``/socket``), and the fake sends envelopes as Slack would: slash commands, Events API
callbacks (retries included) and interactive payloads. Every envelope must be acked
quickly, and worked on afterwards.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from core.testing import FakeClock
from tests.databases import Database
from tests.slack.fake_slack import Call, FakeSlack
from tests.slack.rig import ANN, TEAM, USERS, SlackRig, message_text, open_rig

CHANNEL = "C0001"
ACK_WITHIN = 3.0  # seconds: Slack's limit before it retries


@pytest.fixture
async def socket_rig(
    database: Database, tmp_path: Path, clock: FakeClock
) -> AsyncIterator[SlackRig]:
    """The Slack bot in Socket Mode, connected to a fake Slack, on SQLite and PostgreSQL."""
    fake = FakeSlack(team_id=TEAM, users=USERS)
    await fake.start()
    try:
        rig = await open_rig(
            database,
            tmp_path,
            clock,
            fake=fake,
            app_token=fake.app_token,
            signing_secret=None,  # Socket Mode requests are not signed
        )
    except BaseException:
        await fake.close()
        raise
    rig.owns_fake = True
    try:
        await fake.socket_connected()
        yield rig
    finally:
        await rig.close()


def command_payload(fake: FakeSlack, text: str, *, user: str = ANN) -> dict[str, Any]:
    """A slash command as Socket Mode delivers it: the HTTP form, as a JSON object."""
    return {
        "token": "legacy",
        "team_id": TEAM,
        "team_domain": "fake",
        "channel_id": CHANNEL,
        "channel_name": "general",
        "user_id": user,
        "user_name": user.lower(),
        "command": "/breakthrough",
        "text": text,
        "api_app_id": "A0001",
        "is_enterprise_install": "false",
        "response_url": fake.response_url(),
        "trigger_id": uuid.uuid4().hex,
    }


def message_payload(text: str, *, thread_ts: str, event_id: str, user: str = ANN) -> dict[str, Any]:
    """An ``event_callback`` with a person's message in a thread."""
    return {
        "token": "legacy",
        "team_id": TEAM,
        "api_app_id": "A0001",
        "event": {
            "type": "message",
            "user": user,
            "text": text,
            "ts": f"{time.time():.6f}",
            "thread_ts": thread_ts,
            "channel": CHANNEL,
            "channel_type": "channel",
            "team": TEAM,
        },
        "type": "event_callback",
        "event_id": event_id,
        "event_time": int(time.time()),
        "authorizations": [{"team_id": TEAM, "user_id": "UBOT", "is_bot": True}],
    }


def button_payload(
    fake: FakeSlack, message: Call, label: str, *, user: str = ANN
) -> dict[str, Any]:
    """``block_actions`` for pressing the button labelled ``label`` on ``message``."""
    for block in message.args.get("blocks") or ():
        for element in block.get("elements", ()):
            if element.get("type") == "button" and element["text"]["text"] == label:
                break
        else:
            continue
        break
    else:
        raise AssertionError(f"no button {label!r} in {message}")
    posted = message.response["message"]
    return {
        "type": "block_actions",
        "team": {"id": TEAM, "domain": "fake"},
        "user": {"id": user, "username": user.lower(), "team_id": TEAM},
        "api_app_id": "A0001",
        "token": "legacy",
        "container": {
            "type": "message",
            "message_ts": posted["ts"],
            "channel_id": CHANNEL,
            "is_ephemeral": False,
            "thread_ts": posted["thread_ts"],
        },
        "trigger_id": uuid.uuid4().hex,
        "channel": {"id": CHANNEL, "name": "general"},
        "message": posted,
        "response_url": fake.response_url(),
        "actions": [
            {
                "type": "button",
                "action_id": element["action_id"],
                "block_id": block.get("block_id") or "b1",
                "value": element.get("value"),
                "text": element["text"],
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }


async def send_acked(
    fake: FakeSlack, kind: str, payload: dict[str, Any], **options: Any
) -> tuple[str, float]:
    """Send an envelope; wait for its ack; return its id and how long the ack took."""
    sent = time.monotonic()
    envelope_id = await fake.send_envelope(kind, payload, **options)
    await fake.wait_ack(envelope_id, timeout=ACK_WITHIN + 2)
    return envelope_id, fake.acks[envelope_id][0] - sent


async def thread_grows(rig: SlackRig, ts: str, n: int) -> list[Call]:
    """Wait until the bot has posted ``n`` messages in the thread and is idle again."""
    await rig.fake.wait_for(lambda: len(rig.thread(CHANNEL, ts)) >= n)
    await rig.settle()
    return rig.thread(CHANNEL, ts)


async def start_plan(rig: SlackRig, topic: str) -> str:
    _, took = await send_acked(
        rig.fake, "slash_commands", command_payload(rig.fake, f"plan {topic}")
    )
    assert took < ACK_WITHIN
    await rig.fake.wait_for(lambda: len(rig.roots(CHANNEL)) == 1)
    ts = str(rig.roots(CHANNEL)[0].response["ts"])
    await thread_grows(rig, ts, 1)
    return ts


async def test_connects_with_the_app_token(socket_rig: SlackRig) -> None:
    (connect,) = socket_rig.fake.calls_to("apps.connections.open")
    assert connect.ok
    assert connect.token == socket_rig.fake.app_token
    assert socket_rig.fake.connections == 1
    assert socket_rig.url == ""


async def test_a_slash_command_is_acked_at_once_and_starts_a_plan(socket_rig: SlackRig) -> None:
    fake = socket_rig.fake
    payload = command_payload(fake, "plan Launch the beta")
    envelope_id, took = await send_acked(fake, "slash_commands", payload)
    assert took < ACK_WITHIN
    assert fake.acks[envelope_id][1]["envelope_id"] == envelope_id

    await fake.wait_for(lambda: len(socket_rig.roots(CHANNEL)) == 1)
    (root,) = socket_rig.roots(CHANNEL)
    assert root.args["text"] == (
        "<@UANN> started a PLAN session. I'll ask the questions in this thread."
    )
    (first,) = await thread_grows(socket_rig, str(root.response["ts"]), 1)
    assert "What would you like to happen in this situation?" in message_text(first)
    (session,) = await socket_rig.runtime.store.list_sessions()
    assert session.topic == "Launch the beta"
    assert fake.responses_to(payload["response_url"]) == []  # nothing to say privately
    assert socket_rig.service.bot.failures == 0


async def test_a_slash_command_answers_privately_on_its_response_url(
    socket_rig: SlackRig,
) -> None:
    fake = socket_rig.fake
    payload = command_payload(fake, "dance")
    await send_acked(fake, "slash_commands", payload)
    await fake.wait_for(lambda: len(fake.responses_to(payload["response_url"])) == 1)
    (response,) = fake.responses_to(payload["response_url"])
    assert response["response_type"] == "ephemeral"
    assert response["text"].startswith("I don't know “dance”.")
    assert fake.posted() == []


async def test_a_thread_message_answers_and_a_retried_event_is_not_handled_twice(
    socket_rig: SlackRig,
) -> None:
    fake = socket_rig.fake
    ts = await start_plan(socket_rig, "Launch the beta")

    event_id = f"Ev{uuid.uuid4().hex[:10]}"
    first = message_payload("I want the beta launched by March", thread_ts=ts, event_id=event_id)
    _, took = await send_acked(fake, "events_api", first)
    assert took < ACK_WITHIN
    thread = await thread_grows(socket_rig, ts, 2)
    assert "And what needs to happen for “the beta launched by March” to happen?" in (
        message_text(thread[-1])
    )

    # Slack did not see the ack in time and sends the same event again.
    _, took = await send_acked(fake, "events_api", first, retry_attempt=1, retry_reason="timeout")
    assert took < ACK_WITHIN
    # A later, new message is answered; only then is the thread read: had the retry been
    # handled too, its reply would be there by now.
    second = message_payload("A landing page", thread_ts=ts, event_id=f"Ev{uuid.uuid4().hex[:10]}")
    await send_acked(fake, "events_api", second)
    thread = await thread_grows(socket_rig, ts, 3)
    assert len(thread) == 3, [message_text(c) for c in thread]
    assert message_text(thread[-1]).startswith("A landing page. And what else needs to happen")
    (session,) = await socket_rig.runtime.store.list_sessions()
    assert session.state["answers"]["outcome"] == "I want the beta launched by March"
    assert socket_rig.service.bot.failures == 0


async def test_a_button_press_arrives_as_an_interactive_envelope(socket_rig: SlackRig) -> None:
    fake = socket_rig.fake
    ts = await start_plan(socket_rig, "Launch the beta")
    for n, text in enumerate(["I want the beta", "Fix the login bug", "nothing else"], 2):
        payload = message_payload(text, thread_ts=ts, event_id=f"Ev{uuid.uuid4().hex[:10]}")
        await send_acked(fake, "events_api", payload)
        thread = await thread_grows(socket_rig, ts, n)
    question = thread[-1]
    assert "What needs to happen first" in message_text(question)
    assert "1) Fix the login bug" in message_text(question)

    _, took = await send_acked(
        fake, "interactive", button_payload(fake, question, "Fix the login bug")
    )
    assert took < ACK_WITHIN
    thread = await thread_grows(socket_rig, ts, len(thread) + 1)
    assert message_text(thread[-1]) == (
        "What challenges are there in this first step, “Fix the login bug”?"
    )
    assert socket_rig.service.bot.failures == 0
