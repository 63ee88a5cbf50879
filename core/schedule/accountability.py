"""Accountability: commitments become nudge rows; due nudges become messages; buttons act.

Three jobs, one object, because they share the same facts (a person's preferences,
their commitments, the check-in session a nudge opens):

- :meth:`Accountability.turn_committed` runs after every turn that made or changed a
  commitment or a follow-up: it derives that commitment's nudges (reminder, check-in,
  overdue follow-up) and replaces the pending ones, celebrates a step done, and tells an
  accepted partner what the person chose to share.
- :meth:`Accountability.prepare` decides, at delivery time, what a claimed nudge says,
  or that it should wait (quiet hours, a vacation) or is no longer needed (the
  commitment was done, the check-in was answered). Deciding late is what makes a
  preference change or a check-in answer take effect without rewriting rows.
- :meth:`Accountability.act` handles the buttons on a nudge (done, snooze, new date,
  blocked) and on a partner invitation, and :meth:`settings` a person's typed settings.

A check-in session's id is derived from the commitment and its due time, so every
nudge about the same due date (the reminder's "Done" button, the check-in, the overdue
follow-up, a snoozed copy) lands in the same check-in, and a nudge retried after a crash
does not open a second one.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Final, Protocol

from core.dialogue.coach import Coach, CommittedTurn
from core.dialogue.events import Choose, Inbound, Start
from core.dialogue.intents import Ask, Choice, DirectMessage, Intent, Say
from core.dialogue.model import Actor, Place
from core.dialogue.state import SessionState
from core.language import Deadline, UnknownTimeZone, parse_deadline, read_back, zone
from core.ports import CommitmentRecord, SessionRecord, Store
from core.schedule import compose
from core.schedule.model import NudgeDraft, NudgeOutcome, NudgeRecord, PartnerLink, Preferences
from core.schedule.policy import (
    DEFAULT_SILENCE,
    commitment_nudges,
    followup_nudges,
    next_in_series,
    resolve_tz,
    resume_draft,
    send_time,
)
from core.schedule.ports import NudgeStore
from core.schedule.settings_text import SettingError, apply_setting, describe

__all__ = [
    "Accountability",
    "BatchFacts",
    "Delivery",
    "PeopleStore",
    "TeamHooks",
    "checkin_session_id",
    "dm_place",
    "place_of",
]

_log = logging.getLogger(__name__)

_CHECKIN_NAMESPACE: Final = uuid.UUID("6f1f7d52-3c0e-4a53-9f0e-4f6b1b2f9a10")
_CHECKIN_METHOD: Final = "checkin"
_STATUS_STEP: Final = "status"
_ACTION_TO_STATUS: Final = {"done": "done", "new_date": "not_yet", "blocked": "blocked"}
_COMMITMENT_KINDS: Final = frozenset({"reminder", "checkin", "overdue"})
# After the check-in was sent, an overdue follow-up due within this is coalesced into it
# (after downtime both are due at once; one message is enough).
_OVERDUE_GAP: Final = timedelta(hours=12)


class TeamHooks(Protocol):
    """What team plans add to accountability (implemented by :class:`core.team.TeamCoach`):
    a team step's date announced and its completion celebrated in the team's thread, and
    the channels' weekly digests delivered."""

    async def step_dated(
        self, owner: Actor, c: CommitmentRecord, *, now: datetime
    ) -> list[Intent]: ...

    async def step_done(
        self, owner: Actor, c: CommitmentRecord, *, now: datetime
    ) -> list[Intent]: ...

    async def deliver_digest(self, nudge: NudgeRecord, *, now: datetime) -> Delivery: ...


_TEAM_STEP: Final = ":team:"  # in the id of a commitment to a team step


class PeopleStore(Store, Protocol):
    """The session store plus the people table (implemented by ``SqlStore``)."""

    async def get_person(self, key: str) -> Any: ...

    async def get_people(self, keys: Sequence[str]) -> dict[str, Any]: ...

    async def upsert_person(self, person: Any) -> None: ...


