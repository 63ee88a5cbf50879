"""Team transcripts: one scripted team session with several people, played through an adapter.

A team transcript (``tests/transcripts/team/*.yaml``) names its people (the first is the
facilitator; ``admins`` are workspace admins) and a list of actions, each followed by
what must (``expect``) or must not (``expect_not``) have been shown since the action:

- ``{start: ann}`` — ann runs ``/breakthrough team <topic>`` (``method`` of the transcript)
- ``{who: bob, say: TEXT}`` — bob writes TEXT in the team session's thread
- ``{who: bob, dm: TEXT}`` — bob writes TEXT in his DM with the bot
- ``{who: bob, press: LABEL}`` — bob presses the newest button he can see whose label
  starts with LABEL (in the thread or in his DMs)
- ``{who: bob, command: TEXT}`` — bob runs ``/breakthrough TEXT`` in the channel
- ``{advance: HOURS}`` — the clock moves on; due nudges and digests are delivered

Each driver returns what was shown as lines tagged by where they went, the same on every
platform: ``[thread] …``, ``[channel] …`` (the channel itself, outside the thread),
``[dm bob] …`` and ``[private bob] …`` (a reply only bob sees, such as an ephemeral
message). Buttons show as ``1) label`` lines, documents as ``[document NAME]`` and
pictures as ``[image NAME: ALT]``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import yaml

from core.dialogue.intents import DirectMessage, Intent
from core.dialogue.model import Actor, Place
from core.testing import TranscriptMismatch, intent_text

__all__ = [
    "Person",
    "TeamDriver",
    "TeamTranscript",
    "load_team_transcript",
    "run_team_transcript",
    "tag",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class Person:
    """Someone in a team transcript: ``key`` is their short name in the script."""

    key: str
    name: str
    tz: str
    admin: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class TeamTranscript:
    name: str
    method: str
    topic: str
    start: datetime
    people: tuple[Person, ...]
    turns: tuple[dict[str, Any], ...]
    final: dict[str, Any] = field(default_factory=dict)

    def person(self, key: str) -> Person:
        return next(p for p in self.people if p.key == key)


def load_team_transcript(path: Path) -> TeamTranscript:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    admins = set(doc.get("admins", []))
    people = tuple(
        Person(key=key, name=spec["name"], tz=spec["tz"], admin=key in admins)
        for key, spec in doc["people"].items()
    )
    return TeamTranscript(
        name=path.stem,
        method=doc.get("method", "plan"),
        topic=doc.get("topic", ""),
        start=datetime.fromisoformat(str(doc["start"])),
        people=people,
        turns=tuple(doc["turns"]),
        final=doc.get("final", {}),
    )


def tag(
    intent: Intent, *, thread: Place | None, who_is: dict[str, str], private_to: str | None = None
) -> str:
    """``intent`` as a tagged line: where it went, then what it said (neutral text).

    ``who_is`` maps a person's user id to their key in the script; ``private_to`` marks
    a reply only that person sees.
    """
    text = intent_text(intent)
    if private_to is not None:
        return f"[private {private_to}] {text}"
    to = intent.to
    if isinstance(to, DirectMessage):
        return f"[dm {who_is.get(to.actor.user_id, to.actor.user_id)}] {text}"
    if to.channel.startswith("dm:"):
        user = to.channel.removeprefix("dm:")
        return f"[dm {who_is.get(user, user)}] {text}"
    if thread is not None and to.thread == thread.thread and to.thread is not None:
        return f"[thread] {text}"
    return f"[channel] {text}"


class TeamDriver(Protocol):
    """Plays the people's side of a team transcript through one adapter."""

    async def start_team(self, who: Person, method: str, topic: str) -> list[str]: ...

    async def say(self, who: Person, text: str) -> list[str]: ...

    async def dm(self, who: Person, text: str) -> list[str]: ...

    async def press(self, who: Person, label: str) -> list[str]: ...

    async def command(self, who: Person, text: str) -> list[str]: ...

    async def advance(self, delta: timedelta) -> list[str]: ...


async def run_team_transcript(transcript: TeamTranscript, driver: TeamDriver) -> list[list[str]]:
    """Play ``transcript`` through ``driver``, checking every expectation; return the
    output per action so that two adapters' runs can be compared."""
    outputs: list[list[str]] = [[]]
    for index, turn in enumerate(transcript.turns):
        if "start" in turn:
            who = transcript.person(turn["start"])
            outputs.append(await driver.start_team(who, transcript.method, transcript.topic))
        elif "advance" in turn:
            outputs.append(await driver.advance(timedelta(hours=float(turn["advance"]))))
        elif "who" in turn:
            who = transcript.person(turn["who"])
            if "say" in turn:
                outputs.append(await driver.say(who, str(turn["say"])))
            elif "dm" in turn:
                outputs.append(await driver.dm(who, str(turn["dm"])))
            elif "press" in turn:
                outputs.append(await driver.press(who, str(turn["press"])))
            elif "command" in turn:
                outputs.append(await driver.command(who, str(turn["command"])))
            else:
                raise ValueError(f"{transcript.name} turn {index}: nothing to do in {turn}")
        else:
            _check(transcript.name, index, turn, outputs[-1])
    return outputs


def _fold(text: str) -> str:
    return " ".join(text.split())


def _check(name: str, index: int, turn: dict[str, Any], output: list[str]) -> None:
    shown = _fold("\n".join(output))
    wanted = turn.get("expect", [])
    for piece in [wanted] if isinstance(wanted, str) else wanted:
        if _fold(str(piece)) not in shown:
            raise TranscriptMismatch(f"{name} turn {index}: expected {piece!r} in:\n{shown}")
    unwanted = turn.get("expect_not", [])
    for piece in [unwanted] if isinstance(unwanted, str) else unwanted:
        if _fold(str(piece)) in shown:
            raise TranscriptMismatch(f"{name} turn {index}: did not expect {piece!r} in:\n{shown}")


def actor_of(person: Person, *, platform: str, workspace: str, user_id: str) -> Actor:
    return Actor(
        platform=platform,
        workspace=workspace,
        user_id=user_id,
        display_name=person.name,
        tz=person.tz,
    )
