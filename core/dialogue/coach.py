"""The turn service adapters call: load the session, run the engine, persist, reply.

This is the only place where a turn touches the database, and it returns the intents
only after :meth:`Store.save_turn` has committed, so a reply the person sees is always
backed by durable state: kill the process after any reply and the next start resumes at
the same question.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
import weakref
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from core.dialogue.engine import TEAM, Engine, Turn, report_input
from core.dialogue.events import Event, Inbound, NudgeDue, Start
from core.dialogue.intents import Ask, Destination, Document, Intent, Say
from core.dialogue.model import Actor, Place
from core.dialogue.state import SessionState
from core.language import UnknownTimeZone
from core.methods.loader import MethodError, MethodLibrary
from core.ports import CommitmentRecord, FollowUpRecord, SessionRecord, Store
from core.report.markdown import render_report, report_filename
from core.telemetry import NO_TELEMETRY, Telemetry

__all__ = [
    "TEAM_SESSION",
    "TEAM_STEP",
    "Coach",
    "CommitmentChange",
    "CommittedTurn",
    "FoundSession",
    "TeamTurns",
    "TeamVerdict",
    "TurnListener",
    "TurnResult",
]

_log = logging.getLogger(__name__)

NO_SESSION = (
    "There's no session running here. Start one with plan, seven-step or session "
    "(for example: plan Launch the beta)."
)


@dataclass(slots=True, kw_only=True)
class TurnResult:
    """The intents to show, and the session they belong to (``None`` when there is none)."""

    session_id: str | None
    intents: list[Intent] = field(default_factory=list)
    finished: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class CommitmentChange:
    """A commitment a turn changed (a check-in answer), with what it was before."""

    before_status: str
    before_due: datetime
    after: CommitmentRecord


@dataclass(frozen=True, slots=True, kw_only=True)
class CommittedTurn:
    """What a committed turn changed, for whoever schedules around it."""

    session: SessionRecord
    owner: Actor
    place: Place
    tz: str
    created: list[CommitmentRecord]
    changed: list[CommitmentChange]
    followups: list[FollowUpRecord]


@dataclass(frozen=True, slots=True)
class FoundSession:
    """A session read by :meth:`Coach.find`, stamped with when it was read.

    Handing it back to :meth:`Coach.handle` saves the turn a second read of the same
    row, unless this process committed a turn of that session after the read.
    """

    record: SessionRecord
    read_after: int


TEAM_SESSION = "team_session"
"""Context of a session that dates a team step: the team session the commitment joins."""
TEAM_STEP = "team_step"
"""Context of a session that dates a team step: the step's number in its plan."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TeamVerdict:
    """What a team session makes of an inbound event before the engine sees it: the
    event to apply, or the refusal to show instead (nothing is changed then)."""

    event: Event | None = None
    refusal: list[Intent] = field(default_factory=list)
    before: dict[str, object] = field(default_factory=dict)


class TeamTurns(Protocol):
    """The rules of a team session around each of its turns (see :mod:`core.team`).

    Called under the session's lock: who may answer what, before the turn; the board,
    the authors of items and the facilitator's reflection, after it is committed.
    """

    async def before_turn(self, inbound: Inbound, state: SessionState) -> TeamVerdict: ...

    async def after_turn(
        self, inbound: Inbound, turn: Turn, intents: list[Intent], verdict: TeamVerdict
    ) -> list[Intent]: ...


# Sessions whose last commit this process remembers (for FoundSession's staleness check).
_REMEMBERED_SAVES = 10_000


@dataclass(slots=True)
class _TurnNote:
    """What a turn turned out to be, for telemetry: filled in as :meth:`Coach.handle` runs.

    ``method`` is set only from a method that exists, never from what someone typed.
    """

    method: str = "none"
    outcome: str = "no_session"


class TurnListener(Protocol):
    """Told after a turn that made or changed commitments or follow-ups is committed.

    The accountability scheduler is one: it turns commitments into nudges. What it
    returns is shown with the turn's reply (a celebration, say).
    """

    async def turn_committed(self, turn: CommittedTurn) -> list[Intent]: ...


