"""A local fake of Slack's Web API and Socket Mode, for tests that run the real clients.

Why it exists: mocking ``AsyncWebClient`` methods proves only that our code calls the mock
the way we think Slack wants. Running the *real* slack-bolt ``AsyncApp`` and slack_sdk
clients against a small aiohttp server on 127.0.0.1 exercises everything in between
(argument encoding, JSON vs form bodies, ``SlackApiError`` on ``ok: false``, rate-limit
headers, the three-step ``files_upload_v2`` dance, Socket Mode envelopes and acks) without
any network beyond the loopback interface.

What it mimics (only as much as the bot needs, with Slack's real shapes and error codes):

* Web API at ``/api/<method>``: ``POST`` (JSON, form-encoded or multipart) or ``GET``;
  query arguments are merged in (slack_sdk sends many "POST" methods with only query
  arguments, e.g. ``conversations.open`` and ``files.completeUploadExternal``). The token
  comes from ``Authorization: Bearer`` or a ``token`` argument; a missing token answers
  ``not_authed`` like Slack. Implemented: ``auth.test``, ``auth.revoke``,
  ``chat.postMessage``, ``chat.update``, ``chat.postEphemeral``, ``chat.delete``,
  ``conversations.open``, ``conversations.info``, ``users.info``, ``views.publish``,
  ``views.open``/``views.update``/``views.push``, ``files.getUploadURLExternal``,
  ``files.completeUploadExternal``, ``apps.connections.open`` and ``oauth.v2.access``.
  Anything else answers ``unknown_method`` (and is still recorded). A successful call with
  a token carries the ``x-oauth-scopes`` header, as on Slack (``scopes``).
* The upload URL handed out by ``files.getUploadURLExternal`` (``/upload/<file_id>``):
  slack_sdk POSTs the raw bytes there; the answer is ``text/plain`` ``OK - <length>``.
* ``response_url`` endpoints (``/respond/<uuid>``): JSON POSTs recorded, answered ``ok``
  in ``text/plain`` as Slack does.
* Socket Mode at ``/socket``: sends ``hello`` on connect, sends envelopes on demand,
  records acks, answers pings, supports a ``disconnect`` (refresh) that the real client
  follows by reconnecting.

Every Web API call is recorded as a :class:`Call`; failures can be scripted with
:meth:`FakeSlack.fail_next` (including HTTP 429 with ``Retry-After``), and a method's
calls can be held unanswered (:meth:`FakeSlack.hold`) so a test acts while the bot waits
on Slack (a SIGTERM mid-turn).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

__all__ = ["Call", "FakeSlack", "Upload"]

Json = dict[str, Any]
Handler = Callable[["Call"], Json]

# Form / query values that are free text: never decoded as JSON even if they look like it.
_TEXT_ARGS = frozenset(
    {
        "text",
        "markdown_text",
        "initial_comment",
        "title",
        "filename",
        "alt_txt",
        "name",
        "code",
        "redirect_uri",
        "query",
        "user_auth_message",
    }
)
_TS_BASE = 1_700_000_000
# What an install from deploy/slack/manifest.yaml grants (Slack's order is its own).
_BOT_SCOPES = (
    "channels:history",
    "chat:write",
    "commands",
    "files:write",
    "groups:history",
    "im:history",
    "im:write",
    "mpim:history",
    "users:read",
)


@dataclass
class Call:
    """One Web API request as the fake received it."""

    method: str
    """Web API method, e.g. ``"chat.postMessage"``."""
    args: dict[str, Any]
    """Query args, JSON body and form fields merged; JSON-looking form values decoded."""
    token: str | None
    """Bearer token from ``Authorization`` (or a ``token`` argument); None when absent."""
    at: float
    """``time.monotonic()`` when received."""
    response: dict[str, Any] = field(default_factory=dict)
    """The JSON the fake answered with."""
    status: int = 200
    """The HTTP status the fake answered with."""

    @property
    def ok(self) -> bool:
        """Whether the fake answered ``"ok": true``."""
        return bool(self.response.get("ok"))

    def __str__(self) -> str:
        outcome = "ok" if self.ok else f"error={self.response.get('error')!r}"
        if self.status != 200:
            outcome += f" http={self.status}"
        args = json.dumps(self.args, default=str, ensure_ascii=False)
        if len(args) > 300:
            args = args[:297] + "..."
        return f"{self.method} {outcome} {args}"


@dataclass
class Upload:
    """A file whose three upload steps all completed."""

    filename: str
    title: str
    content: bytes
    channel: str | None
    thread_ts: str | None
    alt_txt: str | None
    initial_comment: str | None
    file_id: str = ""


@dataclass
class _Failure:
    error: str
    status: int
    retry_after: int | None
    times: int


@dataclass
class _Pending:
    """A file announced by ``files.getUploadURLExternal``, maybe with its bytes."""

    filename: str
    length: int
    alt_txt: str | None
    content: bytes | None = None


class FakeSlack:
    """An in-process Slack on 127.0.0.1. Use ``async with FakeSlack() as fake:``."""

    def __init__(
        self,
        *,
        team_id: str = "T0001",
        bot_user_id: str = "UBOT",
        bot_id: str = "BBOT",
        users: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.app_id = "A0001"
        self.app_token = "xapp-1-test"
        self.users: dict[str, dict[str, Any]] = dict(users or {})
        self.scopes: list[str] = list(_BOT_SCOPES)
        """The bot token's scopes, sent as ``x-oauth-scopes`` on every authed response."""

        # Scriptable conditions.
        self.not_in_channel: set[str] = set()
        self.archived: set[str] = set()
        self.cannot_dm: set[str] = set()
        self.cannot_dm_error = "user_disabled"

        # Records.
        self.calls: list[Call] = []
        self.uploads: list[Upload] = []
        self.response_urls: list[tuple[str, dict[str, Any]]] = []
        self.messages: dict[str, list[dict[str, Any]]] = {}
        """channel id -> messages posted there (as returned in ``message``), in order."""
        self.views: dict[str, dict[str, Any]] = {}
        """user id -> the App Home view last published for them."""
        self.acks: dict[str, tuple[float, dict[str, Any]]] = {}
        self.socket_messages: list[dict[str, Any]] = []
        """Every JSON message a Socket Mode client sent (acks included), in order."""
        self.envelopes: list[dict[str, Any]] = []
        """Every envelope sent to a Socket Mode client, in order."""
        self.connections = 0
        """How many Socket Mode connections have been accepted so far."""

        self._failures: dict[str, list[_Failure]] = {}
        self._gates: dict[str, asyncio.Event] = {}
        self.waiting: list[Call] = []
        """Calls held by :meth:`hold`, recorded and not answered yet."""
        self._pending_files: dict[str, _Pending] = {}
        self._seq = 0
        self._runner: web.AppRunner | None = None
        self._port = 0
        self._ws: web.WebSocketResponse | None = None
        self._sockets: set[web.WebSocketResponse] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._handlers: dict[str, Handler] = {
            "auth.test": self._auth_test,
            "auth.revoke": lambda _call: {"ok": True, "revoked": True},
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.delete": self._chat_delete,
            "conversations.open": self._conversations_open,
            "conversations.info": self._conversations_info,
            "users.info": self._users_info,
            "views.publish": self._views_publish,
            "views.open": self._views_other,
            "views.update": self._views_other,
            "views.push": self._views_other,
            "files.getUploadURLExternal": self._files_get_upload_url,
            "files.completeUploadExternal": self._files_complete_upload,
            "apps.connections.open": self._apps_connections_open,
            "oauth.v2.access": self._oauth_v2_access,
        }

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Bind a random free port on 127.0.0.1 and start serving."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_post("/respond/{token}", self._respond)
        app.router.add_get("/socket", self._socket)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self._runner = runner
        self._port = int(runner.addresses[0][1])

    async def close(self) -> None:
        """Close Socket Mode connections and stop the server.

        Close Socket Mode clients first: a client still connected here would keep trying
        to reconnect to a server that is gone.
        """
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        for ws in list(self._sockets):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(code=1001), timeout=1.0)
        self._ws = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeSlack:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        if not self._port:
            raise RuntimeError("FakeSlack is not started")
        return f"http://127.0.0.1:{self._port}"

    @property
    def api_url(self) -> str:
        """Web API base URL for ``AsyncWebClient(base_url=...)`` (trailing slash included)."""
        return f"{self.base_url}/api/"

    # ------------------------------------------------------------------ queries

    def calls_to(self, method: str) -> list[Call]:
        """Every recorded call of ``method``, successful or not, in order."""
        return [c for c in self.calls if c.method == method]

    def posted(self) -> list[Call]:
        """``chat.postMessage`` calls that succeeded, in order."""
        return [c for c in self.calls_to("chat.postMessage") if c.ok]

    def response_url(self) -> str:
        """A fresh response_url for slash-command / block_actions payloads."""
        return f"{self.base_url}/respond/{uuid.uuid4().hex}"

    def responses_to(self, url: str) -> list[dict[str, Any]]:
        """JSON bodies POSTed to one response_url (full URL or path)."""
        path = url.removeprefix(self.base_url)
        return [body for p, body in self.response_urls if p == path]

    # ------------------------------------------------------------------ scripting

    def fail_next(
        self,
        method: str,
        *,
        error: str | None = None,
        status: int = 200,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail.

        They answer ``{"ok": false, "error": error}`` with HTTP ``status``; a 429 carries
        ``Retry-After`` (``retry_after`` or 1) and the error defaults to ``ratelimited``.
        Several ``fail_next`` for one method queue up in order.
        """
        if times < 1:
            raise ValueError("times must be >= 1")
        if error is None:
            error = "ratelimited" if status == 429 else "fatal_error"
        self._failures.setdefault(method, []).append(_Failure(error, status, retry_after, times))

    def hold(self, method: str) -> None:
        """Keep every call of ``method`` waiting, recorded but unanswered (and without
        effect: nothing is posted), until :meth:`release`."""
        self._gates.setdefault(method, asyncio.Event())

    def release(self, method: str) -> None:
        """Answer the held calls of ``method`` (in order) and stop holding new ones."""
        gate = self._gates.pop(method, None)
        if gate is not None:
            gate.set()

    # ------------------------------------------------------------------ waiting
    # These take ``timeout`` (hence the ASYNC109 noqa) instead of leaving it to
    # ``asyncio.timeout`` so a timeout can fail with a summary of what was recorded.

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Poll ``predicate`` every 5 ms; on timeout, fail with what was recorded."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() >= deadline:
                raise AssertionError(f"condition not met within {timeout}s\n{self.summary()}")
            await asyncio.sleep(0.005)

    async def wait_posted(self, n: int, timeout: float = 5.0) -> list[Call]:  # noqa: ASYNC109
        """Wait until at least ``n`` messages were posted; return all posted calls."""
        await self.wait_for(lambda: len(self.posted()) >= n, timeout)
        return self.posted()

    def summary(self) -> str:
        """Human-readable list of everything recorded, for assertion messages."""
        lines = [f"{len(self.calls)} Web API call(s):"]
        lines += [f"  {i}. {c}" for i, c in enumerate(self.calls, 1)]
        lines.append(f"{len(self.uploads)} upload(s): {[u.filename for u in self.uploads]}")
        lines.append(f"{len(self.response_urls)} response_url POST(s)")
        lines.append(
            f"socket: {self.connections} connection(s), connected={self._ws is not None}, "
            f"{len(self.envelopes)} envelope(s), {len(self.acks)} ack(s)"
        )
        return "\n".join(lines)

    # ------------------------------------------------------------------ socket mode

    @property
    def socket_open(self) -> bool:
        """Whether a Socket Mode client is connected now."""
        return self._ws is not None and not self._ws.closed

    async def socket_connected(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Wait until a Socket Mode client is connected and has been sent ``hello``."""
        await self.wait_for(lambda: self.socket_open, timeout)

    async def send_envelope(
        self,
        type: str,
        payload: dict[str, Any],
        *,
        retry_attempt: int = 0,
        retry_reason: str = "",
        accepts_response_payload: bool = False,
    ) -> str:
        """Send an envelope (``events_api``, ``slash_commands``, ``interactive``) to the
        connected client, waiting up to 5 s for one; return its ``envelope_id``."""
        await self.socket_connected()
        assert self._ws is not None
        envelope_id = str(uuid.uuid4())
        envelope = {
            "envelope_id": envelope_id,
            "type": type,
            "payload": payload,
            "accepts_response_payload": accepts_response_payload,
            "retry_attempt": retry_attempt,
            "retry_reason": retry_reason,
        }
        self.envelopes.append(envelope)
        await self._ws.send_json(envelope)
        return envelope_id

    async def wait_ack(self, envelope_id: str, timeout: float = 3.0) -> dict[str, Any]:  # noqa: ASYNC109
        """Wait for the client's ack of ``envelope_id``; return the ack message."""
        await self.wait_for(lambda: envelope_id in self.acks, timeout)
        return self.acks[envelope_id][1]

    async def disconnect(self, reason: str = "refresh_requested", grace: float = 2.0) -> None:
        """Ask the client to reconnect, as Slack does before recycling a connection.

        Sends ``{"type": "disconnect", "reason": reason}``. The current connection stops
        counting as connected at once (so ``socket_connected`` waits for the new one); it
        is closed by the client when it reconnects, or by the fake after ``grace`` seconds.
        """
        ws = self._ws
        if ws is None or ws.closed:
            return
        self._ws = None
        await ws.send_json(
            {
                "type": "disconnect",
                "reason": reason,
                "debug_info": {"host": "fake-slack"},
            }
        )

        async def close_later() -> None:
            await asyncio.sleep(grace)
            await ws.close()

        task = asyncio.create_task(close_later())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _socket(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(autoping=True, timeout=1.0)
        await ws.prepare(request)
        self._sockets.add(ws)
        self.connections += 1
        try:
            await ws.send_json(
                {
                    "type": "hello",
                    "num_connections": 1,
                    "debug_info": {
                        "host": "fake-slack",
                        "build_number": 1,
                        "approximate_connection_time": 18060,
                    },
                    "connection_info": {"app_id": self.app_id},
                }
            )
            self._ws = ws  # a reconnect replaces the current connection
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                try:
                    data = json.loads(msg.data)
                except ValueError:
                    continue
                if not isinstance(data, dict):
                    continue
                self.socket_messages.append(data)
                envelope_id = data.get("envelope_id")
                if isinstance(envelope_id, str):
                    self.acks[envelope_id] = (time.monotonic(), data)
        finally:
            self._sockets.discard(ws)
            if self._ws is ws:
                self._ws = None
        return ws

    # ------------------------------------------------------------------ HTTP endpoints

    async def _api(self, request: web.Request) -> web.Response:
        at = time.monotonic()
        method = request.match_info["method"]
        args, token = await self._read_args(request)
        call = Call(method=method, args=args, token=token, at=at)
        self.calls.append(call)
        gate = self._gates.get(method)
        if gate is not None:
            self.waiting.append(call)
            try:
                await gate.wait()
            finally:
                self.waiting.remove(call)

        headers: dict[str, str] = {}
        failures = self._failures.get(method)
        if failures:
            failure = failures[0]
            failure.times -= 1
            if failure.times <= 0:
                failures.pop(0)
            call.status = failure.status
            call.response = {"ok": False, "error": failure.error}
            if failure.status == 429:
                headers["Retry-After"] = str(failure.retry_after or 1)
        elif token is None and method != "oauth.v2.access":
            call.response = {"ok": False, "error": "not_authed"}
        else:
            handler = self._handlers.get(method)
            if handler is None:
                call.response = {"ok": False, "error": "unknown_method"}
            else:
                call.response = handler(call)
            if token is not None and call.response.get("ok"):
                app_level = method == "apps.connections.open"
                headers["x-oauth-scopes"] = (
                    "connections:write" if app_level else ",".join(self.scopes)
                )
        return web.json_response(call.response, status=call.status, headers=headers)

    async def _read_args(self, request: web.Request) -> tuple[dict[str, Any], str | None]:
        args: dict[str, Any] = {k: _maybe_json(k, v) for k, v in request.query.items()}
        if request.can_read_body:
            if request.content_type == "application/json":
                with contextlib.suppress(ValueError):  # Slack ignores an unreadable body
                    body = await request.json()
                    if isinstance(body, dict):
                        args.update(body)
            elif request.content_type in (
                "application/x-www-form-urlencoded",
                "multipart/form-data",
            ):
                form = await request.post()
                for k, v in form.items():
                    if isinstance(v, str):
                        args[k] = _maybe_json(k, v)
                    elif isinstance(v, web.FileField):  # a multipart file part: its bytes
                        args[k] = v.file.read()
                    else:
                        args[k] = bytes(v)
        token: str | None = None
        auth = request.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            token = auth.removeprefix("Bearer ").strip() or None
        elif auth.startswith("Basic "):  # oauth.v2.access sends client_id:client_secret
            with contextlib.suppress(ValueError):
                decoded = base64.b64decode(auth.removeprefix("Basic ")).decode()
                client_id, _, client_secret = decoded.partition(":")
                args.setdefault("client_id", client_id)
                args.setdefault("client_secret", client_secret)
        form_token = args.pop("token", None)
        if token is None and isinstance(form_token, str) and form_token:
            token = form_token
        return args, token

    async def _upload(self, request: web.Request) -> web.Response:
        pending = self._pending_files.get(request.match_info["file_id"])
        if pending is None:
            return web.Response(status=404, text="file_not_found", content_type="text/plain")
        pending.content = await request.read()
        return web.Response(text=f"OK - {len(pending.content)}", content_type="text/plain")

    async def _respond(self, request: web.Request) -> web.Response:
        raw = await request.text()
        try:
            body = json.loads(raw)
        except ValueError:
            body = {"_raw": raw}
        self.response_urls.append((request.path, body if isinstance(body, dict) else {"_raw": raw}))
        return web.Response(text="ok", content_type="text/plain")

    # ------------------------------------------------------------------ Web API methods

    def _next_ts(self) -> str:
        self._seq += 1
        micros = self._seq * 100
        return f"{_TS_BASE + micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _channel_error(self, channel: Any) -> str | None:
        if not isinstance(channel, str) or not channel:
            return "channel_not_found"
        if channel in self.archived:
            return "is_archived"
        if channel in self.not_in_channel:
            return "not_in_channel"
        return None

    @staticmethod
    def _has_content(args: dict[str, Any]) -> bool:
        return any(args.get(k) for k in ("text", "blocks", "attachments", "markdown_text"))

    def _auth_test(self, call: Call) -> Json:
        return {
            "ok": True,
            "url": "https://fake.slack.com/",
            "team": "Fake",
            "user": "breakthrough",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _chat_post_message(self, call: Call) -> Json:
        channel = call.args.get("channel")
        error = self._channel_error(channel)
        if error is None and not self._has_content(call.args):
            error = "no_text"
        if error is not None:
            return {"ok": False, "error": error}
        assert isinstance(channel, str)
        if channel[0] in "UW":  # posting to a user id lands in the DM with them
            if channel in self.cannot_dm:
                return {"ok": False, "error": self.cannot_dm_error}
            channel = "D" + channel
        ts = self._next_ts()
        message: Json = {
            "type": "message",
            "text": call.args.get("text", ""),
            "blocks": call.args.get("blocks", []),
            "ts": ts,
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "team": self.team_id,
        }
        if call.args.get("thread_ts"):
            message["thread_ts"] = call.args["thread_ts"]
        self.messages.setdefault(channel, []).append(message)
        return {"ok": True, "channel": channel, "ts": ts, "message": dict(message)}

    def _find_message(self, channel: str, ts: str) -> Json | None:
        return next((m for m in self.messages.get(channel, []) if m["ts"] == ts), None)

    def _chat_update(self, call: Call) -> Json:
        channel, ts = call.args.get("channel"), call.args.get("ts")
        error = self._channel_error(channel)
        if error is not None:
            return {"ok": False, "error": error}
        if not ts:
            return {"ok": False, "error": "message_not_found"}
        assert isinstance(channel, str)
        message = self._find_message(channel, str(ts))
        if message is not None:
            for key in ("text", "blocks"):
                if key in call.args:
                    message[key] = call.args[key]
        text = call.args.get("text", "")
        return {
            "ok": True,
            "channel": channel,
            "ts": ts,
            "text": text,
            "message": dict(message) if message else {"text": text, "ts": ts},
        }

    def _chat_post_ephemeral(self, call: Call) -> Json:
        error = self._channel_error(call.args.get("channel"))
        if error is None and not call.args.get("user"):
            error = "user_not_found"
        if error is None and not self._has_content(call.args):
            error = "no_text"
        if error is not None:
            return {"ok": False, "error": error}
        return {"ok": True, "message_ts": self._next_ts()}

    def _chat_delete(self, call: Call) -> Json:
        channel, ts = call.args.get("channel"), call.args.get("ts")
        if not isinstance(channel, str) or not channel:
            return {"ok": False, "error": "channel_not_found"}
        messages = self.messages.get(channel, [])
        self.messages[channel] = [m for m in messages if m["ts"] != ts]
        return {"ok": True, "channel": channel, "ts": ts}

    def _conversations_open(self, call: Call) -> Json:
        users = call.args.get("users")
        if not users:
            channel = call.args.get("channel")
            if isinstance(channel, str) and channel:
                return {"ok": True, "channel": {"id": channel}}
            return {"ok": False, "error": "users_list_not_supplied"}
        ids = [u.strip() for u in str(users).split(",") if u.strip()]
        for user in ids:
            if user in self.cannot_dm:
                return {"ok": False, "error": self.cannot_dm_error}
        if len(ids) == 1:
            return {"ok": True, "channel": {"id": "D" + ids[0]}}
        return {"ok": True, "channel": {"id": "G" + "".join(sorted(ids))}}

    def _conversations_info(self, call: Call) -> Json:
        channel = call.args.get("channel")
        if not isinstance(channel, str) or not channel:
            return {"ok": False, "error": "channel_not_found"}
        is_im = channel.startswith("D")
        info: Json = {
            "id": channel,
            "is_im": is_im,
            "is_channel": not is_im,
            "is_member": channel not in self.not_in_channel,
            "is_archived": channel in self.archived,
        }
        if is_im:
            info["user"] = channel[1:]
        return {"ok": True, "channel": info}

    def _users_info(self, call: Call) -> Json:
        user_id = call.args.get("user")
        if not isinstance(user_id, str):
            return {"ok": False, "error": "user_not_found"}
        known = self.users.get(user_id)
        if known is None and user_id == self.bot_user_id:
            known = {"real_name": "Breakthrough", "is_bot": True, "name": "breakthrough"}
        if known is None:
            return {"ok": False, "error": "user_not_found"}
        real_name = known.get("real_name", user_id)
        user: Json = {
            "id": user_id,
            "team_id": self.team_id,
            "name": str(real_name).lower().replace(" ", "."),
            "real_name": real_name,
            "tz": "America/Los_Angeles",
            "tz_label": "",
            "tz_offset": 0,
            "is_bot": False,
            "deleted": False,
            "profile": {"real_name": real_name, "display_name": real_name},
        }
        user.update(known)
        return {"ok": True, "user": user}

    def _views_publish(self, call: Call) -> Json:
        user_id, view = call.args.get("user_id"), call.args.get("view")
        if not isinstance(user_id, str) or not user_id:
            return {"ok": False, "error": "user_not_found"}
        if not isinstance(view, dict):
            return {"ok": False, "error": "invalid_arguments"}
        published = {"id": "V" + uuid.uuid4().hex[:10].upper(), "team_id": self.team_id, **view}
        self.views[user_id] = published
        return {"ok": True, "view": published}

    def _views_other(self, call: Call) -> Json:
        view = call.args.get("view")
        if not isinstance(view, dict):
            return {"ok": False, "error": "invalid_arguments"}
        view_id = call.args.get("view_id") or "V" + uuid.uuid4().hex[:10].upper()
        return {"ok": True, "view": {"id": view_id, "team_id": self.team_id, **view}}

    def _files_get_upload_url(self, call: Call) -> Json:
        filename = call.args.get("filename")
        try:
            length = int(call.args.get("length", ""))
        except (TypeError, ValueError):
            return {"ok": False, "error": "invalid_arguments"}
        if not filename:
            return {"ok": False, "error": "invalid_arguments"}
        file_id = "F" + uuid.uuid4().hex[:10].upper()
        alt_txt = call.args.get("alt_txt")
        self._pending_files[file_id] = _Pending(
            str(filename), length, str(alt_txt) if alt_txt is not None else None
        )
        return {"ok": True, "upload_url": f"{self.base_url}/upload/{file_id}", "file_id": file_id}

    def _files_complete_upload(self, call: Call) -> Json:
        files = call.args.get("files")
        if not isinstance(files, list) or not files:
            return {"ok": False, "error": "invalid_arguments"}
        channel = call.args.get("channel_id")
        if not channel and call.args.get("channels"):
            channel = str(call.args["channels"]).split(",")[0]
        if channel:
            error = self._channel_error(channel)
            if error is not None:
                return {"ok": False, "error": error}
        ready: list[tuple[str, str, _Pending]] = []
        for item in files:
            file_id = item.get("id") if isinstance(item, dict) else None
            pending = self._pending_files.get(str(file_id))
            if pending is None or pending.content is None:
                return {"ok": False, "error": "file_not_found"}
            ready.append((str(file_id), str(item.get("title") or pending.filename), pending))
        thread_ts, comment = call.args.get("thread_ts"), call.args.get("initial_comment")
        for file_id, title, pending in ready:
            del self._pending_files[file_id]
            self.uploads.append(
                Upload(
                    filename=pending.filename,
                    title=title,
                    content=pending.content or b"",
                    channel=str(channel) if channel else None,
                    thread_ts=str(thread_ts) if thread_ts else None,
                    alt_txt=pending.alt_txt,
                    initial_comment=str(comment) if comment else None,
                    file_id=file_id,
                )
            )
        return {
            "ok": True,
            "files": [{"id": f, "title": t, "name": p.filename} for f, t, p in ready],
        }

    def _apps_connections_open(self, call: Call) -> Json:
        if call.token != self.app_token:
            return {"ok": False, "error": "invalid_auth"}
        return {"ok": True, "url": f"ws://127.0.0.1:{self._port}/socket"}

    def _oauth_v2_access(self, call: Call) -> Json:
        if not call.args.get("client_id") or not call.args.get("client_secret"):
            return {"ok": False, "error": "invalid_client_id"}
        if not call.args.get("code"):
            return {"ok": False, "error": "invalid_code"}
        return {
            "ok": True,
            "app_id": self.app_id,
            "authed_user": {
                "id": "UINSTALLER",
                "scope": "",
                "access_token": None,
                "token_type": None,
            },
            "scope": "commands,chat:write,im:history,im:write,users:read,files:write",
            "token_type": "bot",
            "access_token": f"xoxb-installed-{self.team_id}",
            "bot_user_id": self.bot_user_id,
            "team": {"id": self.team_id, "name": "Fake"},
            "enterprise": None,
            "is_enterprise_install": False,
        }


def _maybe_json(key: str, value: str) -> Any:
    """Decode a form/query value that carries JSON (blocks, view, files...)."""
    if key in _TEXT_ARGS or not value or value[0] not in "[{":
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value
