"""The team coach: group sessions in a channel's thread, their steps, owners and digests.

A team session is an ordinary session of a method (PLAN, or the seven-step and session
methods where their steps make sense), owned by its facilitator and flagged as a team
session, so that :class:`~core.dialogue.coach.Coach` asks this object, around each of its
turns, who may say what:

- everyone in the thread may add items to a list the team is collecting, each echoed back
  with its author; only the facilitator answers the other questions, closes a list,
  orders, goes back, pauses or stops;
- individual reflections (steps marked ``private``) are passed by in the thread; each
  member may answer them alone, in their DMs, afterwards;
- when the dialogue ends the team's steps are put on a board where each has a Claim
  button; a claimant sets the date in their DMs, in their own time zone, and from then
  on it is their commitment with the same nudges and check-ins as a personal one;
- the facilitator is asked the PLAN document's Reflection questions, privately.

Refusals are said in the thread by name and change nothing. The weekly digest and the
celebrations go to the channel; what an owner answers in a check-in stays in their DMs
unless they choose to share it (their ``share`` setting).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any, Final

from core.dialogue.coach import TEAM_SESSION, TEAM_STEP, Coach, TeamVerdict, TurnResult
from core.dialogue.engine import PRIVATE_ONLY, TEAM, Turn, command_word
from core.dialogue.events import Choose, Command, Inbound, NudgeDue, Reply, Start
from core.dialogue.intents import (
    Ask,
    Choice,
    DirectMessage,
    Document,
    Image,
    Intent,
    Say,
)
from core.dialogue.model import Actor, Place
from core.dialogue.state import SessionState
from core.language import DeadlineProblem, is_nothing_else, parse_deadline, read_back, zone
from core.methods.loader import MethodError
from core.methods.schema import MethodSpec
from core.ports import CommitmentRecord, SessionRecord
from core.schedule.accountability import Accountability, Delivery, dm_place
from core.schedule.compose import q, when_text
from core.schedule.model import NudgeDraft, NudgeOutcome, NudgeRecord
from core.schedule.policy import resolve_tz
from core.team.digest import DigestStep, digest_text, progress_alt, progress_picture
from core.team.model import (
    TeamChannel,
    TeamPlan,
    TeamStep,
    TeamStore,
    channel_of,
    place_from_key,
)
from core.team.words import (
    DAY_NAMES,
    TEAM_HELP,
    StepWord,
    parse_digest_schedule,
    parse_step_word,
    parse_team_command,
)

__all__ = [
    "ACTION_CLAIM",
    "ACTION_REFLECT",
    "ACTION_SHARE",
    "TEAM_PREFIX",
    "TeamCoach",
    "TeamReply",
]

_log = logging.getLogger(__name__)

TEAM_PREFIX: Final = "team:"
"""Every button of a team plan has an action id starting with this."""
ACTION_CLAIM: Final = "team:claim"
ACTION_SHARE: Final = "team:share"
ACTION_REFLECT: Final = "team:reflect"

_NAMESPACE: Final = uuid.UUID("0b8f3f43-2f7e-4a55-8f8c-6c2d6f0c7a11")
_REFLECTION_METHOD: Final = "reflection"
_CLAIM_METHOD: Final = "claim"
_FOR_PLAN: Final = "team_plan"  # context of a reflection: the plan it is about
_BOARD_BUTTONS: Final = 20  # Slack and Discord both allow 25 buttons to a message
_DIGEST_KIND: Final = "team_digest"


@dataclass(slots=True, kw_only=True)
class TeamReply:
    """What a ``team`` subcommand produced: intents to show, a private reply to the
    person, and a plan to start (the adapter opens its thread, then calls ``start``)."""

    intents: list[Intent] = field(default_factory=list)
    private: str = ""
    start: tuple[str, str] | None = None  # (method, topic)


def _name(actor: Actor) -> str:
    return actor.display_name or actor.user_id or "Someone"


def _session_uuid(*parts: str) -> str:
    return uuid.uuid5(_NAMESPACE, "|".join(parts)).hex


class TeamCoach:
    """See the module docstring. Wires itself into ``coach`` and ``accountability``."""

    def __init__(self, *, coach: Coach, accountability: Accountability, teams: TeamStore) -> None:
        self.coach = coach
        self.accountability = accountability
        self.teams = teams
        coach.team = self
        accountability.team = self

    # -- starting ------------------------------------------------------------------------

    async def start(
        self, facilitator: Actor, thread: Place, *, method: str, topic: str, now: datetime
    ) -> TurnResult:
        """Open a team session of ``method`` in ``thread``; ``facilitator`` runs it."""
        try:
            spec = self.coach.methods.get(method)
        except MethodError as exc:
            return TurnResult(
                session_id=None, intents=[Say(to=thread, text=exc.problems[0].message)]
            )
        if spec.team is None:
            names = ", ".join(m.id for m in self.coach.methods if m.team is not None)
            return TurnResult(
                session_id=None,
                intents=[Say(to=thread, text=f"{spec.title} isn't a team method. Try: {names}.")],
            )
        session_id = uuid.uuid4().hex
        inbound = Inbound(
            actor=facilitator,
            place=thread,
            event=Start(method=method, topic=topic, context={TEAM: "1"}),
            at=now,
            session_id=session_id,
        )
        result = await self.coach.handle(inbound)
        if result.session_id is None:
            return result
        channel = channel_of(thread)
        await self.teams.add_plan(
            TeamPlan(
                session_id=session_id,
                place=thread.key(),
                channel=channel.key(),
                workspace=f"{thread.platform}:{thread.workspace}",
                facilitator=facilitator.key(),
                facilitator_name=_name(facilitator),
                method=method,
                topic=topic.strip(),
                created_at=now,
            )
        )
        tz = facilitator.tz or self.coach.default_tz
        await self._ensure_digest(channel.key(), tz=tz, now=now)
        _log.info("team plan started", extra={"session": session_id, "method": method})
        return result

    # -- around each turn of the team's dialogue ----------------------------------------

    async def before_turn(self, inbound: Inbound, state: SessionState) -> TeamVerdict:
        event = inbound.event
        method = self.coach.methods.get(state.method)
        step = method.steps[state.cursor] if state.cursor < len(method.steps) else None
        before: dict[str, object] = {
            "collect": step.id if step is not None and step.kind == "collect" else "",
            "items": len(state.work.get("items", [])),
        }
        facilitating = inbound.actor.key() == state.owner.key() or inbound.extra.get("override")
        if facilitating or isinstance(event, NudgeDue):
            return TeamVerdict(event=event, before=before)
        who = _name(inbound.actor)
        lead = state.owner.display_name or "the facilitator"
        if isinstance(event, Reply):
            word = command_word(event.text)
            if word is None and not state.pending and step is not None and step.kind == "collect":
                if is_nothing_else(event.text):
                    return self._refuse(
                        inbound,
                        f"{who}, only {lead}, who is facilitating, can close this list. "
                        f"Keep adding what you think of; {lead} will say when the team is done.",
                    )
                if state.status == "paused":
                    return self._refuse(
                        inbound, f"{who}, the session is paused; {lead} can resume it."
                    )
                return TeamVerdict(event=Reply(text=event.text, by=who), before=before)
            if word is not None:
                return self._refuse(
                    inbound, f"{who}, only {lead}, who is facilitating, can {word} the session."
                )
        if isinstance(event, Command):
            return self._refuse(
                inbound, f"{who}, only {lead}, who is facilitating, can {event.name} the session."
            )
        return self._refuse(
            inbound,
            f"{who}, {lead} answers this one for the team. You can add items whenever the "
            "team is collecting a list.",
        )

    @staticmethod
    def _refuse(inbound: Inbound, text: str) -> TeamVerdict:
        return TeamVerdict(refusal=[Say(to=inbound.place, text=f"{text} Nothing was changed.")])

    async def after_turn(
        self, inbound: Inbound, turn: Turn, intents: list[Intent], verdict: TeamVerdict
    ) -> list[Intent]:
        state = turn.state
        method = self.coach.methods.get(state.method)
        now = inbound.at
        await self._note_authors(inbound, state, method, verdict, now=now)
        if not state.finished:
            return intents
        plan = await self.teams.get_plan(state.session_id)
        if plan is None:
            return intents
        if state.status == "stopped":
            await self.teams.end_plan(plan.session_id, now=now)
            return [*intents, Say(to=state.place, text="The team plan has ended.")]
        texts = _team_texts(method, state.answers)
        facilitator = state.owner
        steps = await self.teams.order_steps(
            plan.session_id,
            texts,
            author=facilitator.key(),
            author_name=_name(facilitator),
            now=now,
        )
        out = [*intents, *self._board(plan, steps, {}, tz=state.tz, now=now, to=state.place)]
        if any(s.private for s in method.steps):
            out.append(
                Ask(
                    to=state.place,
                    prompt="Some questions are for each of you alone. Press the button and "
                    "I'll ask them in our DM; only you will see your answers.",
                    expects="choice",
                    choices=(Choice(value=plan.session_id, label="Reflect privately"),),
                    action_id=ACTION_REFLECT,
                )
            )
        if method.id == "plan":
            out += await self._start_reflection(facilitator, plan, now=now)
        return out

    async def _note_authors(
        self,
        inbound: Inbound,
        state: SessionState,
        method: MethodSpec,
        verdict: TeamVerdict,
        *,
        now: datetime,
    ) -> None:
        """Keep who added each item of a list that becomes the team's steps."""
        collected = str(verdict.before.get("collect") or "")
        if not collected or collected not in _feeding(method):
            return
        answered = state.answers.get(collected)
        items = answered if isinstance(answered, list) else state.work.get("items", [])
        start = verdict.before.get("items")
        start = start if isinstance(start, int) else 0
        new = [str(i) for i in items[start:]]
        if not new:
            return
        await self.teams.add_steps(
            [
                TeamStep(
                    id="",
                    session_id=state.session_id,
                    number=0,
                    position=None,
                    text=text,
                    author=inbound.actor.key(),
                    author_name=_name(inbound.actor),
                    created_at=now,
                    updated_at=now,
                )
                for text in new
            ]
        )

    async def _start_reflection(
        self, facilitator: Actor, plan: TeamPlan, *, now: datetime
    ) -> list[Intent]:
        """Ask the facilitator the Reflection questions, privately."""
        session_id = _session_uuid(plan.session_id, "reflection")
        result = await self.coach.handle(
            Inbound(
                actor=facilitator,
                place=dm_place(facilitator, session_id),
                event=Start(
                    method=_REFLECTION_METHOD,
                    topic=plan.topic,
                    context={_FOR_PLAN: plan.session_id},
                ),
                at=now,
                session_id=session_id,
            )
        )
        return result.intents

    # -- the board -----------------------------------------------------------------------

    def _board(
        self,
        plan: TeamPlan,
        steps: Sequence[TeamStep],
        commitments: dict[str, CommitmentRecord],
        *,
        tz: str,
        now: datetime,
        to: Place | DirectMessage,
    ) -> list[Intent]:
        placed = [s for s in steps if s.position is not None]
        if not placed:
            return [Say(to=to, text="This team plan has no steps yet.")]
        title = f"The team's steps for {q(plan.topic)}" if plan.topic else "The team's steps"
        lines = [f"{title}:"]
        for s in placed:
            lines.append(
                f"{_number(s)}. " + _line(s, commitments.get(s.commitment_id), tz=tz, now=now)
            )
        intents: list[Intent] = [Say(to=to, text="\n".join(lines))]
        free = [s for s in placed if s.owner is None]
        if free and plan.active:
            intents.append(_claim_buttons(free, to=to))
        return intents

    async def board(
        self, plan: TeamPlan, *, to: Place | DirectMessage, now: datetime
    ) -> list[Intent]:
        steps = await self.teams.list_steps([plan.session_id])
        commitments = await self.teams.step_commitments([plan.session_id])
        tz = await self._channel_tz(plan.channel)
        return self._board(plan, steps, commitments, tz=tz, now=now, to=to)

    # -- words typed in a team thread ----------------------------------------------------

    async def message(
        self, actor: Actor, place: Place, text: str, *, now: datetime
    ) -> list[Intent] | None:
        """A message in ``place`` from someone with no session of their own there.

        ``None`` when ``place`` is not a team plan's thread. While the team's dialogue
        runs, the message is a turn of it (with the team's rules); afterwards only the
        team words ("claim 2", "done 2", "board"...) are answered, and the rest is the
        team talking among themselves.
        """
        plan = await self.teams.plan_at(place.key())
        if plan is None:
            return None
        record = await self.coach.store.load_session(plan.session_id)
        if record is not None and record.status in ("active", "paused"):
            result = await self.coach.handle(
                Inbound(
                    actor=actor,
                    place=place,
                    event=Reply(text=text),
                    at=now,
                    session_id=plan.session_id,
                )
            )
            return result.intents
        word = parse_step_word(text)
        if word is None:
            return []
        return await self.act_on_step(actor, plan, word, now=now, to=place)

    async def act_on_step(
        self,
        actor: Actor,
        plan: TeamPlan,
        word: StepWord,
        *,
        now: datetime,
        to: Place,
        is_admin: bool = False,
    ) -> list[Intent]:
        """Claim, release, finish or date a step; show the board; end the plan."""
        thread = place_from_key(plan.place)
        if word.action == "board":
            return await self.board(plan, to=to, now=now)
        if word.action == "end":
            return await self.end(actor, plan, now=now, to=to, is_admin=is_admin)
        if not plan.active:
            return [Say(to=to, text="That team plan has ended. Nothing was changed.")]
        steps = [
            s for s in await self.teams.list_steps([plan.session_id]) if s.position is not None
        ]
        step = next((s for s in steps if _number(s) == word.number), None)
        if step is None:
            count = len(steps)
            where = f"from 1 to {count}" if count else "yet: the steps are ordered first"
            return [
                Say(to=to, text=f"There's no step {word.number}; the steps are numbered {where}.")
            ]
        if word.action == "claim":
            return await self.claim(actor, plan, step, now=now, to=to)
        who = _name(actor)
        may = actor.key() in (step.owner, plan.facilitator)
        if not may:
            owner = f"{step.owner_name} (its owner)" if step.owner else "its owner"
            verb = {"unclaim": "let go of", "done": "mark", "date": "change the date of"}[
                word.action
            ]
            tail = " done" if word.action == "done" else ""
            return [
                Say(
                    to=to,
                    text=f"{who}, only {owner} or {plan.facilitator_name} (the facilitator) can "
                    f"{verb} step {word.number}{tail}. Nothing was changed.",
                )
            ]
        if step.owner is None and word.action in ("done", "date"):
            return [
                Say(
                    to=to,
                    text=f"Step {word.number} has no owner yet: someone claims it first, and "
                    "the owner sets its date. Nothing was changed.",
                )
            ]
        if word.action == "unclaim":
            return await self._unclaim(step, now=now, to=thread)
        if word.action == "done":
            return await self._mark_done(plan, step, now=now, to=thread)
        return await self._redate(plan, step, word.rest, now=now, to=thread)

    async def claim(
        self, actor: Actor, plan: TeamPlan, step: TeamStep, *, now: datetime, to: Place
    ) -> list[Intent]:
        """Give ``step`` to ``actor`` and ask them, in their DMs, for its date."""
        who = _name(actor)
        n = _number(step)
        if step.owner == actor.key():
            return [Say(to=to, text=f"{who}, step {n} is yours already.")]
        if step.owner is not None or not await self.teams.claim_step(
            step.id, owner=actor.key(), owner_name=who, now=now
        ):
            owner = step.owner_name or "someone else"
            return [
                Say(
                    to=to,
                    text=f"{who}, step {n} is {owner}'s already. Nothing was changed.",
                )
            ]
        thread = place_from_key(plan.place)
        said: list[Intent] = [Say(to=thread, text=f"{who} owns step {n}: {q(step.text)}.")]
        session_id = _session_uuid(step.id, actor.key(), str(step.updated_at.timestamp()))
        result = await self.coach.handle(
            Inbound(
                actor=actor,
                place=dm_place(actor, session_id),
                event=Start(
                    method=_CLAIM_METHOD,
                    topic=step.text,
                    context={TEAM_SESSION: plan.session_id, TEAM_STEP: str(step.number)},
                ),
                at=now,
                session_id=session_id,
            )
        )
        return [*said, *result.intents]

    async def _unclaim(self, step: TeamStep, *, now: datetime, to: Place) -> list[Intent]:
        if step.owner is None:
            return [Say(to=to, text=f"Step {_number(step)} has no owner to let go.")]
        await self.teams.release_step(step.id, now=now)
        await self.teams.delete_commitment(step.commitment_id)
        await self.accountability.nudges.replace_nudges(
            target=step.commitment_id, drafts=[], now=now
        )
        freed = replace(step, owner=None, owner_name="")
        return [
            Say(
                to=to,
                text=f"Step {_number(step)} ({q(step.text)}) is free again: "
                f"{step.owner_name}'s no longer.",
            ),
            _claim_buttons([freed], to=to),
        ]

    async def _commitment(self, plan: TeamPlan, step: TeamStep) -> CommitmentRecord | None:
        found = await self.teams.step_commitments([plan.session_id])
        return found.get(step.commitment_id)

    async def _mark_done(
        self, plan: TeamPlan, step: TeamStep, *, now: datetime, to: Place
    ) -> list[Intent]:
        assert step.owner is not None
        c = await self._commitment(plan, step)
        if c is not None and c.status == "done":
            return [Say(to=to, text=f"Step {_number(step)} is done already.")]
        if c is None:
            c = self._new_commitment(plan, step, due=now, tz=self.coach.default_tz, now=now)
            c.status = "done"
            await self.teams.add_commitment(c)
        else:
            c.status, c.updated_at = "done", now
            await self.teams.update_commitment(c)
        await self.accountability.reschedule(c, now=now)
        owner = await self._owner(step)
        return await self.step_done(owner, c, now=now, marked_in_thread=True)

    async def _redate(
        self, plan: TeamPlan, step: TeamStep, when: str, *, now: datetime, to: Place
    ) -> list[Intent]:
        assert step.owner is not None
        n = _number(step)
        if not when:
            return [Say(to=to, text=f'When is step {n} due? For example "date {n} next Friday".')]
        prefs = await self.accountability.preferences(step.owner)
        owner = await self._owner(step)
        tz = resolve_tz(prefs, owner.tz or self.coach.default_tz)
        read = parse_deadline(when, now=now, tz=tz)
        if isinstance(read, DeadlineProblem):
            if read.reason == "past" and read.due is not None:
                text = f"{read_back(read.due, now=now)} has already gone. Which day did you mean?"
            else:
                text = f'I couldn\'t read {q(when)} as a date. Try "date {n} next Friday".'
            return [Say(to=to, text=f"{text} Nothing was changed.")]
        c = await self._commitment(plan, step)
        if c is None:
            c = self._new_commitment(plan, step, due=read.due, tz=tz, now=now)
            await self.teams.add_commitment(c)
        else:
            if read.due > c.due_at:
                c.slips += 1
            c.due_at, c.updated_at = read.due, now
            if c.status != "done":
                c.status = "open"
            await self.teams.update_commitment(c)
        await self.accountability.reschedule(c, now=now)
        shown = read_back(read.due.astimezone(zone(tz)), now=now, has_time=read.has_time)
        return [
            Say(
                to=to,
                text=f"Step {n} ({q(step.text)}) is now due {shown}, {step.owner_name}'s time.",
            )
        ]

    def _new_commitment(
        self, plan: TeamPlan, step: TeamStep, *, due: datetime, tz: str, now: datetime
    ) -> CommitmentRecord:
        assert step.owner is not None
        return CommitmentRecord(
            id=step.commitment_id,
            session_id=plan.session_id,
            owner=step.owner,
            text=step.text,
            due_at=due,
            tz=tz,
            kind="step",
            position=step.position or 0,
            created_at=now,
            updated_at=now,
        )

    async def _owner(self, step: TeamStep) -> Actor:
        assert step.owner is not None
        person = await self.accountability.store.get_person(step.owner)
        platform, workspace, user_id = step.owner.split(":", 2)
        return Actor(
            platform=platform,
            workspace=workspace,
            user_id=user_id,
            display_name=step.owner_name,
            tz=getattr(person, "tz", None),
        )

    # -- hooks from accountability: a step dated, a step done -----------------------------

    async def step_dated(self, owner: Actor, c: CommitmentRecord, *, now: datetime) -> list[Intent]:
        """The owner set a claimed step's date in their DMs: tell the thread."""
        plan = await self.teams.get_plan(c.session_id)
        if plan is None or not plan.active:
            return []
        steps = await self.teams.list_steps([plan.session_id])
        step = next((s for s in steps if s.commitment_id == c.id), None)
        if step is None:
            return []
        if step.owner != c.owner:
            # Given back (or taken over) while its date question waited in their DMs.
            await self.teams.delete_commitment(c.id)
            await self.accountability.nudges.replace_nudges(target=c.id, drafts=[], now=now)
            return [
                Say(
                    to=DirectMessage(actor=owner),
                    text=f"Step {_number(step)} ({q(step.text)}) isn't yours any more, so I "
                    "haven't kept that date.",
                )
            ]
        shown = read_back(c.due_at.astimezone(zone(c.tz)), now=now, has_time=True)
        return [
            Say(
                to=place_from_key(plan.place),
                text=f"{_name(owner)} will have step {_number(step)} ({q(step.text)}) done "
                f"by {shown} ({_name(owner)}'s time).",
            )
        ]

    async def step_done(
        self, owner: Actor, c: CommitmentRecord, *, now: datetime, marked_in_thread: bool = False
    ) -> list[Intent]:
        """A team step is done: celebrate it in the thread if its owner consents, or ask."""
        plan = await self.teams.get_plan(c.session_id)
        if plan is None:
            return []
        steps = await self.teams.list_steps([plan.session_id])
        step = next((s for s in steps if s.commitment_id == c.id), None)
        if step is None:
            return []
        prefs = await self.accountability.preferences(c.owner)
        thread = place_from_key(plan.place)
        if prefs.share == "always" or (marked_in_thread and prefs.share == "ask"):
            return [Say(to=thread, text=await self._celebration(plan, step, owner))]
        if prefs.share == "never":
            return (
                [Say(to=thread, text=f"Step {_number(step)} is done.")] if marked_in_thread else []
            )
        return [
            Ask(
                to=DirectMessage(actor=owner),
                prompt=f"Shall I celebrate {q(step.text)} with the team in its thread? "
                "Only that it's done is shared, nothing you said here. (\"settings share "
                'always" or "settings share never" decides it for good.)',
                expects="choice",
                choices=(
                    Choice(value=f"yes|{c.id}", label="Yes, share it"),
                    Choice(value=f"no|{c.id}", label="Keep it private"),
                ),
                action_id=ACTION_SHARE,
            )
        ]

    async def _celebration(self, plan: TeamPlan, step: TeamStep, owner: Actor) -> str:
        commitments = await self.teams.step_commitments([plan.session_id])
        steps = [
            s for s in await self.teams.list_steps([plan.session_id]) if s.position is not None
        ]
        done = sum(
            1 for s in steps if (c := commitments.get(s.commitment_id)) and c.status == "done"
        )
        total = len(steps)
        tail = (
            f" That's all {total} steps done. What a team!"
            if done == total
            else f" {done} of {total} steps done."
        )
        return f"🎉 {_name(owner)} finished step {_number(step)}: {q(step.text)}.{tail}"

    # -- buttons -------------------------------------------------------------------------

    async def press(
        self, actor: Actor, *, action_id: str, value: str, now: datetime, place: Place | None
    ) -> list[Intent]:
        """A team button: Claim on the board, Share after a step done, Reflect privately."""
        to: Place | DirectMessage = place or DirectMessage(actor=actor)
        if action_id == ACTION_CLAIM:
            session_id = value.rsplit(":", 1)[0]
            plan = await self.teams.get_plan(session_id)
            step = None
            if plan is not None:
                steps = await self.teams.list_steps([plan.session_id])
                step = next((s for s in steps if s.id == value), None)
            if plan is None or step is None:
                return [Say(to=to, text="That step isn't there any more.")]
            if not plan.active:
                return [Say(to=to, text="That team plan has ended. Nothing was changed.")]
            return await self.claim(actor, plan, step, now=now, to=place_from_key(plan.place))
        if action_id == ACTION_SHARE:
            answer, _, commitment_id = value.partition("|")
            session_id = commitment_id.split(":", 1)[0]
            found = (await self.teams.step_commitments([session_id])).get(commitment_id)
            if found is None or found.owner != actor.key():
                return [Say(to=to, text="That step isn't yours to share.")]
            dm = DirectMessage(actor=actor)
            if answer != "yes":
                return [Say(to=dm, text="Kept private. Well done all the same!")]
            plan = await self.teams.get_plan(session_id)
            steps = await self.teams.list_steps([session_id])
            step = next((s for s in steps if s.commitment_id == commitment_id), None)
            if plan is None or step is None:
                return [Say(to=dm, text="That team plan isn't there any more.")]
            return [
                Say(to=place_from_key(plan.place), text=await self._celebration(plan, step, actor)),
                Say(to=dm, text="Shared with the team. 🎉"),
            ]
        if action_id == ACTION_REFLECT:
            return await self.reflect_privately(actor, value, now=now)
        return [Say(to=to, text="I don't know that button. Type help for what I can do.")]

    async def reflect_privately(
        self, actor: Actor, session_id: str, *, now: datetime
    ) -> list[Intent]:
        """Start (or present again) ``actor``'s private reflection after a team session."""
        record = await self.coach.store.load_session(session_id)
        plan = await self.teams.get_plan(session_id)
        if record is None or plan is None:
            return [
                Say(to=DirectMessage(actor=actor), text="That team session isn't there any more.")
            ]
        state = SessionState.from_json(record.state)
        private_id = _session_uuid(session_id, actor.key(), "private")
        result = await self.coach.handle(
            Inbound(
                actor=actor,
                place=dm_place(actor, private_id),
                event=Start(
                    method=state.method,
                    topic=state.topic,
                    context={PRIVATE_ONLY: "1", _FOR_PLAN: session_id},
                    answers=dict(state.answers),
                ),
                at=now,
                session_id=private_id,
            )
        )
        return result.intents

    # -- the team subcommand ---------------------------------------------------------------

    async def command(
        self, actor: Actor, where: Place, text: str, *, now: datetime, is_admin: bool = False
    ) -> TeamReply:
        """``team …`` from a slash command issued in ``where`` (a channel or a thread)."""
        cmd = parse_team_command(text)
        if cmd.name == "help":
            return TeamReply(private=TEAM_HELP)
        if cmd.name == "start":
            if where.channel.startswith("dm:") or where.workspace == "dm":
                return TeamReply(private="Team sessions run in a channel: use it there.")
            return TeamReply(start=(cmd.method, cmd.arg))
        workspace = f"{where.platform}:{where.workspace}"
        if cmd.name == "list":
            if not is_admin:
                return TeamReply(
                    private="Only a workspace admin can list every team plan. Nothing was "
                    'changed. "team status" shows the plans in this channel.'
                )
            plans = await self.teams.list_plans(workspace=workspace)
            if not plans:
                return TeamReply(private="No team plan is running in this workspace.")
            lines = ["Team plans running in this workspace:"]
            lines += [
                f"• {p.session_id[:8]}: {q(p.topic) if p.topic else 'untitled'} "
                f"({p.method}, facilitated by {p.facilitator_name}, "
                f"started {read_back(p.created_at, now=now)})"
                for p in plans
            ]
            lines.append('End one with "team end ID".')
            return TeamReply(private="\n".join(lines))
        if cmd.name == "end":
            plans = await self.teams.list_plans(workspace=workspace)
            wanted = cmd.arg.strip().lower()
            match = [p for p in plans if p.session_id.startswith(wanted)] if wanted else []
            if len(match) != 1:
                return TeamReply(
                    private=f"I found no single running team plan with the id {q(cmd.arg)}. "
                    '"team list" shows them (admins).'
                )
            return TeamReply(
                intents=await self.end(actor, match[0], now=now, to=None, is_admin=is_admin)
            )
        channel = channel_of(where).key()
        if cmd.name == "status":
            plans = await self._plans_here(where)
            if not plans:
                return TeamReply(private="No team plan is running in this channel.")
            out: list[Intent] = []
            for plan in plans:
                out += await self.board(plan, to=DirectMessage(actor=actor), now=now)
            texts = [i.text for i in out if isinstance(i, Say)]
            return TeamReply(private="\n\n".join(texts))
        if cmd.name == "digest":
            arg = cmd.arg.strip().lower()
            if arg in ("", "now"):
                intents = await self.digest(channel, now=now)
                if not intents:
                    return TeamReply(private="No team plan is running in this channel.")
                return TeamReply(intents=intents, private="Posted the digest in this channel.")
            return TeamReply(
                private=await self.schedule_digest(actor, channel, arg, now=now, is_admin=is_admin)
            )
        assert cmd.step is not None
        plans = await self._plans_here(where)
        if not plans:
            return TeamReply(private='No team plan is running here. Start one with "team TOPIC".')
        return TeamReply(
            intents=await self.act_on_step(
                actor,
                plans[0],
                cmd.step,
                now=now,
                to=place_from_key(plans[0].place),
                is_admin=is_admin,
            )
        )

    async def _plans_here(self, where: Place) -> list[TeamPlan]:
        """The plan of the thread ``where`` is, else the channel's plans, newest first."""
        if where.thread:
            here = await self.teams.plan_at(where.key())
            if here is not None:
                return [here]
        return await self.teams.list_plans(channel=channel_of(where).key())

    async def end(
        self,
        actor: Actor,
        plan: TeamPlan,
        *,
        now: datetime,
        to: Place | None,
        is_admin: bool = False,
    ) -> list[Intent]:
        """End a plan: its facilitator or a workspace admin only."""
        thread = place_from_key(plan.place)
        where: Place | DirectMessage = to or DirectMessage(actor=actor)
        if actor.key() != plan.facilitator and not is_admin:
            return [
                Say(
                    to=where,
                    text=f"{_name(actor)}, only {plan.facilitator_name} (the facilitator) or a "
                    "workspace admin can end this team plan. Nothing was changed.",
                )
            ]
        if not await self.teams.end_plan(plan.session_id, now=now):
            return [Say(to=where, text="That team plan has ended already.")]
        record = await self.coach.store.load_session(plan.session_id)
        if record is not None and record.status in ("active", "paused"):
            override = {"override": True}
            for event in (Command(name="stop"), Choose(action_id="stop", value="yes")):
                await self.coach.handle(
                    Inbound(
                        actor=actor,
                        place=thread,
                        event=event,
                        at=now,
                        session_id=plan.session_id,
                        extra=override,
                    )
                )
        return [
            Say(
                to=thread,
                text=f"{_name(actor)} ended this team plan. Each owner keeps their step and "
                "its check-ins; the channel's digest leaves it out from now on.",
            )
        ]

    # -- the report ------------------------------------------------------------------------

    async def report(
        self, actor: Actor, record: SessionRecord, *, to: Place | DirectMessage
    ) -> Document | None:
        """The report of ``record``; for a team session (or its reflection) the team's plan
        with its owners, and for its facilitator their private reflection too."""
        state = SessionState.from_json(record.state)
        plan_id = state.context.get(_FOR_PLAN) if record.method == _REFLECTION_METHOD else record.id
        plan = await self.teams.get_plan(plan_id) if plan_id else None
        if plan is None:
            return self.coach.report(record, to=to)
        team_record = (
            record
            if record.id == plan.session_id
            else await self.coach.store.load_session(plan.session_id)
        )
        if team_record is None:
            return self.coach.report(record, to=to)
        document = self.coach.report(team_record, to=to)
        if document is None:
            return None
        steps = await self.teams.list_steps([plan.session_id])
        commitments = await self.teams.step_commitments([plan.session_id])
        tz = await self._channel_tz(plan.channel)
        now = record.updated_at
        parts = [document.markdown.rstrip(), "", "## Owners", ""]
        placed = [s for s in steps if s.position is not None]
        parts += [
            f"{_number(s)}. {_line(s, commitments.get(s.commitment_id), tz=tz, now=now)}"
            for s in placed
        ] or ["The steps are not ordered yet."]
        if actor.key() == plan.facilitator:
            to = DirectMessage(actor=actor)  # their reflection is for their eyes only
            document = replace(document, to=to)
            reflection = await self.coach.store.load_session(
                _session_uuid(plan.session_id, "reflection")
            )
            if reflection is not None and reflection.owner == actor.key():
                mine = self.coach.report(reflection, to=to)
                if mine is not None:
                    body = mine.markdown.split("\n", 1)[1] if "\n" in mine.markdown else ""
                    parts += ["", "## Your reflection as facilitator (only you see this)", body]
        return replace(document, markdown="\n".join(parts).rstrip() + "\n")

    # -- the weekly digest ---------------------------------------------------------------

    async def _channel_tz(self, channel: str) -> str:
        row = await self.teams.get_channel(channel)
        return row.tz if row is not None else self.coach.default_tz

    async def digest(self, channel: str, *, now: datetime) -> list[Intent]:
        """The channel's digest (text and progress chart), or nothing when no plan runs."""
        plans = await self.teams.list_plans(channel=channel)
        if not plans:
            return []
        ids = [p.session_id for p in plans]
        topics = {p.session_id: p.topic for p in plans}
        steps = [s for s in await self.teams.list_steps(ids) if s.position is not None]
        commitments = await self.teams.step_commitments(ids)
        tz = await self._channel_tz(channel)
        rows = []
        for s in steps:
            c = commitments.get(s.commitment_id)
            rows.append(
                DigestStep(
                    plan=topics.get(s.session_id, ""),
                    text=s.text,
                    owner=(s.owner_name or "someone") if s.owner else None,
                    owner_key=s.owner,
                    due=c.due_at if c else None,
                    status=c.status if c else "open",
                    done_at=c.updated_at if c and c.status == "done" else None,
                    created_at=s.created_at,
                )
            )
        title = "This week in the team's plans"
        where = place_from_key(channel)
        picture = progress_picture(rows, title=title, now=now, tz=tz)
        local_day = now.astimezone(zone(tz)).date().isoformat()
        return [
            Say(to=where, text=digest_text(rows, title=title, now=now, tz=tz)),
            Image(
                to=where,
                picture=picture,
                alt=progress_alt(picture),
                filename=f"team-progress-{local_day}.png",
            ),
        ]

    async def schedule_digest(
        self, actor: Actor, channel: str, text: str, *, now: datetime, is_admin: bool = False
    ) -> str:
        """Change when the channel's digest comes; a facilitator here or an admin only."""
        plans = await self.teams.list_plans(channel=channel)
        if not is_admin and actor.key() not in {p.facilitator for p in plans}:
            return (
                "Only someone facilitating a team plan in this channel, or a workspace admin, "
                "can change when its digest comes. Nothing was changed."
            )
        schedule = parse_digest_schedule(text)
        if isinstance(schedule, str):
            return schedule
        row = await self.teams.get_channel(channel) or TeamChannel(
            channel=channel, tz=actor.tz or self.coach.default_tz, updated_at=now
        )
        row = replace(row, digest_on=schedule.on, updated_at=now)
        if schedule.on and text.strip().lower() not in ("on", "start"):
            row = replace(row, digest_day=schedule.day, digest_time=schedule.time)
        await self.teams.save_channel(row)
        await self._plan_digest(row, now=now)
        if not row.digest_on:
            return 'The weekly digest is off for this channel. "team digest on" brings it back.'
        return (
            f"The weekly digest comes every {DAY_NAMES[row.digest_day]} at {row.digest_time} "
            f"({row.tz})."
        )

    async def _ensure_digest(self, channel: str, *, tz: str, now: datetime) -> None:
        row = await self.teams.get_channel(channel)
        if row is None:
            row = TeamChannel(channel=channel, tz=tz, updated_at=now)
            await self.teams.save_channel(row)
        await self._plan_digest(row, now=now)

    async def _plan_digest(self, row: TeamChannel, *, now: datetime) -> None:
        drafts = [_digest_draft(row, after=now)] if row.digest_on else []
        await self.accountability.nudges.replace_nudges(
            target=_digest_target(row.channel), drafts=drafts, now=now
        )
        self.accountability.woken(drafts)

    async def deliver_digest(self, nudge: NudgeRecord, *, now: datetime) -> Delivery:
        """A digest nudge fell due: post it, and schedule the next one."""
        channel = str(nudge.payload.get("channel", ""))
        row = await self.teams.get_channel(channel)
        intents = await self.digest(channel, now=now) if row and row.digest_on else []
        if not intents or row is None:
            return Delivery(
                nudge=nudge,
                outcome=NudgeOutcome(
                    key=nudge.key, status="skipped", error="no team plan runs in the channel"
                ),
            )
        outcome = NudgeOutcome(key=nudge.key, status="sent", then=[_digest_draft(row, after=now)])
        return Delivery(nudge=nudge, intents=intents, outcome=outcome)


