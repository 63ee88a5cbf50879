"""Breakthrough on a discord.py client: the ``/breakthrough`` commands, thread messages,
DMs and button presses, translated into core events; replies sent by the messenger.

Thin like the Slack adapter: it decides where a session lives and who may drive it, and
nothing about what to ask next.

* ``/breakthrough plan|seven-step|session|checkin TOPIC`` in a server opens a thread off
  the channel (private when the server allows it: these sessions are personal) and the
  session runs there; in a DM it runs in the DM. The command is deferred at once and
  answered privately with a link to the thread.
* A session's owner answers by typing in its thread, when the bot has the message
  content intent. Without it Discord hands the bot empty messages, so every question
  carries an "Answer" button that opens a modal, and a person who types anyway is told
  to use the button or mention the bot (a mention's text is always readable).
* Buttons need nothing in memory: their ``custom_id`` says what they do
  (:mod:`adapters.discord.render`), so a press after a restart works like any other.
  :meth:`DiscordBot.on_interaction` handles them all; no view is kept.
* Every interaction is answered within Discord's 3 seconds: deferred first, answered
  when the turn is committed.
* ``/breakthrough team TOPIC`` starts a team plan (:mod:`core.team`): a message in the
  channel and a *public* thread off it, since a team session is for everyone in the
  channel. Messages in that thread from anyone but the facilitator go to the team coach,
  which decides what they may change; its buttons (``team:…``) may be pressed by anyone.
"""

from __future__ import annotations

import contextlib
import logging
import re
import uuid
from collections import OrderedDict
from collections.abc import Coroutine, Sequence
from datetime import datetime
from typing import Any, Final

import discord
from discord import app_commands

from adapters.chosen_zones import ChosenZones
from adapters.discord.messenger import NO_MENTIONS, DiscordMessenger
from adapters.discord.render import (
    HASHED,
    ComponentId,
    custom_id,
    hashed_action_id,
    parse_custom_id,
)
from adapters.tasks import TrackedTasks
from core.dialogue.coach import Coach, FoundSession
from core.dialogue.events import Choose, Command, Event, Inbound, Reply, Start
from core.dialogue.intents import DirectMessage, Intent, Say
from core.dialogue.model import Actor, Place
from core.errors import DeliveryRefused
from core.ports import Clock, SessionRecord
from core.privacy import FORGET_PREFIX, Privacy
from core.schedule.accountability import DM_CHANNEL_PREFIX, Accountability, dm_place, place_of
from core.schedule.compose import NUDGE_PREFIX, PARTNER_PREFIX, when_text
from core.schedule.policy import resolve_tz
from core.team.service import TEAM_PREFIX, TeamCoach
from core.team.words import TEAM_HELP, parse_team_command

__all__ = ["COMMAND", "PEOPLE", "PLATFORM", "DiscordBot"]

_log = logging.getLogger(__name__)

PLATFORM: Final = "discord"
PEOPLE: Final = "users"
"""The workspace of every Discord :class:`Actor`: user ids are global in Discord, and a
person's commitments must be theirs whether they act in a server or in a DM."""
COMMAND: Final = "breakthrough"

_TITLES: Final = {
    "plan": "PLAN",
    "seven-step": "seven-step",
    "session": "coaching",
    "checkin": "check-in",
}
_THREAD_ARCHIVE_MINUTES: Final = 10080  # a week: sessions never hurry
_ROOT_TOPIC_LIMIT: Final = 1500
"""Characters of a team plan's topic quoted in its root message (2,000 in all)."""

_SEEN_MESSAGES: Final = 10_000
_RECONCILE_SESSIONS: Final = 200
"""Sessions whose threads are read after a reconnect, most recently active first."""
_RECONCILE_HISTORY: Final = 20
"""Messages read back per thread: more than anyone types between two answers."""

USE_THE_BUTTON: Final = (
    "I can't read messages typed here. Press **Answer** under my question, or mention me "
    "at the start of your message (for example: @Breakthrough my answer)."
)


RESTARTING: Final = (
    "Breakthrough is restarting. Please try again in a minute; nothing you wrote is lost."
)
"""The answer to a command, button or DM that arrives while the bot is stopping."""


def actor_of(user: discord.abc.User, *, tz: str | None = None) -> Actor:
    """The core :class:`Actor` of a Discord user."""
    return Actor(
        platform=PLATFORM,
        workspace=PEOPLE,
        user_id=str(user.id),
        display_name=user.display_name,
        tz=tz,
    )


