"""The Slack test rig: our real Bolt app over real HTTP, talking to :class:`FakeSlack`.

``SlackRig.open`` builds :class:`~bots.slack.SlackService` exactly as ``breakthrough slack``
does, with ``SLACK_API_URL`` pointing at the fake, serves it on 127.0.0.1, and sends it
requests signed with the signing secret the way Slack signs them. What the bot posted is
read back from the fake and turned into the neutral text of
:func:`core.testing.intent_text`, so a transcript's expectations hold for every adapter.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp

from adapters.slack.escape import unescape
from bots.runtime import Runtime
from bots.settings import Settings
from bots.slack import SlackConfig, SlackService
from core.store.repository import SqlStore
from core.telemetry import NO_TELEMETRY, Telemetry
from core.testing import FakeClock
from tests.databases import Database
from tests.slack.fake_slack import Call, FakeSlack

SIGNING_SECRET = "test-signing-secret"
BOT_TOKEN = "xoxb-test-token"
TEAM = "T0001"
ANN = "UANN"
BEN = "UBEN"
USERS: dict[str, dict[str, Any]] = {
    ANN: {"real_name": "Ann", "tz": "Europe/London"},
    BEN: {"real_name": "Ben", "tz": "America/New_York"},
}


_CHECKLIST_LINE = re.compile(r"[☐☑] (?P<step>.*?)(?: — due (?P<due>.*))?", re.DOTALL)


def signature_headers(
    body: str, *, secret: str = SIGNING_SECRET, timestamp: int | None = None
) -> dict[str, str]:
    """The headers Slack adds: ``v0=HMAC-SHA256(secret, "v0:<ts>:<body>")``."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


def message_text(call: Call) -> str:
    """One posted message as neutral text: sections and hints, then ``n) label`` choices."""
    return "\n".join(message_pieces(call))


def message_pieces(call: Call) -> list[str]:
    """One posted message as neutral text, a piece per section with the hints and
    choices after it: roughly one piece per intent the message was rendered from."""
    blocks = call.args.get("blocks")
    if not blocks:
        return [unescape(str(call.args.get("text") or ""))]
    pieces: list[list[str]] = []
    step = 0
    for block in blocks:
        if block["type"] == "section":
            text = unescape(block["text"]["text"])
            checklist = _CHECKLIST_LINE.fullmatch(text)
            if checklist is not None:  # a plan step: shown as the neutral "n. step (by date)"
                step += 1
                due = f" (by {checklist['due']})" if checklist["due"] else ""
                line = f"{step}. {checklist['step']}{due}"
                if pieces:
                    pieces[-1].append(line)  # in the piece of the plan's title
                else:
                    pieces.append([line])
                continue
            step = 0
            pieces.append([text])
            continue
        if not pieces:
            pieces.append([])
        if block["type"] == "context":
            pieces[-1].extend(unescape(e["text"]) for e in block["elements"])
        elif block["type"] == "actions":
            buttons = [e for e in block["elements"] if e["type"] == "button"]
            for n, button in enumerate(buttons, 1):
                pieces[-1].append(f"{n}) {unescape(button['text']['text'])}")
    return ["\n".join(piece) for piece in pieces if piece]


