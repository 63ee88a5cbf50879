"""Shared fakes for tests and demos: a fake clock, an in-memory store, transcripts.

A transcript is a scripted conversation: what the person says, and what the bot is
expected to show in reply. The same transcript runs through the engine, the console,
and (later) Slack and Discord; each adapter provides a *driver* that plays the person
and returns what the bot showed as neutral text, so the results can be compared.
"""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import yaml

from core.dialogue.events import Inbound, Reply, Start
from core.dialogue.intents import Ask, Document, Image, Intent, Say, ShowPlan
from core.dialogue.model import Actor, Place
from core.language import read_back, zone
from core.ports import CommitmentRecord, FollowUpRecord, SessionRecord

__all__ = [
    "FakeClock",
    "MemoryStore",
    "RecordingMessenger",
    "Transcript",
    "TranscriptDriver",
    "TranscriptMismatch",
    "intent_text",
    "load_transcript",
    "run_transcript",
]


class FakeClock:
    """A clock that stands still until a test moves it."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 11, 21, 10, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> None:
        self._now += delta

    def set(self, when: datetime) -> None:
        self._now = when


class RecordingMessenger:
    """A :class:`~core.ports.Messenger` that keeps every delivery, for tests and benchmarks.

    ``fail_next`` makes the next deliveries raise the given exceptions, in order, so a
    test can play a 429 or a refused DM.
    """

    def __init__(self) -> None:
        self.deliveries: list[list[Intent]] = []
        self.fail_next: list[Exception] = []

    async def deliver(self, intents: Sequence[Intent]) -> None:
        if self.fail_next:
            raise self.fail_next.pop(0)
        self.deliveries.append(list(intents))

    def texts(self) -> list[str]:
        """Each delivery as one text, in order."""
        return ["\n".join(intent_text(i) for i in d) for d in self.deliveries]

    def clear(self) -> None:
        self.deliveries.clear()


class MemoryStore:
    """A :class:`~core.ports.Store` in a dict: fast, for engine tests and benchmarks' baselines.

    It copies records in and out, so a test cannot pass by mutating what it loaded.
    """

    def __init__(self) -> None:
        self.sessions: dict[str, SessionRecord] = {}
        self.commitments: dict[str, CommitmentRecord] = {}
        self.followups: dict[str, FollowUpRecord] = {}
        self.saves = 0

    async def load_session(self, session_id: str) -> SessionRecord | None:
        found = self.sessions.get(session_id)
        return copy.deepcopy(found) if found else None

    async def find_open_session(self, *, owner: str, place: str) -> SessionRecord | None:
        matches = [
            s
            for s in self.sessions.values()
            if s.owner == owner and s.place == place and s.status in ("active", "paused")
        ]
        if not matches:
            return None
        return copy.deepcopy(max(matches, key=lambda s: s.updated_at))

    async def list_sessions(
        self, *, owner: str | None = None, unfinished_only: bool = False, limit: int = 50
    ) -> list[SessionRecord]:
        found = [
            s
            for s in self.sessions.values()
            if (owner is None or s.owner == owner)
            and (not unfinished_only or s.status in ("active", "paused"))
        ]
        found.sort(key=lambda s: s.updated_at, reverse=True)
        return copy.deepcopy(found[:limit])

    async def save_turn(
        self,
        session: SessionRecord,
        *,
        commitments: Sequence[CommitmentRecord] = (),
        followups: Sequence[FollowUpRecord] = (),
    ) -> None:
        self.saves += 1
        self.sessions[session.id] = copy.deepcopy(session)
        for c in commitments:
            self.commitments[c.id] = copy.deepcopy(c)
        for f in followups:
            self.followups[f.id] = copy.deepcopy(f)

    async def list_commitments(
        self, *, owner: str | None = None, session_id: str | None = None, status: str | None = None
    ) -> list[CommitmentRecord]:
        found = [
            c
            for c in self.commitments.values()
            if (owner is None or c.owner == owner)
            and (session_id is None or c.session_id == session_id)
            and (status is None or c.status == status)
        ]
        return copy.deepcopy(sorted(found, key=lambda c: (c.due_at, c.position)))

    async def list_followups(
        self, *, owner: str | None = None, session_id: str | None = None
    ) -> list[FollowUpRecord]:
        found = [
            f
            for f in self.followups.values()
            if (owner is None or f.owner == owner)
            and (session_id is None or f.session_id == session_id)
        ]
        return copy.deepcopy(sorted(found, key=lambda f: f.due_at))

    async def close(self) -> None:
        return None


def intent_text(intent: Intent) -> str:
    """An intent as neutral plain text: what every adapter must show in some form.

    Choices are listed as ``1) label``, so an expectation can name them whatever the
    platform's widget.
    """
    if isinstance(intent, Say):
        return intent.text
    if isinstance(intent, Ask):
        lines = [intent.prompt]
        lines += [f"{i}) {c.label}" for i, c in enumerate(intent.choices, 1)]
        if intent.hint:
            lines.append(intent.hint)
        return "\n".join(lines)
    if isinstance(intent, ShowPlan):
        lines = [intent.title]
        for i, step in enumerate(intent.steps, 1):
            due = (
                f" (by {read_back(step.due.astimezone(zone(intent.tz)), now=step.due)})"
                if step.due
                else ""
            )
            lines.append(f"{i}. {step.text}{due}")
        return "\n".join(lines)
    if isinstance(intent, Document):
        return f"[document {intent.filename}]\n{intent.markdown}"
    if isinstance(intent, Image):
        return f"[image {intent.filename}: {intent.alt}]"
    raise TypeError(f"unknown intent {intent!r}")


@dataclass(frozen=True, slots=True, kw_only=True)
class Transcript:
    """A scripted conversation. ``turns`` alternate ``say`` (the person) and ``expect``."""

    name: str
    method: str
    topic: str
    tz: str
    start: datetime
    turns: tuple[dict[str, Any], ...]
    final: dict[str, Any] = field(default_factory=dict)


def load_transcript(path: Path) -> Transcript:
    """Read a transcript YAML file (see ``tests/transcripts/``)."""
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    start = doc.get("start", "2026-11-21T10:00:00+00:00")
    return Transcript(
        name=path.stem,
        method=doc["method"],
        topic=doc.get("topic", ""),
        tz=doc.get("tz", "UTC"),
        start=datetime.fromisoformat(str(start)),
        turns=tuple(doc["turns"]),
        final=doc.get("final", {}),
    )


class TranscriptMismatch(AssertionError):
    """The bot did not show what the transcript expected at some turn."""


class TranscriptDriver(Protocol):
    """Plays the person's side of a transcript through one adapter."""

    async def start(self, method: str, topic: str) -> list[str]:
        """Start the session; return what the bot showed, as neutral text blocks."""
        ...

    async def say(self, text: str) -> list[str]:
        """Send one message; return what the bot showed in reply."""
        ...


