"""The Discord fake speaks well enough for the real discord.py client: login, the gateway
handshake with heartbeats, slash commands through a CommandTree, persistent views and
modals, messages in threads and DMs with the message-content intent rules, attachments,
threads, DM refusals, rate limits retried by discord.py, RESUME and re-IDENTIFY.

Only 127.0.0.1 is contacted: ``fake.patch_discord_py()`` points ``Route.BASE`` and the
default gateway at the fake, and every bot records each URL it requests (checked after
each test)."""

from __future__ import annotations

import asyncio
import contextlib
import io
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import discord
import pytest
from discord import app_commands
from discord.http import Route

from tests.discord.fake_discord import ADMINISTRATOR, FakeDiscord, Session

READY_WITHIN = 5.0


class Bot(discord.Client):
    """A real discord.Client with a CommandTree, recording what reaches it."""

    def __init__(self, intents: discord.Intents | None = None) -> None:
        self.urls: list[str] = []
        trace = aiohttp.TraceConfig()
        trace.on_request_start.append(self._record_url)
        super().__init__(
            intents=intents or discord.Intents.default(),
            # discord.py waits this long after the last GUILD_CREATE before on_ready (2 s).
            guild_ready_timeout=0.05,
            http_trace=trace,
        )
        self.tree = app_commands.CommandTree(self)
        self.views_to_add: list[discord.ui.View] = []
        self.sync_commands = False
        self.ready_event = asyncio.Event()
        self.ready_count = 0
        self.resumed_count = 0
        self.seen: list[discord.Message] = []
        """Messages from people (``on_message``)."""
        self.echoes: list[discord.Message] = []
        """The bot's own messages, echoed by the gateway."""
        self.interactions: list[discord.Interaction] = []

    async def _record_url(
        self,
        session: aiohttp.ClientSession,
        context: Any,
        params: aiohttp.TraceRequestStartParams,
    ) -> None:
        self.urls.append(str(params.url))

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """discord.py's default sleeps 5 s before every IDENTIFY but the first."""

    async def setup_hook(self) -> None:
        for view in self.views_to_add:
            self.add_view(view)
        if self.sync_commands:
            await self.tree.sync()

    async def on_ready(self) -> None:
        self.ready_count += 1
        self.ready_event.set()

    async def on_resumed(self) -> None:
        self.resumed_count += 1

    async def on_message(self, message: discord.Message) -> None:
        if self.user is not None and message.author.id == self.user.id:
            self.echoes.append(message)
        else:
            self.seen.append(message)

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        self.interactions.append(interaction)


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as fake:
        old_base = Route.BASE
        with fake.patch_discord_py():
            yield fake
        assert old_base == Route.BASE  # restored


@contextlib.asynccontextmanager
async def running(bot: Bot, fake: FakeDiscord) -> AsyncIterator[Bot]:
    """Start the bot against the fake, wait for on_ready, close it afterwards."""
    task = asyncio.create_task(bot.start(fake.token))
    ready = asyncio.create_task(bot.ready_event.wait())
    try:
        done, _ = await asyncio.wait(
            {task, ready}, timeout=READY_WITHIN, return_when=asyncio.FIRST_COMPLETED
        )
        if task in done:
            task.result()  # raises what went wrong
        assert ready in done, f"on_ready did not fire\n{fake.summary()}"
        yield bot
    finally:
        ready.cancel()
        await bot.close()
        await asyncio.wait_for(task, timeout=5)
        await keep_alive_threads_stopped()
    hosts = {str(aiohttp.client.URL(url).host) for url in bot.urls}
    assert hosts == {"127.0.0.1"}, bot.urls


async def keep_alive_threads_stopped(timeout: float = 2.0) -> None:  # noqa: ASYNC109
    """discord.py heartbeats from a thread that calls into the event loop; one that was
    mid-beat when the client closed must finish before pytest closes the loop."""
    deadline = time.monotonic() + timeout
    while any(t.name.startswith("keep-alive-handler") for t in threading.enumerate()):
        assert time.monotonic() < deadline, "a discord.py keep-alive thread is still running"
        await asyncio.sleep(0.005)


# ---------------------------------------------------------------- login and gateway