@dataclass(slots=True, kw_only=True)
class BatchFacts:
    """What a batch of nudges needs about its recipients, read with two queries for the
    whole batch instead of two per nudge."""

    preferences: dict[str, Preferences] = field(default_factory=dict)
    people: dict[str, Actor] = field(default_factory=dict)


def checkin_session_id(commitment_id: str, due: datetime) -> str:
    """The id of the check-in session about ``commitment_id`` due at ``due``."""
    return uuid.uuid5(_CHECKIN_NAMESPACE, f"{commitment_id}@{due.isoformat()}").hex


DM_CHANNEL_PREFIX: Final = "dm:"
"""The channel of a :func:`dm_place`: ``dm:<user id>``."""


def dm_place(actor: Actor, session_id: str) -> Place:
    """Where a nudge-opened session lives: a thread of the person's direct messages."""
    return Place(
        platform=actor.platform,
        workspace=actor.workspace,
        channel=f"{DM_CHANNEL_PREFIX}{actor.user_id}",
        thread=session_id,
    )


def place_of(session: SessionRecord, platform: str) -> Place | None:
    """The :class:`Place` a stored session lives in, if it is on ``platform``.

    The inverse of ``Place.key()``, which cannot be split on ``:`` alone because a
    :func:`dm_place` channel is ``dm:<user>`` and holds a colon itself.
    """
    prefix, _, rest = session.place.partition(":")
    workspace, _, rest = rest.partition(":")
    if prefix != platform:
        return None
    if rest.startswith(DM_CHANNEL_PREFIX):
        user, _, thread = rest[len(DM_CHANNEL_PREFIX) :].partition(":")
        channel = f"{DM_CHANNEL_PREFIX}{user}"
    else:
        channel, _, thread = rest.partition(":")
    return Place(platform=platform, workspace=workspace, channel=channel, thread=thread or None)


@dataclass(slots=True, kw_only=True)
class Delivery:
    """What to do with one claimed nudge: show ``intents`` (if any), then record ``outcome``."""

    nudge: NudgeRecord
    intents: list[Intent] = field(default_factory=list)
    outcome: NudgeOutcome
    recipient: Actor | None = None
    opened_session: str | None = None
    """The session the delivery opened or re-presented (a check-in), for the console."""