class Coach:
    """Serialises the turns of one session and runs them through the engine.

    Turns of different sessions run concurrently; turns of the same session are ordered
    by a per-session lock, so two quick replies cannot both answer the same question.
    """

    def __init__(
        self,
        *,
        store: Store,
        methods: MethodLibrary,
        default_tz: str = "UTC",
        listener: TurnListener | None = None,
        telemetry: Telemetry = NO_TELEMETRY,
    ) -> None:
        self.store = store
        self.telemetry = telemetry
        self.methods = methods
        self.engine = Engine(methods)
        self.default_tz = default_tz
        self.listener = listener
        self.team: TeamTurns | None = None
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        # Commit counter, the commit number of each recently saved session, and the
        # newest number forgotten from that map (for FoundSession's staleness check).
        self._commits = 0
        self._saved: OrderedDict[str, int] = OrderedDict()
        self._forgotten = 0

    def _committed(self, session_id: str) -> None:
        self._commits += 1
        self._saved[session_id] = self._commits
        self._saved.move_to_end(session_id)
        if len(self._saved) > _REMEMBERED_SAVES:
            _, self._forgotten = self._saved.popitem(last=False)

    def _fresh(self, found: FoundSession) -> bool:
        """No turn of ``found``'s session was committed here since it was read.

        Reads see every commit that returned before they were issued (the store's
        contract), so only a commit numbered after ``read_after`` can be missing from it.
        A session no longer remembered counts as committed as late as the last forgotten.
        """
        last = self._saved.get(found.record.id, self._forgotten)
        return last <= found.read_after

    def _lock(self, key: str) -> asyncio.Lock:
        lock = self._locks.get(key)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[key] = lock
        return lock

    async def find(self, *, owner: str, place: str) -> FoundSession | None:
        """The open session of ``owner`` in ``place``, to hand to :meth:`handle`."""
        read_after = self._commits
        record = await self.store.find_open_session(owner=owner, place=place)
        return None if record is None else FoundSession(record, read_after)

    async def load(self, session_id: str) -> FoundSession | None:
        """The session with this id, to hand to :meth:`handle`."""
        read_after = self._commits
        record = await self.store.load_session(session_id)
        return None if record is None else FoundSession(record, read_after)

    async def handle(self, inbound: Inbound, *, found: FoundSession | None = None) -> TurnResult:
        """Run one turn and return what to show, after it is committed.

        ``found`` (from :meth:`find` or :meth:`load`, for this turn's session) spares
        the turn reading its session again; without it the session is found by
        ``inbound.session_id``, else by the person and place.
        """
        note = _TurnNote()
        started = time.perf_counter()
        try:
            return await self._turn(inbound, found, note)
        except BaseException as exc:
            note.outcome = "error" if isinstance(exc, Exception) else "cancelled"
            raise
        finally:
            self.telemetry.turn(
                method=note.method, outcome=note.outcome, seconds=time.perf_counter() - started
            )

    async def _turn(
        self, inbound: Inbound, found: FoundSession | None, note: _TurnNote
    ) -> TurnResult:
        event = inbound.event
        if isinstance(event, Start):
            return await self._start(inbound, event, note)
        if found is None and inbound.session_id is None:
            found = await self.find(owner=inbound.actor.key(), place=inbound.place.key())
            if found is None:
                return TurnResult(session_id=None, intents=[Say(to=inbound.place, text=NO_SESSION)])
        session_id = inbound.session_id or (found.record.id if found is not None else None)
        assert session_id is not None
        lock = self._lock(session_id)
        async with lock:
            if found is not None and found.record.id == session_id and self._fresh(found):
                record: SessionRecord | None = found.record
            else:
                record = await self.store.load_session(session_id)
            if record is None:
                return TurnResult(session_id=None, intents=[Say(to=inbound.place, text=NO_SESSION)])
            state = SessionState.from_json(record.state)
            note.method = state.method
            team = self.team if state.context.get(TEAM) else None
            if team is None:
                if record.owner != inbound.actor.key():
                    return TurnResult(
                        session_id=None, intents=[Say(to=inbound.place, text=NO_SESSION)]
                    )
                turn = self.engine.handle(state, event, now=inbound.at)
                intents = await self._save(turn)
            else:
                verdict = await team.before_turn(inbound, state)
                if verdict.event is None:
                    note.outcome = "refused"
                    return TurnResult(session_id=session_id, intents=verdict.refusal)
                turn = self.engine.handle(state, verdict.event, now=inbound.at)
                intents = await self._save(turn)
                intents = await team.after_turn(inbound, turn, intents, verdict)
            note.outcome = "ok"
        return TurnResult(session_id=session_id, intents=intents, finished=state.finished)

    def report(self, record: SessionRecord, *, to: Destination) -> Document | None:
        """The report of a stored session (finished or not), addressed to ``to``.

        ``None`` when the session's method is no longer loaded: its questions, and so its
        report, cannot be rebuilt.
        """
        try:
            method = self.methods.get(record.method)
        except MethodError:
            return None
        state = SessionState.from_json(record.state)
        data = report_input(method, state)
        title = method.report.title if state.finished else f"{method.report.title} (so far)"
        return Document(
            to=to,
            title=title,
            filename=report_filename(method, data),
            markdown=render_report(method, data),
        )

    async def _start(self, inbound: Inbound, event: Start, note: _TurnNote) -> TurnResult:
        try:
            self.methods.get(event.method)
        except MethodError as exc:
            note.outcome = "rejected"
            return TurnResult(
                session_id=None, intents=[Say(to=inbound.place, text=str(exc.problems[0].message))]
            )
        session_id = inbound.session_id or uuid.uuid4().hex
        if inbound.session_id is not None:
            # A start with a chosen id is idempotent (a nudge retried after a crash must
            # not open a second check-in): if it exists, present its question again.
            existing = await self.store.load_session(session_id)
            if existing is not None:
                again = Inbound(
                    actor=inbound.actor,
                    place=inbound.place,
                    event=NudgeDue(nudge_id=session_id),
                    at=inbound.at,
                    session_id=session_id,
                )
                return await self._turn(again, None, note)
        tz = inbound.actor.tz or self.default_tz
        try:
            turn = self.engine.start(
                session_id=session_id,
                actor=inbound.actor,
                place=inbound.place,
                event=event,
                now=inbound.at,
                tz=tz,
            )
        except UnknownTimeZone as exc:
            note.outcome = "rejected"
            return TurnResult(session_id=None, intents=[Say(to=inbound.place, text=str(exc))])
        note.method = event.method
        async with self._lock(session_id):
            intents = await self._save(turn)
        note.outcome = "ok"
        return TurnResult(session_id=session_id, intents=intents, finished=turn.state.finished)

    async def _save(self, turn: Turn) -> list[Intent]:
        """Commit the turn; return its intents, with what the listener adds."""
        state = turn.state
        now = state.updated_at
        record = SessionRecord(
            id=state.session_id,
            owner=state.owner.key(),
            place=state.place.key(),
            method=state.method,
            topic=state.topic,
            status=state.status,
            state=state.to_json(),
            created_at=state.started_at,
            updated_at=now,
        )
        # The date of a team step is its owner's commitment, but it belongs to the team's
        # plan: its id starts with the team session's, and it is counted with that plan.
        plan_id = state.context.get(TEAM_SESSION) or state.session_id
        team_step = state.context.get(TEAM_STEP)
        commitments = [
            CommitmentRecord(
                id=f"{plan_id}:team:{team_step}" if team_step else f"{plan_id}:{d.key}",
                session_id=plan_id,
                owner=state.owner.key(),
                text=d.text,
                due_at=d.due,
                tz=state.tz,
                kind=d.kind,
                position=d.position,
                created_at=now,
                updated_at=now,
            )
            for d in turn.commitments
        ]
        created = list(commitments)
        changed: list[CommitmentChange] = []
        if turn.effects:
            existing = {c.id: c for c in await self.store.list_commitments(owner=state.owner.key())}
            for effect in turn.effects:
                target = existing.get(effect.commitment_id)
                if target is None:
                    continue
                before_status, before_due = target.status, target.due_at
                if effect.status:
                    target.status = effect.status
                if effect.due:
                    if effect.due > target.due_at:
                        target.slips += 1
                    target.due_at = effect.due
                target.updated_at = now
                commitments.append(target)
                changed.append(
                    CommitmentChange(
                        before_status=before_status, before_due=before_due, after=target
                    )
                )
        followups = [
            FollowUpRecord(
                id=f"{state.session_id}:{f.key}",
                session_id=state.session_id,
                owner=state.owner.key(),
                kind=f.kind,
                text=f.text,
                due_at=f.due,
                tz=state.tz,
                recurrence=f.recurrence,
                created_at=now,
            )
            for f in turn.followups
        ]
        await self.store.save_turn(record, commitments=commitments, followups=followups)
        self._committed(record.id)
        _log.debug(
            "turn committed",
            extra={"session": state.session_id, "method": state.method, "status": state.status},
        )
        if self.listener is None or not (created or changed or followups):
            return turn.intents
        committed = CommittedTurn(
            session=record,
            owner=state.owner,
            place=state.place,
            tz=state.tz,
            created=created,
            changed=changed,
            followups=followups,
        )
        extra = await self.listener.turn_committed(committed)
        return _before_question(turn.intents, extra)


def _before_question(intents: list[Intent], extra: list[Intent]) -> list[Intent]:
    """``extra`` inserted before the turn's closing question, so the question stays last."""
    if not extra:
        return intents
    if intents and isinstance(intents[-1], Ask):
        return [*intents[:-1], *extra, intents[-1]]
    return [*intents, *extra]
