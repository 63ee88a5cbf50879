"""A local fake of Discord's REST API and gateway, for tests that run the real discord.py client.

Why it exists: mocking ``discord.Client`` proves only that our code calls the mock the way
we think discord.py wants. Running the *real* discord.py 2.x ``Client`` (its HTTP client,
rate-limit handling, gateway state machine, ``CommandTree`` and persistent views) against a
small aiohttp server on 127.0.0.1 exercises everything in between without any network
beyond the loopback interface. Every shape below was taken from discord.py's source
(``http.py``, ``gateway.py``, ``state.py``, ``interactions.py``, ``webhook/async_.py``,
``app_commands/tree.py``) and Discord's documented payloads, not guessed.

What it mimics (only as much as the bot needs, with Discord's real shapes and error codes):

* REST at ``/api/v10`` (``api_url``; v9 works too). Every request is recorded as a
  :class:`Call` with discord.py's own route template (``"/channels/{channel_id}/messages"``);
  ``multipart/form-data`` bodies (``payload_json`` plus ``files[n]``) are decoded into
  ``json`` and ``files``. Bodies are answered as ``application/json`` *exactly* (discord.py
  parses JSON only for that content type, so aiohttp's ``json_response``, which appends
  ``; charset=utf-8``, would not do), with ``Via`` and ``X-RateLimit-*`` headers. The bot
  token is checked (``Authorization: Bot <token>``); a wrong or missing one answers 401
  ``{"message": "401: Unauthorized", "code": 0}``. Implemented:

  - ``GET /users/@me``, ``GET /users/{id}``, ``POST /users/@me/channels`` (DM channel, type 1);
  - ``GET /gateway``, ``GET /gateway/bot``, ``GET /oauth2/applications/@me`` (called by
    ``Client.login``) and ``GET /applications/@me``;
  - application commands: ``GET``/``PUT``/``POST /applications/{app}/commands`` and
    ``.../guilds/{guild}/commands`` (bulk overwrite keeps ids by name; 400 50035 on a bad
    name or description);
  - interactions: ``POST /interactions/{id}/{token}/callback`` (types 4, 5, 6, 7 and 9,
    JSON or multipart; answered with the ``InteractionCallback`` body discord.py asks for
    with ``?with_response=1``; 404 10062 for an unknown interaction, 400 40060 when already
    acknowledged), follow-ups ``POST /webhooks/{app}/{token}`` and ``GET``/``PATCH``/
    ``DELETE /webhooks/{app}/{token}/messages/@original`` or ``/{message_id}``. As on
    Discord, the first follow-up after a deferred (type 5) response fills in the "thinking"
    message instead of posting a new one;
  - messages: ``GET /channels/{id}/messages`` (history, newest first: ``limit``, ``before``,
    ``after``), ``POST /channels/{id}/messages`` (JSON or multipart with attachments, served
    back at ``/attachments/...``), ``GET``/``PATCH``/``DELETE .../messages/{id}``,
    ``POST .../typing``, ``GET /channels/{id}``; 400 50006 for an empty message and 50035
    for content over 2000 characters; 404 10003/10008 for unknown channels and messages;
  - threads: ``POST /channels/{id}/threads`` (type 11 or 12, ``parent_id`` set) and
    ``POST /channels/{id}/messages/{mid}/threads`` (the thread takes the message's id, as
    on Discord); both also dispatch ``THREAD_CREATE``; ``PUT .../thread-members/{user}``;
  - DMs to a user in ``cannot_dm`` answer 403 ``{"message": "Cannot send messages to this
    user", "code": 50007}``;
  - anything else answers 404 ``{"message": "404: Not Found", "code": 0}`` and is recorded.

  Calls can be held unanswered with :meth:`FakeDiscord.hold` (a test then acts while the
  bot waits on Discord, e.g. a SIGTERM mid-turn). Failures are scripted with
  :meth:`FakeDiscord.fail_next`: a 429 carries discord's body
  (``retry_after``, ``global``) and headers (``Retry-After``, ``X-RateLimit-*``,
  ``X-RateLimit-Scope`` and ``Via``, without which discord.py treats a 429 as a Cloudflare
  ban and does not retry); other statuses carry a JSON error ``code``.

* Gateway (WebSocket at ``/gateway``, ``gateway_url``; ``/resume-gateway`` is handed out as
  ``resume_gateway_url`` in READY so tests can see discord.py honour it): HELLO (op 10),
  IDENTIFY (op 2, token/intents/shard recorded; 4004 on a bad token, 4014 for privileged
  intents when ``privileged_intents=False``), READY (guilds unavailable, ``session_id``,
  ``resume_gateway_url``, ``application``) then one GUILD_CREATE per guild (channels,
  threads, roles, members); heartbeats (op 1 → op 11, recorded); RESUME (op 6: missed
  dispatches replayed from the client's ``seq``, then RESUMED; op 9 if the session is gone);
  op 7 (:meth:`~FakeDiscord.request_reconnect`), op 9 (:meth:`~FakeDiscord.invalidate_session`),
  abrupt drops (:meth:`~FakeDiscord.drop_connection`); REQUEST_GUILD_MEMBERS (op 8) answered
  with one GUILD_MEMBERS_CHUNK. Every dispatch carries the session's next ``s``. Frames are
  plain-text JSON, which discord.py always accepts (it only decompresses *binary* frames);
  ``FakeDiscord(compress=True)`` sends binary ``zlib-stream`` frames instead when the client
  asks for them (discord.py asks for ``zstd-stream`` only when ``zstandard`` is installed).
  MESSAGE_CREATE follows Discord's intent rules: guild messages need GUILD_MESSAGES, DMs
  need DIRECT_MESSAGES, and without MESSAGE_CONTENT ``content``/``embeds``/``attachments``/
  ``components`` are blanked except in DMs, in the bot's own messages and when the bot is
  mentioned. Messages the bot sends with ``POST /channels/{id}/messages`` are echoed as
  MESSAGE_CREATE like Discord does (``echo_own_messages=False`` turns that off).

* Builders that dispatch events with correct shapes: :meth:`~FakeDiscord.slash_command`,
  :meth:`~FakeDiscord.button_click`, :meth:`~FakeDiscord.modal_submit`,
  :meth:`~FakeDiscord.message_create`, and :meth:`~FakeDiscord.dispatch` for anything else.

* Waiting (with timeouts, never fixed sleeps): :meth:`~FakeDiscord.wait_ready`,
  :meth:`~FakeDiscord.wait_for_call`, :meth:`~FakeDiscord.wait_for`,
  :meth:`~FakeDiscord.wait_messages`; queries :meth:`~FakeDiscord.calls_to`,
  :meth:`~FakeDiscord.messages`, :meth:`~FakeDiscord.frames`.

Point discord.py at it with :meth:`FakeDiscord.patch_discord_py` (``Route.BASE`` *and*
``DiscordWebSocket.DEFAULT_GATEWAY``: ``Client.connect`` never asks ``/gateway/bot``, it
dials ``wss://gateway.discord.gg/`` directly, and goes back there after an invalid session).
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import hashlib
import json
import math
import mimetypes
import re
import secrets
import time
import zlib
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import yarl
from aiohttp import BodyPartReader, WSMsgType, web
from discord.gateway import DiscordWebSocket
from discord.http import Route

__all__ = [
    "ADMINISTRATOR",
    "DIRECT_MESSAGES",
    "GUILD_MESSAGES",
    "MANAGE_GUILD",
    "MESSAGE_CONTENT",
    "Call",
    "Connection",
    "FakeDiscord",
    "Frame",
    "Session",
    "UploadedFile",
]

Json = dict[str, Any]
CallPredicate = Callable[["Call"], bool]
_Reply = tuple[int, Any]  # (HTTP status, JSON body); a None body answers 204 No Content

DISCORD_EPOCH_MS = 1_420_070_400_000

# Gateway intents (https://discord.com/developers/docs/events/gateway#gateway-intents).
GUILDS = 1 << 0
GUILD_MEMBERS = 1 << 1
GUILD_PRESENCES = 1 << 8
GUILD_MESSAGES = 1 << 9
DIRECT_MESSAGES = 1 << 12
MESSAGE_CONTENT = 1 << 15
PRIVILEGED_INTENTS = GUILD_MEMBERS | GUILD_PRESENCES | MESSAGE_CONTENT

# Gateway opcodes.
OP_DISPATCH, OP_HEARTBEAT, OP_IDENTIFY, OP_PRESENCE = 0, 1, 2, 3
OP_RESUME, OP_RECONNECT, OP_REQUEST_MEMBERS, OP_INVALID_SESSION = 6, 7, 8, 9
OP_HELLO, OP_HEARTBEAT_ACK = 10, 11

# Channel types, message flags, interaction and callback types.
GUILD_TEXT, DM, PUBLIC_THREAD, PRIVATE_THREAD = 0, 1, 11, 12
FLAG_EPHEMERAL, FLAG_LOADING = 1 << 6, 1 << 7
CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, DEFERRED_UPDATE, UPDATE_MESSAGE, MODAL = 4, 5, 6, 7, 9

_ALL_PERMISSIONS = str((1 << 51) - 1)
ADMINISTRATOR, MANAGE_GUILD = 1 << 3, 1 << 5
_EVERYONE_PERMISSIONS = "1071698660929"
_COMMAND_NAME = re.compile(r"^[-_\w]{1,32}$")
_TEMPLATE_PARAM = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class UploadedFile:
    """One ``files[n]`` part of a multipart request."""

    name: str
    """The file name the client gave, e.g. ``"week.png"``."""
    data: bytes
    field: str
    """The multipart field, e.g. ``"files[0]"``."""
    content_type: str


@dataclass
class Call:
    """One REST request as the fake received it."""

    method: str
    path: str
    """Path after the API base, e.g. ``"/channels/1200000000000000002/messages"``."""
    route: str | None
    """discord.py's route template, e.g. ``"/channels/{channel_id}/messages"``; None if unknown."""
    json: Any
    """The JSON body, or a multipart body's ``payload_json``; None without a body."""
    files: list[UploadedFile]
    headers: dict[str, str]
    at: float
    """``time.monotonic()`` when received."""
    query: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    """The route's parameters, e.g. ``{"channel_id": "1200000000000000002"}``."""
    status: int = 0
    """The HTTP status the fake answered with."""
    response: Any = None
    """The JSON the fake answered with (None for 204)."""

    def __str__(self) -> str:
        body = json.dumps(self.json, default=str, ensure_ascii=False)
        if len(body) > 300:
            body = body[:297] + "..."
        files = f" files={[f.name for f in self.files]}" if self.files else ""
        return f"{self.method} {self.path} -> {self.status} {body}{files}"


@dataclass
class Frame:
    """One gateway message, as sent or received by the fake."""

    direction: Literal["sent", "received"]
    op: int
    t: str | None
    s: int | None
    d: Any
    connection: int
    """Index of the :class:`Connection` in ``FakeDiscord.connections``."""
    at: float


