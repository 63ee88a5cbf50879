"""What people type to a team plan: "claim 2", "date 3 next Friday", "team digest fri 16:00".

Pure parsing, shared by the words typed in a team thread and the ``team`` subcommand of
each platform's slash command, so both read the same way everywhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

from core.language import parse_time_of_day

__all__ = [
    "DAY_NAMES",
    "TEAM_HELP",
    "DigestSchedule",
    "StepWord",
    "TeamCommand",
    "parse_digest_schedule",
    "parse_step_word",
    "parse_team_command",
]

DAY_NAMES: Final = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_DAYS: Final = {
    **{name.lower(): i for i, name in enumerate(DAY_NAMES)},
    **{name[:3].lower(): i for i, name in enumerate(DAY_NAMES)},
    "tues": 1,
    "weds": 2,
    "thur": 3,
    "thurs": 3,
}

TEAM_HELP: Final = """\
Team coaching, in a channel:
  team TOPIC — start a team PLAN in a thread; you facilitate it
  team seven-step TOPIC / team session TOPIC — the other methods, as a team
In the plan's thread, once the steps are ordered:
  claim 2 — take step 2; I'll ask you for its date in our DM
  done 2 · date 2 next Friday · unclaim 2 — for the step's owner or the facilitator
  board — the steps and who owns them · end — end the plan (facilitator)
In the channel:
  team status — the channel's plans and their steps, just for you
  team digest now — post the weekly digest here now
  team digest friday 16:00 · team digest off — when the weekly digest comes
  team list · team end ID — for workspace admins: every team plan in the workspace"""

StepAction = Literal["claim", "unclaim", "done", "date"]


@dataclass(frozen=True, slots=True, kw_only=True)
class StepWord:
    """Something done to one step (``number`` as on the board), or to the whole plan."""

    action: StepAction | Literal["board", "end"]
    number: int = 0
    rest: str = ""


_STEP: Final = re.compile(
    r"^/?(?P<action>claim|take|unclaim|release|done|finished|date|move|due)\s+"
    r"(?:step\s+)?#?(?P<number>\d{1,4})\b[\s:,]*(?P<rest>.*)$",
    re.IGNORECASE | re.DOTALL,
)
_PLAN: Final = re.compile(
    r"^/?(?P<word>board|steps|the board|show the board|end|end plan|end the plan)[.!]?$",
    re.IGNORECASE,
)
_STEP_ACTIONS: Final[dict[str, StepAction]] = {
    "claim": "claim",
    "unclaim": "unclaim",
    "done": "done",
    "date": "date",
}
_SYNONYMS: Final[dict[str, StepAction]] = {
    "take": "claim",
    "release": "unclaim",
    "finished": "done",
    "move": "date",
    "due": "date",
}


def parse_step_word(text: str) -> StepWord | None:
    """The team word ``text`` stands for, or ``None`` when it is just conversation."""
    text = " ".join(text.split())
    match = _STEP.match(text)
    if match:
        raw = match.group("action").lower()
        action = _SYNONYMS[raw] if raw in _SYNONYMS else _STEP_ACTIONS[raw]
        return StepWord(
            action=action, number=int(match.group("number")), rest=match.group("rest").strip()
        )
    plan = _PLAN.match(text)
    if plan:
        return StepWord(action="end" if plan.group("word").lower().startswith("end") else "board")
    return None


@dataclass(frozen=True, slots=True, kw_only=True)
class DigestSchedule:
    """``on`` false turns the digest off; otherwise a weekday (Monday 0) and ``HH:MM``."""

    on: bool = True
    day: int = 0
    time: str = "09:00"


def parse_digest_schedule(text: str) -> DigestSchedule | str:
    """ "friday 16:00", "mon 9am", "off", "on": the schedule, or what to say instead."""
    words = text.strip().lower().replace(",", " ").split()
    if words in (["off"], ["stop"], ["never"]):
        return DigestSchedule(on=False)
    if words in (["on"], ["start"]):
        return DigestSchedule()
    day = next((_DAYS[w] for w in words if w in _DAYS), None)
    rest = " ".join(w for w in words if w not in _DAYS and w not in ("at", "on", "every"))
    at = parse_time_of_day(rest) if rest else None
    if day is None or (rest and at is None):
        return (
            'Tell me a day and a time, for example "team digest friday 16:00" or '
            '"team digest monday 9am"; "team digest off" stops it.'
        )
    return DigestSchedule(day=day, time=f"{at:%H:%M}" if at else "09:00")


@dataclass(frozen=True, slots=True, kw_only=True)
class TeamCommand:
    """The ``team`` subcommand: ``name`` is one of start, help, list, end, status, digest,
    or a step word (``step``); ``arg`` is the rest (a topic, an id, a schedule)."""

    name: str
    arg: str = ""
    method: str = "plan"
    step: StepWord | None = None


_TEAM_METHODS: Final = {"plan": "plan", "seven-step": "seven-step", "session": "session"}


def parse_team_command(text: str) -> TeamCommand:
    """Read what followed ``team`` in a slash command."""
    text = " ".join(text.split())
    word, _, rest = text.partition(" ")
    lowered = word.lower()
    if lowered in ("", "help", "?"):
        return TeamCommand(name="help")
    if lowered in ("list", "end", "status", "digest") and (lowered != "end" or rest):
        return TeamCommand(name=lowered, arg=rest)
    step = parse_step_word(text)
    if step is not None:
        return TeamCommand(name="step", step=step)
    if lowered in _TEAM_METHODS:
        if not rest:
            return TeamCommand(name="help")
        return TeamCommand(name="start", method=_TEAM_METHODS[lowered], arg=rest)
    return TeamCommand(name="start", arg=text)
