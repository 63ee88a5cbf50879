"""A session's state between turns, and its JSON form in the database.

The state is everything needed to resume at the same question after a restart: where
the person is (``cursor``), what they answered, what the current loop holds so far
(``work``), which answers they gave in order (``history``, for ``back``), and the
breakthrough moments noted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from core.dialogue.model import Actor, Place

__all__ = ["SessionState"]


@dataclass(slots=True, kw_only=True)
class SessionState:
    """Mutable within one turn; persisted whole at the end of every turn.

    ``answers`` holds JSON-ready values: ``str`` for ``ask``/``choice``/``time``/``pause``,
    ``{"due": iso, "has_time": bool, "text": str}`` for ``date``, ``list[str]`` for
    ``collect``/``order`` and ``[{"item": str, "value": str | date-dict | None}]`` for
    ``each``. ``work`` is the current step's unfinished business (loop items so far, a
    date awaiting confirmation) and is empty between steps.
    """

    session_id: str
    method: str
    topic: str
    owner: Actor
    place: Place
    tz: str
    started_at: datetime
    updated_at: datetime
    status: str = "active"
    cursor: int = 0
    answers: dict[str, Any] = field(default_factory=dict)
    work: dict[str, Any] = field(default_factory=dict)
    history: list[int] = field(default_factory=list)
    moments: list[dict[str, Any]] = field(default_factory=list)
    pending: str | None = None
    context: dict[str, str] = field(default_factory=dict)
    followups: list[dict[str, Any]] = field(default_factory=list)
    turns: int = 0

    @property
    def finished(self) -> bool:
        return self.status in ("done", "stopped")

    def to_json(self) -> dict[str, Any]:
        """The JSON document stored in the ``sessions.state`` column."""
        return {
            "v": 1,
            "session_id": self.session_id,
            "method": self.method,
            "topic": self.topic,
            "owner": {
                "platform": self.owner.platform,
                "workspace": self.owner.workspace,
                "user_id": self.owner.user_id,
                "display_name": self.owner.display_name,
                "tz": self.owner.tz,
            },
            "place": {
                "platform": self.place.platform,
                "workspace": self.place.workspace,
                "channel": self.place.channel,
                "thread": self.place.thread,
            },
            "tz": self.tz,
            "started_at": self.started_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "status": self.status,
            "cursor": self.cursor,
            "answers": self.answers,
            "work": self.work,
            "history": self.history,
            "moments": self.moments,
            "pending": self.pending,
            "context": self.context,
            "followups": self.followups,
            "turns": self.turns,
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> SessionState:
        return cls(
            session_id=doc["session_id"],
            method=doc["method"],
            topic=doc["topic"],
            owner=Actor(**doc["owner"]),
            place=Place(**doc["place"]),
            tz=doc["tz"],
            started_at=datetime.fromisoformat(doc["started_at"]),
            updated_at=datetime.fromisoformat(doc["updated_at"]),
            status=doc["status"],
            cursor=doc["cursor"],
            answers=dict(doc["answers"]),
            work=dict(doc["work"]),
            history=list(doc["history"]),
            moments=list(doc["moments"]),
            pending=doc["pending"],
            context=dict(doc["context"]),
            followups=list(doc.get("followups", [])),
            turns=doc.get("turns", 0),
        )