async def test_login_identify_ready_and_heartbeats(fake: FakeDiscord) -> None:
    fake.heartbeat_interval = 50  # milliseconds; Discord's is about 41 s
    async with running(Bot(), fake) as bot:
        await fake.wait_for(lambda: len(fake.heartbeats) >= 3)
        await fake.wait_for(lambda: bot.latency != float("inf"))

        assert bot.user is not None and bot.user.id == fake.bot_id and bot.user.bot
        assert bot.application_id == fake.application_id
        [me, app] = fake.calls[:2]
        assert (me.method, me.route) == ("GET", "/users/@me")
        assert me.headers["Authorization"] == "Bot fake-bot-token"
        assert app.route == "/oauth2/applications/@me"

        [identify] = fake.identifies
        assert identify["token"] == fake.token
        assert identify["intents"] == discord.Intents.default().value
        assert fake.connections[0].query["v"] == "10"
        sent = fake.frames("sent")
        assert sent[0].op == 10 and sent[0].d["heartbeat_interval"] == 50
        dispatched = [(f.t, f.s) for f in sent if f.op == 0]
        assert dispatched == [("READY", 1), ("GUILD_CREATE", 2)]
        ready = fake.frames("sent", t="READY")[0].d
        assert ready["resume_gateway_url"] == fake.resume_gateway_url
        assert bot.ws.session_id == ready["session_id"] == fake.sessions[0].session_id

        guild = bot.get_guild(fake.guild_id)
        assert guild is not None and guild.name == "Breakthrough Test"
        general = guild.get_channel(fake.channel_id)
        assert isinstance(general, discord.TextChannel) and general.name == "general"
        thread = guild.get_thread(fake.thread_id)
        assert thread is not None and thread.parent_id == fake.channel_id
        assert guild.me is not None and guild.me.id == fake.bot_id

        # The first heartbeat comes right after HELLO (no sequence yet); later ones carry
        # the last ``s`` the client saw, and every one is acknowledged.
        assert fake.heartbeats[0][1] is None
        assert fake.heartbeats[-1][1] == 2
        acks = fake.frames("sent", op=11)
        assert len(acks) == len(fake.frames("received", op=1)) >= 3


async def test_a_wrong_token_is_a_login_failure(fake: FakeDiscord) -> None:
    bot = Bot()
    try:
        with pytest.raises(discord.LoginFailure):
            await bot.login("not-the-token")
    finally:
        await bot.close()

    [call] = fake.calls
    assert (call.status, call.response) == (401, {"message": "401: Unauthorized", "code": 0})


async def test_privileged_intents_not_enabled_close_with_4014(fake: FakeDiscord) -> None:
    fake.privileged_intents = False
    bot = Bot(discord.Intents.all())
    try:
        with pytest.raises(discord.PrivilegedIntentsRequired):
            await asyncio.wait_for(bot.start(fake.token), timeout=5)
    finally:
        await bot.close()
        await keep_alive_threads_stopped()

    assert fake.connections[0].close_code == 4014
    assert fake.sessions == []


async def test_zlib_stream_frames_when_asked(fake: FakeDiscord) -> None:
    fake.compress = True
    async with running(Bot(), fake) as bot:
        [conn] = fake.connections
        assert conn.query["compress"] == "zlib-stream"
        assert conn.compressor is not None
        assert bot.get_guild(fake.guild_id) is not None


# ---------------------------------------------------------------- interactions


def breakthrough_group(bot: Bot) -> app_commands.Group:
    group = app_commands.Group(name="breakthrough", description="Your coach")

    @group.command(name="plan", description="Plan something")
    @app_commands.describe(topic="What to plan")
    async def plan(interaction: discord.Interaction, topic: str, minutes: int = 25) -> None:
        await interaction.response.send_message(f"Plan for {topic}: {minutes} min")

    @group.command(name="review", description="Review your week")
    async def review(interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True)
        await interaction.followup.send("Your week: 3 wins")
        await interaction.followup.send("And one more thing")

    bot.tree.add_command(group)
    return group