class DiscordBot:
    """Registers Breakthrough's commands and listeners on ``client``."""

    def __init__(
        self,
        client: discord.Client,
        *,
        coach: Coach,
        accountability: Accountability,
        team: TeamCoach,
        privacy: Privacy,
        messenger: DiscordMessenger,
        clock: Clock,
        content_intent: bool,
    ) -> None:
        self.client = client
        self.coach = coach
        self.accountability = accountability
        self.team = team
        self.privacy = privacy
        self.messenger = messenger
        self.clock = clock
        self.content_intent = content_intent
        self.tasks = TrackedTasks("Discord", _log)
        self.track = self.tasks.track
        self.idle = self.tasks.idle
        self.stopping = False
        """Set at shutdown: new work is turned away while the work taken finishes."""
        self.tree = _Tree(client, self)
        self.tree.add_command(self._commands())
        self._seen: OrderedDict[int, None] = OrderedDict()
        self.zones = ChosenZones(self._chosen_tz)
        client.on_message = self.on_message  # type: ignore[attr-defined]
        client.on_interaction = self.on_interaction  # type: ignore[attr-defined]
        if isinstance(client, discord.AutoShardedClient):
            # Sharded, "ready" comes once, when every shard is first ready; a shard that
            # later has to IDENTIFY again gets only "shard_ready".
            client.on_shard_ready = self.on_shard_ready  # type: ignore[attr-defined]
        else:
            client.on_ready = self.on_ready  # type: ignore[attr-defined]

    async def refuse(self, interaction: discord.Interaction) -> None:
        """Answer an interaction that arrived while stopping: try again in a minute."""
        with contextlib.suppress(discord.HTTPException):
            await interaction.response.send_message(RESTARTING, ephemeral=True)

    # -- task tracking -------------------------------------------------------------------

    @property
    def failures(self) -> int:
        """How many accepted requests failed while being handled."""
        return self.tasks.failures

    # -- people --------------------------------------------------------------------------

    async def actor(self, user: discord.abc.User) -> Actor:
        """The person, with the time zone they chose (Discord does not share theirs)."""
        return actor_of(user, tz=await self.zones.get(actor_of(user).key()))

    async def _chosen_tz(self, owner: str) -> str | None:
        return (await self.accountability.preferences(owner)).tz

    # -- the command group ---------------------------------------------------------------

    def _commands(self) -> app_commands.Group:
        group = app_commands.Group(
            name=COMMAND, description="Coaching sessions, check-ins and your commitments"
        )
        topic_hint = "What it is about, in your words (optional)"

        def method(name: str, description: str) -> None:
            @app_commands.describe(topic=topic_hint)
            async def start(interaction: discord.Interaction, topic: str | None = None) -> None:
                await self._deferred(interaction, self._start(interaction, name, topic or ""))

            group.add_command(
                app_commands.Command(name=name, description=description, callback=start)
            )

        method("plan", "Make a PLAN: from what you'd like to happen to dated steps")
        method("seven-step", "The seven-step breakthrough: event, response, outcome, action")
        method("session", "A breakthrough coaching session, ending with your report")

        @group.command(
            name="team", description="A team plan in a thread of this channel; claim, digest…"
        )
        @app_commands.describe(
            text='A topic starts a team plan; or "help", "status", "digest now", "claim 2"…'
        )
        async def team(interaction: discord.Interaction, text: str | None = None) -> None:
            await self._deferred(interaction, self._team(interaction, text or ""))

        @group.command(name="checkin", description="Check in on your next commitment")
        @app_commands.describe(topic="Check in on something else instead (optional)")
        async def checkin(interaction: discord.Interaction, topic: str | None = None) -> None:
            if topic:
                await self._deferred(interaction, self._start(interaction, "checkin", topic))
            else:
                await self._deferred(interaction, self._checkin(interaction))

        @group.command(name="status", description="Your sessions, open commitments and nudges")
        async def status(interaction: discord.Interaction) -> None:
            await self._deferred(interaction, self._status(interaction))

        @group.command(name="report", description="The report of your latest session")
        async def report(interaction: discord.Interaction) -> None:
            await self._deferred(interaction, self._session_command(interaction, "report"))

        @group.command(name="settings", description="Your nudges: time zone, quiet hours, days")
        @app_commands.describe(change='For example "tz Europe/Paris" or "quiet 21:00-08:00"')
        async def settings(interaction: discord.Interaction, change: str | None = None) -> None:
            await self._deferred(interaction, self._settings(interaction, change or ""))

        def session_command(name: str, description: str) -> None:
            async def command(interaction: discord.Interaction) -> None:
                await self._deferred(interaction, self._session_command(interaction, name))

            group.add_command(
                app_commands.Command(name=name, description=description, callback=command)
            )

        session_command("pause", "Pause your current session")
        session_command("resume", "Resume your paused session")
        session_command("stop", "End your current session")

        @group.command(name="export", description="Get all your data, as JSON and Markdown")
        async def export(interaction: discord.Interaction) -> None:
            await self._deferred(interaction, self._export(interaction))

        @group.command(name="forget", description="Delete everything Breakthrough has of you")
        async def forget(interaction: discord.Interaction) -> None:
            await self._deferred(interaction, self._forget(interaction))

        @group.command(name="help", description="What Breakthrough can do")
        async def help_(interaction: discord.Interaction) -> None:
            await interaction.response.send_message(help_text(), ephemeral=True)

        return group

    async def _deferred(
        self,
        interaction: discord.Interaction,
        work: Coroutine[Any, Any, str | None],
    ) -> None:
        """Defer at once (Discord's 3 seconds), then answer privately with what ``work`` says.

        When ``work`` has nothing to say privately (``None``: its answer went to a thread
        or a channel), the "thinking…" message is deleted instead. Tracked from before the
        deferral, so :meth:`idle` covers the whole command.
        """

        async def run() -> None:
            await interaction.response.defer(ephemeral=True, thinking=True)
            try:
                said = await work
            except Exception:
                await interaction.followup.send(
                    "Something went wrong on my side; nothing you wrote is lost. "
                    "Please try again in a moment.",
                    ephemeral=True,
                )
                raise
            if said is None:
                await interaction.delete_original_response()
            else:
                await interaction.followup.send(said or "Done.", ephemeral=True)

        self.track(run(), "command")

    # -- starting sessions ---------------------------------------------------------------

    async def _start(self, interaction: discord.Interaction, method: str, topic: str) -> str:
        actor = await self.actor(interaction.user)
        title = _TITLES.get(method, method)
        if interaction.guild_id is None:
            place = dm_place(actor, uuid.uuid4().hex)
            await self._turn(actor, place, Start(method=method, topic=topic), place.thread)
            return f"Your {title} session is below."
        thread = await self._open_thread(interaction, f"{title} session with {actor.display_name}")
        if thread is None:
            return (
                "I can't open a thread in this channel: I need the Create Private Threads or "
                "Create Public Threads and Send Messages in Threads permissions. Nothing was "
                "started; you can also run the command in a DM with me."
            )
        place = Place(
            platform=PLATFORM,
            workspace=str(interaction.guild_id),
            channel=str(thread.parent_id),
            thread=str(thread.id),
        )
        await self._turn(actor, place, Start(method=method, topic=topic), None)
        return f"Your {title} session is in {thread.mention}."

    async def _text_channel(self, interaction: discord.Interaction) -> discord.TextChannel | None:
        """The text channel the command was used in (a thread's parent, for a thread)."""
        channel: Any = interaction.channel
        channel_id = interaction.channel_id or 0
        if isinstance(channel, discord.Thread):
            channel, channel_id = channel.parent, channel.parent_id
        if not isinstance(channel, discord.TextChannel):
            try:
                channel = await self.client.fetch_channel(channel_id)
            except discord.HTTPException:
                return None
        return channel if isinstance(channel, discord.TextChannel) else None

    async def _open_thread(
        self, interaction: discord.Interaction, name: str
    ) -> discord.Thread | None:
        """A thread for a personal session: private if the server allows it, else public."""
        channel = await self._text_channel(interaction)
        if channel is None:
            return None
        for kind in (discord.ChannelType.private_thread, discord.ChannelType.public_thread):
            try:
                thread = await channel.create_thread(
                    name=name[:100],
                    type=kind,
                    auto_archive_duration=_THREAD_ARCHIVE_MINUTES,
                    invitable=False,
                )
            except discord.HTTPException as exc:
                _log.info("could not open a %s thread: %s", kind.name, exc.code)
                continue
            try:
                await thread.add_user(interaction.user)
            except discord.HTTPException as exc:
                _log.info("could not add the person to their thread: %s", exc.code)
            return thread
        return None

    # -- team plans ----------------------------------------------------------------------

    async def _team(self, interaction: discord.Interaction, text: str) -> str | None:
        """``/breakthrough team …``: start a team plan, or anything else the team coach does."""
        if interaction.guild_id is None:
            if parse_team_command(text).name == "help":
                return TEAM_HELP
            return (
                "Team plans run in a server's channel, in a thread everyone there can join: "
                f"use `/{COMMAND} team TOPIC` in that channel."
            )
        actor = await self.actor(interaction.user)
        reply = await self.team.command(
            actor,
            _place_of_interaction(interaction),
            text,
            now=self.clock.now(),
            is_admin=is_admin(interaction),
        )
        await self.send(reply.intents)
        if reply.start is not None:
            method, topic = reply.start
            return await self._start_team(interaction, actor, method, topic)
        return reply.private or None

    async def _start_team(
        self, interaction: discord.Interaction, actor: Actor, method: str, topic: str
    ) -> str:
        """A message in the channel and a public thread off it, where the team's plan runs."""
        title = _TITLES.get(method, method)
        channel = await self._text_channel(interaction)
        if channel is None:
            return "I can't start a team plan here: it needs a text channel. Nothing was started."
        quoted = topic if len(topic) <= _ROOT_TOPIC_LIMIT else topic[:_ROOT_TOPIC_LIMIT] + "…"
        invite = (
            "Everyone in the thread can add what needs to happen."
            if method == "plan"
            else "Everyone in the thread can take part."
        )
        cannot = (
            "I can't open a thread in this channel: I need the Send Messages, Create Public "
            "Threads and Send Messages in Threads permissions. Nothing was started."
        )
        try:
            # A mention of the facilitator, shown but (as everything we send) pinging nobody.
            root = await channel.send(
                f"<@{actor.user_id}> started a team {title}: {quoted}. {invite}",
                allowed_mentions=NO_MENTIONS,
            )
        except discord.HTTPException as exc:
            _log.info("could not post a team plan's root message: %s", exc.code)
            return cannot
        try:
            thread = await channel.create_thread(
                name=f"Team {title}: {topic}"[:100],
                message=root,
                auto_archive_duration=_THREAD_ARCHIVE_MINUTES,
            )
        except discord.HTTPException as exc:
            _log.info("could not open a team thread: %s", exc.code)
            with contextlib.suppress(discord.HTTPException):
                await root.delete()  # an announcement of nothing would mislead
            return cannot
        try:
            await thread.add_user(interaction.user)  # so the thread shows in their list
        except discord.HTTPException as exc:
            _log.info("could not add the facilitator to their thread: %s", exc.code)
        place = Place(
            platform=PLATFORM,
            workspace=str(interaction.guild_id),
            channel=str(channel.id),
            thread=str(thread.id),
        )
        result = await self.team.start(
            actor, place, method=method, topic=topic, now=self.clock.now()
        )
        await self.send(result.intents)
        if result.session_id is None:
            return "The team plan could not start; the thread says why."
        return f"Your team {title} is in {thread.mention}; everyone in this channel can join it."

    async def _team_dialogue(self, place: Place) -> FoundSession | None:
        """The running dialogue of the team plan whose thread is ``place``, if any."""
        plan = await self.team.teams.plan_at(place.key())
        if plan is None or plan.facilitator is None:
            return None
        return await self.coach.find(owner=plan.facilitator, place=place.key())

    # -- typed messages ------------------------------------------------------------------

    async def on_message(self, message: discord.Message) -> None:
        """A person typing: in a session's thread, or in a DM with the bot."""
        if message.author.bot or message.type not in (
            discord.MessageType.default,
            discord.MessageType.reply,
        ):
            return
        if self.stopping:
            # A session thread is read back at the next start (reconcile), as long as the
            # bot has not spoken after the message; a DM is not, so ask for it again.
            if message.guild is None:
                actor = actor_of(message.author)
                self.track(self.send([_say(DirectMessage(actor=actor), RESTARTING)]), "message")
            return
        if self._first_sight(message.id):
            self.track(self._message(message), "message")

    def _first_sight(self, message_id: int) -> bool:
        """Whether this message is new here: :meth:`reconcile` and the gateway may both
        bring the same message right after a reconnect."""
        if message_id in self._seen:
            return False
        self._seen[message_id] = None
        if len(self._seen) > _SEEN_MESSAGES:
            self._seen.popitem(last=False)
        return True

    # -- after a (re)connect -------------------------------------------------------------

    async def on_ready(self) -> None:
        """Called after every new gateway session (start-up, or a reconnect that could
        not resume): what was typed while no session was open was never delivered."""
        self.track(self.reconcile(), "reconcile")

    async def on_shard_ready(self, shard_id: int) -> None:
        """:meth:`on_ready` for one shard of an ``AutoShardedClient``."""
        self.track(self.reconcile(), "reconcile")

    async def reconcile(self) -> int:
        """Answer what owners typed in their session threads while the bot was away.

        Every answer the bot handles gets a reply, so in a session's thread the owner's
        messages after the bot's last one are the unanswered ones. Only threads of
        servers this connection serves are read (other shards reconcile their own), and
        the most recently active sessions first. Returns how many messages it answered.
        """
        me = self.client.user
        if me is None:
            return 0
        answered = 0
        sessions = await self.coach.store.list_sessions(
            unfinished_only=True, limit=_RECONCILE_SESSIONS
        )
        for session in sessions:
            place = _place_of(session)
            if (
                session.status != "active"
                or place is None
                or not place.thread
                or place.channel.startswith(DM_CHANNEL_PREFIX)
                or self.client.get_guild(int(place.workspace)) is None
            ):
                continue
            owner = session.owner.rpartition(":")[2]
            thread = self.client.get_partial_messageable(int(place.thread))
            unanswered: list[discord.Message] = []
            try:
                async for message in thread.history(limit=_RECONCILE_HISTORY):
                    if message.author.id == me.id:
                        break
                    if str(message.author.id) == owner and message.content:
                        unanswered.append(message)
            except discord.HTTPException as exc:
                _log.info("could not read a session thread to reconcile: %s", exc.code)
                continue
            for message in reversed(unanswered):  # oldest first, as they were typed
                if self._first_sight(message.id):
                    text = _without_mention(message.content, me.id)
                    actor = await self.actor(message.author)
                    await self._turn(actor, place, Reply(text=text), session.id)
                    answered += 1
        if answered:
            _log.info("answered %d messages typed while disconnected", answered)
        return answered

    async def _message(self, message: discord.Message) -> None:
        me = self.client.user
        text = message.content
        mentioned = me is not None and me in message.mentions
        if mentioned and me is not None:
            text = _without_mention(text, me.id)
        channel = message.channel
        if isinstance(channel, discord.Thread):
            owner = actor_of(message.author).key()
            place = Place(
                platform=PLATFORM,
                workspace=str(message.guild.id if message.guild else ""),
                channel=str(channel.parent_id),
                thread=str(channel.id),
            )
            found = await self.coach.find(owner=owner, place=place.key())
            if found is None:
                await self._team_message(message, place, text)
                return
            if not text and not self.content_intent:
                await self.messenger.send([_say(place, USE_THE_BUTTON)])
                return
            if not text:
                return  # an image or a sticker: nothing to answer with
            actor = await self.actor(message.author)
            await self._turn(actor, place, Reply(text=text), found.record.id, found=found)
            return
        if message.guild is not None:
            return  # a channel message outside our threads is not for us
        actor = await self.actor(message.author)
        session = await self._dm_session(actor)
        if session is None:
            await self.messenger.send(
                [
                    _say(
                        DirectMessage(actor=actor),
                        "Nothing is waiting for your answer here. Start a session with "
                        f"`/{COMMAND} plan`, or type `/{COMMAND} help`.",
                    )
                ]
            )
            return
        dm = _place_of(session)
        assert dm is not None
        await self._turn(actor, dm, Reply(text=text), session.id)

    async def _team_message(self, message: discord.Message, place: Place, text: str) -> None:
        """A message in a thread where its author has no session: a team plan's thread
        (the team coach answers), someone else's session, or a thread that isn't ours."""
        if not text:
            # Without the message content intent a member's words are blank unless they
            # mention the bot: while the team's dialogue runs, say so (as to an owner).
            if not self.content_intent and await self._team_dialogue(place) is not None:
                await self.send([_say(place, USE_THE_BUTTON)])
            return
        actor = await self.actor(message.author)
        intents = await self.team.message(actor, place, text, now=self.clock.now())
        if intents:
            await self.send(intents)

    async def _dm_session(self, actor: Actor) -> SessionRecord | None:
        """The person's newest open session living in their DM."""
        prefix = f"{PLATFORM}:{PEOPLE}:{DM_CHANNEL_PREFIX}{actor.user_id}:"
        for s in await self.coach.store.list_sessions(owner=actor.key(), unfinished_only=True):
            if s.place.startswith(prefix):
                return s
        return None

    # -- buttons and modals --------------------------------------------------------------

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        """Button presses and modal submissions (commands go to the command tree)."""
        data: dict[str, Any] = dict(interaction.data or {})
        component = parse_custom_id(str(data.get("custom_id") or ""))
        if component is None:
            return
        if self.stopping:
            await self.refuse(interaction)
            return
        if interaction.type is discord.InteractionType.component:
            if component.kind in ("answer", "date"):
                # A modal must be the first response: nothing to wait for before it.
                await interaction.response.send_modal(_answer_modal(component, data))
                return
            self.track(self._press(interaction, component, str(component.value)), "button")
        elif interaction.type is discord.InteractionType.modal_submit:
            self.track(self._press(interaction, component, _modal_text(data)), "modal")

    async def _press(
        self, interaction: discord.Interaction, component: ComponentId, value: str
    ) -> None:
        """Defer (the turn may take longer than Discord's 3 seconds), then act."""
        await interaction.response.defer()
        actor = await self.actor(interaction.user)
        now = self.clock.now()
        action_id = component.action_id
        if action_id.startswith(HASHED):
            action_id = await self._unhash(actor, action_id)
        if action_id.startswith(FORGET_PREFIX):
            await self.send(await self.privacy.forget(actor, action_id=action_id, value=value))
            self.zones.forget(actor.key())
            return
        if action_id.startswith((NUDGE_PREFIX, PARTNER_PREFIX)):
            intents, _ = await self.accountability.act(
                actor, action_id=action_id, value=value, now=now
            )
            await self.send(intents)
            return
        if action_id.startswith(TEAM_PREFIX):  # Claim is for anyone: no owner check
            intents = await self.team.press(
                actor,
                action_id=action_id,
                value=value,
                now=now,
                place=_thread_of_interaction(interaction),
            )
            await self.send(intents)
            return
        found, place = await self._session_of(interaction, component, actor)
        if found is None and await self._team_press(interaction, component, actor, value):
            return
        if found is None or place is None:
            await interaction.followup.send(
                "That question belongs to someone else's session, or it has ended. "
                f"Start your own with `/{COMMAND} plan`.",
                ephemeral=True,
            )
            return
        event: Event = (
            Reply(text=value)
            if component.kind in ("answer", "date")
            else Choose(action_id=action_id, value=value)
        )
        await self._turn(actor, place, event, found.record.id, found=found)

    async def _team_press(
        self, interaction: discord.Interaction, component: ComponentId, actor: Actor, value: str
    ) -> bool:
        """A member's press in a team plan's thread: an answer typed in the Answer modal is
        a message to the team's thread; a choice is the facilitator's, and the team coach
        says so there. ``False`` when the thread is not a team plan's."""
        place = _thread_of_interaction(interaction)
        if place is None or component.session:
            return False
        if component.kind in ("answer", "date"):
            intents = await self.team.message(actor, place, value, now=self.clock.now())
            if intents is None:
                return False
            await self.send(intents)
            return True
        found = await self._team_dialogue(place)
        if found is None:
            return False
        event = Choose(action_id=component.action_id, value=value)
        await self._turn(actor, place, event, found.record.id, found=found)
        return True

    async def _unhash(self, actor: Actor, hashed: str) -> str:
        """The nudge action id behind a digest, found among the presser's own nudges."""
        for nudge in await self.accountability.nudges.list_nudges(owner=actor.key(), limit=500):
            action_id = f"{NUDGE_PREFIX}{nudge.key}"
            if hashed_action_id(action_id) == hashed:
                return action_id
        return hashed  # not theirs, or gone: the accountability service says so

    async def _session_of(
        self, interaction: discord.Interaction, component: ComponentId, actor: Actor
    ) -> tuple[FoundSession | None, Place | None]:
        """The presser's open session that the pressed button belongs to."""
        if component.session:
            loaded = await self.coach.load(component.session)
            if loaded is None or loaded.record.owner != actor.key():
                return None, None
            return loaded, _place_of(loaded.record)
        place = _thread_of_interaction(interaction)
        if place is None:
            return None, None
        found = await self.coach.find(owner=actor.key(), place=place.key())
        return found, (place if found else None)

    # -- other commands ------------------------------------------------------------------

    async def _checkin(self, interaction: discord.Interaction) -> str:
        actor = await self.actor(interaction.user)
        intents, _ = await self.accountability.checkin(actor, now=self.clock.now())
        await self.send(intents)
        return "I've sent you a check-in in our DM." if interaction.guild_id else "See below."

    async def _status(self, interaction: discord.Interaction) -> str:
        actor = await self.actor(interaction.user)
        return await status_text(self.coach, self.accountability, actor, now=self.clock.now())

    async def _settings(self, interaction: discord.Interaction, change: str) -> str:
        actor = await self.actor(interaction.user)
        reply, _ = await self.accountability.settings(actor, change, now=self.clock.now())
        self.zones.forget(actor.key())  # a new zone applies from the next message
        return reply

    async def _session_command(self, interaction: discord.Interaction, name: str) -> str:
        actor = await self.actor(interaction.user)
        sessions = await self.coach.store.list_sessions(
            owner=actor.key(), unfinished_only=name != "report", limit=20
        )
        sessions = [s for s in sessions if s.place.startswith(f"{PLATFORM}:")]
        if name == "resume":
            sessions = [s for s in sessions if s.status == "paused"] or sessions
        if not sessions:
            verb = {"report": "report on"}.get(name, name)
            return f"You have no session to {verb}. Start one with `/{COMMAND} plan`."
        session = sessions[0]
        place = _place_of(session)
        if name == "report" and session.status not in ("active", "paused"):
            to: Place | DirectMessage = place or DirectMessage(actor=actor)
            if await self.team.teams.get_plan(session.id) is not None:
                # A team plan's thread is public, and its facilitator's report carries
                # their private reflection: it goes to their DM.
                to = DirectMessage(actor=actor)
            # The team coach adds a team plan's owners, and its facilitator's reflection.
            document = await self.team.report(actor, session, to=to)
            if document is None:
                return "I can't rebuild that session's report any more."
            await self.send([document])
            return f"I've posted the report of your {session.method} session."
        if place is None:
            return "That session isn't in Discord."
        await self._turn(actor, place, Command(name=name), session.id)
        return f"Done: I've answered in your {session.method} session."

    async def _export(self, interaction: discord.Interaction) -> str:
        actor = await self.actor(interaction.user)
        await self.send(await self.privacy.export(actor, now=self.clock.now()))
        return "I've sent you all your data in our DM, as JSON and Markdown."

    async def _forget(self, interaction: discord.Interaction) -> str:
        actor = await self.actor(interaction.user)
        await self.send(self.privacy.confirm_forget(actor))
        return "I've asked you to confirm in our DM. Nothing is deleted yet."

    # -- turns ---------------------------------------------------------------------------

    async def _turn(
        self,
        actor: Actor,
        place: Place,
        event: Event,
        session_id: str | None,
        *,
        found: FoundSession | None = None,
    ) -> None:
        inbound = Inbound(
            actor=actor, place=place, event=event, at=self.clock.now(), session_id=session_id
        )
        result = await self.coach.handle(inbound, found=found)
        await self.send(result.intents)

    async def send(self, intents: Sequence[Intent]) -> None:
        """Send a turn's reply; a refusal is logged (the person's state is already saved)."""
        try:
            await self.messenger.send(intents)
        except DeliveryRefused as exc:
            _log.warning("Discord refused a reply: %s", exc)

    async def fallback_place(self, person: Actor, intents: Sequence[Intent]) -> Place | None:
        """Where to mention ``person`` when their DMs are closed: their newest session thread."""
        for s in await self.coach.store.list_sessions(owner=person.key(), limit=20):
            place = _place_of(s)
            if place is not None and place.thread and not place.channel.startswith("dm:"):
                return place
        return None