class Accountability:
    """See the module docstring. ``wake`` is told the due time of every nudge added."""

    def __init__(
        self,
        *,
        store: PeopleStore,
        nudges: NudgeStore,
        coach: Coach,
        default_tz: str = "UTC",
        silence: timedelta = DEFAULT_SILENCE,
    ) -> None:
        self.store = store
        self.nudges = nudges
        self.coach = coach
        self.default_tz = default_tz
        self.silence = silence
        self.wake: Callable[[datetime], None] | None = None
        self.team: TeamHooks | None = None
        coach.listener = self

    # -- scheduling ----------------------------------------------------------------------

    async def preferences(self, owner: str) -> Preferences:
        """The person's settings, or the defaults."""
        return await self.nudges.get_preferences(owner) or Preferences.defaults(owner)

    async def turn_committed(self, turn: CommittedTurn) -> list[Intent]:
        """Schedule the turn's commitments and follow-ups; celebrate; tell the partner."""
        now = turn.session.updated_at
        owner = turn.owner.key()
        await self._remember(turn.owner, tz=turn.tz, now=now)
        prefs = await self.preferences(owner)
        tz = resolve_tz(prefs, turn.tz)
        touched = [*turn.created, *(c.after for c in turn.changed)]
        for c in touched:
            await self._schedule_commitment(c, prefs, tz=tz, now=now)
        for f in turn.followups:
            drafts = followup_nudges(f, prefs, now=now, tz=tz)
            await self.nudges.replace_nudges(target=f.id, drafts=drafts, now=now)
            self._woken(drafts)
        said: list[Intent] = []
        if self.team is not None:
            for c in turn.created:
                if _TEAM_STEP in c.id:
                    said += await self.team.step_dated(turn.owner, c, now=now)
        for change in turn.changed:
            c = change.after
            if c.status == "done" and change.before_status != "done":
                if self.team is not None and _TEAM_STEP in c.id:
                    said += await self.team.step_done(turn.owner, c, now=now)
                done, total = await self._progress(c.session_id)
                text = compose.celebration(c.text, done=done, total=total)
                said.append(Say(to=turn.place, text=text))
                await self._tell_partner(
                    turn.owner,
                    now=now,
                    news=f"finished {compose.q(c.text)}",
                    progress=(done, total),
                )
            elif c.slips == 2 and change.before_due < c.due_at:
                await self._tell_partner(
                    turn.owner,
                    now=now,
                    news=f"has moved {compose.q(c.text)} to a later date twice now",
                    progress=None,
                    slipped=True,
                )
        return said

    async def _schedule_commitment(
        self, c: CommitmentRecord, prefs: Preferences, *, tz: str, now: datetime
    ) -> None:
        drafts = commitment_nudges(c, prefs, now=now, tz=tz)
        await self.nudges.replace_nudges(target=c.id, drafts=drafts, now=now)
        self._woken(drafts)

    async def reschedule(self, c: CommitmentRecord, *, now: datetime) -> None:
        """Re-derive a commitment's nudges after it changed outside a turn (a team step
        marked done or given a new date in the team's thread)."""
        prefs = await self.preferences(c.owner)
        await self._schedule_commitment(c, prefs, tz=resolve_tz(prefs, c.tz), now=now)

    async def replan(self, owner: str, *, now: datetime) -> int:
        """Re-derive the person's nudges after a settings change: every open commitment's,
        and every method follow-up's (a series stopped by "nudges off" starts again with
        "nudges on"); return how many things were re-planned."""
        prefs = await self.preferences(owner)
        commitments = await self.store.list_commitments(owner=owner, status="open")
        for c in commitments:
            await self._schedule_commitment(c, prefs, tz=resolve_tz(prefs, c.tz), now=now)
        followups = await self.store.list_followups(owner=owner)
        for f in followups:
            drafts = followup_nudges(f, prefs, now=now, tz=resolve_tz(prefs, f.tz))
            await self.nudges.replace_nudges(target=f.id, drafts=drafts, now=now)
            self._woken(drafts)
        return len(commitments) + len(followups)

    async def sweep(self, now: datetime) -> int:
        """Add the one resume nudge of each session silent for ``silence``; return count."""
        silent = await self.nudges.silent_sessions(
            before=now - self.silence, exclude_methods=[_CHECKIN_METHOD], limit=500
        )
        drafts = []
        for s in silent:
            state = SessionState.from_json(s.state)
            drafts.append(resume_draft(s, silence=self.silence, tz=state.tz))
        if drafts:
            await self.nudges.add_nudges(drafts, now=now)
            self._woken(drafts)
        return len(drafts)

    def woken(self, drafts: Sequence[NudgeDraft]) -> None:
        """Tell the timer about nudges added outside this object (a team digest)."""
        self._woken(drafts)

    def _woken(self, drafts: Sequence[NudgeDraft]) -> None:
        if self.wake is not None and drafts:
            self.wake(min(d.due_at for d in drafts))

    async def _remember(self, actor: Actor, *, tz: str, now: datetime) -> None:
        """Keep the person's name and zone, so a nudge without a session can reach them."""
        from core.store.repository import PersonRecord

        person = PersonRecord.from_actor(replace(actor, tz=actor.tz or tz), now=now)
        await self.store.upsert_person(person)

    async def _progress(self, session_id: str) -> tuple[int, int]:
        """(done, total) commitments of a session; dropped ones do not count."""
        items = [
            c
            for c in await self.store.list_commitments(session_id=session_id)
            if c.status != "dropped"
        ]
        return sum(c.status == "done" for c in items), len(items)

    # -- delivery ------------------------------------------------------------------------

    async def facts(self, batch: Sequence[NudgeRecord]) -> BatchFacts:
        """Everyone's settings and names for a claimed batch, for :meth:`prepare`."""
        owners = sorted({n.owner for n in batch})
        saved = await self.nudges.get_preferences_many(owners)
        people = await self.store.get_people(owners)
        return BatchFacts(
            preferences={o: saved.get(o) or Preferences.defaults(o) for o in owners},
            people={key: _person_actor(p) for key, p in people.items()},
        )

    async def prepare(
        self, nudge: NudgeRecord, *, now: datetime, facts: BatchFacts | None = None
    ) -> Delivery:
        """Decide what a claimed nudge says now, or that it waits or is not needed."""
        if nudge.kind == "team_digest" and self.team is not None:
            return await self.team.deliver_digest(nudge, now=now)
        prefs = facts.preferences.get(nudge.owner) if facts else None
        if prefs is None:
            prefs = await self.preferences(nudge.owner)
        if not prefs.nudges and nudge.kind != "notice":
            return _skip(nudge, "nudges are off")
        tz = resolve_tz(prefs, nudge.tz)
        allowed = send_time(now, nudge.payload, prefs, tz)
        if allowed > now:
            return _retry(nudge, allowed, "held for quiet hours, a day off or a pause")
        recipient = await self._recipient(nudge, facts)
        if nudge.kind in _COMMITMENT_KINDS:
            return await self._commitment_nudge(nudge, recipient, tz=tz, now=now)
        if nudge.kind == "resume":
            return await self._resume(nudge, recipient, now=now)
        if nudge.kind == "notice":
            return _sent(nudge, recipient, _notice(DirectMessage(actor=recipient), nudge.payload))
        return await self._followup(nudge, recipient, prefs=prefs, tz=tz, now=now)

    async def _recipient(self, nudge: NudgeRecord, facts: BatchFacts | None) -> Actor:
        if facts is not None and nudge.owner in facts.people:
            return facts.people[nudge.owner]
        if nudge.session_id is not None:
            session = await self.store.load_session(nudge.session_id)
            if session is not None and session.owner == nudge.owner:
                return SessionState.from_json(session.state).owner
        person = None if facts is not None else await self.store.get_person(nudge.owner)
        if person is not None:
            return _person_actor(person)
        platform, workspace, user_id = nudge.owner.split(":", 2)
        return Actor(platform=platform, workspace=workspace, user_id=user_id)

    async def _commitment(self, payload: dict[str, Any]) -> CommitmentRecord | None:
        commitment_id = payload.get("commitment_id", "")
        session_id = commitment_id.split(":", 1)[0]
        for c in await self.store.list_commitments(session_id=session_id):
            if c.id == commitment_id:
                return c
        return None

    async def _commitment_nudge(
        self, nudge: NudgeRecord, recipient: Actor, *, tz: str, now: datetime
    ) -> Delivery:
        c = await self._commitment(nudge.payload)
        if c is None or c.status != "open":
            return _skip(nudge, "the commitment is no longer open")
        if not _same_instant(c.due_at, nudge.payload.get("due")):
            return _skip(nudge, "the commitment has a new date")
        dm = DirectMessage(actor=recipient)
        if nudge.kind == "reminder":
            if c.due_at <= now:
                return _skip(nudge, "the check-in supersedes a late reminder")
            said = compose.reminder(dm, key=nudge.key, text=c.text, due=c.due_at, tz=tz, now=now)
            return _sent(nudge, recipient, said)
        session_id = checkin_session_id(c.id, c.due_at)
        existing = await self.store.load_session(session_id)
        if nudge.kind == "overdue" and existing is not None:
            if existing.status not in ("active", "paused"):
                return _skip(nudge, "the check-in was answered")
            if now - existing.created_at < _OVERDUE_GAP:
                return _skip(nudge, "the check-in was sent moments ago")
            intro = compose.overdue_intro(dm, text=c.text, due=c.due_at, tz=tz, now=now)
        else:
            intro = compose.checkin_intro(dm, text=c.text, due=c.due_at, tz=tz, now=now)
        result = await self._open_checkin(recipient, c, session_id=session_id, now=now)
        delivery = _sent(nudge, recipient, [intro, *result])
        delivery.opened_session = session_id
        return delivery

    async def _open_checkin(
        self, actor: Actor, c: CommitmentRecord, *, session_id: str, now: datetime
    ) -> list[Intent]:
        """Start (or present again) the check-in about ``c``; return what it asks."""
        start = Start(method=_CHECKIN_METHOD, topic=c.text, context={"commitment_id": c.id})
        inbound = Inbound(
            actor=actor,
            place=dm_place(actor, session_id),
            event=start,
            at=now,
            session_id=session_id,
        )
        result = await self.coach.handle(inbound)
        return result.intents

    async def _resume(self, nudge: NudgeRecord, recipient: Actor, *, now: datetime) -> Delivery:
        session = await self.store.load_session(nudge.target)
        if session is None or session.status != "active":
            return _skip(nudge, "the session is no longer waiting")
        quiet_since = session.updated_at + self.silence
        if quiet_since > now:
            return _retry(nudge, quiet_since, "the person came back; wait for a new silence")
        said = compose.resume(
            DirectMessage(actor=recipient), method=session.method, topic=session.topic
        )
        return _sent(nudge, recipient, said)

    async def _followup(
        self, nudge: NudgeRecord, recipient: Actor, *, prefs: Preferences, tz: str, now: datetime
    ) -> Delivery:
        dm = DirectMessage(actor=recipient)
        text = str(nudge.payload.get("text", ""))
        if nudge.kind == "weekly_checkin" and nudge.session_id is not None:
            text = await self._with_open_steps(text, nudge.session_id, tz=tz, now=now)
        said = compose.plain(dm, key=nudge.key, text=text)
        delivery = _sent(nudge, recipient, said)
        following = next_in_series(
            nudge.kind,
            nudge.owner,
            nudge.target,
            nudge.session_id,
            nudge.payload,
            after=now,
            prefs=prefs,
            tz=tz,
        )
        if following is not None:
            delivery.outcome.then.append(following)
        return delivery

    async def _with_open_steps(self, text: str, session_id: str, *, tz: str, now: datetime) -> str:
        open_steps = await self.store.list_commitments(session_id=session_id, status="open")
        if not open_steps:
            return text + "\nEvery commitment from that session is closed."
        lines = [text, "Still open:"]
        for c in open_steps:
            lines.append(
                f"• {compose.q(c.text)}, due {compose.when_text(c.due_at, tz=tz, now=now)}"
            )
        return "\n".join(lines)

    # -- actions -------------------------------------------------------------------------

    async def act(
        self, actor: Actor, *, action_id: str, value: str, now: datetime, place: Place | None = None
    ) -> tuple[list[Intent], str | None]:
        """Handle a button on a nudge or an invitation; return what to show and the
        session that now expects the person's answer (a check-in), if any."""
        to = place or DirectMessage(actor=actor)
        if action_id.startswith(compose.PARTNER_PREFIX):
            owner = action_id.removeprefix(compose.PARTNER_PREFIX)
            return await self._answer_invitation(actor, owner, value, to=to, now=now), None
        if not action_id.startswith(compose.NUDGE_PREFIX):
            return [Say(to=to, text="I don't know that button. Type help for what I can do.")], None
        key = action_id.removeprefix(compose.NUDGE_PREFIX)
        nudge = await self.nudges.get_nudge(key)
        if nudge is None or nudge.owner != actor.key():
            return [Say(to=to, text="That reminder isn't there any more.")], None
        if value.startswith("snooze"):
            return await self._snooze(actor, nudge, value, to=to, now=now), None
        status = _ACTION_TO_STATUS.get(value)
        if status is None or nudge.kind not in _COMMITMENT_KINDS:
            return [Say(to=to, text="That isn't one of this reminder's choices.")], None
        c = await self._commitment(nudge.payload)
        if c is None or c.status != "open":
            return [Say(to=to, text="That commitment is already closed.")], None
        session_id = checkin_session_id(c.id, c.due_at)
        await self._open_checkin(actor, c, session_id=session_id, now=now)
        inbound = Inbound(
            actor=actor,
            place=dm_place(actor, session_id),
            event=Choose(action_id=_STATUS_STEP, value=status),
            at=now,
            session_id=session_id,
        )
        result = await self.coach.handle(inbound)
        return result.intents, (None if result.finished else session_id)

    async def checkin(self, actor: Actor, *, now: datetime) -> tuple[list[Intent], str | None]:
        """Check in now on the person's open commitment that is due soonest.

        Opens (or presents again) the same check-in session its nudge would, in the
        person's DMs, so a later nudge about it lands in the same conversation. Returns
        what to show and that session, or a friendly word and ``None`` when nothing is open.
        """
        open_ones = await self.store.list_commitments(owner=actor.key(), status="open")
        if not open_ones:
            return [
                Say(
                    to=DirectMessage(actor=actor),
                    text="You have no open commitments to check in on. Start a plan to make some.",
                )
            ], None
        c = open_ones[0]
        session_id = checkin_session_id(c.id, c.due_at)
        prefs = await self.preferences(actor.key())
        tz = resolve_tz(prefs, actor.tz or c.tz)
        dm = DirectMessage(actor=actor)
        intro = compose.checkin_intro(dm, text=c.text, due=c.due_at, tz=tz, now=now)
        asked = await self._open_checkin(actor, c, session_id=session_id, now=now)
        return [intro, *asked], session_id

    async def _snooze(
        self,
        actor: Actor,
        nudge: NudgeRecord,
        value: str,
        *,
        to: Place | DirectMessage,
        now: datetime,
    ) -> list[Intent]:
        prefs = await self.preferences(actor.key())
        tz = resolve_tz(prefs, actor.tz or nudge.tz)
        until = _snooze_until(value.removeprefix("snooze").lstrip(": "), prefs, tz=tz, now=now)
        if isinstance(until, str):
            return [Say(to=to, text=until)]
        draft = NudgeDraft(
            key=f"{nudge.key}+{until.isoformat()}",
            kind=nudge.kind,
            owner=nudge.owner,
            target=nudge.target,
            due_at=until,
            tz=tz,
            session_id=nudge.session_id,
            payload=dict(nudge.payload),
        )
        await self.nudges.add_nudges([draft], now=now)
        self._woken([draft])
        return [Say(to=to, text=f"Snoozed until {compose.when_text(until, tz=tz, now=now)}.")]

    # -- settings ------------------------------------------------------------------------

    async def settings(self, actor: Actor, text: str, *, now: datetime) -> tuple[str, bool]:
        """Show the person's settings, or change one (which re-plans their nudges).

        Returns the reply and whether the text was understood; on a mistake nothing
        changes and the reply says how to write it.
        """
        prefs = await self.preferences(actor.key())
        tz = resolve_tz(prefs, actor.tz or self.default_tz)
        if not text.strip():
            return describe(prefs, tz=tz, now=now), True
        try:
            changed, reply = apply_setting(prefs, text, now=now, tz=tz)
        except SettingError as exc:
            return str(exc), False
        await self.nudges.save_preferences(changed, now=now)
        await self.replan(actor.key(), now=now)
        return reply, True

    async def upcoming(self, owner: str | None, *, limit: int = 50) -> list[NudgeRecord]:
        """Nudges still to come (pending or being delivered), soonest first."""
        return await self.nudges.list_nudges(
            owner=owner, statuses=("pending", "claimed"), limit=limit
        )

    # -- partners ------------------------------------------------------------------------

    async def invite_partner(self, owner: Actor, partner: Actor, *, now: datetime) -> str:
        """Ask ``partner`` to be ``owner``'s accountability partner; reply to the owner."""
        if partner.key() == owner.key():
            return "Your accountability partner needs to be someone else."
        await self._remember(owner, tz=owner.tz or self.default_tz, now=now)
        await self._remember(partner, tz=partner.tz or self.default_tz, now=now)
        owner_name = owner.display_name or owner.user_id
        partner_name = partner.display_name or partner.user_id
        link = PartnerLink(
            owner=owner.key(),
            partner=partner.key(),
            owner_name=owner_name,
            partner_name=partner_name,
            status="invited",
            created_at=now,
            updated_at=now,
        )
        await self.nudges.save_partner(link)
        invitation = {
            "text": (
                f"{owner_name} would like you as their accountability partner. You would hear "
                "when they finish a commitment, or when one slips twice; never their private "
                "answers."
            ),
            "ask": {
                "prompt": "Will you be their partner?",
                "choices": [[c.value, c.label] for c in compose.PARTNER_ACTIONS],
                "action_id": compose.partner_action_id(owner.key()),
            },
        }
        await self._notify(
            partner.key(), f"invite:{owner.key()}:{now.isoformat()}", invitation, now=now
        )
        return f"I've asked {partner_name}. I'll tell you when they answer."

    async def end_partner(self, owner: Actor) -> str:
        """Remove the owner's partner link."""
        if await self.nudges.delete_partner(owner.key()):
            return "Done: you no longer have an accountability partner."
        return "You don't have an accountability partner."

    async def _answer_invitation(
        self, actor: Actor, owner: str, value: str, *, to: Place | DirectMessage, now: datetime
    ) -> list[Intent]:
        link = await self.nudges.get_partner(owner)
        if link is None or link.partner != actor.key():
            return [Say(to=to, text="That invitation isn't open any more.")]
        if value not in ("accept", "decline"):
            return [Say(to=to, text="Please choose Accept or Decline.")]
        if link.status != "invited":
            return [Say(to=to, text=f"You already answered: {link.status}.")]
        link.status = "accepted" if value == "accept" else "declined"
        link.updated_at = now
        await self.nudges.save_partner(link)
        name = link.partner_name or actor.user_id
        news = (
            f"{name} accepted: they'll hear when you finish a commitment or one slips twice."
            if link.status == "accepted"
            else f"{name} declined being your accountability partner."
        )
        # The key names the partner too: the notice quotes their name, so forgetting them
        # must find it (core.store.privacy deletes nudges whose key names a person).
        key = f"partner-{link.status}:{owner}:{actor.key()}:{now.isoformat()}"
        await self._notify(owner, key, {"text": news}, now=now)
        if link.status == "accepted":
            return [
                Say(
                    to=to, text=f"Thank you! You're now {link.owner_name}'s accountability partner."
                )
            ]
        return [Say(to=to, text=f"Understood. I've let {link.owner_name} know.")]

    async def _tell_partner(
        self,
        owner: Actor,
        *,
        now: datetime,
        news: str,
        progress: tuple[int, int] | None,
        slipped: bool = False,
    ) -> None:
        """Tell an accepted partner the news: the commitment's words, never any answer."""
        link = await self.nudges.get_partner(owner.key())
        if link is None or link.status != "accepted":
            return
        text = f"{link.owner_name or owner.display_name} {news}."
        if progress is not None and progress[1] > 1:
            text += f" ({progress[0]} of {progress[1]} steps done.)"
        if slipped:
            text += " Maybe a good moment to check in with them."
        key = f"partner-news:{owner.key()}:{now.isoformat()}:{uuid.uuid4().hex[:8]}"
        await self._notify(link.partner, key, {"text": text}, now=now)

    async def _notify(self, to: str, key: str, payload: dict[str, Any], *, now: datetime) -> None:
        """Queue a one-off message: durable and paced like every nudge."""
        draft = NudgeDraft(
            key=key, kind="notice", owner=to, target=to, due_at=now, tz="UTC", payload=payload
        )
        await self.nudges.add_nudges([draft], now=now)
        self._woken([draft])