async def run_transcript(transcript: Transcript, driver: TranscriptDriver) -> list[list[str]]:
    """Play ``transcript`` through ``driver`` and check every expectation.

    Returns the bot's output per turn so that two adapters' runs can be compared. An
    ``expect`` is a substring (or list of substrings) of the output since the last
    ``say``; ``expect_not`` must not appear.
    """
    outputs: list[list[str]] = [await driver.start(transcript.method, transcript.topic)]
    for index, turn in enumerate(transcript.turns):
        if "say" in turn:
            outputs.append(await driver.say(str(turn["say"])))
            continue
        # Whitespace is folded: a terminal wraps long lines, a chat client does not.
        shown = " ".join("\n".join(outputs[-1]).split())
        wanted = turn.get("expect", [])
        for piece in [wanted] if isinstance(wanted, str) else wanted:
            if " ".join(str(piece).split()) not in shown:
                raise TranscriptMismatch(
                    f"{transcript.name} turn {index}: expected {piece!r} in:\n{shown}"
                )
        unwanted = turn.get("expect_not", [])
        for piece in [unwanted] if isinstance(unwanted, str) else unwanted:
            if " ".join(str(piece).split()) in shown:
                raise TranscriptMismatch(
                    f"{transcript.name} turn {index}: did not expect {piece!r} in:\n{shown}"
                )
    return outputs


Handler = Callable[[Inbound], Awaitable[Sequence[Intent]]]


class EngineDriver:
    """Drives a transcript straight through :class:`~core.dialogue.coach.Coach`."""

    def __init__(self, handle: Handler, *, actor: Actor, place: Place, clock: FakeClock) -> None:
        self.handle = handle
        self.actor = actor
        self.place = place
        self.clock = clock

    async def start(self, method: str, topic: str) -> list[str]:
        intents = await self.handle(
            Inbound(
                actor=self.actor,
                place=self.place,
                event=Start(method=method, topic=topic),
                at=self.clock.now(),
            )
        )
        return [intent_text(i) for i in intents]

    async def say(self, text: str) -> list[str]:
        self.clock.advance(timedelta(seconds=30))
        intents = await self.handle(
            Inbound(actor=self.actor, place=self.place, event=Reply(text=text), at=self.clock.now())
        )
        return [intent_text(i) for i in intents]
