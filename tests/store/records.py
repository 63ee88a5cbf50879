"""Record builders for the store tests: valid defaults, override what a test is about."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from core.ports import CommitmentRecord, FollowUpRecord, SessionRecord

__all__ = ["T0", "commitment", "followup", "session"]

T0 = datetime(2025, 3, 30, 0, 30, tzinfo=UTC)
"""Half an hour before the European clocks go forward: zone bugs show up here."""


def session(id: str = "s1", **overrides: Any) -> SessionRecord:
    values: dict[str, Any] = {
        "id": id,
        "owner": "slack:T1:U1",
        "place": "slack:T1:C1:1700000000.0001",
        "method": "plan",
        "topic": "finish the thesis",
        "status": "active",
        "state": {"step": "purpose", "answers": ["write every day"], "n": 1, "ok": True},
        "created_at": T0,
        "updated_at": T0,
    }
    values.update(overrides)
    return SessionRecord(**values)


def commitment(id: str = "c1", session_id: str = "s1", **overrides: Any) -> CommitmentRecord:
    values: dict[str, Any] = {
        "id": id,
        "session_id": session_id,
        "owner": "slack:T1:U1",
        "text": "write the outline",
        "due_at": T0 + timedelta(days=2),
        "tz": "Europe/London",
        "created_at": T0,
        "updated_at": T0,
    }
    values.update(overrides)
    return CommitmentRecord(**values)


def followup(id: str = "f1", session_id: str = "s1", **overrides: Any) -> FollowUpRecord:
    values: dict[str, Any] = {
        "id": id,
        "session_id": session_id,
        "owner": "slack:T1:U1",
        "kind": "review",
        "text": "How did the plan go?",
        "due_at": T0 + timedelta(days=7),
        "tz": "Europe/London",
        "created_at": T0,
    }
    values.update(overrides)
    return FollowUpRecord(**values)