def _digest_target(channel: str) -> str:
    return f"team-digest:{channel}"


def _digest_draft(row: TeamChannel, *, after: datetime) -> NudgeDraft:
    """The channel's next digest after ``after``, at its local day and time (DST-safe:
    the wall-clock time is kept, whatever the offset that week)."""
    where = zone(row.tz)
    local = after.astimezone(where)
    hour, minute = (int(x) for x in row.digest_time.split(":"))
    days = (row.digest_day - local.weekday()) % 7
    day: date = local.date() + timedelta(days=days)
    due = datetime.combine(day, time(hour, minute), tzinfo=where)
    if due <= local:
        due = datetime.combine(day + timedelta(days=7), time(hour, minute), tzinfo=where)
    return NudgeDraft(
        key=f"{_digest_target(row.channel)}:{due.isoformat()}",
        kind=_DIGEST_KIND,
        owner=f"team:{row.channel}",
        target=_digest_target(row.channel),
        due_at=due,
        tz=row.tz,
        payload={"channel": row.channel},
    )


def _claim_buttons(free: Sequence[TeamStep], *, to: Place | DirectMessage) -> Ask:
    """The Claim buttons of the steps nobody owns (as many as a message can carry)."""
    shown = free[:_BOARD_BUTTONS]
    more = ' For the rest, type "claim" and the number.' if len(free) > len(shown) else ""
    return Ask(
        to=to,
        prompt="Who will own each step? Press Claim on a step you'll take, or type "
        '"claim" and its number. You set its date yourself, privately, in your own '
        f"time zone.{more}",
        expects="choice",
        choices=tuple(
            Choice(value=s.id, label=f"Claim {_number(s)}: {_short(s.text)}") for s in shown
        ),
        action_id=ACTION_CLAIM,
    )


