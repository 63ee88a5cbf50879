"""The words of a nudge: pure functions from a nudge's facts to intents.

Nudges quote the person's own words (the commitment, their outcome) and never add advice.
Every nudge that is about something the person can act on carries the same actions
(``NUDGE_ACTIONS``), which each adapter shows as buttons and the console as typed words;
they come back as a ``Choose`` event whose ``action_id`` is ``nudge:<key>``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from core.dialogue.intents import Ask, Choice, Destination, Intent, Say
from core.language import read_back, zone

__all__ = [
    "NUDGE_ACTIONS",
    "PARTNER_ACTIONS",
    "SNOOZE_ACTIONS",
    "celebration",
    "nudge_action_id",
    "partner_action_id",
    "q",
    "when_text",
]

SNOOZE_ACTIONS: Final = (
    Choice(value="snooze:1h", label="Snooze 1 hour"),
    Choice(value="snooze:morning", label="Tomorrow morning"),
)

NUDGE_ACTIONS: Final = (
    Choice(value="done", label="Done"),
    *SNOOZE_ACTIONS,
    Choice(value="new_date", label="New date"),
    Choice(value="blocked", label="Blocked"),
)
"""For a nudge about a commitment: Done / Snooze / New date / Blocked."""

PARTNER_ACTIONS: Final = (
    Choice(value="accept", label="Accept"),
    Choice(value="decline", label="Decline"),
)

NUDGE_PREFIX: Final = "nudge:"
PARTNER_PREFIX: Final = "partner:"


def q(text: str, limit: int = 200) -> str:
    """The person's words in quotation marks, cut at a word boundary when very long.

    Unlike the session echo this keeps "I" as "I": a reminder quotes what they wrote.
    """
    text = " ".join(text.split())
    if len(text) > limit:
        cut = text.rfind(" ", 0, limit - 1)
        text = text[: cut if cut > 0 else limit - 1].rstrip(",;:. ") + "…"
    return f"“{text}”"


def nudge_action_id(key: str) -> str:
    """The ``action_id`` of the buttons on nudge ``key``; stable across restarts."""
    return NUDGE_PREFIX + key


def partner_action_id(owner: str) -> str:
    """The ``action_id`` of the Accept / Decline buttons of ``owner``'s invitation."""
    return PARTNER_PREFIX + owner


def when_text(due: datetime, *, tz: str, now: datetime) -> str:
    """ "today at 17:00", "tomorrow at 09:00" or "Friday 27 November at 17:00"."""
    local = due.astimezone(zone(tz))
    today = now.astimezone(zone(tz)).date()
    days = (local.date() - today).days
    clock = f"{local:%H:%M}"
    if days == 0:
        return f"today at {clock}"
    if days == 1:
        return f"tomorrow at {clock}"
    if days == -1:
        return f"yesterday at {clock}"
    return read_back(local, now=now, has_time=True)


def reminder(
    to: Destination, *, key: str, text: str, due: datetime, tz: str, now: datetime
) -> list[Intent]:
    """Before a commitment is due."""
    return [
        Say(to=to, text=f"A reminder: {q(text)} is due {when_text(due, tz=tz, now=now)}."),
        _actions(to, key, "Done already, or shall I remind you later?"),
    ]


def checkin_intro(to: Destination, *, text: str, due: datetime, tz: str, now: datetime) -> Say:
    """The line before the check-in's first question."""
    return Say(to=to, text=f"Check-in time: {q(text)} was due {when_text(due, tz=tz, now=now)}.")


def overdue_intro(to: Destination, *, text: str, due: datetime, tz: str, now: datetime) -> Say:
    """The one follow-up after an unanswered check-in: gentle, no pressure."""
    return Say(
        to=to,
        text=(
            f"Coming back to {q(text)} (due {when_text(due, tz=tz, now=now)}) once, "
            "in case the check-in got buried. No pressure."
        ),
    )


def plain(to: Destination, *, key: str, text: str, snooze: bool = True) -> list[Intent]:
    """A method's follow-up (a review, a visualisation, the weekly check-in)."""
    said: list[Intent] = [Say(to=to, text=text)]
    if snooze:
        said.append(
            Ask(
                to=to,
                prompt="Not a good moment?",
                expects="choice",
                choices=SNOOZE_ACTIONS,
                action_id=nudge_action_id(key),
            )
        )
    return said


def resume(to: Destination, *, method: str, topic: str) -> list[Intent]:
    """The one gentle nudge after a long silence in an unfinished session."""
    about = f" about {q(topic)}" if topic else ""
    return [
        Say(
            to=to,
            text=(
                f"Your {method} session{about} is waiting just where you left it. "
                "Pick it up whenever you're ready: reply there, or type resume. "
                "I won't remind you again."
            ),
        )
    ]


def celebration(text: str, *, done: int, total: int) -> str:
    """A done commitment, in the person's words, with progress so far."""
    progress = f" That's {done} of {total} steps done." if total > 1 else ""
    if total > 1 and done == total:
        progress = f" That's all {total} steps done. What a result!"
    return f"🎉 Done: {q(text)}.{progress}"


def _actions(to: Destination, key: str, prompt: str) -> Ask:
    return Ask(
        to=to,
        prompt=prompt,
        expects="choice",
        choices=NUDGE_ACTIONS,
        action_id=nudge_action_id(key),
    )