def help_text() -> str:
    """What ``/breakthrough help`` shows."""
    return "\n".join(
        [
            "**Breakthrough** asks the questions; you do the thinking. Sessions run in a "
            "private thread (or here, in a DM), and never time out.",
            f"`/{COMMAND} plan [topic]`: turn what you'd like to happen into dated steps",
            f"`/{COMMAND} seven-step [topic]`: the seven-step breakthrough",
            f"`/{COMMAND} session [topic]`: a coaching session with a report at the end",
            f"`/{COMMAND} checkin [topic]`: check in on your next commitment (or on a topic)",
            f"`/{COMMAND} status`: your sessions, commitments and next nudges",
            f"`/{COMMAND} pause`, `resume`, `stop`, `report`: your latest session",
            f"`/{COMMAND} settings [change]`: time zone, quiet hours, working days",
            f"`/{COMMAND} export`, `forget`: your data, sent to you or deleted",
            f"`/{COMMAND} team TOPIC`: a team plan in a public thread of this channel, where "
            "everyone adds steps and claims them; "
            f"`/{COMMAND} team help` for the rest (digest, status, admins' list and end)",
        ]
    )


async def status_text(
    coach: Coach, accountability: Accountability, actor: Actor, *, now: datetime
) -> str:
    """Sessions, open commitments and the next nudges of ``actor``, in Discord Markdown."""
    owner = actor.key()
    prefs = await accountability.preferences(owner)
    tz = resolve_tz(prefs, actor.tz or accountability.default_tz)
    sessions = await coach.store.list_sessions(owner=owner, unfinished_only=True)
    commitments = await coach.store.list_commitments(owner=owner, status="open")
    lines = ["**Your sessions**"]
    lines += [f"- {s.method}: {s.topic or 'untitled'} ({s.status})" for s in sessions] or [
        "No session running."
    ]
    lines.append("**Open commitments**")
    lines += [
        f"- {c.text} — due {when_text(c.due_at, tz=tz, now=now)}" for c in commitments[:20]
    ] or ["Nothing open."]
    if len(commitments) > 20:
        lines.append(f"…and {len(commitments) - 20} more.")
    return "\n".join(lines)