def slack_encoded(text: str) -> str:
    """``text`` as Slack sends it to a bot: ``&``, ``<`` and ``>`` entity-encoded."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def element_ids(message: Call, kind: str = "button") -> list[str]:
    """The ``action_id`` of every element of type ``kind`` in a posted message, in order."""
    return [
        str(e["action_id"])
        for b in message.args.get("blocks") or ()
        if b["type"] == "actions"
        for e in b["elements"]
        if e["type"] == kind
    ]


def button(message: Call, label: str) -> str:
    """The ``action_id`` of the button labelled ``label`` in a posted message."""
    for block in message.args.get("blocks") or ():
        for element in block.get("elements", ()):
            if element["type"] == "button" and element["text"]["text"] == label:
                return str(element["action_id"])
    raise AssertionError(f"no {label!r} button in {message_text(message)}")


@dataclass
class SlackRig:
    """One bot on one database, one fake Slack, and helpers to act as people."""

    fake: FakeSlack
    runtime: Runtime
    service: SlackService
    clock: FakeClock
    http: aiohttp.ClientSession
    url: str
    owns_fake: bool = True
    statuses: list[int] = field(default_factory=list)

    @classmethod
    async def open(
        cls,
        *,
        database_url: str,
        tmp_path: Path,
        clock: FakeClock,
        store: SqlStore | None = None,
        fake: FakeSlack | None = None,
        telemetry: Telemetry = NO_TELEMETRY,
        **config: Any,
    ) -> SlackRig:
        owns_fake = fake is None
        if fake is None:
            fake = FakeSlack(team_id=TEAM, users=USERS)
            await fake.start()
        settings = Settings(database_url=database_url, data_dir=tmp_path, tz="Europe/London")
        runtime = await Runtime.open(settings, clock=clock, store=store, telemetry=telemetry)
        options: dict[str, Any] = {
            "bot_token": BOT_TOKEN,
            "signing_secret": SIGNING_SECRET,
            "api_url": fake.api_url,
            "pacing": False,
        }
        options.update(config)
        service = await SlackService.build(runtime, SlackConfig(**options))
        await service.serve(host="127.0.0.1", port=0)
        url = (
            f"http://127.0.0.1:{service.port}/slack/events"
            if not service.config.socket_mode
            else ""
        )
        return cls(
            fake=fake,
            runtime=runtime,
            service=service,
            clock=clock,
            http=aiohttp.ClientSession(),
            url=url,
            owns_fake=owns_fake,
        )

    async def close(self) -> None:
        await self.http.close()
        await self.service.close()
        await self.runtime.close()
        if self.owns_fake:
            await self.fake.close()

    # -- requests ------------------------------------------------------------------------

    async def post(
        self, body: str, content_type: str, *, headers: dict[str, str] | None = None
    ) -> tuple[int, str, float]:
        """POST a signed request; return status, body text and seconds to the answer."""
        signed = {**signature_headers(body), "Content-Type": content_type, **(headers or {})}
        started = time.perf_counter()
        async with self.http.post(self.url, data=body.encode(), headers=signed) as response:
            text = await response.text()
            elapsed = time.perf_counter() - started
        self.statuses.append(response.status)
        return response.status, text, elapsed

    async def command(
        self, text: str, *, user: str = ANN, channel: str = "C0001", settle: bool = True
    ) -> str:
        """``/breakthrough <text>``; returns the response_url the bot may answer on."""
        response_url = self.fake.response_url()
        form = {
            "token": "legacy",
            "team_id": TEAM,
            "team_domain": "fake",
            "channel_id": channel,
            "channel_name": "general",
            "user_id": user,
            "user_name": user.lower(),
            "command": "/breakthrough",
            "text": slack_encoded(text),
            "api_app_id": "A0001",
            "response_url": response_url,
            "trigger_id": uuid.uuid4().hex,
        }
        status, _, _ = await self.post(urlencode(form), "application/x-www-form-urlencoded")
        assert status == 200
        if settle:
            await self.settle()
        return response_url

    async def event(
        self,
        event: dict[str, Any],
        *,
        event_id: str | None = None,
        retry_num: int | None = None,
        settle: bool = True,
    ) -> int:
        body = json.dumps(
            {
                "token": "legacy",
                "team_id": TEAM,
                "api_app_id": "A0001",
                "event": event,
                "type": "event_callback",
                "event_id": event_id or f"Ev{uuid.uuid4().hex[:10]}",
                "event_time": int(time.time()),
                "authorizations": [{"team_id": TEAM, "user_id": "UBOT", "is_bot": True}],
            }
        )
        headers = {}
        if retry_num is not None:
            headers = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"}
        status, _, _ = await self.post(body, "application/json", headers=headers)
        if settle:
            await self.settle()
        return status

    async def say(
        self,
        text: str,
        *,
        user: str = ANN,
        channel: str = "C0001",
        thread_ts: str | None = None,
        channel_type: str = "channel",
        **extra: Any,
    ) -> int:
        """A person writes ``text`` (in a thread when ``thread_ts`` is given)."""
        self.clock.advance(timedelta(seconds=30))
        event: dict[str, Any] = {
            "type": "message",
            "user": user,
            "text": slack_encoded(text),
            "ts": f"{time.time():.6f}",
            "channel": channel,
            "channel_type": channel_type,
            "team": TEAM,
            **extra,
        }
        if thread_ts is not None:
            event["thread_ts"] = thread_ts
        return await self.event(event)

    async def click(
        self,
        message: Call,
        action_id: str,
        *,
        user: str = ANN,
        value: str | None = None,
        selected_date: str | None = None,
    ) -> str:
        """Press the element ``action_id`` of a posted ``message``; return the response_url."""
        self.clock.advance(timedelta(seconds=30))
        element, block_id = _find_element(message, action_id)
        action: dict[str, Any] = {
            "type": element["type"],
            "action_id": action_id,
            "block_id": block_id,
            "action_ts": f"{time.time():.6f}",
        }
        if element["type"] == "button":
            action["value"] = element.get("value") if value is None else value
            action["text"] = element["text"]
        if selected_date is not None:
            action["selected_date"] = selected_date
        channel = str(message.response.get("channel"))
        posted = message.response.get("message") or {}
        response_url = self.fake.response_url()
        payload = {
            "type": "block_actions",
            "team": {"id": TEAM, "domain": "fake"},
            "user": {"id": user, "username": user.lower(), "team_id": TEAM},
            "api_app_id": "A0001",
            "token": "legacy",
            "container": {
                "type": "message",
                "message_ts": posted.get("ts"),
                "channel_id": channel,
                "is_ephemeral": False,
                **({"thread_ts": posted["thread_ts"]} if posted.get("thread_ts") else {}),
            },
            "trigger_id": uuid.uuid4().hex,
            "channel": {"id": channel, "name": "general"},
            "message": posted,
            "response_url": response_url,
            "actions": [action],
        }
        body = urlencode({"payload": json.dumps(payload)})
        status, _, _ = await self.post(body, "application/x-www-form-urlencoded")
        assert status == 200
        await self.settle()
        return response_url

    async def settle(self) -> None:
        """Wait until the bot has handled everything it acknowledged."""
        await self.service.bot.idle()

    # -- reading what the bot posted -----------------------------------------------------

    def thread(self, channel: str, thread_ts: str) -> list[Call]:
        """The bot's messages in a thread, in order."""
        return [
            c
            for c in self.fake.posted()
            if c.args.get("channel") == channel and c.args.get("thread_ts") == thread_ts
        ]

    def roots(self, channel: str) -> list[Call]:
        """The bot's top-level messages in ``channel``, in order."""
        return [
            c
            for c in self.fake.posted()
            if c.args.get("channel") == channel and not c.args.get("thread_ts")
        ]


async def open_rig(
    database: Database,
    tmp_path: Path,
    clock: FakeClock,
    *,
    fake: FakeSlack | None = None,
    **config: Any,
) -> SlackRig:
    """A bot on ``database`` (SQLite or a PostgreSQL schema). Opened again on the same
    database it is a restarted process: nothing in memory, everything stored kept."""
    return await SlackRig.open(
        database_url=database.url,
        tmp_path=tmp_path,
        clock=clock,
        store=await database.open_store(),
        fake=fake,
        **config,
    )


def _find_element(message: Call, action_id: str) -> tuple[dict[str, Any], str]:
    for block in message.args.get("blocks") or ():
        for element in block.get("elements", ()):
            if element.get("action_id") == action_id:
                return element, str(block.get("block_id") or uuid.uuid4().hex[:6])
    raise AssertionError(f"no element {action_id!r} in {message}")