async def test_slash_command_reaches_the_tree_and_the_callback_is_recorded(
    fake: FakeDiscord,
) -> None:
    bot = Bot()
    bot.sync_commands = True
    breakthrough_group(bot)
    async with running(bot, fake):
        [registered] = fake.commands[None]
        assert [o["name"] for o in registered["options"]] == ["plan", "review"]

        payload = await fake.slash_command(
            name="breakthrough", subcommand="plan", options={"topic": "exams", "minutes": 50}
        )
        callback = await fake.wait_callback(payload)

    assert payload["data"]["id"] == registered["id"]
    [sub] = payload["data"]["options"]
    assert sub["type"] == 1 and sub["name"] == "plan"
    assert sub["options"] == [
        {"name": "topic", "type": 3, "value": "exams"},
        {"name": "minutes", "type": 4, "value": 50},
    ]
    assert callback.query == {"with_response": "1"}
    assert callback.json == {
        "type": 4,
        "data": {"content": "Plan for exams: 50 min", "tts": False},
    }
    [message] = fake.messages(fake.channel_id)
    assert message["content"] == "Plan for exams: 50 min"
    assert message["interaction_metadata"]["user"]["id"] == str(fake.ann_id)
    [interaction] = bot.interactions
    assert isinstance(interaction.user, discord.Member) and interaction.user.id == fake.ann_id
    assert interaction.guild_id == fake.guild_id


async def test_interactions_carry_each_member_s_scripted_permissions(fake: FakeDiscord) -> None:
    bot = Bot()
    breakthrough_group(bot)
    fake.permissions[fake.bob_id] = ADMINISTRATOR
    async with running(bot, fake):
        for user in (fake.ann_id, fake.bob_id):
            payload = await fake.slash_command(
                subcommand="plan", options={"topic": "x", "minutes": 1}, user=user
            )
            await fake.wait_callback(payload)
    ann, bob = bot.interactions
    assert not ann.permissions.administrator and not ann.permissions.manage_guild
    assert ann.permissions.send_messages  # @everyone's
    assert bob.permissions.administrator and bob.user.id == fake.bob_id


async def test_guild_commands_are_scoped_and_bad_ones_refused(fake: FakeDiscord) -> None:
    bot = Bot()
    guild = discord.Object(fake.guild_id)

    @bot.tree.command(name="checkin", description="Check in now", guild=guild)
    async def checkin(interaction: discord.Interaction, mood: int) -> None:
        await interaction.response.send_message(f"Mood {mood}", ephemeral=True)

    async with running(bot, fake):
        [synced] = await bot.tree.sync(guild=guild)
        payload = await fake.slash_command(name="checkin", options={"mood": 4})
        await fake.wait_callback(payload)
        with pytest.raises(discord.HTTPException) as refused:
            await bot.http.bulk_upsert_global_commands(fake.bot_id, [{"name": "Bad Name"}])

    assert fake.commands[fake.guild_id][0]["guild_id"] == str(fake.guild_id)
    assert synced.id == int(payload["data"]["id"]) and synced.guild_id == fake.guild_id
    assert payload["data"]["guild_id"] == str(fake.guild_id)
    assert payload["data"]["options"] == [{"name": "mood", "type": 4, "value": 4}]
    [reply] = fake.messages(fake.channel_id)
    assert (reply["content"], reply["flags"]) == ("Mood 4", 64)
    assert (refused.value.status, refused.value.code) == (400, 50035)
    assert refused.value.text.splitlines() == [
        "Invalid Form Body",
        "In 0.name: Invalid name",
        "In 0.description: Must be between 1 and 100 in length.",
    ]
    assert None not in fake.commands  # the refused overwrite stored nothing


async def test_deferred_response_then_followups_in_a_dm(fake: FakeDiscord) -> None:
    bot = Bot()
    breakthrough_group(bot)
    async with running(bot, fake):
        payload = await fake.slash_command(subcommand="review", dm=True)
        await fake.wait_for_call("POST /webhooks/*", count=2)

    dm = int(payload["channel_id"])
    assert "member" not in payload and payload["user"]["id"] == str(fake.ann_id)
    [callback] = fake.callbacks(int(payload["id"]))
    assert callback.json == {"type": 5}
    webhook_calls = fake.calls_to("POST /webhooks/{webhook_id}/{webhook_token}")
    assert [c.query["wait"] for c in webhook_calls] == ["1", "1"]
    # The first follow-up fills in the "thinking..." message; the second is a new one.
    first, second = fake.messages(dm)
    assert first["id"] == callback.response["resource"]["message"]["id"]
    assert (first["content"], first["flags"]) == ("Your week: 3 wins", 0)
    assert second["content"] == "And one more thing"
    [interaction] = bot.interactions
    assert isinstance(interaction.user, discord.User)
    assert isinstance(interaction.channel, discord.DMChannel)


