"""200 people interleaved through one coach and one store (SQLite, PostgreSQL): no cross-talk."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta

from core.dialogue.coach import Coach
from core.dialogue.events import Inbound, Reply, Start
from core.dialogue.model import Actor, Place
from core.methods.loader import MethodLibrary
from core.store.repository import SqlStore
from core.testing import intent_text

PEOPLE = 200


def _lines(n: int) -> list[str]:
    tag = f"person{n:03d}"
    return [
        f"I want {tag} to ship",
        f"{tag} writes the spec",
        f"{tag} books the room",
        "nothing else",
        "2",
        f"{tag} has no time",
        "1",
        "1",
        "tomorrow",
        "yes",
        "next Friday",
        "yes",
        "1",
    ]


async def test_two_hundred_people_interleaved_keep_their_own_words(
    store: SqlStore, methods: MethodLibrary
) -> None:
    coach = Coach(store=store, methods=methods)
    start = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
    rng = random.Random(7)
    leaks: list[str] = []
    sessions: dict[int, str] = {}

    async def person(n: int) -> None:
        tag = f"person{n:03d}"
        actor = Actor(platform="slack", workspace="T1", user_id=f"U{n:03d}", tz="Europe/Paris")
        place = Place(platform="slack", workspace="T1", channel="C1", thread=f"{n}.000")
        lines = _lines(n)
        result = await coach.handle(
            Inbound(actor=actor, place=place, event=Start(method="plan"), at=start)
        )
        assert result.session_id
        sessions[n] = result.session_id
        for i, line in enumerate(lines):
            for _ in range(rng.randint(0, 3)):
                await asyncio.sleep(0)  # interleave turns differently for each person
            result = await coach.handle(
                Inbound(
                    actor=actor,
                    place=place,
                    event=Reply(text=line),
                    at=start + timedelta(minutes=i + 1),
                )
            )
            shown = "\n".join(intent_text(x) for x in result.intents)
            for other in range(PEOPLE):
                if other != n and f"person{other:03d}" in shown:
                    leaks.append(f"{tag} saw person{other:03d}")
            assert all(getattr(x.to, "thread", None) == place.thread for x in result.intents), (
                "an intent went to another place"
            )

    await asyncio.gather(*(person(n) for n in range(PEOPLE)))
    assert leaks == []
    for n, session_id in sessions.items():
        record = await store.load_session(session_id)
        assert record is not None and record.status == "done"
        answers = record.state["answers"]
        assert answers["outcome"] == f"I want person{n:03d} to ship"
        words = str(answers)
        assert all(f"person{o:03d}" not in words for o in range(PEOPLE) if o != n)
        commitments = await store.list_commitments(session_id=session_id)
        assert {c.text for c in commitments} == {
            f"person{n:03d} writes the spec",
            f"person{n:03d} books the room",
        }


async def test_a_session_found_before_another_turn_committed_is_read_again(
    store: SqlStore, methods: MethodLibrary
) -> None:
    """``Coach.find`` spares a turn its second read, but never hands it a stale session.

    Two messages of one person arrive together: both find the session before either turn
    commits. Had the second turn used what it found, it would answer the outcome question
    again and overwrite the first answer; instead it sees the first turn's commit.
    """
    coach = Coach(store=store, methods=methods)
    at = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
    actor = Actor(platform="slack", workspace="T1", user_id="U1", tz="UTC")
    place = Place(platform="slack", workspace="T1", channel="C1", thread="1.000")
    await coach.handle(Inbound(actor=actor, place=place, event=Start(method="plan"), at=at))
    first, second = await asyncio.gather(
        coach.find(owner=actor.key(), place=place.key()),
        coach.find(owner=actor.key(), place=place.key()),
    )
    assert first is not None and second is not None
    for found, text in ((first, "I want the beta out"), (second, "Ann writes the spec")):
        await coach.handle(
            Inbound(actor=actor, place=place, event=Reply(text=text), at=at), found=found
        )
    record = await store.load_session(first.record.id)
    assert record is not None
    assert record.state["answers"]["outcome"] == "I want the beta out"
    assert "Ann writes the spec" in str(record.state)  # collected for "needs"