def is_admin(interaction: discord.Interaction) -> bool:
    """Whether the person may list and end every team plan in the server: Administrator
    or Manage Server, from the permissions Discord resolved into the interaction (the
    server's owner has every permission there)."""
    permissions = interaction.permissions
    return interaction.guild_id is not None and (
        permissions.administrator or permissions.manage_guild
    )


def _place_of_interaction(interaction: discord.Interaction) -> Place:
    """Where a command was used in a server: the channel, or the thread inside it."""
    return _thread_of_interaction(interaction) or Place(
        platform=PLATFORM,
        workspace=str(interaction.guild_id),
        channel=str(interaction.channel_id),
    )


def _thread_of_interaction(interaction: discord.Interaction) -> Place | None:
    """The server thread an interaction came from, as a :class:`Place`, else ``None``."""
    channel = interaction.channel
    if interaction.guild_id is None or not isinstance(channel, discord.Thread):
        return None
    return Place(
        platform=PLATFORM,
        workspace=str(interaction.guild_id),
        channel=str(channel.parent_id),
        thread=str(channel.id),
    )


def _without_mention(text: str, bot_id: int) -> str:
    """``text`` without the bot's mention (how people address it without the intent)."""
    return re.sub(rf"<@!?{bot_id}>", "", text).strip()


