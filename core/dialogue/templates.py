"""Filling question templates with the person's own words.

``{outcome}`` in a question becomes the person's answer to the ``outcome`` step, echoed
in the second person ("I want to ship" -> "you want to ship"): the clean-language habit
of giving people their exact words back, never a paraphrase.
"""

from __future__ import annotations

import re
import string
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from core.dialogue.state import SessionState
from core.language import echo, read_back

__all__ = ["Verbatim", "date_answer", "fill", "fill_raw", "next_occurrence", "wish"]

_FORMATTER = string.Formatter()

# "I want the beta launched" -> "the beta launched": the outcome itself, in their words,
# for questions like "what needs to happen for X to happen?".
_WISH = re.compile(
    r"^\s*(?:i\s+(?:really\s+)?(?:would\s+like|'d\s+like|’d\s+like|want|wish|hope|need)"
    r"(?:\s+(?:for|to|that))?|i'd\s+love(?:\s+(?:for|to))?|my\s+(?:goal|wish|outcome)\s+is(?:\s+to|\s+that)?)\s+",
    re.IGNORECASE,
)


def wish(text: str) -> str:
    """The outcome without a leading "I want" / "I'd like (to)" / "my goal is (to)"."""
    stripped = _WISH.sub("", text, count=1)
    return stripped if stripped.strip() else text


def date_answer(value: Any) -> datetime | None:
    """The due time of a date answer, or of the last dated item of an ``each`` answer."""
    if isinstance(value, dict) and "due" in value:
        return datetime.fromisoformat(value["due"])
    if isinstance(value, list):
        for entry in reversed(value):
            if isinstance(entry, dict) and isinstance(entry.get("value"), dict):
                return datetime.fromisoformat(entry["value"]["due"])
    return None


def _as_words(value: Any, state: SessionState, shift: bool, spec: str = "") -> str:
    if value is None:
        return ""
    if isinstance(value, dict) and "due" in value:
        due = datetime.fromisoformat(value["due"])
        return read_back(due, now=state.started_at, has_time=bool(value.get("has_time")))
    if isinstance(value, list):
        parts = [_as_words(v["item"] if isinstance(v, dict) else v, state, shift) for v in value]
        return ", ".join(p for p in parts if p)
    words = wish(str(value)) if spec == "wish" else str(value)
    return echo(words) if shift else " ".join(words.split())


def _render(template: str, state: SessionState, extra: dict[str, Any], shift: bool) -> str:
    out = []
    for literal, name, spec, _conv in _FORMATTER.parse(template):
        out.append(literal)
        if name is None:
            continue
        if name in extra:
            value = extra[name]
            if isinstance(value, int | Verbatim):
                out.append(str(value))
            else:
                out.append(_as_words(value, state, shift))
        elif name == "topic":
            out.append(_as_words(state.topic, state, shift))
        elif name == "name":
            out.append(state.owner.display_name or "you")
        elif name in state.context:
            out.append(_as_words(state.context[name], state, shift))
        else:
            out.append(_as_words(state.answers.get(name), state, shift, spec or ""))
    text = "".join(out).strip()
    if text and text[0].islower():
        text = text[0].upper() + text[1:]
    return text


class Verbatim(str):
    """Words already echoed (or not to be): :func:`fill` puts them in as they are."""

    __slots__ = ()


def fill(template: str, state: SessionState, extra: dict[str, Any]) -> str:
    """A question with the person's words echoed in the second person."""
    return _render(template, state, extra, shift=True)


def fill_raw(template: str, state: SessionState) -> str:
    """A commitment's text: the person's words as they wrote them (first person kept)."""
    return _render(template, state, {}, shift=False)


def next_occurrence(hhmm: str, now: datetime, tz: ZoneInfo) -> datetime:
    """The next time the local clock in ``tz`` shows ``hhmm`` after ``now``."""
    hour, minute = (int(x) for x in hhmm.split(":"))
    local_now = now.astimezone(tz)
    candidate = datetime.combine(local_now.date(), time(hour, minute), tzinfo=tz)
    if candidate <= local_now:
        candidate = datetime.combine(
            local_now.date() + timedelta(days=1), time(hour, minute), tzinfo=tz
        )
    return candidate