class CheckinModal(discord.ui.Modal, title="Check in"):
    note: discord.ui.TextInput[CheckinModal] = discord.ui.TextInput(
        label="What did you do?", custom_id="checkin:note"
    )

    def __init__(self) -> None:
        super().__init__(custom_id="checkin:modal")

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"Noted: {self.note.value}", ephemeral=True)


class CheckinView(discord.ui.View):
    def __init__(self) -> None:
        super().__init__(timeout=None)

    @discord.ui.button(label="Check in", custom_id="checkin:open")
    async def open(self, interaction: discord.Interaction, button: discord.ui.Button[Any]) -> None:
        await interaction.response.send_modal(CheckinModal())


async def test_button_on_a_persistent_view_opens_a_modal_whose_text_arrives(
    fake: FakeDiscord,
) -> None:
    # A message the bot sent before it restarted: only the persistent view can answer.
    old = fake.add_message(
        fake.channel_id,
        "Time to check in",
        components=[
            {"type": 1, "components": [{"type": 2, "style": 2, "custom_id": "checkin:open"}]}
        ],
    )
    bot = Bot()
    bot.views_to_add.append(CheckinView())
    async with running(bot, fake):
        click = await fake.button_click("checkin:open")
        opened = await fake.wait_callback(click)
        submit = await fake.modal_submit("checkin:modal", {"checkin:note": "Read chapter 3"})
        answered = await fake.wait_callback(submit)

    assert click["message"]["id"] == old["id"] and click["data"]["component_type"] == 2
    assert opened.json["type"] == 9
    assert opened.json["data"]["custom_id"] == "checkin:modal"
    [row] = submit["data"]["components"]
    assert row == {
        "type": 1,
        "components": [{"type": 4, "custom_id": "checkin:note", "value": "Read chapter 3"}],
    }
    assert submit["channel_id"] == str(fake.channel_id)
    assert answered.json == {
        "type": 4,
        "data": {"content": "Noted: Read chapter 3", "tts": False, "flags": 64},
    }
    noted = fake.messages(fake.channel_id)[-1]
    assert noted["content"] == "Noted: Read chapter 3" and noted["flags"] == 64


