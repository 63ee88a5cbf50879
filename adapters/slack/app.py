"""The Slack adapter: slash commands, thread replies, buttons and the App Home on Bolt.

Every Slack request is acknowledged first and worked on afterwards, in a task this object
tracks: Slack wants an answer within 3 seconds, and a turn (a database commit, a plan
picture, a rate-limited post) may take longer. Tracking the tasks lets a test, or a
shutdown, wait until every accepted request has been handled.

Where things happen:

* ``/breakthrough plan Launch the beta`` posts a root message ("Ann started a PLAN
  session", never the topic, which may be private) and the session runs in its thread; in
  a DM with the bot it runs in a thread of the DM. The session's place is the thread, so a
  thread message is found by ``(owner, channel, thread_ts)``: another person's message in
  that thread finds no session of theirs and is left alone.
* ``/breakthrough team Launch the beta`` posts a root message naming the topic (it is the
  team's) and a team plan runs in its thread (:mod:`core.team`): there a message that
  finds no session of the writer's goes to the team coach, which lets everyone add items
  and answers "claim 2", "done 2" and the like. Its buttons (``team:…``) may be pressed
  by anyone, so they go to the team coach before the "is this your session?" check.
* Nudges and the check-ins they open arrive at the top level of the person's DM; a reply
  typed there goes to their newest open DM check-in, and its buttons carry the session id.
* Retried events are dropped by :class:`~core.store.events.SqlEventLog`, in the database
  shared by every replica, after the acknowledgement (a busy database must not delay it).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, Final

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond

from adapters.slack.commands import METHOD_SUBCOMMANDS, SlashCommand, help_text, parse
from adapters.slack.escape import escape, unescape
from adapters.slack.home import home_view
from adapters.slack.messenger import (
    DM_PREFIX,
    SlackMessenger,
    session_from_block_id,
)
from adapters.slack.people import PLATFORM, SlackPeople
from adapters.slack.render import parse_action_id
from adapters.tasks import TrackedTasks
from core.dialogue.coach import Coach, FoundSession
from core.dialogue.engine import TEAM
from core.dialogue.events import Choose, Command, Event, Inbound, Reply, Start
from core.dialogue.intents import DirectMessage, Intent, Say
from core.dialogue.model import Actor, Place
from core.dialogue.state import SessionState
from core.errors import DeliveryRefused
from core.ports import Clock, SessionRecord
from core.privacy import FORGET_PREFIX, Privacy
from core.schedule.accountability import Accountability, describe_nudge, place_of
from core.schedule.compose import NUDGE_PREFIX, PARTNER_PREFIX, when_text
from core.schedule.policy import resolve_tz
from core.schedule.settings_text import describe
from core.store.events import SqlEventLog
from core.team.service import TEAM_PREFIX, TeamCoach
from core.team.words import TEAM_HELP

__all__ = ["COMMAND", "NOT_IN_CHANNEL", "SlackBot"]

_log = logging.getLogger(__name__)

COMMAND: Final = "/breakthrough"

NOT_IN_CHANNEL: Final = (
    "I can't post in this channel because I'm not a member of it. Invite me with "
    "`/invite @Breakthrough` and run the command again, or start the session in a DM "
    "with me. Nothing was started."
)

_METHOD_TITLES: Final = {
    "plan": "PLAN",
    "seven-step": "seven-step",
    "session": "coaching",
    "checkin": "check-in",
}

#: Message subtypes that are a person writing: anything else (edits, joins, bots) is not.
_PERSON_SUBTYPES: Final = frozenset({"", "thread_broadcast", "file_share"})


class SlackBot:
    """Registers Breakthrough's listeners on a Bolt ``AsyncApp``; see the module docstring."""

    def __init__(
        self,
        app: AsyncApp,
        *,
        coach: Coach,
        accountability: Accountability,
        team: TeamCoach,
        privacy: Privacy,
        messenger: SlackMessenger,
        people: SlackPeople,
        events: SqlEventLog | None,
        clock: Clock,
        command: str = COMMAND,
    ) -> None:
        self.app = app
        self.coach = coach
        self.accountability = accountability
        self.team = team
        self.privacy = privacy
        self.messenger = messenger
        self.people = people
        self.events = events
        self.clock = clock
        self.command = command
        self.tasks = TrackedTasks("Slack", _log)
        self.track = self.tasks.track
        self.idle = self.tasks.idle
        # Bolt tries listeners in the order registered: thread messages are the busiest.
        app.event("message")(self._on_message)
        app.command(command)(self._on_command)
        app.event("app_home_opened")(self._on_home_opened)
        app.action(re.compile(".*"))(self._on_action)

    # -- task tracking -------------------------------------------------------------------

    @property
    def failures(self) -> int:
        """How many accepted requests failed while being handled."""
        return self.tasks.failures

    # -- redeliveries ----------------------------------------------------------------

    async def _first_time(self, body: dict[str, Any]) -> bool:
        """Whether this event is new to every replica (Slack retries; any replica may get it).

        Checked after the acknowledgement, in the handling task: a busy database must never
        hold up the answer Slack waits 3 seconds for.
        """
        event_id = body.get("event_id")
        if self.events is None or not isinstance(event_id, str) or not event_id:
            return True
        if await self.events.first_time(f"slack:{event_id}", now=self.clock.now()):
            return True
        _log.info("dropped a redelivered Slack event", extra={"event_id": event_id})
        return False

    # -- slash command -------------------------------------------------------------------

    async def _on_command(self, ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        self.track(self._command(body, respond), "command")

    async def _command(self, body: dict[str, Any], respond: AsyncRespond) -> None:
        cmd = parse(str(body.get("text") or ""))
        team = str(body.get("team_id") or "")
        channel = str(body.get("channel_id") or "")
        actor = await self.people.actor(team, str(body.get("user_id") or ""))
        now = self.clock.now()

        async def tell(text: str) -> None:
            await respond(text=escape(text), response_type="ephemeral", replace_original=False)

        if cmd.name == "help":
            await tell(help_text(self.command, unknown=cmd.unknown))
        elif cmd.name in METHOD_SUBCOMMANDS or (cmd.name == "checkin" and cmd.rest):
            # "checkin <topic>" is a check-in on anything, in a thread like any session.
            await self._start_session(cmd, actor, team=team, channel=channel, tell=tell)
        elif cmd.name == "team":
            await self._team_command(cmd.rest, actor, team=team, channel=channel, tell=tell)
        elif cmd.name == "checkin":
            intents, _ = await self.accountability.checkin(actor, now=now)
            await self.messenger.send(intents)
            if not channel.startswith("D"):
                await tell("I've sent you a check-in in our DM.")
        elif cmd.name == "status":
            await tell(await self._status(actor, now=now))
        elif cmd.name == "settings":
            reply, _ = await self.accountability.settings(actor, cmd.rest, now=now)
            self.people.forget_choice(team, actor.user_id)  # a new zone applies at once
            await tell(reply)
        elif cmd.name in ("pause", "resume", "stop", "report"):
            await self._session_command(cmd.name, actor, tell=tell)
        elif cmd.name == "export":
            await self.send(await self.privacy.export(actor, now=now))
            if not channel.startswith("D"):
                await tell("I've sent you all your data in our DM, as JSON and Markdown.")
        elif cmd.name == "forget":
            await self.send(self.privacy.confirm_forget(actor))
            if not channel.startswith("D"):
                await tell("I've asked you to confirm in our DM. Nothing is deleted yet.")
        else:  # pragma: no cover - parse only returns known names
            await tell(help_text(self.command))

    async def _start_session(
        self,
        cmd: SlashCommand,
        actor: Actor,
        *,
        team: str,
        channel: str,
        tell: Callable[[str], Awaitable[None]],
    ) -> None:
        title = _METHOD_TITLES.get(cmd.name, cmd.name)
        who = "You" if channel.startswith("D") else f"<@{actor.user_id}>"
        root = f"{who} started a {title} session. I'll ask the questions in this thread."
        place = await self._post_root(team, channel, root, tell=tell)
        if place is not None:
            await self._turn(actor, place, Start(method=cmd.name, topic=cmd.rest), None)

    async def _post_root(
        self, team: str, channel: str, root: str, *, tell: Callable[[str], Awaitable[None]]
    ) -> Place | None:
        """Post a session's root message; its thread is the session's place."""
        try:
            posted = await self.messenger.post_text(team, channel, root)
        except DeliveryRefused as exc:
            if "not_in_channel" in str(exc) or "channel_not_found" in str(exc):
                await tell(NOT_IN_CHANNEL)
            else:
                await tell(f"I can't post in this channel ({exc}). Nothing was started.")
            return None
        return Place(platform=PLATFORM, workspace=team, channel=posted.channel, thread=posted.ts)

    async def _team_command(
        self,
        text: str,
        actor: Actor,
        *,
        team: str,
        channel: str,
        tell: Callable[[str], Awaitable[None]],
    ) -> None:
        """``/breakthrough team …``: start a team plan, or act on the channel's plans.

        Slack sends no ``thread_ts`` with a slash command, so the place is the channel
        (a DM with the bot is the person's DM place, where no team plan can start).
        """
        where = Place(
            platform=PLATFORM,
            workspace=team,
            channel=f"{DM_PREFIX}{actor.user_id}" if channel.startswith("D") else channel,
        )
        is_admin = await self.people.is_admin(team, actor.user_id)
        reply = await self.team.command(actor, where, text, now=self.clock.now(), is_admin=is_admin)
        if reply.start is not None:
            method, topic = reply.start
            title = _METHOD_TITLES.get(method, method)
            about = f": “{escape(' '.join(topic.split()))}”" if topic.strip() else ""
            root = (
                f"<@{actor.user_id}> started a team {title} session{about}. It runs in this "
                "thread, and everyone here can join in."
            )
            thread = await self._post_root(team, channel, root, tell=tell)
            if thread is not None:
                result = await self.team.start(
                    actor, thread, method=method, topic=topic, now=self.clock.now()
                )
                await self.send(result.intents)
        await self.send(reply.intents)
        if reply.private == TEAM_HELP:  # its words are typed after the command here
            how = f"Type these after `{self.command}`; in a plan's thread, just type them."
            await tell(f"{how}\n{TEAM_HELP}")
        elif reply.private:
            await tell(reply.private)

    async def _session_command(
        self, name: str, actor: Actor, *, tell: Callable[[str], Awaitable[None]]
    ) -> None:
        sessions = await self.coach.store.list_sessions(
            owner=actor.key(), unfinished_only=name != "report", limit=20
        )
        if name == "resume":
            sessions = [s for s in sessions if s.status == "paused"] or sessions
        if not sessions:
            await tell(
                "You have no session to "
                + {"report": "report on"}.get(name, name)
                + f". Start one with `{self.command} plan …`."
            )
            return
        session = sessions[0]
        place = _place_of(session)
        if name == "report" and session.status not in ("active", "paused"):
            # A team plan's thread is the team's: its report, with the facilitator's own
            # reflection in it, goes to the person's DM instead.
            team_plan = SessionState.from_json(session.state).context.get(TEAM)
            to: Place | DirectMessage = (
                place if place is not None and not team_plan else DirectMessage(actor=actor)
            )
            document = await self.team.report(actor, session, to=to)
            if document is None:
                await tell("I can't rebuild that session's report any more.")
                return
            await self.send([document])
            if isinstance(to, DirectMessage) or to.channel.startswith(DM_PREFIX):
                await tell(f"I've sent you the report, “{document.title}”, in our DM.")
            else:
                await tell(f"I've posted the report of your {session.method} session.")
            return
        if place is None:
            await tell("That session isn't in Slack.")
            return
        await self._turn(actor, place, Command(name=name), session.id)
        await tell(f"Done: I've answered in your {session.method} session's thread.")

    async def _status(self, actor: Actor, *, now: datetime) -> str:
        owner = actor.key()
        prefs = await self.accountability.preferences(owner)
        tz = resolve_tz(prefs, actor.tz or self.accountability.default_tz)
        sessions = await self.coach.store.list_sessions(owner=owner, unfinished_only=True)
        commitments = await self.coach.store.list_commitments(owner=owner, status="open")
        upcoming = await self.accountability.upcoming(owner, limit=5)
        lines = ["*Your sessions*"]
        lines += [f"• {s.method}: {s.topic or 'untitled'} ({s.status})" for s in sessions] or [
            "No session running."
        ]
        lines.append("*Open commitments*")
        lines += [
            f"• {c.text} — due {when_text(c.due_at, tz=tz, now=now)}" for c in commitments[:20]
        ] or ["Nothing open."]
        if len(commitments) > 20:
            lines.append(f"…and {len(commitments) - 20} more (see the Home tab).")
        lines.append("*Next nudges*")
        lines += [describe_nudge(n, now=now) for n in upcoming] or ["None scheduled."]
        return "\n".join(lines)

    # -- messages ------------------------------------------------------------------------

    async def _on_message(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        if event.get("bot_id") or event.get("subtype", "") not in _PERSON_SUBTYPES:
            return  # other bots, edits, joins: not a person answering
        if not event.get("user"):
            return
        self.track(self._message(body, event), "message")

    async def _message(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        team = str(body.get("team_id") or event.get("team") or "")
        channel = str(event.get("channel") or "")
        user = str(event["user"])
        text = unescape(str(event.get("text") or ""))
        thread_ts = event.get("thread_ts")
        owner = Actor(platform=PLATFORM, workspace=team, user_id=user).key()
        if thread_ts and thread_ts != event.get("ts"):
            place = Place(platform=PLATFORM, workspace=team, channel=channel, thread=thread_ts)
            # Both reads at once: on the turn path each is a round trip to the database.
            first, found = await asyncio.gather(
                self._first_time(body), self.coach.find(owner=owner, place=place.key())
            )
            if not first:
                return  # a redelivery
            if found is None:
                await self._team_message(team, user, place, text)
                return
            actor = await self.people.actor(team, user)
            await self._turn(actor, place, Reply(text=text), found.record.id, found=found)
            return
        if not await self._first_time(body):
            return
        if event.get("channel_type") != "im":
            return  # a channel message outside our threads is not for us
        session = await self._dm_checkin(owner, team=team, user=user)
        actor = await self.people.actor(team, user)
        if session is None:
            await self.messenger.send(
                [
                    Say(
                        to=DirectMessage(actor=actor),
                        text="Nothing is waiting for your answer here. Start a session with "
                        f"`{self.command} plan …`, or type `{self.command} help`.",
                    )
                ]
            )
            return
        checkin = _place_of(session)
        assert checkin is not None
        await self._turn(actor, checkin, Reply(text=text), session.id)

    async def _team_message(self, team: str, user: str, place: Place, text: str) -> None:
        """A thread message that is no turn of the writer's own session: the team coach's,
        when the thread is a team plan's; otherwise someone else's session, or a thread
        that isn't ours, and left alone."""
        if await self.team.teams.plan_at(place.key()) is None:
            return  # checked first: no users.info call for every thread in the workspace
        actor = await self.people.actor(team, user)
        intents = await self.team.message(actor, place, text, now=self.clock.now())
        await self.send(intents or [])

    async def _dm_checkin(self, owner: str, *, team: str, user: str) -> SessionRecord | None:
        """The person's newest open session living at the top of their DM (a check-in)."""
        prefix = f"{PLATFORM}:{team}:{DM_PREFIX}{user}:"
        for s in await self.coach.store.list_sessions(owner=owner, unfinished_only=True):
            if s.place.startswith(prefix):
                return s
        return None

    # -- buttons -------------------------------------------------------------------------

    async def _on_action(self, ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        self.track(self._action(body, respond), "action")

    async def _action(self, body: dict[str, Any], respond: AsyncRespond) -> None:
        team = str((body.get("team") or {}).get("id") or (body.get("user") or {}).get("team_id"))
        user = str((body.get("user") or {}).get("id") or "")
        actor = await self.people.actor(team, user)
        now = self.clock.now()
        for action in body.get("actions") or ():
            element_id = str(action.get("action_id") or "")
            base = parse_action_id(element_id)
            suffix = element_id[len(base) + 1 :] if len(element_id) > len(base) else ""
            value = _action_value(action, suffix)
            if value is None:
                continue
            if base.startswith(FORGET_PREFIX):
                await self.send(await self.privacy.forget(actor, action_id=base, value=value))
                self.people.forget_person(team, user)
                continue
            if base.startswith((NUDGE_PREFIX, PARTNER_PREFIX)):
                if suffix == "snooze":
                    value = f"snooze:{value}"
                intents, _ = await self.accountability.act(
                    actor, action_id=base, value=value, now=now
                )
                await self.messenger.send(intents)
                continue
            thread = _thread_of(body, actor.workspace)
            if base.startswith(TEAM_PREFIX):  # Claim, Share, Reflect: anyone may press
                intents = await self.team.press(
                    actor, action_id=base, value=value, now=now, place=thread
                )
                await self.send(intents)
                continue
            found, place = await self._session_of(body, action, actor)
            if found is None and thread is not None:
                # A team plan's question: the team coach says who may answer it.
                found = await self._team_session(thread)
                place = thread if found is not None else None
            if found is None or place is None:
                await respond(
                    text="That question belongs to someone else's session, or it has ended. "
                    f"Start your own with `{self.command} plan …`.",
                    response_type="ephemeral",
                    replace_original=False,
                )
                continue
            event: Event
            if suffix in ("date", "time"):
                event = Reply(text=value)
            else:
                event = Choose(action_id=base, value=value)
            await self._turn(actor, place, event, found.record.id, found=found)

    async def _session_of(
        self, body: dict[str, Any], action: dict[str, Any], actor: Actor
    ) -> tuple[FoundSession | None, Place | None]:
        """The presser's open session that the pressed button belongs to."""
        session_id = session_from_block_id(str(action.get("block_id") or ""))
        if session_id is not None:
            loaded = await self.coach.load(session_id)
            if loaded is None or loaded.record.owner != actor.key():
                return None, None
            return loaded, _place_of(loaded.record)
        thread = _thread_of(body, actor.workspace)
        if thread is None:
            return None, None
        found = await self.coach.find(owner=actor.key(), place=thread.key())
        return found, (thread if found else None)

    async def _team_session(self, thread: Place) -> FoundSession | None:
        """The team plan's session in ``thread`` while its dialogue runs."""
        plan = await self.team.teams.plan_at(thread.key())
        if plan is None:
            return None
        found = await self.coach.load(plan.session_id)
        if found is None or found.record.status not in ("active", "paused"):
            return None
        return found

    # -- App Home ------------------------------------------------------------------------

    async def _on_home_opened(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        if event.get("tab", "home") != "home":
            return
        self.track(self._home(body, event), "home")

    async def _home(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        if not await self._first_time(body):
            return
        team = str(body.get("team_id") or "")
        user = str(event.get("user") or "")
        await self.publish_home(team, user)

    async def publish_home(self, team: str, user: str) -> None:
        """Show ``user`` their sessions, open commitments and settings in the Home tab."""
        actor = await self.people.actor(team, user)
        owner = actor.key()
        now = self.clock.now()
        prefs = await self.accountability.preferences(owner)
        tz = resolve_tz(prefs, actor.tz or self.accountability.default_tz)
        sessions = await self.coach.store.list_sessions(owner=owner, unfinished_only=True)
        commitments = await self.coach.store.list_commitments(owner=owner, status="open")
        failed = await self.accountability.nudges.list_nudges(
            owner=owner, statuses=("failed",), limit=3
        )
        problems = [f"A nudge could not be delivered: {n.error}" for n in failed if n.error]
        view = home_view(
            sessions=sessions,
            commitments=commitments,
            settings_text=describe(prefs, tz=tz, now=now),
            tz=tz,
            now=now,
            problems=problems,
            command=self.command,
        )
        client = await self.messenger.clients.client_for(team)
        await client.views_publish(user_id=user, view=view)

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

    async def send(self, intents: list[Intent]) -> None:
        """Post a turn's reply; a refusal is logged (the person's state is already saved)."""
        try:
            await self.messenger.send(intents)
        except DeliveryRefused as exc:
            _log.warning("Slack refused a reply: %s", exc)


def _place_of(session: SessionRecord) -> Place | None:
    """The :class:`Place` a stored session lives in, if it is a Slack one."""
    return place_of(session, PLATFORM)


def _thread_of(body: dict[str, Any], workspace: str) -> Place | None:
    """The thread the pressed message is in, if it is in one."""
    message = body.get("message") or {}
    container = body.get("container") or {}
    thread_ts = message.get("thread_ts") or container.get("thread_ts")
    channel = (body.get("channel") or {}).get("id") or container.get("channel_id")
    if not thread_ts or not channel:
        return None
    return Place(platform=PLATFORM, workspace=workspace, channel=str(channel), thread=thread_ts)


def _action_value(action: dict[str, Any], suffix: str) -> str | None:
    """What the person picked: a button's value, a date or a time."""
    if suffix in ("date", "snooze"):
        return action.get("selected_date")
    if suffix == "time":
        return action.get("selected_time")
    value = action.get("value")
    return None if value is None else str(value)
