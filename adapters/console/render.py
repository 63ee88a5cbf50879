"""Showing intents in a terminal: readable layout, numbered choices, files saved to disk."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

from core.dialogue.intents import Ask, Document, Image, Intent, Say, ShowPlan
from core.language import read_back, zone
from core.report import render_picture

__all__ = ["ConsoleRenderer"]

_WIDTH = 88
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def _wrap(text: str, indent: str = "") -> str:
    lines = []
    for para in text.splitlines() or [""]:
        if not para.strip():
            lines.append("")
            continue
        lead = re.match(r"^\s*(?:[-*•]|\d+[.)])\s+", para)
        sub = " " * len(lead.group(0)) if lead else ""
        lines.append(
            textwrap.fill(para, width=_WIDTH, initial_indent=indent, subsequent_indent=indent + sub)
        )
    return "\n".join(lines)


class ConsoleRenderer:
    """Turns intents into terminal text; documents and pictures go to ``files_dir``.

    Called after each committed turn with that turn's intents, in order.
    """

    def __init__(self, files_dir: Path) -> None:
        self.files_dir = files_dir

    def render(self, intents: list[Intent], *, session_id: str | None = None) -> str:
        return "\n".join(self.render_one(i, session_id=session_id) for i in intents)

    def render_one(self, intent: Intent, *, session_id: str | None = None) -> str:
        if isinstance(intent, Say):
            return "\n" + _wrap(intent.text)
        if isinstance(intent, Ask):
            out = ["", _wrap(intent.prompt)]
            for i, choice in enumerate(intent.choices, 1):
                out.append(_wrap(f"{i}) {choice.label}", indent="   "))
            if intent.hint:
                out.append(_wrap(f"({intent.hint})", indent="   "))
            return "\n".join(out)
        if isinstance(intent, ShowPlan):
            out = ["", f"Your plan: {intent.title}"]
            tz = zone(intent.tz)
            for i, step in enumerate(intent.steps, 1):
                mark = "x" if step.done else " "
                due = ""
                if step.due is not None:
                    due = f" (by {read_back(step.due.astimezone(tz), now=step.due)})"
                out.append(_wrap(f"[{mark}] {i}. {step.text}{due}", indent="  "))
            return "\n".join(out)
        if isinstance(intent, Document):
            path = self.save(intent.filename, intent.markdown.encode("utf-8"), session_id)
            return f"\n{intent.markdown.rstrip()}\n\n{intent.title} saved to {path}"
        if isinstance(intent, Image):
            path = self.save(intent.filename, render_picture(intent.picture), session_id)
            return f"Picture ({intent.alt}) saved to {path}"
        raise TypeError(f"cannot show {intent!r}")

    def save(self, filename: str, data: bytes, session_id: str | None) -> Path:
        folder = self.files_dir / (session_id[:8] if session_id else "misc")
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / _SAFE_NAME.sub("-", filename)
        path.write_bytes(data)
        return path