def _number(step: TeamStep) -> int:
    return (step.position or 0) + 1


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _line(step: TeamStep, c: CommitmentRecord | None, *, tz: str, now: datetime) -> str:
    """One step on the board: its words, who owns it, its date and state."""
    by = f" (added by {step.author_name})" if step.author_name else ""
    if step.owner is None:
        return f"{step.text}{by} — unclaimed"
    if c is None:
        return f"{step.text}{by} — {step.owner_name}, no date yet"
    if c.status == "done":
        return f"{step.text}{by} — {step.owner_name}, done ✅"
    late = " (overdue)" if c.due_at < now else ""
    return f"{step.text}{by} — {step.owner_name}, by {when_text(c.due_at, tz=tz, now=now)}{late}"


def _feeding(method: MethodSpec) -> set[str]:
    """The answers the team's steps are made of, and the lists those are ordered from."""
    team = method.team
    if team is None:
        return set()
    names = set(team.steps)
    for step in method.steps:
        if step.id in names:
            names |= {n for n in (step.source, step.continues) if n}
    return names


def _team_texts(method: MethodSpec, answers: dict[str, Any]) -> list[str]:
    """The team's steps, in order, from the answers ``method.team.steps`` names."""
    assert method.team is not None
    texts: list[str] = []
    for name in method.team.steps:
        value = answers.get(name)
        values = value if isinstance(value, list) else [value] if value else []
        for v in values:
            text = str(v.get("item") if isinstance(v, dict) else v).strip()
            if text and text not in texts:
                texts.append(text)
    return texts