@dataclass
class Session:
    """A gateway session, created by IDENTIFY and continued by RESUME."""

    session_id: str
    token: str
    intents: int
    shard: list[int] | None
    identify: Json
    seq: int = 0
    dispatched: list[Json] = field(default_factory=list)
    """Every dispatch payload (``op``, ``t``, ``s``, ``d``) of the session, in order."""
    valid: bool = True
    ready: bool = False
    """True once READY and the GUILD_CREATEs were sent."""
    resumes: int = 0


@dataclass
class Connection:
    """One gateway WebSocket connection."""

    index: int
    path: str
    """``/gateway`` or ``/resume-gateway``."""
    query: dict[str, str]
    ws: web.WebSocketResponse
    transport: asyncio.Transport | None
    opened_at: float
    session: Session | None = None
    resumed: bool = False
    closed_at: float | None = None
    compressor: Any = None
    """A ``zlib.compressobj`` when frames are sent as ``zlib-stream``."""
    close_code: int | None = None
    """The close code the fake closed with (None if the client closed or it was dropped)."""
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def live(self) -> bool:
        return self.closed_at is None and not self.ws.closed


@dataclass
class _Interaction:
    id: int
    token: str
    type: int
    channel_id: int
    guild_id: int | None
    user: Json
    message_id: int | None = None
    """The message a component (or the modal's component) was on."""
    response_type: int | None = None
    original_id: int | None = None
    followup_filled_original: bool = False
    message_ids: list[int] = field(default_factory=list)


@dataclass
class _Failure:
    match: str | CallPredicate
    status: int
    body: Json
    headers: dict[str, str]
    times: int


def _compile(template: str) -> re.Pattern[str]:
    parts = _TEMPLATE_PARAM.split(template)
    regex = "".join(
        re.escape(part) if i % 2 == 0 else f"(?P<{part}>[^/]+)" for i, part in enumerate(parts)
    )
    return re.compile(f"^{regex}$")


def _iso(snowflake: int) -> str:
    ms = (snowflake >> 22) + DISCORD_EPOCH_MS
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat()


def _error(status: int, code: int, message: str, errors: Json | None = None) -> _Reply:
    body: Json = {"message": message, "code": code}
    if errors:
        body["errors"] = errors
    return status, body


def _form_error(field_name: str, code: str, message: str) -> _Reply:
    errors = {field_name: {"_errors": [{"code": code, "message": message}]}}
    return _error(400, 50035, "Invalid Form Body", errors)


_NOT_FOUND = _error(404, 0, "404: Not Found")
_UNKNOWN_CHANNEL = _error(404, 10003, "Unknown Channel")
_UNKNOWN_MESSAGE = _error(404, 10008, "Unknown Message")
_UNKNOWN_WEBHOOK = _error(404, 10015, "Unknown Webhook")
_DEFAULT_ERRORS: dict[int, tuple[int, str]] = {
    400: (50035, "Invalid Form Body"),
    401: (0, "401: Unauthorized"),
    403: (50013, "Missing Permissions"),
    404: (0, "404: Not Found"),
    500: (0, "500: Internal Server Error"),
    502: (0, "502: Bad Gateway"),
    503: (0, "503: Service Unavailable"),
}