class _Tree(app_commands.CommandTree[discord.Client]):
    """The command tree, turning commands away while the bot is stopping."""

    def __init__(self, client: discord.Client, bot: DiscordBot) -> None:
        super().__init__(client)
        self._bot = bot

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if self._bot.stopping:
            await self._bot.refuse(interaction)
            return False
        return True


def _say(to: Place | DirectMessage, text: str) -> Intent:
    return Say(to=to, text=text)


def _place_of(session: SessionRecord) -> Place | None:
    """The :class:`Place` a stored session lives in, if it is a Discord one."""
    return place_of(session, PLATFORM)


def _answer_modal(component: ComponentId, data: dict[str, Any]) -> discord.ui.Modal:
    """The modal an Answer or Pick-a-date button opens; its submission comes back with the
    same ``custom_id`` and is handled by :meth:`DiscordBot.on_interaction`."""
    dated = component.kind == "date"
    modal = discord.ui.Modal(
        title="Pick a date" if dated else "Your answer",
        custom_id=custom_id(component),
        timeout=None,
    )
    modal.add_item(
        discord.ui.TextInput(
            label="When?" if dated else "Your answer",
            placeholder='e.g. "next Friday", "in two weeks", "2026-12-01"' if dated else None,
            style=discord.TextStyle.short if dated else discord.TextStyle.paragraph,
            custom_id="answer",
            max_length=200 if dated else 4000,
        )
    )
    modal.stop()  # submissions are handled by custom_id, not by this object
    return modal


def _modal_text(data: dict[str, Any]) -> str:
    """The text typed into a submitted modal's (only) field."""
    for row in data.get("components") or ():
        for item in row.get("components") or ():
            if item.get("custom_id") == "answer":
                return str(item.get("value") or "")
    return ""
