"""The turn service adapters call: load the session, run the engine, persist, reply.

This is the only place where a turn touches the database, and it returns the intents
only after :meth:`Store.save_turn` has committed, so a reply the person sees is always
backed by durable state: kill the process after any reply and the next start resumes at
the same question.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
import weakref
from dataclasses import dataclass, field

from core.dialogue.engine import Engine, Turn
from core.dialogue.events import Inbound, Start
from core.dialogue.intents import Intent, Say
from core.dialogue.state import SessionState
from core.language import UnknownTimeZone
from core.methods.loader import MethodError, MethodLibrary
from core.ports import CommitmentRecord, FollowUpRecord, SessionRecord, Store

__all__ = ["Coach", "TurnResult"]

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
    ) -> None:
        self.store = store
        self.methods = methods
        self.engine = Engine(methods)
        self.default_tz = default_tz
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    def _lock(self, key: str) -> asyncio.Lock:
        lock = self._locks.get(key)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[key] = lock
        return lock

    async def handle(self, inbound: Inbound) -> TurnResult:
        """Run one turn and return what to show, after it is committed."""
        event = inbound.event
        if isinstance(event, Start):
            return await self._start(inbound, event)
        session_id = inbound.session_id
        if session_id is None:
            found = await self.store.find_open_session(
                owner=inbound.actor.key(), place=inbound.place.key()
            )
            if found is None:
                return TurnResult(session_id=None, intents=[Say(to=inbound.place, text=NO_SESSION)])
            session_id = found.id
        lock = self._lock(session_id)
        async with lock:
            record = await self.store.load_session(session_id)
            if record is None or record.owner != inbound.actor.key():
                return TurnResult(session_id=None, intents=[Say(to=inbound.place, text=NO_SESSION)])
            state = SessionState.from_json(record.state)
            turn = self.engine.handle(state, event, now=inbound.at)
            await self._save(turn)
        return TurnResult(session_id=session_id, intents=turn.intents, finished=state.finished)

    async def _start(self, inbound: Inbound, event: Start) -> TurnResult:
        try:
            self.methods.get(event.method)
        except MethodError as exc:
            return TurnResult(
                session_id=None, intents=[Say(to=inbound.place, text=str(exc.problems[0].message))]
            )
        session_id = uuid.uuid4().hex
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
            return TurnResult(session_id=None, intents=[Say(to=inbound.place, text=str(exc))])
        async with self._lock(session_id):
            await self._save(turn)
        return TurnResult(session_id=session_id, intents=turn.intents, finished=turn.state.finished)

    async def _save(self, turn: Turn) -> None:
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
        commitments = [
            CommitmentRecord(
                id=f"{state.session_id}:{d.key}",
                session_id=state.session_id,
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
        if turn.effects:
            existing = {c.id: c for c in await self.store.list_commitments(owner=state.owner.key())}
            for effect in turn.effects:
                target = existing.get(effect.commitment_id)
                if target is None:
                    continue
                if effect.status:
                    target.status = effect.status
                if effect.due:
                    target.due_at = effect.due
                target.updated_at = now
                commitments.append(target)
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
        _log.debug(
            "turn committed",
            extra={"session": state.session_id, "method": state.method, "status": state.status},
        )