class FakeDiscord:
    """An in-process Discord on 127.0.0.1. Use ``async with FakeDiscord() as fake:``.

    One guild (``guild_id``) with two text channels (``channel_id`` "general",
    ``other_channel_id`` "random"), one public thread in "general" (``thread_id``) and two
    people (``ann_id``, ``bob_id``) besides the bot (``bot_id``, also the application id).
    """

    bot_id = 1_100_000_000_000_000_001
    guild_id = 1_200_000_000_000_000_001
    channel_id = 1_200_000_000_000_000_002
    other_channel_id = 1_200_000_000_000_000_003
    thread_id = 1_200_000_000_000_000_004
    bot_role_id = 1_200_000_000_000_000_005
    ann_id = 1_300_000_000_000_000_001
    bob_id = 1_300_000_000_000_000_002

    def __init__(
        self,
        *,
        token: str = "fake-bot-token",
        heartbeat_interval: int = 41250,
        compress: bool = False,
        privileged_intents: bool = True,
        echo_own_messages: bool = True,
    ) -> None:
        self.token = token
        self.heartbeat_interval = heartbeat_interval
        """Milliseconds, sent in HELLO. Use a small value (e.g. 50) to see heartbeats."""
        self.compress = compress
        self.privileged_intents = privileged_intents
        """When False, IDENTIFY with MEMBERS/PRESENCES/MESSAGE_CONTENT closes with 4014."""
        self.echo_own_messages = echo_own_messages
        self.application_id = self.bot_id
        self.application_flags = (1 << 15) | (1 << 19) | (1 << 23)
        self.recommended_shards = 1
        """What ``GET /gateway/bot`` recommends (``AutoShardedClient`` without a count)."""

        self.users: dict[int, Json] = {
            self.bot_id: self._user(self.bot_id, "breakthrough", bot=True),
            self.ann_id: self._user(self.ann_id, "ann", global_name="Ann"),
            self.bob_id: self._user(self.bob_id, "bob", global_name="Bob"),
        }
        self.guilds: dict[int, Json] = {}
        """guild id -> guild fields (no channels; those live in ``channels``)."""
        self.channels: dict[int, Json] = {}
        """channel id -> channel object (guild channels, threads and DMs)."""
        self.members: dict[int, list[int]] = {}
        """guild id -> user ids of its members."""
        self._add_default_guild()

        # Scriptable conditions.
        self.cannot_dm: set[int] = set()
        """User ids whose DMs answer 403 50007 (they closed DMs or blocked the bot)."""
        self.permissions: dict[int, int] = {}
        """User id -> the permissions Discord resolves for them in the guild's channels,
        as their interactions carry them (``member.permissions``); default @everyone's.
        ``fake.permissions[uid] = ADMINISTRATOR`` makes someone a server admin."""

        # Records.
        self.calls: list[Call] = []
        self.frames_log: list[Frame] = []
        self.connections: list[Connection] = []
        self.sessions: list[Session] = []
        self.identifies: list[Json] = []
        """The ``d`` of every IDENTIFY, in order."""
        self.heartbeats: list[tuple[float, int | None]] = []
        """``(time.monotonic(), d)`` of every heartbeat received."""
        self.commands: dict[int | None, list[Json]] = {}
        """guild id (None for global) -> registered application commands."""
        self.modals: dict[str, Json] = {}
        """custom_id -> the modal (``data`` of a type 9 callback) last opened."""
        self._modal_origins: dict[str, _Interaction] = {}
        self.attachments: dict[int, bytes] = {}

        self._messages: dict[int, Json] = {}
        self._channel_messages: dict[int, list[int]] = {}
        self._interactions: dict[int, _Interaction] = {}
        self._interactions_by_token: dict[str, _Interaction] = {}
        self._command_ids: dict[tuple[int | None, str, int], int] = {}
        self._failures: list[_Failure] = []
        self._gates: list[tuple[str | CallPredicate, asyncio.Event]] = []
        self.waiting: list[Call] = []
        """Calls held by :meth:`hold`, recorded and not answered yet."""
        self._last_snowflake = 0
        self._send_lock = asyncio.Lock()
        self._runner: web.AppRunner | None = None
        self._port = 0
        self._routes: list[tuple[str, str, re.Pattern[str], Callable[..., Awaitable[_Reply]]]] = []
        for method, template, handler in self._route_table():
            self._routes.append((method, template, _compile(template), handler))

    # ================================================================== lifecycle

    async def start(self) -> None:
        """Bind a random free port on 127.0.0.1 and start serving."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get("/gateway", self._gateway)
        app.router.add_get("/resume-gateway", self._gateway)
        app.router.add_get("/attachments/{channel_id}/{attachment_id}/{filename}", self._cdn)
        app.router.add_route("*", "/api/{version:v\\d+}/{tail:.*}", self._api)
        app.router.add_route("*", "/{tail:.*}", self._api)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self._runner = runner
        self._port = int(runner.addresses[0][1])

    async def close(self) -> None:
        """Close gateway connections (going away, 1001) and stop the server."""
        for conn in self.connections:
            if conn.live:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(conn.ws.close(code=1001), timeout=1.0)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeDiscord:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        if not self._port:
            raise RuntimeError("FakeDiscord is not started")
        return f"http://127.0.0.1:{self._port}"

    @property
    def api_url(self) -> str:
        """REST base for ``discord.http.Route.BASE``: ``http://127.0.0.1:PORT/api/v10``."""
        return f"{self.base_url}/api/v10"

    @property
    def gateway_url(self) -> str:
        """``ws://127.0.0.1:PORT/gateway``."""
        return f"ws://127.0.0.1:{self._port}/gateway"

    @property
    def resume_gateway_url(self) -> str:
        """The ``resume_gateway_url`` sent in READY."""
        return f"ws://127.0.0.1:{self._port}/resume-gateway"

    @contextlib.contextmanager
    def patch_discord_py(self) -> Iterator[None]:
        """Point discord.py's REST base and default gateway at the fake; restore on exit."""
        old_base, old_gateway = Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
        Route.BASE = self.api_url
        DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(self.gateway_url)
        try:
            yield
        finally:
            Route.BASE = old_base
            DiscordWebSocket.DEFAULT_GATEWAY = old_gateway

    # ================================================================== world

    def snowflake(self) -> int:
        """A fresh, increasing snowflake for the current time."""
        candidate = (int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22
        self._last_snowflake = max(candidate, self._last_snowflake + 1)
        return self._last_snowflake

    @staticmethod
    def _user(
        user_id: int, username: str, *, bot: bool = False, global_name: str | None = None
    ) -> Json:
        return {
            "id": str(user_id),
            "username": username,
            "discriminator": "4821" if bot else "0",
            "global_name": global_name,
            "avatar": None,
            "bot": bot,
            "public_flags": 0,
        }

    def add_user(self, user_id: int, username: str, *, guild: bool = True) -> Json:
        """Add a person (and make them a member of the guild unless ``guild=False``)."""
        user = self._user(user_id, username, global_name=username.title())
        self.users[user_id] = user
        if guild:
            self.members[self.guild_id].append(user_id)
        return user

    def bot_user(self) -> Json:
        """The bot's user object as ``GET /users/@me`` and READY give it."""
        return {**self.users[self.bot_id], "verified": True, "mfa_enabled": False, "flags": 0}

    def _add_default_guild(self) -> None:
        self.add_guild(
            self.guild_id,
            name="Breakthrough Test",
            channels=((self.channel_id, "general"), (self.other_channel_id, "random")),
            bot_role_id=self.bot_role_id,
        )
        self.channels[self.thread_id] = self._thread(
            self.thread_id, self.channel_id, "coaching", PUBLIC_THREAD, owner_id=self.ann_id
        )

    def add_guild(
        self,
        gid: int,
        *,
        name: str,
        channels: tuple[tuple[int, str], ...],
        bot_role_id: int | None = None,
    ) -> None:
        """A server with these text channels, the bot, Ann and Bob. Its events go to the
        gateway session of its shard, ``(gid >> 22) % shard_count`` (see :meth:`session_for`)."""
        bot_role_id = bot_role_id or self.snowflake()
        self.guilds[gid] = {
            "id": str(gid),
            "name": name,
            "icon": None,
            "owner_id": str(self.ann_id),
            "roles": [
                {
                    "id": str(gid),
                    "name": "@everyone",
                    "permissions": _EVERYONE_PERMISSIONS,
                    "position": 0,
                    "color": 0,
                    "hoist": False,
                    "managed": False,
                    "mentionable": False,
                    "flags": 0,
                },
                {
                    "id": str(bot_role_id),
                    "name": "Breakthrough",
                    "permissions": _ALL_PERMISSIONS,
                    "position": 1,
                    "color": 0,
                    "hoist": False,
                    "managed": True,
                    "mentionable": False,
                    "flags": 0,
                    "tags": {"bot_id": str(self.bot_id)},
                },
            ],
            "preferred_locale": "en-US",
        }
        self.members[gid] = [self.bot_id, self.ann_id, self.bob_id]
        for position, (cid, channel_name) in enumerate(channels):
            self.channels[cid] = {
                "id": str(cid),
                "type": GUILD_TEXT,
                "guild_id": str(gid),
                "name": channel_name,
                "position": position,
                "permission_overwrites": [],
                "parent_id": None,
                "topic": None,
                "nsfw": False,
                "rate_limit_per_user": 0,
                "last_message_id": None,
                "flags": 0,
            }

    def _thread(
        self, thread_id: int, parent_id: int, name: str, type_: int, *, owner_id: int
    ) -> Json:
        parent = self.channels[parent_id]
        return {
            "id": str(thread_id),
            "type": type_,
            "guild_id": parent["guild_id"],
            "parent_id": str(parent_id),
            "owner_id": str(owner_id),
            "name": name,
            "last_message_id": None,
            "rate_limit_per_user": 0,
            "message_count": 0,
            "member_count": 1,
            "total_message_sent": 0,
            "flags": 0,
            "thread_metadata": {
                "archived": False,
                "auto_archive_duration": 1440,
                "archive_timestamp": _iso(thread_id),
                "locked": False,
                "invitable": type_ == PRIVATE_THREAD,
                "create_timestamp": _iso(thread_id),
            },
            "member": {
                "id": str(thread_id),
                "user_id": str(self.bot_id),
                "join_timestamp": _iso(thread_id),
                "flags": 0,
            },
        }

    def _member(self, guild_id: int, user_id: int, *, with_user: bool = True) -> Json:
        member: Json = {
            "roles": [str(self.bot_role_id)] if user_id == self.bot_id else [],
            "nick": None,
            "avatar": None,
            "joined_at": _iso(guild_id),
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "communication_disabled_until": None,
        }
        if with_user:
            member["user"] = self.users[user_id]
        return member

    def guild_create_payload(self, guild_id: int) -> Json:
        """The GUILD_CREATE ``d`` for a guild, as sent after READY."""
        guild = dict(self.guilds[guild_id])
        in_guild = [c for c in self.channels.values() if c.get("guild_id") == str(guild_id)]
        channels = [
            {k: v for k, v in c.items() if k != "guild_id"}
            for c in in_guild
            if c["type"] not in (PUBLIC_THREAD, PRIVATE_THREAD)
        ]
        threads = [c for c in in_guild if c["type"] in (PUBLIC_THREAD, PRIVATE_THREAD)]
        members = [self._member(guild_id, uid) for uid in self.members[guild_id]]
        guild.update(
            {
                "unavailable": False,
                "large": False,
                "lazy": True,
                "member_count": len(members),
                "joined_at": _iso(guild_id),
                "channels": channels,
                "threads": threads,
                "members": members,
                "presences": [],
                "voice_states": [],
                "emojis": [],
                "stickers": [],
                "features": [],
                "stage_instances": [],
                "guild_scheduled_events": [],
                "soundboard_sounds": [],
                "verification_level": 0,
                "default_message_notifications": 1,
                "explicit_content_filter": 0,
                "mfa_level": 0,
                "nsfw_level": 0,
                "premium_tier": 0,
                "system_channel_id": str(self.channel_id),
            }
        )
        return guild

    def dm_channel(self, user_id: int) -> Json:
        """The DM channel between the bot and a user (created on first use, stable id)."""
        for channel in self.channels.values():
            if channel["type"] == DM and channel["recipients"][0]["id"] == str(user_id):
                return channel
        channel_id = self.snowflake()
        channel = {
            "id": str(channel_id),
            "type": DM,
            "last_message_id": None,
            "flags": 0,
            "recipients": [self.users[user_id]],
        }
        self.channels[channel_id] = channel
        return channel

    def _guild_of(self, channel_id: int) -> int | None:
        channel = self.channels.get(channel_id)
        if channel is None or "guild_id" not in channel:
            return None
        return int(channel["guild_id"])

    # ================================================================== queries

    @staticmethod
    def _matches(call: Call, pattern: str | CallPredicate) -> bool:
        """``"POST /channels/{channel_id}/messages"``, ``"/channels/123/messages"``,
        ``"PATCH /webhooks/*"`` (fnmatch on the path) or a predicate."""
        if callable(pattern):
            return pattern(call)
        method, _, path = pattern.partition(" ") if " " in pattern else ("", "", pattern)
        if method and method.upper() != call.method:
            return False
        return path in (call.route, call.path) or fnmatch.fnmatchcase(call.path, path)

    def calls_to(self, pattern: str | CallPredicate) -> list[Call]:
        """Every recorded call matching a route template, path, glob or predicate, in order."""
        return [c for c in self.calls if self._matches(c, pattern)]

    def messages(self, channel_id: int, *, include_users: bool = False) -> list[Json]:
        """The bot's messages in a channel (channel messages, interaction responses and
        follow-ups; ephemeral ones have flag 64) as they stand now, in order, deleted ones
        left out. With ``include_users``, people's messages (``message_create``) too."""
        found = [self._messages[mid] for mid in self._channel_messages.get(channel_id, [])]
        if include_users:
            return found
        return [m for m in found if m["author"]["id"] == str(self.bot_id)]

    def message(self, message_id: int) -> Json:
        """One message by id (KeyError if never sent or deleted)."""
        return self._messages[message_id]

    def callbacks(self, interaction_id: int | None = None) -> list[Call]:
        """Interaction callbacks (``POST /interactions/.../callback``) that succeeded."""
        return [
            c
            for c in self.calls_to("POST /interactions/{webhook_id}/{webhook_token}/callback")
            if c.status < 300
            and (interaction_id is None or c.params["webhook_id"] == str(interaction_id))
        ]

    def frames(
        self,
        direction: Literal["sent", "received"] | None = None,
        *,
        op: int | None = None,
        t: str | None = None,
    ) -> list[Frame]:
        """Recorded gateway frames, filtered."""
        return [
            f
            for f in self.frames_log
            if (direction is None or f.direction == direction)
            and (op is None or f.op == op)
            and (t is None or f.t == t)
        ]

    @property
    def session(self) -> Session | None:
        """The newest valid gateway session."""
        valid = [s for s in self.sessions if s.valid]
        return valid[-1] if valid else None

    def session_for(self, guild_id: int | None) -> Session | None:
        """The newest valid session that gets a server's events, as Discord routes them:
        the one whose shard is ``(guild_id >> 22) % shard_count`` (DMs: shard 0), or one
        without shards."""
        for session in reversed(self.sessions):
            if not session.valid:
                continue
            if session.shard is None:
                return session
            shard_id, count = session.shard
            if (0 if guild_id is None else (guild_id >> 22) % count) == shard_id:
                return session
        return None

    @property
    def connection(self) -> Connection | None:
        """The newest live gateway connection."""
        live = [c for c in self.connections if c.live]
        return live[-1] if live else None

    def summary(self) -> str:
        """Human-readable list of everything recorded, for assertion messages."""
        lines = [f"{len(self.calls)} REST call(s):"]
        lines += [f"  {i}. {c}" for i, c in enumerate(self.calls, 1)]
        lines.append(
            f"gateway: {len(self.connections)} connection(s), live={self.connection is not None}, "
            f"{len(self.sessions)} session(s), {len(self.identifies)} IDENTIFY, "
            f"{len(self.heartbeats)} heartbeat(s)"
        )
        for f in self.frames_log[-15:]:
            lines.append(f"  {f.direction} #{f.connection} op={f.op} t={f.t} s={f.s}")
        return "\n".join(lines)

    # ================================================================== scripting

    def fail_next(
        self,
        route_or_path: str | CallPredicate,
        *,
        status: int = 429,
        retry_after: float = 0.05,
        global_: bool = False,
        code: int | None = None,
        message: str | None = None,
        times: int = 1,
    ) -> None:
        """Make the next ``times`` matching calls fail (patterns as for :meth:`calls_to`).

        A 429 answers ``{"message": "You are being rate limited.", "retry_after": x,
        "global": false}`` with ``Retry-After``, ``X-RateLimit-*``, ``X-RateLimit-Scope``
        and ``Via`` headers; discord.py sleeps ``retry_after`` and retries by itself. Other
        statuses answer ``{"message": ..., "code": ...}`` (defaults: 403 50013 "Missing
        Permissions", 404 0, 500 0). discord.py retries 500, 502, 504 and 524 by itself,
        sleeping 1, 3, 5... seconds in between: prefer 503 in fast tests.
        """
        if times < 1:
            raise ValueError("times must be >= 1")
        headers: dict[str, str] = {}
        if status == 429:
            body: Json = {
                "message": message or "You are being rate limited.",
                "retry_after": retry_after,
                "global": global_,
            }
            if code is not None:
                body["code"] = code
            headers = {
                "Retry-After": str(max(1, math.ceil(retry_after))),
                "X-RateLimit-Limit": "5",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": f"{time.time() + retry_after:.3f}",
                "X-RateLimit-Reset-After": f"{retry_after:.3f}",
                "X-RateLimit-Scope": "global" if global_ else "user",
            }
            if global_:
                headers["X-RateLimit-Global"] = "true"
        else:
            default_code, default_message = _DEFAULT_ERRORS.get(status, (0, f"{status}: Error"))
            body = {
                "message": message or default_message,
                "code": default_code if code is None else code,
            }
        self._failures.append(_Failure(route_or_path, status, body, headers, times))

    def hold(self, route_or_path: str | CallPredicate) -> None:
        """Keep matching calls (patterns as for :meth:`calls_to`) waiting, recorded but
        unanswered and without effect, until :meth:`release` with the same pattern."""
        self._gates.append((route_or_path, asyncio.Event()))

    def release(self, route_or_path: str | CallPredicate) -> None:
        """Answer the calls held by ``route_or_path`` and stop holding new ones."""
        for gate in [g for g in self._gates if g[0] == route_or_path]:
            self._gates.remove(gate)
            gate[1].set()

    def _take_failure(self, call: Call) -> _Failure | None:
        for failure in self._failures:
            if self._matches(call, failure.match):
                failure.times -= 1
                if failure.times <= 0:
                    self._failures.remove(failure)
                return failure
        return None

    # ================================================================== REST

    def _route_table(
        self,
    ) -> list[tuple[str, str, Callable[[Call, dict[str, str]], Awaitable[_Reply]]]]:
        """discord.py's route templates (``Route(method, path)``) and their handlers.

        Order matters: literal segments (``@me``, ``@original``) come before parameters.
        """
        webhook = "/webhooks/{webhook_id}/{webhook_token}"
        commands = "/applications/{application_id}/commands"
        guild_commands = "/applications/{application_id}/guilds/{guild_id}/commands"
        return [
            ("GET", "/users/@me", self._get_me),
            ("POST", "/users/@me/channels", self._create_dm),
            ("GET", "/users/{user_id}", self._get_user),
            ("GET", "/gateway", self._get_gateway),
            ("GET", "/gateway/bot", self._get_gateway_bot),
            ("GET", "/oauth2/applications/@me", self._get_application),
            ("GET", "/applications/@me", self._get_application),
            ("GET", commands, self._get_commands),
            ("PUT", commands, self._put_commands),
            ("POST", commands, self._post_command),
            ("GET", guild_commands, self._get_commands),
            ("PUT", guild_commands, self._put_commands),
            ("POST", guild_commands, self._post_command),
            ("POST", "/interactions/{webhook_id}/{webhook_token}/callback", self._callback),
            ("POST", webhook, self._execute_webhook),
            ("GET", webhook + "/messages/@original", self._get_webhook_message),
            ("PATCH", webhook + "/messages/@original", self._edit_webhook_message),
            ("DELETE", webhook + "/messages/@original", self._delete_webhook_message),
            ("GET", webhook + "/messages/{message_id}", self._get_webhook_message),
            ("PATCH", webhook + "/messages/{message_id}", self._edit_webhook_message),
            ("DELETE", webhook + "/messages/{message_id}", self._delete_webhook_message),
            ("GET", "/channels/{channel_id}", self._get_channel),
            ("GET", "/channels/{channel_id}/messages", self._list_messages),
            ("POST", "/channels/{channel_id}/messages", self._create_message),
            ("GET", "/channels/{channel_id}/messages/{message_id}", self._get_message),
            ("PATCH", "/channels/{channel_id}/messages/{message_id}", self._edit_message),
            ("DELETE", "/channels/{channel_id}/messages/{message_id}", self._delete_message),
            ("POST", "/channels/{channel_id}/typing", self._typing),
            ("POST", "/channels/{channel_id}/threads", self._start_thread),
            ("POST", "/channels/{channel_id}/messages/{message_id}/threads", self._start_thread),
            ("PUT", "/channels/{channel_id}/thread-members/@me", self._join_thread),
            ("PUT", "/channels/{channel_id}/thread-members/{user_id}", self._join_thread),
        ]

    @staticmethod
    def _needs_bot_token(route: str) -> bool:
        # Interaction callbacks and webhook-token routes are authorised by their token.
        return not route.startswith(("/interactions/", "/webhooks/", "/gateway"))

    async def _api(self, request: web.Request) -> web.StreamResponse:
        at = time.monotonic()
        version = request.match_info.get("version")
        path = request.path.removeprefix(f"/api/{version}") if version else request.path
        body, files = await self._read_body(request)
        route: str | None = None
        params: dict[str, str] = {}
        handler: Callable[[Call, dict[str, str]], Awaitable[_Reply]] | None = None
        other_method = False
        if version is not None:
            for method, template, regex, candidate in self._routes:
                found = regex.match(path)
                if found is None:
                    continue
                if method != request.method:
                    other_method = True
                    continue
                route, params, handler = template, found.groupdict(), candidate
                break
        call = Call(
            method=request.method,
            path=path,
            route=route,
            json=body,
            files=files,
            headers=dict(request.headers),
            at=at,
            query=dict(request.query),
            params=params,
        )
        self.calls.append(call)
        gate = next((g for pattern, g in self._gates if self._matches(call, pattern)), None)
        if gate is not None:
            self.waiting.append(call)
            try:
                await gate.wait()
            finally:
                self.waiting.remove(call)

        extra: dict[str, str] = {}
        failure = self._take_failure(call)
        if failure is not None:
            status, reply = failure.status, failure.body
            extra = failure.headers
        elif handler is None or route is None:
            status, reply = (
                _error(405, 0, "405: Method Not Allowed") if other_method else _NOT_FOUND
            )
        elif self._needs_bot_token(route) and request.headers.get("Authorization") != (
            f"Bot {self.token}"
        ):
            status, reply = _error(401, 0, "401: Unauthorized")
        else:
            status, reply = await handler(call, params)
        call.status, call.response = status, reply
        return self._respond(status, reply, f"{request.method} {route or path}", extra)

    @staticmethod
    def _respond(status: int, body: Any, bucket: str, extra: dict[str, str]) -> web.Response:
        headers = {
            "Via": "1.1 google",
            "X-RateLimit-Bucket": hashlib.sha1(bucket.encode()).hexdigest()[:32],
        }
        if status != 429:
            # A bucket that never runs dry: discord.py only sleeps when Remaining hits 0.
            headers.update(
                {
                    "X-RateLimit-Limit": "5",
                    "X-RateLimit-Remaining": "4",
                    "X-RateLimit-Reset": f"{time.time() + 1:.3f}",
                    "X-RateLimit-Reset-After": "1.000",
                }
            )
        headers.update(extra)
        if body is None:
            return web.Response(status=204, headers=headers)
        # Exactly "application/json": discord.py's json_or_text compares the whole header.
        return web.Response(
            status=status,
            body=json.dumps(body).encode(),
            content_type="application/json",
            headers=headers,
        )

    @staticmethod
    async def _read_body(request: web.Request) -> tuple[Any, list[UploadedFile]]:
        if not request.can_read_body:
            return None, []
        if request.content_type == "multipart/form-data":
            payload: Any = None
            files: list[UploadedFile] = []
            reader = await request.multipart()
            async for part in reader:
                if not isinstance(part, BodyPartReader):
                    continue
                data = bytes(await part.read(decode=False))
                if part.name == "payload_json":
                    payload = json.loads(data)
                elif part.filename is not None:
                    content_type = part.headers.get("Content-Type", "application/octet-stream")
                    files.append(UploadedFile(part.filename, data, part.name or "", content_type))
            return payload, files
        raw = await request.read()
        if not raw:
            return None, []
        try:
            return json.loads(raw), []
        except ValueError:
            return raw.decode(errors="replace"), []

    async def _cdn(self, request: web.Request) -> web.Response:
        """Attachment URLs point here, so ``Attachment.read()`` stays on 127.0.0.1."""
        data = self.attachments.get(int(request.match_info["attachment_id"]))
        if data is None:
            return web.Response(status=404, text="Not Found")
        return web.Response(body=data, content_type="application/octet-stream")

    # ------------------------------------------------------------------ users, app, gateway

    async def _get_me(self, call: Call, p: dict[str, str]) -> _Reply:
        return 200, self.bot_user()

    async def _get_user(self, call: Call, p: dict[str, str]) -> _Reply:
        user = self.users.get(_int(p["user_id"]))
        return (200, user) if user is not None else _error(404, 10013, "Unknown User")

    async def _create_dm(self, call: Call, p: dict[str, str]) -> _Reply:
        body = call.json if isinstance(call.json, dict) else {}
        user_id = _int(body.get("recipient_id"))
        if user_id not in self.users or user_id == self.bot_id:
            return _error(400, 50033, "Invalid Recipient(s)")
        # Opening the DM always works; sending to someone in ``cannot_dm`` does not.
        return 200, self.dm_channel(user_id)

    async def _get_gateway(self, call: Call, p: dict[str, str]) -> _Reply:
        return 200, {"url": self.gateway_url}

    async def _get_gateway_bot(self, call: Call, p: dict[str, str]) -> _Reply:
        return 200, {
            "url": self.gateway_url,
            "shards": self.recommended_shards,
            "session_start_limit": {
                "total": 1000,
                "remaining": 1000 - len(self.identifies),
                "reset_after": 86_400_000,
                "max_concurrency": 1,
            },
        }

    async def _get_application(self, call: Call, p: dict[str, str]) -> _Reply:
        return 200, {
            "id": str(self.application_id),
            "name": "Breakthrough",
            "icon": None,
            "description": "An open-source coaching bot.",
            "summary": "",
            "type": None,
            "bot_public": True,
            "bot_require_code_grant": False,
            "verify_key": "0" * 64,
            "flags": self.application_flags,
            "owner": self.users[self.ann_id],
            "team": None,
            "bot": self.users[self.bot_id],
            "interactions_endpoint_url": None,
            "redirect_uris": [],
            "tags": [],
            "install_params": {"scopes": ["bot", "applications.commands"], "permissions": "0"},
            "integration_types_config": {"0": {}},
            "approximate_guild_count": len(self.guilds),
        }

    # ------------------------------------------------------------------ application commands

    def _command_scope(self, p: dict[str, str]) -> tuple[int | None, _Reply | None]:
        if p["application_id"] != str(self.application_id):
            return None, _error(403, 50001, "Missing Access")
        if "guild_id" not in p:
            return None, None
        guild_id = _int(p["guild_id"])
        if guild_id not in self.guilds:
            return None, _error(403, 50001, "Missing Access")
        return guild_id, None

    def _command_errors(self, index: int | None, command: Any) -> Json:
        def err(name: str, code: str, message: str) -> Json:
            return {name: {"_errors": [{"code": code, "message": message}]}}

        errors: Json = {}
        if not isinstance(command, dict):
            errors = err("_root", "DICT_TYPE_CONVERT", "Only dictionaries may be used.")
        else:
            name = command.get("name")
            if not isinstance(name, str) or not _COMMAND_NAME.match(name) or name != name.lower():
                errors.update(err("name", "APPLICATION_COMMAND_INVALID_NAME", "Invalid name"))
            description = command.get("description", "")
            if command.get("type", 1) == 1 and not 1 <= len(str(description or "")) <= 100:
                errors.update(
                    err(
                        "description",
                        "BASE_TYPE_BAD_LENGTH",
                        "Must be between 1 and 100 in length.",
                    )
                )
        return {str(index): errors} if errors and index is not None else errors

    def _store_command(self, guild_id: int | None, command: Json) -> Json:
        type_ = int(command.get("type", 1))
        key = (guild_id, str(command["name"]), type_)
        command_id = self._command_ids.setdefault(key, self.snowflake())
        stored: Json = {
            "default_member_permissions": None,
            "type": type_,
            "name_localizations": None,
            "description": "",
            "description_localizations": None,
            "options": [],
            "integration_types": [0],
            "nsfw": False,
            **command,
            "id": str(command_id),
            "application_id": str(self.application_id),
            "version": str(self.snowflake()),
        }
        if guild_id is not None:
            stored["guild_id"] = str(guild_id)
        return stored

    async def _get_commands(self, call: Call, p: dict[str, str]) -> _Reply:
        guild_id, error = self._command_scope(p)
        return error or (200, self.commands.get(guild_id, []))

    async def _put_commands(self, call: Call, p: dict[str, str]) -> _Reply:
        guild_id, error = self._command_scope(p)
        if error is not None:
            return error
        if not isinstance(call.json, list):
            return _form_error("_root", "LIST_TYPE_CONVERT", "Only iterables may be used.")
        errors: Json = {}
        for index, command in enumerate(call.json):
            errors.update(self._command_errors(index, command))
        if errors:
            return _error(400, 50035, "Invalid Form Body", errors)
        self.commands[guild_id] = [self._store_command(guild_id, c) for c in call.json]
        return 200, self.commands[guild_id]

    async def _post_command(self, call: Call, p: dict[str, str]) -> _Reply:
        guild_id, error = self._command_scope(p)
        if error is not None:
            return error
        errors = self._command_errors(None, call.json)
        if errors:
            return _error(400, 50035, "Invalid Form Body", errors)
        stored = self._store_command(guild_id, call.json)
        existing = self.commands.setdefault(guild_id, [])
        old = [c for c in existing if c["id"] == stored["id"]]
        self.commands[guild_id] = [c for c in existing if c["id"] != stored["id"]] + [stored]
        return (200 if old else 201), stored

    def find_command(self, name: str, guild_id: int | None = None) -> Json | None:
        """A registered chat-input command: the guild's own first, then the global one."""
        for scope in (guild_id, None) if guild_id is not None else (None,):
            for command in self.commands.get(scope, []):
                if command["name"] == name and command.get("type", 1) == 1:
                    return command
        return None

    # ------------------------------------------------------------------ messages

    def _validate_message(self, payload: Json, files: list[UploadedFile]) -> _Reply | None:
        content = payload.get("content")
        if isinstance(content, str) and len(content) > 2000:
            return _form_error(
                "content", "BASE_TYPE_MAX_LENGTH", "Must be 2000 or fewer in length."
            )
        has_body = any(
            payload.get(k) for k in ("content", "embeds", "components", "sticker_ids", "poll")
        )
        if not (has_body or files or payload.get("attachments")):
            return _error(400, 50006, "Cannot send an empty message")
        return None

    def _attachments(
        self, channel_id: int, payload: Json, files: list[UploadedFile], keep: list[Json]
    ) -> list[Json]:
        """Attachment objects for ``files``, following ``payload["attachments"]`` (whose
        ``id`` is the file's index for new files, a snowflake for ones to keep)."""
        by_field = {f.field: f for f in files}
        wanted = payload.get("attachments")
        if wanted is None:
            wanted = [{"id": i, "filename": f.name} for i, f in enumerate(files)]
        result: list[Json] = []
        kept = {a["id"]: a for a in keep}
        for item in wanted:
            if not isinstance(item, dict):
                continue
            if str(item.get("id")) in kept:
                result.append(kept[str(item["id"])])
                continue
            upload = by_field.get(f"files[{item.get('id')}]")
            if upload is None:
                continue
            attachment_id = self.snowflake()
            self.attachments[attachment_id] = upload.data
            url = f"{self.base_url}/attachments/{channel_id}/{attachment_id}/{upload.name}"
            attachment: Json = {
                "id": str(attachment_id),
                "filename": upload.name,
                "size": len(upload.data),
                "url": url,
                "proxy_url": url,
                "content_type": mimetypes.guess_type(upload.name)[0] or upload.content_type,
            }
            if item.get("description"):
                attachment["description"] = item["description"]
            result.append(attachment)
        return result

    def _mentions(self, content: str) -> list[Json]:
        ids = dict.fromkeys(int(m) for m in re.findall(r"<@!?(\d+)>", content))
        return [self.users[i] for i in ids if i in self.users]

    def _new_message(
        self,
        channel_id: int,
        payload: Json,
        files: list[UploadedFile],
        *,
        author: Json,
        flags: int = 0,
        interaction: _Interaction | None = None,
    ) -> Json:
        """Build, store and return a message object as the REST API answers it."""
        message_id = self.snowflake()
        content = str(payload.get("content") or "")
        message: Json = {
            "type": 0,
            "id": str(message_id),
            "channel_id": str(channel_id),
            "author": author,
            "content": content,
            "timestamp": _iso(message_id),
            "edited_timestamp": None,
            "tts": bool(payload.get("tts", False)),
            "mention_everyone": False,
            "mentions": self._mentions(content),
            "mention_roles": [],
            "attachments": self._attachments(channel_id, payload, files, []),
            "embeds": payload.get("embeds") or [],
            "components": payload.get("components") or [],
            "pinned": False,
            "flags": flags | int(payload.get("flags") or 0),
        }
        if payload.get("nonce") is not None:
            message["nonce"] = payload["nonce"]
        reference = payload.get("message_reference")
        if isinstance(reference, dict) and reference.get("message_id"):
            message["type"] = 19
            message["message_reference"] = {
                "type": 0,
                "message_id": str(reference["message_id"]),
                "channel_id": str(reference.get("channel_id") or channel_id),
            }
            referenced = self._messages.get(_int(reference["message_id"]))
            if referenced is not None:
                message["referenced_message"] = {
                    k: v for k, v in referenced.items() if k != "referenced_message"
                }
        if interaction is not None:
            message["type"] = 20 if interaction.type == 2 else 0
            message["webhook_id"] = str(self.application_id)
            message["application_id"] = str(self.application_id)
            message["interaction_metadata"] = {
                "id": str(interaction.id),
                "type": interaction.type,
                "user": interaction.user,
                "authorizing_integration_owners": self._owners(interaction.guild_id),
            }
            interaction.message_ids.append(message_id)
        self._messages[message_id] = message
        self._channel_messages.setdefault(channel_id, []).append(message_id)
        if channel_id in self.channels:
            self.channels[channel_id]["last_message_id"] = str(message_id)
        return message

    def add_message(
        self,
        channel_id: int,
        content: str = "",
        *,
        author: int | None = None,
        components: list[Json] | None = None,
        embeds: list[Json] | None = None,
    ) -> Json:
        """Put a message in a channel without any event, e.g. one the bot sent before a
        restart (``author`` defaults to the bot) that a persistent view must still handle."""
        payload = {"content": content, "components": components or [], "embeds": embeds or []}
        return self._new_message(channel_id, payload, [], author=self.users[author or self.bot_id])

    def _edit(self, message: Json, payload: Json, files: list[UploadedFile]) -> Json:
        channel_id = int(message["channel_id"])
        for key in ("content", "embeds", "components"):
            if key in payload:
                message[key] = (
                    payload[key] if payload[key] is not None else ("" if key == "content" else [])
                )
        if "flags" in payload and payload["flags"] is not None:
            message["flags"] = (message["flags"] & (FLAG_EPHEMERAL | FLAG_LOADING)) | int(
                payload["flags"]
            )
        if "attachments" in payload or files:
            message["attachments"] = self._attachments(
                channel_id, payload, files, message["attachments"]
            )
        message["mentions"] = self._mentions(message["content"])
        message["edited_timestamp"] = datetime.now(UTC).isoformat()
        return message

    def _channel(self, p: dict[str, str]) -> tuple[int, Json | None]:
        channel_id = _int(p["channel_id"])
        return channel_id, self.channels.get(channel_id)

    def _channel_message(self, p: dict[str, str]) -> Json | None:
        message = self._messages.get(_int(p["message_id"]))
        if message is None or message["channel_id"] != p["channel_id"]:
            return None
        return message

    async def _get_channel(self, call: Call, p: dict[str, str]) -> _Reply:
        _, channel = self._channel(p)
        return (200, channel) if channel is not None else _UNKNOWN_CHANNEL

    async def _create_message(self, call: Call, p: dict[str, str]) -> _Reply:
        channel_id, channel = self._channel(p)
        if channel is None:
            return _UNKNOWN_CHANNEL
        if channel["type"] == DM and int(channel["recipients"][0]["id"]) in self.cannot_dm:
            return _error(403, 50007, "Cannot send messages to this user")
        payload = call.json if isinstance(call.json, dict) else {}
        invalid = self._validate_message(payload, call.files)
        if invalid is not None:
            return invalid
        message = self._new_message(channel_id, payload, call.files, author=self.users[self.bot_id])
        if self.echo_own_messages:
            await self._dispatch_message("MESSAGE_CREATE", message, wait=False)
        return 200, message

    async def _list_messages(self, call: Call, p: dict[str, str]) -> _Reply:
        """A channel's history, newest first, as discord.py's ``history()`` asks for it:
        ``limit`` (1-100, default 50) and one of ``before``/``after``/``around``."""
        channel_id, channel = self._channel(p)
        if channel is None:
            return _UNKNOWN_CHANNEL
        limit = min(max(_int(call.query.get("limit", "50")) or 50, 1), 100)
        ids = sorted(self._channel_messages.get(channel_id, []), reverse=True)
        if "before" in call.query:
            ids = [i for i in ids if i < _int(call.query["before"])]
        if "after" in call.query:
            ids = sorted(i for i in ids if i > _int(call.query["after"]))[:limit][::-1]
        return 200, [self._messages[i] for i in ids[:limit]]

    async def _get_message(self, call: Call, p: dict[str, str]) -> _Reply:
        message = self._channel_message(p)
        return (200, message) if message is not None else _UNKNOWN_MESSAGE

    async def _edit_message(self, call: Call, p: dict[str, str]) -> _Reply:
        message = self._channel_message(p)
        if message is None:
            return _UNKNOWN_MESSAGE
        if message["author"]["id"] != str(self.bot_id):
            return _error(403, 50005, "Cannot edit a message authored by another user")
        payload = call.json if isinstance(call.json, dict) else {}
        self._edit(message, payload, call.files)
        if self.echo_own_messages:
            await self._dispatch_message("MESSAGE_UPDATE", message, wait=False)
        return 200, message

    async def _delete_message(self, call: Call, p: dict[str, str]) -> _Reply:
        message = self._channel_message(p)
        if message is None:
            return _UNKNOWN_MESSAGE
        self._forget(message)
        event: Json = {"id": message["id"], "channel_id": message["channel_id"]}
        guild_id = self._guild_of(int(message["channel_id"]))
        if guild_id is not None:
            event["guild_id"] = str(guild_id)
        await self._emit(
            "MESSAGE_DELETE", event, intent=GUILD_MESSAGES if guild_id else DIRECT_MESSAGES
        )
        return 204, None

    def _forget(self, message: Json) -> None:
        message_id, channel_id = int(message["id"]), int(message["channel_id"])
        self._messages.pop(message_id, None)
        ids = self._channel_messages.get(channel_id, [])
        if message_id in ids:
            ids.remove(message_id)

    async def _typing(self, call: Call, p: dict[str, str]) -> _Reply:
        _, channel = self._channel(p)
        return (204, None) if channel is not None else _UNKNOWN_CHANNEL

    # ------------------------------------------------------------------ threads

    async def _start_thread(self, call: Call, p: dict[str, str]) -> _Reply:
        parent_id, parent = self._channel(p)
        if parent is None:
            return _UNKNOWN_CHANNEL
        if parent["type"] != GUILD_TEXT:
            return _error(400, 50024, "Cannot execute action on this channel type")
        body = call.json if isinstance(call.json, dict) else {}
        name = body.get("name")
        if not isinstance(name, str) or not 1 <= len(name) <= 100:
            return _form_error(
                "name", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length."
            )
        message: Json | None = None
        if "message_id" in p:
            message = self._channel_message(p)
            if message is None:
                return _UNKNOWN_MESSAGE
            if "thread" in message:
                return _error(400, 160004, "A thread has already been created for this message")
            thread_id, type_ = int(message["id"]), PUBLIC_THREAD  # the thread takes its id
        else:
            thread_id, type_ = self.snowflake(), int(body.get("type", PRIVATE_THREAD))
            if type_ not in (PUBLIC_THREAD, PRIVATE_THREAD):
                return _form_error("type", "BASE_TYPE_CHOICES", "Value must be one of {11, 12}.")
        thread = self._thread(thread_id, parent_id, name, type_, owner_id=self.bot_id)
        thread["thread_metadata"]["auto_archive_duration"] = int(
            body.get("auto_archive_duration") or 1440
        )
        if body.get("rate_limit_per_user"):
            thread["rate_limit_per_user"] = int(body["rate_limit_per_user"])
        self.channels[thread_id] = thread
        if message is not None:
            message["thread"] = thread
            message["flags"] |= 1 << 5  # HAS_THREAD
        await self._emit("THREAD_CREATE", {**thread, "newly_created": True}, intent=GUILDS)
        return 201, thread

    async def _join_thread(self, call: Call, p: dict[str, str]) -> _Reply:
        _, thread = self._channel(p)
        if thread is None or thread["type"] not in (PUBLIC_THREAD, PRIVATE_THREAD):
            return _UNKNOWN_CHANNEL
        if p.get("user_id") is not None and _int(p["user_id"]) not in self.users:
            return _error(404, 10013, "Unknown User")
        thread["member_count"] += 1
        return 204, None

    # ------------------------------------------------------------------ interactions

    def _owners(self, guild_id: int | None) -> dict[str, str]:
        return {"0": str(guild_id) if guild_id is not None else "0"}

    async def _callback(self, call: Call, p: dict[str, str]) -> _Reply:
        interaction = self._interactions.get(_int(p["webhook_id"]))
        if interaction is None or interaction.token != p["webhook_token"]:
            return _error(404, 10062, "Unknown interaction")
        if interaction.response_type is not None:
            return _error(400, 40060, "Interaction has already been acknowledged.")
        body = call.json if isinstance(call.json, dict) else {}
        type_ = body.get("type")
        data = body.get("data") if isinstance(body.get("data"), dict) else {}
        assert isinstance(data, dict)
        ephemeral = bool(int(data.get("flags") or 0) & FLAG_EPHEMERAL)
        resource: Json | None = None
        if type_ == CHANNEL_MESSAGE:
            invalid = self._validate_message(data, call.files)
            if invalid is not None:
                return invalid
            message = self._new_message(
                interaction.channel_id,
                data,
                call.files,
                author=self.users[self.bot_id],
                interaction=interaction,
            )
            interaction.original_id = int(message["id"])
            resource = {"type": type_, "message": message}
        elif type_ == DEFERRED_CHANNEL_MESSAGE:
            flags = FLAG_LOADING | (FLAG_EPHEMERAL if ephemeral else 0)
            message = self._new_message(
                interaction.channel_id,
                {},
                [],
                author=self.users[self.bot_id],
                flags=flags,
                interaction=interaction,
            )
            interaction.original_id = int(message["id"])
            resource = {"type": type_, "message": message}
        elif type_ in (DEFERRED_UPDATE, UPDATE_MESSAGE):
            target = self._messages.get(interaction.message_id or 0)
            if target is None:
                return _error(400, 40004, "Interaction has no message to update")
            interaction.original_id = int(target["id"])
            if type_ == UPDATE_MESSAGE:
                self._edit(target, data, call.files)
                resource = {"type": type_, "message": target}
        elif type_ == MODAL:
            if not data.get("custom_id") or not data.get("components"):
                return _form_error("data", "BASE_TYPE_REQUIRED", "This field is required")
            self.modals[str(data["custom_id"])] = data
            self._modal_origins[str(data["custom_id"])] = interaction
        else:
            return _form_error("type", "BASE_TYPE_CHOICES", "Value must be one of {4, 5, 6, 7, 9}.")
        interaction.response_type = type_
        reply: Json = {
            "interaction": {
                "id": str(interaction.id),
                "type": interaction.type,
                "response_message_loading": type_ == DEFERRED_CHANNEL_MESSAGE,
                "response_message_ephemeral": ephemeral,
            }
        }
        if interaction.original_id is not None:
            reply["interaction"]["response_message_id"] = str(interaction.original_id)
        if resource is not None:
            reply["resource"] = resource
        if call.query.get("with_response", "").lower() in ("1", "true"):
            return 200, reply
        return 204, None

    def _webhook_interaction(self, p: dict[str, str]) -> _Interaction | None:
        if p["webhook_id"] != str(self.application_id):
            return None
        interaction = self._interactions_by_token.get(p["webhook_token"])
        if interaction is None or interaction.response_type is None:
            return None  # a follow-up before the interaction is acknowledged is unknown
        return interaction

    def _webhook_message(self, interaction: _Interaction, p: dict[str, str]) -> Json | None:
        raw = p.get("message_id", "@original")
        message_id = interaction.original_id if raw == "@original" else _int(raw)
        if message_id is None or (
            message_id not in interaction.message_ids and message_id != interaction.original_id
        ):
            return None
        return self._messages.get(message_id)

    async def _execute_webhook(self, call: Call, p: dict[str, str]) -> _Reply:
        interaction = self._webhook_interaction(p)
        if interaction is None:
            return _UNKNOWN_WEBHOOK
        payload = call.json if isinstance(call.json, dict) else {}
        invalid = self._validate_message(payload, call.files)
        if invalid is not None:
            return invalid
        original = self._messages.get(interaction.original_id or 0)
        if (
            interaction.response_type == DEFERRED_CHANNEL_MESSAGE
            and not interaction.followup_filled_original
            and original is not None
            and original["flags"] & FLAG_LOADING
        ):
            # Discord: the first follow-up after a deferred response fills in the
            # "thinking..." message (keeping the defer's ephemerality).
            interaction.followup_filled_original = True
            message = self._edit(original, payload, call.files)
            message["flags"] &= ~FLAG_LOADING
            message["edited_timestamp"] = None
        else:
            message = self._new_message(
                interaction.channel_id,
                payload,
                call.files,
                author=self.users[self.bot_id],
                interaction=interaction,
            )
        if call.query.get("wait", "").lower() in ("1", "true"):
            return 200, message
        return 204, None

    async def _get_webhook_message(self, call: Call, p: dict[str, str]) -> _Reply:
        interaction = self._webhook_interaction(p)
        if interaction is None:
            return _UNKNOWN_WEBHOOK
        message = self._webhook_message(interaction, p)
        return (200, message) if message is not None else _UNKNOWN_MESSAGE

    async def _edit_webhook_message(self, call: Call, p: dict[str, str]) -> _Reply:
        interaction = self._webhook_interaction(p)
        if interaction is None:
            return _UNKNOWN_WEBHOOK
        message = self._webhook_message(interaction, p)
        if message is None:
            return _UNKNOWN_MESSAGE
        payload = call.json if isinstance(call.json, dict) else {}
        self._edit(message, payload, call.files)
        if p.get("message_id", "@original") == "@original":
            message["flags"] &= ~FLAG_LOADING
        return 200, message

    async def _delete_webhook_message(self, call: Call, p: dict[str, str]) -> _Reply:
        interaction = self._webhook_interaction(p)
        if interaction is None:
            return _UNKNOWN_WEBHOOK
        message = self._webhook_message(interaction, p)
        if message is None:
            return _UNKNOWN_MESSAGE
        self._forget(message)
        return 204, None

    # ================================================================== gateway

    async def _gateway(self, request: web.Request) -> web.StreamResponse:
        transport = request.transport
        assert transport is None or isinstance(transport, asyncio.Transport)
        ws = web.WebSocketResponse(autoping=True, max_msg_size=0)
        await ws.prepare(request)
        conn = Connection(
            index=len(self.connections),
            path=request.path,
            query=dict(request.query),
            ws=ws,
            transport=transport,
            opened_at=time.monotonic(),
        )
        if self.compress and conn.query.get("compress") == "zlib-stream":
            conn.compressor = zlib.compressobj()
        self.connections.append(conn)
        try:
            if conn.query.get("v", "10") not in ("9", "10"):
                await self._close(conn, 4012, "Invalid API version.")
                return ws
            hello = {"heartbeat_interval": self.heartbeat_interval, "_trace": ['["fake-discord"]']}
            await self._send(conn, {"op": OP_HELLO, "d": hello, "s": None, "t": None})
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    await self._close(conn, 4002, "Error while decoding payload.")
                    break
                try:
                    payload = json.loads(msg.data)
                except ValueError:
                    await self._close(conn, 4002, "Error while decoding payload.")
                    break
                if not isinstance(payload, dict):
                    await self._close(conn, 4002, "Error while decoding payload.")
                    break
                await self._on_frame(conn, payload)
                if ws.closed:
                    break
        finally:
            conn.closed_at = time.monotonic()
        return ws

    def _record(self, direction: Literal["sent", "received"], conn: Connection, p: Json) -> None:
        op = p.get("op")
        self.frames_log.append(
            Frame(
                direction=direction,
                op=op if isinstance(op, int) else -1,
                t=p.get("t"),
                s=p.get("s"),
                d=p.get("d"),
                connection=conn.index,
                at=time.monotonic(),
            )
        )

    async def _send(self, conn: Connection, payload: Json) -> None:
        """Send one frame; a client that went away meanwhile gets it on RESUME instead."""
        text = json.dumps(payload)
        async with conn.lock:
            if not conn.live:
                return
            self._record("sent", conn, payload)
            try:
                if conn.compressor is not None:
                    data = conn.compressor.compress(text.encode())
                    data += conn.compressor.flush(zlib.Z_SYNC_FLUSH)
                    await conn.ws.send_bytes(data)
                else:
                    await conn.ws.send_str(text)
            except (ConnectionError, RuntimeError):
                pass

    async def _close(self, conn: Connection, code: int, reason: str) -> None:
        conn.close_code = code
        with contextlib.suppress(Exception):
            await asyncio.wait_for(conn.ws.close(code=code, message=reason.encode()), 2.0)

    async def _on_frame(self, conn: Connection, payload: Json) -> None:
        self._record("received", conn, payload)
        op, d = payload.get("op"), payload.get("d")
        if op == OP_HEARTBEAT:
            self.heartbeats.append((time.monotonic(), d if isinstance(d, int) else None))
            await self._send(conn, {"op": OP_HEARTBEAT_ACK, "d": None, "s": None, "t": None})
        elif op == OP_IDENTIFY:
            await self._identify(conn, d if isinstance(d, dict) else {})
        elif op == OP_RESUME:
            await self._resume(conn, d if isinstance(d, dict) else {})
        elif conn.session is None:
            await self._close(conn, 4003, "Not authenticated.")
        elif op == OP_REQUEST_MEMBERS and isinstance(d, dict):
            await self._request_members(conn.session, d)
        elif op not in (OP_PRESENCE, 4):  # presence and voice state updates: recorded only
            await self._close(conn, 4001, "Unknown opcode.")

    def _next_dispatch(self, session: Session, t: str, d: Json) -> Json:
        session.seq += 1
        # A snapshot: a RESUME replays the event as it was, not as the fake's state is now.
        payload = {"op": OP_DISPATCH, "t": t, "s": session.seq, "d": json.loads(json.dumps(d))}
        session.dispatched.append(payload)
        return payload

    def _session_connection(self, session: Session) -> Connection | None:
        live = [c for c in self.connections if c.session is session and c.live]
        return live[-1] if live else None

    async def _send_dispatch(self, session: Session, t: str, d: Json) -> Json:
        async with self._send_lock:
            payload = self._next_dispatch(session, t, d)
            conn = self._session_connection(session)
            if conn is not None:
                await self._send(conn, payload)
        return payload

    async def _identify(self, conn: Connection, d: Json) -> None:
        if conn.session is not None:
            await self._close(conn, 4005, "Already authenticated.")
            return
        if d.get("token") != self.token:
            await self._close(conn, 4004, "Authentication failed.")
            return
        intents = int(d.get("intents") or 0)
        if not self.privileged_intents and intents & PRIVILEGED_INTENTS:
            await self._close(conn, 4014, "Disallowed intent(s).")
            return
        shard = d.get("shard")
        if shard is not None and not (
            isinstance(shard, list) and len(shard) == 2 and 0 <= shard[0] < shard[1]
        ):
            await self._close(conn, 4010, "Invalid shard.")
            return
        self.identifies.append(d)
        session = Session(
            session_id=secrets.token_hex(16),
            token=str(d["token"]),
            intents=intents,
            shard=shard,
            identify=d,
        )
        self.sessions.append(session)
        conn.session = session
        shard_id, shard_count = shard or (0, 1)
        guild_ids = [g for g in self.guilds if (g >> 22) % shard_count == shard_id]
        ready: Json = {
            "v": 10,
            "user_settings": {},
            "user": self.bot_user(),
            "session_type": "normal",
            "session_id": session.session_id,
            "resume_gateway_url": self.resume_gateway_url,
            "relationships": [],
            "private_channels": [],
            "presences": [],
            "guilds": [{"id": str(g), "unavailable": True} for g in guild_ids],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
            "application": {"id": str(self.application_id), "flags": self.application_flags},
            "auth": {},
            "_trace": ['["fake-discord"]'],
        }
        if shard is not None:
            ready["shard"] = shard
        await self._send_dispatch(session, "READY", ready)
        if intents & GUILDS:
            for guild_id in guild_ids:
                await self._send_dispatch(
                    session, "GUILD_CREATE", self.guild_create_payload(guild_id)
                )
        session.ready = True

    async def _resume(self, conn: Connection, d: Json) -> None:
        if conn.session is not None:
            await self._close(conn, 4005, "Already authenticated.")
            return
        if d.get("token") != self.token:
            await self._close(conn, 4004, "Authentication failed.")
            return
        session = next((s for s in self.sessions if s.session_id == d.get("session_id")), None)
        if session is None or not session.valid:
            await self._send(conn, {"op": OP_INVALID_SESSION, "d": False, "s": None, "t": None})
            return
        seq = d.get("seq") if isinstance(d.get("seq"), int) else 0
        async with self._send_lock:
            conn.session, conn.resumed = session, True
            session.resumes += 1
            for payload in list(session.dispatched):
                if payload["s"] > seq:
                    await self._send(conn, payload)
            await self._send(
                conn, self._next_dispatch(session, "RESUMED", {"_trace": ['["fake-discord"]']})
            )

    async def _request_members(self, session: Session, d: Json) -> None:
        guild_id = _int(d.get("guild_id"))
        if guild_id not in self.guilds:
            return
        wanted = {_int(u) for u in d.get("user_ids") or []}
        query = str(d.get("query") or "")
        members = [
            self._member(guild_id, uid)
            for uid in self.members[guild_id]
            if (not wanted or uid in wanted) and self.users[uid]["username"].startswith(query)
        ]
        limit = int(d.get("limit") or 0)
        chunk: Json = {
            "guild_id": str(guild_id),
            "members": members[:limit] if limit else members,
            "chunk_index": 0,
            "chunk_count": 1,
            "not_found": [str(u) for u in wanted if u not in self.members[guild_id]],
        }
        if d.get("presences"):
            chunk["presences"] = []
        if d.get("nonce"):
            chunk["nonce"] = d["nonce"]
        await self._send_dispatch(session, "GUILD_MEMBERS_CHUNK", chunk)

    async def request_reconnect(self) -> None:
        """Send op 7 RECONNECT: discord.py closes the socket and RESUMEs on
        ``resume_gateway_url``."""
        conn = self._live_connection()
        await self._send(conn, {"op": OP_RECONNECT, "d": None, "s": None, "t": None})

    async def invalidate_session(
        self, *, resumable: bool = False, session: Session | None = None
    ) -> None:
        """Send op 9 INVALID_SESSION on ``session``'s connection (default: the newest).
        Not resumable: the session is gone, so the client must IDENTIFY again (discord.py
        waits in ``before_identify_hook``, 5 s by default, and dials
        ``DiscordWebSocket.DEFAULT_GATEWAY``)."""
        conn = self._session_connection(session) if session else self._live_connection()
        if conn is None:
            raise AssertionError(f"no live connection of that session\n{self.summary()}")
        if not resumable and conn.session is not None:
            conn.session.valid = False
        await self._send(conn, {"op": OP_INVALID_SESSION, "d": resumable, "s": None, "t": None})

    async def request_heartbeat(self) -> None:
        """Send op 1: the client must heartbeat at once."""
        conn = self._live_connection()
        await self._send(conn, {"op": OP_HEARTBEAT, "d": None, "s": None, "t": None})

    async def drop_connection(self) -> None:
        """Cut the TCP connection without a close frame (the client sees 1006 and RESUMEs)."""
        conn = self._live_connection()
        conn.closed_at = time.monotonic()
        if conn.transport is not None:
            conn.transport.abort()
        else:  # pragma: no cover - aiohttp always gives the transport
            await conn.ws.close(code=1011)

    async def close_connection(self, code: int = 4000, reason: str = "") -> None:
        """Close the gateway connection with a close code (4000: client may RESUME)."""
        await self._close(self._live_connection(), code, reason)

    def _live_connection(self) -> Connection:
        conn = self.connection
        if conn is None:
            raise AssertionError(f"no live gateway connection\n{self.summary()}")
        return conn

    # ================================================================== dispatch and builders

    async def _emit(self, t: str, d: Json, *, intent: int) -> Json | None:
        """Dispatch to the server's session if it asked for ``intent``; never waits."""
        session = self.session_for(_int(d.get("guild_id")) or None)
        if session is None or not session.ready or not session.intents & intent:
            return None
        return await self._send_dispatch(session, t, d)

    async def dispatch(self, t: str, d: Json, *, timeout: float = 5.0) -> Json:  # noqa: ASYNC109
        """Dispatch any event (``op`` 0, next ``s``) to the session of its server's shard,
        waiting for READY if needed. While the client is reconnecting the event is kept
        and replayed on RESUME. Returns the full payload sent."""
        guild_id = _int(d.get("guild_id")) or None
        await self.wait_ready(timeout)
        await self.wait_for(lambda: _ready(self.session_for(guild_id)), timeout)
        session = self.session_for(guild_id)
        assert session is not None
        return await self._send_dispatch(session, t, d)

    def _can_see_content(self, session: Session, message: Json) -> bool:
        if session.intents & MESSAGE_CONTENT or "guild_id" not in message:
            return True
        if message["author"]["id"] == str(self.bot_id):
            return True
        return any(m["id"] == str(self.bot_id) for m in message.get("mentions", []))

    async def _dispatch_message(self, t: str, message: Json, *, wait: bool) -> Json | None:
        """MESSAGE_CREATE/UPDATE with Discord's intent rules (see the module docstring)."""
        d = dict(message)
        guild_id = self._guild_of(int(message["channel_id"]))
        if guild_id is not None:
            d["guild_id"] = str(guild_id)
            author_id = int(message["author"]["id"])
            if author_id in self.members.get(guild_id, []):
                d["member"] = self._member(guild_id, author_id, with_user=False)
        if wait:
            await self.wait_ready()
            await self.wait_for(lambda: _ready(self.session_for(guild_id)))
        session = self.session_for(guild_id)
        if session is None or not session.ready:
            return None
        if not session.intents & (GUILD_MESSAGES if guild_id is not None else DIRECT_MESSAGES):
            return None
        if not self._can_see_content(session, d):
            d.update(content="", embeds=[], attachments=[], components=[])
            d.pop("poll", None)
        return (await self._send_dispatch(session, t, d))["d"]

    def _place(
        self, user_id: int, channel_id: int | None, guild_id: int | None, dm: bool
    ) -> tuple[int, int | None]:
        if dm:
            return int(self.dm_channel(user_id)["id"]), None
        channel_id = channel_id or self.channel_id
        if channel_id not in self.channels:
            raise ValueError(f"unknown channel {channel_id}")
        return channel_id, guild_id if guild_id is not None else self._guild_of(channel_id)

    def _new_interaction(
        self,
        type_: int,
        data: Json,
        *,
        user_id: int,
        channel_id: int,
        guild_id: int | None,
        message: Json | None = None,
        locale: str = "en-US",
    ) -> tuple[_Interaction, Json]:
        interaction = _Interaction(
            id=self.snowflake(),
            token="aW50ZXJhY3Rpb246" + secrets.token_urlsafe(48),
            type=type_,
            channel_id=channel_id,
            guild_id=guild_id,
            user=self.users[user_id],
            message_id=int(message["id"]) if message is not None else None,
        )
        self._interactions[interaction.id] = interaction
        self._interactions_by_token[interaction.token] = interaction
        channel = dict(self.channels[channel_id])
        payload: Json = {
            "id": str(interaction.id),
            "application_id": str(self.application_id),
            "type": type_,
            "data": data,
            "token": interaction.token,
            "version": 1,
            "channel_id": str(channel_id),
            "channel": channel,
            "app_permissions": _ALL_PERMISSIONS,
            "locale": locale,
            "entitlements": [],
            "entitlement_sku_ids": [],
            "authorizing_integration_owners": self._owners(guild_id),
            "context": 0 if guild_id is not None else 1,
            "attachment_size_limit": 10 * 1024 * 1024,
        }
        if guild_id is not None:
            channel["permissions"] = _EVERYONE_PERMISSIONS
            payload["guild_id"] = str(guild_id)
            payload["guild"] = {"id": str(guild_id), "locale": "en-US", "features": []}
            payload["guild_locale"] = "en-US"
            payload["member"] = {
                **self._member(guild_id, user_id),
                "permissions": str(self.permissions.get(user_id, int(_EVERYONE_PERMISSIONS))),
            }
        else:
            payload["user"] = self.users[user_id]
        if message is not None:
            payload["message"] = message
        return interaction, payload

    async def slash_command(
        self,
        name: str = "breakthrough",
        subcommand: str | None = None,
        options: dict[str, Any] | None = None,
        *,
        group: str | None = None,
        user: int | None = None,
        channel_id: int | None = None,
        guild_id: int | None = None,
        dm: bool = False,
        locale: str = "en-US",
    ) -> Json:
        """Dispatch INTERACTION_CREATE type 2 for ``/name [group] [subcommand] options...``.

        Option types come from the registered command when there is one (else str 3,
        int 4, bool 5, float 10); ``data.id`` is the registered command's id. Used in a
        guild (default: "general") the interaction has ``member`` (its ``permissions``
        from :attr:`permissions`); with ``dm=True`` it has ``user`` and the DM channel.
        Returns the interaction payload (``d``).
        """
        user_id = user or self.ann_id
        channel, guild = self._place(user_id, channel_id, guild_id, dm)
        command = self.find_command(name, guild)
        declared: list[Json] = list(command.get("options") or []) if command else []
        for level in (group, subcommand):
            if level is not None:
                parent = next((o for o in declared if o.get("name") == level), None)
                declared = list(parent.get("options") or []) if parent else []
        leaf = [_option(k, v, declared) for k, v in (options or {}).items()]
        resolved: Json = {}
        for option in leaf:
            if option["type"] == 6 and _int(option["value"]) in self.users:
                uid = _int(option["value"])
                resolved.setdefault("users", {})[str(uid)] = self.users[uid]
                if guild is not None and uid in self.members.get(guild, []):
                    member = self._member(guild, uid, with_user=False)
                    resolved.setdefault("members", {})[str(uid)] = member
        nested: list[Json] = leaf
        if subcommand is not None:
            nested = [{"name": subcommand, "type": 1, "options": leaf}]
            if group is not None:
                nested = [{"name": group, "type": 2, "options": nested}]
        if command is not None:
            command_id = int(command["id"])
        else:
            command_id = self._command_ids.setdefault((None, name, 1), self.snowflake())
        data: Json = {"id": str(command_id), "name": name, "type": 1, "options": nested}
        if resolved:
            data["resolved"] = resolved
        if command is not None and command.get("guild_id"):
            data["guild_id"] = command["guild_id"]
        _, payload = self._new_interaction(
            2, data, user_id=user_id, channel_id=channel, guild_id=guild, locale=locale
        )
        await self.dispatch("INTERACTION_CREATE", payload)
        return payload

    def _find_component_message(self, custom_id: str) -> Json | None:
        for message_id in sorted(self._messages, reverse=True):
            if custom_id in _custom_ids(self._messages[message_id].get("components", [])):
                return self._messages[message_id]
        return None

    async def button_click(
        self,
        custom_id: str,
        message: Json | int | None = None,
        *,
        user: int | None = None,
        component_type: int = 2,
        values: list[str] | None = None,
    ) -> Json:
        """Dispatch INTERACTION_CREATE type 3 (a button, or a select with ``values``) on
        ``message`` (a message object or id; default: the newest message carrying a
        component with that ``custom_id``). Returns the interaction payload."""
        if isinstance(message, int):
            message = self._messages[message]
        if message is None:
            message = self._find_component_message(custom_id)
        if message is None:
            raise AssertionError(f"no message has a component {custom_id!r}; pass message=")
        user_id = user or self.ann_id
        channel_id = int(message["channel_id"])
        data: Json = {"custom_id": custom_id, "component_type": component_type}
        if values is not None:
            data["values"] = values
        _, payload = self._new_interaction(
            3,
            data,
            user_id=user_id,
            channel_id=channel_id,
            guild_id=self._guild_of(channel_id),
            message=message,
        )
        await self.dispatch("INTERACTION_CREATE", payload)
        return payload

    async def modal_submit(
        self,
        custom_id: str,
        values: dict[str, str],
        *,
        user: int | None = None,
        channel_id: int | None = None,
        dm: bool = False,
    ) -> Json:
        """Dispatch INTERACTION_CREATE type 5 for a modal, ``values`` mapping text-input
        custom_ids to the typed text. If the bot opened that modal (a type 9 callback),
        the components mirror its layout (action rows or labels) and the interaction comes
        from the same user, channel and message. Returns the interaction payload."""
        modal = self.modals.get(custom_id)
        origin = self._modal_origins.get(custom_id)
        if modal is not None:
            known = set(_custom_ids(modal["components"]))
            unknown = set(values) - known
            if unknown:
                raise ValueError(
                    f"modal {custom_id!r} has no inputs {sorted(unknown)}; has {sorted(known)}"
                )
            components = _submitted(modal["components"], values)
        else:
            components = [
                {"type": 1, "components": [{"type": 4, "custom_id": k, "value": v}]}
                for k, v in values.items()
            ]
        message: Json | None = None
        if origin is not None and channel_id is None and not dm:
            user_id = user or int(origin.user["id"])
            channel, guild = origin.channel_id, origin.guild_id
            message = self._messages.get(origin.message_id or 0)
        else:
            user_id = user or self.ann_id
            channel, guild = self._place(user_id, channel_id, None, dm)
        data = {"custom_id": custom_id, "components": components}
        _, payload = self._new_interaction(
            5, data, user_id=user_id, channel_id=channel, guild_id=guild, message=message
        )
        await self.dispatch("INTERACTION_CREATE", payload)
        return payload

    async def message_create(
        self,
        channel_id: int | None = None,
        content: str = "",
        *,
        author: int | None = None,
        dm: bool = False,
        attachments: list[Json] | None = None,
        embeds: list[Json] | None = None,
    ) -> Json | None:
        """Someone (``author``, default Ann) posts a message: in ``channel_id`` (default
        "general"; a thread id works) or, with ``dm=True``, in their DM with the bot.

        Returns the MESSAGE_CREATE ``d`` as dispatched (``content`` blanked without the
        MESSAGE_CONTENT intent, see the module docstring), or None when the client's
        intents mean Discord would not send it at all. The message is stored either way.
        """
        user_id = author or self.ann_id
        channel, _ = self._place(user_id, channel_id, None, dm)
        message = self._new_message(
            channel, {"content": content, "embeds": embeds}, [], author=self.users[user_id]
        )
        message["attachments"] = attachments or []  # attachment objects, as Discord sends them
        return await self._dispatch_message("MESSAGE_CREATE", message, wait=True)

    # ================================================================== waiting
    # These take ``timeout`` (hence the ASYNC109 noqa) instead of leaving it to
    # ``asyncio.timeout`` so a timeout can fail with a summary of what was recorded.

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Poll ``predicate`` every 5 ms; on timeout, fail with what was recorded."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() >= deadline:
                raise AssertionError(f"condition not met within {timeout}s\n{self.summary()}")
            await asyncio.sleep(0.005)

    async def wait_ready(self, timeout: float = 5.0, *, count: int = 1) -> Session:  # noqa: ASYNC109
        """Wait until a client IDENTIFYed and was sent READY (and its GUILD_CREATEs), at
        least ``count`` times in all; return the current session."""

        def ready() -> bool:
            session = self.session
            return (
                session is not None
                and session.ready
                and sum(s.ready for s in self.sessions) >= count
            )

        await self.wait_for(ready, timeout)
        assert self.session is not None
        return self.session

    async def wait_for_call(
        self,
        pattern: str | CallPredicate,
        timeout: float = 5.0,  # noqa: ASYNC109
        *,
        count: int = 1,
    ) -> Call:
        """Wait until ``count`` calls match (patterns as for :meth:`calls_to`); return the
        ``count``-th. Use a precise pattern or predicate when earlier calls also match."""
        await self.wait_for(lambda: len(self.calls_to(pattern)) >= count, timeout)
        return self.calls_to(pattern)[count - 1]

    async def wait_callback(self, interaction: Json, timeout: float = 5.0) -> Call:  # noqa: ASYNC109
        """Wait for the bot's successful callback to an interaction built here."""
        iid = str(interaction["id"])

        def answered(call: Call) -> bool:
            return (
                call.route == "/interactions/{webhook_id}/{webhook_token}/callback"
                and call.params["webhook_id"] == iid
                and call.status < 300
            )

        return await self.wait_for_call(answered, timeout)

    async def wait_messages(
        self,
        channel_id: int,
        n: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> list[Json]:
        """Wait until the bot has at least ``n`` messages in a channel; return them all."""
        await self.wait_for(lambda: len(self.messages(channel_id)) >= n, timeout)
        return self.messages(channel_id)


# ====================================================================== helpers


def _ready(session: Session | None) -> bool:
    return session is not None and session.ready


def _int(value: Any) -> int:
    """A snowflake from JSON or a path segment; 0 when it is not one."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _option(name: str, value: Any, declared: list[Json]) -> Json:
    """A value option for a chat-input interaction, typed like the registered one."""
    decl = next((o for o in declared if o.get("name") == name), None)
    if decl is not None:
        type_ = int(decl["type"])
    elif isinstance(value, bool):
        type_ = 5
    elif isinstance(value, int):
        type_ = 4
    elif isinstance(value, float):
        type_ = 10
    else:
        type_ = 3
    if type_ in (6, 7, 8, 9, 11):  # user, channel, role, mentionable, attachment: snowflakes
        value = str(value)
    return {"name": name, "type": type_, "value": value}


def _custom_ids(components: list[Any]) -> list[str]:
    """Every ``custom_id`` in a component tree (action rows, labels, sections...)."""
    found: list[str] = []
    for component in components:
        if not isinstance(component, dict):
            continue
        if isinstance(component.get("custom_id"), str):
            found.append(component["custom_id"])
        found += _custom_ids(list(component.get("components") or []))
        for key in ("component", "accessory"):
            if isinstance(component.get(key), dict):
                found += _custom_ids([component[key]])
    return found


def _submitted(components: list[Any], values: dict[str, str]) -> list[Json]:
    """A modal's components as Discord sends them back on submit."""
    result: list[Json] = []
    for component in components:
        if not isinstance(component, dict):
            continue
        type_ = component.get("type")
        out: Json = {"type": type_}
        if "id" in component:
            out["id"] = component["id"]
        if type_ == 1:
            out["components"] = _submitted(list(component.get("components") or []), values)
        elif type_ == 18 and isinstance(component.get("component"), dict):
            [out["component"]] = _submitted([component["component"]], values)
        elif type_ == 4:
            custom_id = str(component.get("custom_id"))
            out["custom_id"] = custom_id
            out["value"] = values.get(custom_id, str(component.get("value") or ""))
        elif type_ == 10:
            out["content"] = component.get("content", "")
        else:
            continue
        result.append(out)
    return result
