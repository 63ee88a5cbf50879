"""Property-based: any sequence of replies never crashes the engine or loses an answer."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.dialogue.coach import Coach
from core.dialogue.events import Inbound, Reply, Start
from core.dialogue.intents import Ask
from core.dialogue.model import Actor, Place
from core.methods.loader import MethodLibrary
from core.testing import MemoryStore

METHODS = MethodLibrary.load()
ACTOR = Actor(platform="console", workspace="local", user_id="p", tz="America/New_York")
PLACE = Place(platform="console", workspace="local", channel="c", thread="t")

REPLIES = st.one_of(
    st.sampled_from(
        [
            "nothing else",
            "no",
            "yes",
            "1",
            "2",
            "3",
            "17",
            "",
            "  ",
            "skip",
            "pause",
            "resume",
            "status",
            "help",
            "report",
            "stop",
            "tomorrow",
            "next Friday",
            "in two weeks",
            "yesterday",
            "banana",
            "7am",
            "Oh! I see it now",
            "😭",
            "<!channel> hi",
            "I want my team to trust me",
            "- a\n- b\n- c",
        ]
    ),
    st.text(max_size=40),
)


def _snapshot(answers: dict[str, Any]) -> dict[str, Any]:
    return {k: (list(v) if isinstance(v, list) else v) for k, v in answers.items()}


async def _run(method: str, replies: list[str]) -> None:
    store = MemoryStore()
    coach = Coach(store=store, methods=METHODS)
    now = datetime(2026, 3, 7, 12, 0, tzinfo=UTC)
    result = await coach.handle(
        Inbound(actor=ACTOR, place=PLACE, event=Start(method=method), at=now)
    )
    session_id = result.session_id
    assert session_id is not None
    seen: dict[str, Any] = {}
    for i, text in enumerate(replies):
        at = now + timedelta(minutes=i + 1)
        result = await coach.handle(
            Inbound(actor=ACTOR, place=PLACE, event=Reply(text=text), at=at, session_id=session_id)
        )
        record = store.sessions[session_id]
        answers = record.state["answers"]
        # Recorded answers are never lost: without "back", an answer once recorded stays
        # exactly as it was, whatever comes after it.
        for key, before in seen.items():
            assert key in answers, f"answer {key!r} lost after {text!r}"
            assert answers[key] == before, f"answer {key!r} changed by {text!r}"
        seen = _snapshot(answers)
        if record.status in ("active",) and record.state["pending"] is None:
            assert any(isinstance(x, Ask) for x in result.intents), f"no question after {text!r}"
        if record.status in ("done", "stopped"):
            break


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    method=st.sampled_from(["plan", "seven-step", "session", "checkin"]),
    replies=st.lists(REPLIES, max_size=60),
)
def test_any_replies_never_crash_or_lose_answers(method: str, replies: list[str]) -> None:
    asyncio.run(_run(method, [r for r in replies if r.strip().lower() != "back"]))


@settings(max_examples=40, deadline=None)
@given(replies=st.lists(st.one_of(REPLIES, st.just("back")), max_size=50))
def test_back_never_crashes(replies: list[str]) -> None:
    async def run() -> None:
        store = MemoryStore()
        coach = Coach(store=store, methods=METHODS)
        now = datetime(2026, 3, 7, 12, 0, tzinfo=UTC)
        result = await coach.handle(
            Inbound(actor=ACTOR, place=PLACE, event=Start(method="plan"), at=now)
        )
        answered: set[str] = set()
        for i, text in enumerate(replies):
            result = await coach.handle(
                Inbound(
                    actor=ACTOR,
                    place=PLACE,
                    event=Reply(text=text),
                    at=now + timedelta(minutes=i + 1),
                    session_id=result.session_id,
                )
            )
            keys = set(store.sessions[result.session_id or ""].state["answers"])
            # "back" re-asks; it never deletes what was answered.
            assert keys >= answered, f"{text!r} dropped {answered - keys}"
            answered = keys

    asyncio.run(run())