async def test_answering_an_interaction_twice_is_refused(fake: FakeDiscord) -> None:
    bot = Bot()
    replies: list[BaseException] = []

    @bot.tree.command(name="twice", description="Answer twice")
    async def twice(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("one")
        try:
            # Bypass discord.py's own InteractionResponded check to reach Discord's answer.
            interaction.response._response_type = None
            await interaction.response.send_message("two")
        except discord.HTTPException as exc:
            replies.append(exc)

    async with running(bot, fake):
        await fake.slash_command(name="twice")
        await fake.wait_for(lambda: len(replies) == 1)

    [error] = replies
    assert isinstance(error, discord.HTTPException)
    assert (error.status, error.code) == (400, 40060)


async def test_an_interaction_reply_with_a_file_can_be_edited_and_deleted(
    fake: FakeDiscord,
) -> None:
    bot = Bot()
    done = asyncio.Event()

    @bot.tree.command(name="chart", description="Your chart")
    async def chart(interaction: discord.Interaction) -> None:
        await interaction.response.send_message(
            "drawing...", file=discord.File(io.BytesIO(b"chart"), "chart.png")
        )
        await interaction.edit_original_response(content="Your chart")
        extra = await interaction.followup.send("temporary", wait=True)
        await extra.delete()
        done.set()

    async with running(bot, fake):
        await fake.slash_command(name="chart")
        await asyncio.wait_for(done.wait(), timeout=5)

    [callback] = fake.callbacks()
    assert callback.json["data"]["attachments"] == [{"id": 0, "filename": "chart.png"}]
    assert [(f.name, f.data) for f in callback.files] == [("chart.png", b"chart")]
    [edit] = fake.calls_to("PATCH /webhooks/{webhook_id}/{webhook_token}/messages/@original")
    assert edit.json["content"] == "Your chart"
    assert len(fake.calls_to("DELETE /webhooks/*/messages/*")) == 1
    [reply] = fake.messages(fake.channel_id)  # the follow-up is gone
    assert reply["content"] == "Your chart" and reply["edited_timestamp"] is not None
    assert reply["attachments"][0]["filename"] == "chart.png"


async def test_member_queries_use_op_8_and_get_a_chunk(fake: FakeDiscord) -> None:
    intents = discord.Intents.default()
    intents.members = True
    async with running(Bot(intents), fake) as bot:
        guild = bot.get_guild(fake.guild_id)
        assert guild is not None and guild.chunked  # member_count matches the members sent
        found = await guild.query_members(query="an")
        shards, url, _ = await bot.http.get_bot_gateway()

    assert [m.id for m in found] == [fake.ann_id]
    [request] = fake.frames("received", op=8)
    assert request.d["query"] == "an" and request.d["guild_id"] == fake.guild_id
    [chunk] = fake.frames("sent", t="GUILD_MEMBERS_CHUNK")
    assert chunk.d["nonce"] == request.d["nonce"]
    assert (shards, url) == (1, fake.gateway_url)


# ---------------------------------------------------------------- messages


async def test_message_create_in_a_thread_and_a_dm_reach_on_message(fake: FakeDiscord) -> None:
    intents = discord.Intents.default()
    intents.message_content = True
    async with running(Bot(intents), fake) as bot:
        await fake.message_create(fake.thread_id, "stuck on chapter 4")
        await fake.message_create(content="can we talk?", dm=True)
        await fake.wait_for(lambda: len(bot.seen) == 2)

    in_thread, in_dm = bot.seen
    assert isinstance(in_thread.channel, discord.Thread)
    assert in_thread.channel.parent_id == fake.channel_id
    assert in_thread.content == "stuck on chapter 4"
    assert isinstance(in_thread.author, discord.Member) and in_thread.author.id == fake.ann_id
    assert isinstance(in_dm.channel, discord.DMChannel) and in_dm.guild is None
    assert in_dm.content == "can we talk?"
    assert fake.messages(fake.thread_id) == []  # only the bot's, unless asked
    [stored] = fake.messages(fake.thread_id, include_users=True)
    assert stored["author"]["id"] == str(fake.ann_id)


async def test_without_the_message_content_intent_guild_content_is_blank(
    fake: FakeDiscord,
) -> None:
    async with running(Bot(), fake) as bot:
        hidden = await fake.message_create(fake.channel_id, "my secret plan")
        mention = await fake.message_create(fake.channel_id, f"<@{fake.bot_id}> help")
        dm = await fake.message_create(content="in private", dm=True)
        await fake.wait_for(lambda: len(bot.seen) == 3)

    assert hidden is not None and hidden["content"] == ""
    assert [m.content for m in bot.seen] == ["", f"<@{fake.bot_id}> help", "in private"]
    assert mention is not None and dm is not None


async def test_without_guild_messages_intent_nothing_is_sent(fake: FakeDiscord) -> None:
    intents = discord.Intents.default()
    intents.guild_messages = False
    async with running(Bot(intents), fake):
        assert await fake.message_create(fake.channel_id, "hello") is None
        assert await fake.message_create(content="hello", dm=True) is not None


async def test_a_file_arrives_as_multipart_and_can_be_read_back(fake: FakeDiscord) -> None:
    png = b"\x89PNG\r\n\x1a\n fake chart"
    async with running(Bot(), fake) as bot:
        channel = bot.get_channel(fake.channel_id)
        assert isinstance(channel, discord.TextChannel)
        sent = await channel.send("Your week", file=discord.File(io.BytesIO(png), "week.png"))
        read_back = await sent.attachments[0].read()

    [call] = fake.calls_to("POST /channels/{channel_id}/messages")
    assert call.headers["Content-Type"].startswith("multipart/form-data")
    assert call.json["content"] == "Your week"
    assert call.json["attachments"] == [{"id": 0, "filename": "week.png"}]
    [upload] = call.files
    assert (upload.name, upload.field, upload.data) == ("week.png", "files[0]", png)
    [stored] = fake.messages(fake.channel_id)
    assert stored["attachments"][0]["content_type"] == "image/png"
    assert read_back == png
    assert sent.author.id == fake.bot_id


async def test_the_bot_edits_and_deletes_its_messages_and_sees_the_echo(
    fake: FakeDiscord,
) -> None:
    async with running(Bot(), fake) as bot:
        channel = bot.get_channel(fake.channel_id)
        assert isinstance(channel, discord.TextChannel)
        first = await channel.send("draft")
        second = await channel.send("oops")
        await first.edit(content="final")
        await second.delete()
        await fake.wait_for(lambda: len(bot.echoes) == 2)
        with pytest.raises(discord.NotFound) as gone:
            await second.edit(content="again")

    assert [m["content"] for m in fake.messages(fake.channel_id)] == ["final"]
    # Discord echoes the bot's own messages; MESSAGE_UPDATE updated discord.py's cached copy.
    assert [e.id for e in bot.echoes] == [first.id, second.id]
    assert bot.echoes[0].content == "final"
    assert [f.t for f in fake.frames("sent", op=0)][-4:] == [
        "MESSAGE_CREATE",
        "MESSAGE_CREATE",
        "MESSAGE_UPDATE",
        "MESSAGE_DELETE",
    ]
    assert gone.value.code == 10008


async def test_threads_are_created_with_and_without_a_message(fake: FakeDiscord) -> None:
    async with running(Bot(), fake) as bot:
        channel = bot.get_channel(fake.channel_id)
        assert isinstance(channel, discord.TextChannel)
        private = await channel.create_thread(name="Ann's plan")
        public = await channel.create_thread(
            name="Group goals", type=discord.ChannelType.public_thread
        )
        message = await channel.send("Kick-off")
        from_message = await message.create_thread(name="Kick-off thread")
        await fake.wait_for(lambda: bot.get_channel(public.id) is not None)

    assert private.type is discord.ChannelType.private_thread  # discord.py's default
    assert public.type is discord.ChannelType.public_thread
    assert public.parent_id == private.parent_id == fake.channel_id
    assert from_message.id == message.id
    first, second = fake.calls_to("POST /channels/{channel_id}/threads")
    assert (first.json["type"], second.json["type"]) == (12, 11)
    assert [f.d["id"] for f in fake.frames("sent", t="THREAD_CREATE")] == [
        str(private.id),
        str(public.id),
        str(from_message.id),
    ]


async def test_a_dm_to_someone_who_blocks_dms_is_forbidden_50007(fake: FakeDiscord) -> None:
    fake.cannot_dm.add(fake.bob_id)
    async with running(Bot(), fake) as bot:
        bob = await bot.fetch_user(fake.bob_id)
        with pytest.raises(discord.Forbidden) as refused:
            await bob.send("How did it go?")
        ann = await bot.fetch_user(fake.ann_id)
        await ann.send("How did it go?")

    assert (refused.value.status, refused.value.code) == (403, 50007)
    assert refused.value.text == "Cannot send messages to this user"
    [opened_bob, opened_ann] = fake.calls_to("POST /users/@me/channels")
    assert opened_bob.json == {"recipient_id": fake.bob_id}
    assert opened_bob.response["type"] == 1
    [to_ann] = fake.messages(int(opened_ann.response["id"]))
    assert to_ann["content"] == "How did it go?"
    assert fake.messages(int(opened_bob.response["id"])) == []


# ---------------------------------------------------------------- REST failures


@pytest.mark.parametrize("global_", [False, True])
async def test_a_short_429_is_retried_and_the_message_sent_once(
    fake: FakeDiscord, global_: bool
) -> None:
    async with running(Bot(), fake) as bot:
        channel = bot.get_channel(fake.channel_id)
        assert isinstance(channel, discord.TextChannel)
        fake.fail_next("POST /channels/{channel_id}/messages", retry_after=0.05, global_=global_)
        started = time.monotonic()
        await channel.send("hello")
        elapsed = time.monotonic() - started

    limited, sent = fake.calls_to("POST /channels/{channel_id}/messages")
    assert (limited.status, sent.status) == (429, 200)
    assert limited.response == {
        "message": "You are being rate limited.",
        "retry_after": 0.05,
        "global": global_,
    }
    assert sent.at - limited.at >= 0.05 and elapsed >= 0.05
    assert [m["content"] for m in fake.messages(fake.channel_id)] == ["hello"]


async def test_scripted_errors_carry_their_codes(fake: FakeDiscord) -> None:
    async with running(Bot(), fake) as bot:
        channel = bot.get_channel(fake.channel_id)
        assert isinstance(channel, discord.TextChannel)
        fake.fail_next("POST /channels/*/messages", status=403)
        with pytest.raises(discord.Forbidden) as forbidden:
            await channel.send("a")
        fake.fail_next(f"/channels/{fake.channel_id}/messages", status=404, code=10003)
        with pytest.raises(discord.NotFound) as not_found:
            await channel.send("b")
        fake.fail_next(lambda c: c.method == "POST", status=503)
        with pytest.raises(discord.DiscordServerError):
            await channel.send("c")
        with pytest.raises(discord.NotFound) as unknown:
            await bot.http.request(Route("GET", "/nowhere"))
        with pytest.raises(discord.HTTPException) as empty:
            await channel.send("")

    assert (forbidden.value.code, forbidden.value.text) == (50013, "Missing Permissions")
    assert not_found.value.code == 10003
    assert unknown.value.code == 0 and unknown.value.text == "404: Not Found"
    assert (empty.value.status, empty.value.code) == (400, 50006)
    assert fake.calls_to("GET /nowhere")[0].route is None
    assert fake.messages(fake.channel_id) == []


# ---------------------------------------------------------------- reconnecting


async def test_reconnect_resumes_and_replays_missed_events(fake: FakeDiscord) -> None:
    intents = discord.Intents.default()
    intents.message_content = True
    async with running(Bot(intents), fake) as bot:
        session = await fake.wait_ready()
        before = session.seq
        await fake.request_reconnect()
        # Sent while the client is reconnecting: it must arrive exactly once, after RESUME.
        await fake.message_create(fake.channel_id, "are you there?")
        await fake.wait_for(lambda: bot.resumed_count == 1 and len(bot.seen) == 1)
        await fake.message_create(fake.channel_id, "welcome back")
        await fake.wait_for(lambda: len(bot.seen) == 2)
        await fake.request_heartbeat()  # op 1: the client must beat now, with its seq
        await fake.wait_for(lambda: fake.heartbeats[-1][1] == session.seq)

    [resume] = fake.frames("received", op=6)
    assert resume.d["session_id"] == session.session_id
    assert resume.d["seq"] == before
    assert fake.connections[resume.connection].path == "/resume-gateway"
    assert len(fake.identifies) == 1 and len(fake.sessions) == 1
    assert [m.content for m in bot.seen] == ["are you there?", "welcome back"]
    dispatched = [(p["t"], p["s"]) for p in session.dispatched]
    assert dispatched[before:] == [
        ("MESSAGE_CREATE", before + 1),
        ("RESUMED", before + 2),
        ("MESSAGE_CREATE", before + 3),
    ]
    assert bot.ready_count == 1


async def test_a_dropped_connection_is_resumed(fake: FakeDiscord) -> None:
    async with running(Bot(), fake) as bot:
        await fake.drop_connection()
        await fake.wait_for(lambda: bot.resumed_count == 1)

    assert len(fake.connections) == 2 and fake.connections[1].resumed
    assert len(fake.identifies) == 1


async def test_an_invalid_session_makes_the_client_identify_again(fake: FakeDiscord) -> None:
    async with running(Bot(), fake) as bot:
        first = await fake.wait_ready()
        await fake.invalidate_session(resumable=False)
        second: Session = await fake.wait_ready(count=2)
        await fake.wait_for(lambda: bot.ready_count == 2)
        new_session_id = bot.ws.session_id

    assert second.session_id != first.session_id and not first.valid
    assert new_session_id == second.session_id
    assert len(fake.identifies) == 2 and fake.frames("received", op=6) == []
    assert fake.connections[-1].path == "/gateway"  # the default gateway, not the resume URL
    assert [(p["t"], p["s"]) for p in second.dispatched] == [("READY", 1), ("GUILD_CREATE", 2)]


async def test_a_resumable_invalid_session_resumes(fake: FakeDiscord) -> None:
    async with running(Bot(), fake) as bot:
        await fake.invalidate_session(resumable=True)
        await fake.wait_for(lambda: bot.resumed_count == 1)

    assert len(fake.identifies) == 1 and len(fake.frames("received", op=6)) == 1