def _same_instant(due: datetime, planned: object) -> bool:
    """Whether a nudge planned for ``planned`` (ISO text) is about the date ``due`` still.

    Instants, not texts, are compared: the database gives the date back in UTC, while
    the nudge was planned with it in the person's zone ("17:00+09:00" is "08:00+00:00").
    """
    if not isinstance(planned, str):
        return False
    try:
        return datetime.fromisoformat(planned) == due
    except ValueError:
        return False


def _person_actor(person: Any) -> Actor:
    """A stored person (``PersonRecord``) as the actor to deliver to."""
    return Actor(
        platform=person.platform,
        workspace=person.workspace,
        user_id=person.user_id,
        display_name=person.display_name,
        tz=person.tz,
    )


def _notice(to: DirectMessage, payload: dict[str, Any]) -> list[Intent]:
    said: list[Intent] = [Say(to=to, text=str(payload.get("text", "")))]
    ask = payload.get("ask")
    if isinstance(ask, dict):
        choices = tuple(Choice(value=v, label=label) for v, label in ask.get("choices", []))
        said.append(
            Ask(
                to=to,
                prompt=str(ask.get("prompt", "")),
                expects="choice",
                choices=choices,
                action_id=str(ask.get("action_id", "")),
            )
        )
    return said


def _snooze_until(text: str, prefs: Preferences, *, tz: str, now: datetime) -> datetime | str:
    """When a snooze ends: "1h", "morning" / "tomorrow", or a date; or what went wrong."""
    word = text.strip().lower()
    if word in ("", "1h", "1 hour", "an hour", "hour"):
        return now + timedelta(hours=1)
    if word in ("morning", "tomorrow", "tomorrow morning"):
        local = now.astimezone(zone(tz))
        morning = datetime.combine(local.date() + timedelta(days=1), prefs.morning, zone(tz))
        return morning.astimezone(now.tzinfo)
    try:
        parsed = parse_deadline(word, now=now, tz=tz)
    except UnknownTimeZone as exc:
        return str(exc)
    if isinstance(parsed, Deadline):
        return parsed.due
    return (
        f"I couldn't read {compose.q(text)} as a later time. Try snooze 1h, snooze tomorrow, "
        'or a date such as "snooze friday".'
    )


def _sent(nudge: NudgeRecord, recipient: Actor, intents: list[Intent]) -> Delivery:
    return Delivery(
        nudge=nudge,
        intents=intents,
        recipient=recipient,
        outcome=NudgeOutcome(key=nudge.key, status="sent"),
    )


def _skip(nudge: NudgeRecord, reason: str) -> Delivery:
    return Delivery(
        nudge=nudge, outcome=NudgeOutcome(key=nudge.key, status="skipped", error=reason)
    )


def _retry(nudge: NudgeRecord, when: datetime, reason: str) -> Delivery:
    return Delivery(
        nudge=nudge,
        outcome=NudgeOutcome(key=nudge.key, status="retry", retry_at=when, error=reason),
    )


def describe_nudge(n: NudgeRecord, *, now: datetime) -> str:
    """One line for ``breakthrough nudges``: when (local), what kind, about what."""
    try:
        tz = zone(n.tz)
    except UnknownTimeZone:
        tz = zone("UTC")
    local = n.due_at.astimezone(tz)
    about = n.payload.get("text") or n.payload.get("topic") or ""
    if n.kind == "notice":
        about = "a message"
    when = read_back(local, now=now, has_time=True)
    return f"{when} ({n.tz})  {n.kind:<14} {compose.q(str(about)) if about else ''}".rstrip()
