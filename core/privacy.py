"""A person's own data: all of it handed to them (export), or all of it deleted (forget).

Both are the person's right and both are platform-neutral, so every adapter offers them
the same way: ``export`` sends two files in a DM (JSON for machines, Markdown for people);
``forget`` first asks for a confirmation with a button, because it cannot be undone, and
then says exactly what it deleted.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final, Protocol

from core.dialogue.intents import Ask, Choice, DirectMessage, Document, Intent, Say
from core.dialogue.model import Actor
from core.language.counts import counted

__all__ = ["FORGET_PREFIX", "PersonData", "Privacy", "forget_action_id"]

FORGET_PREFIX: Final = "forget:"

_LABELS: Final = {
    "people": "your profile",
    "preferences": "your nudge settings",
    "partners": "accountability partner links",
    "sessions": "coaching sessions (with every answer)",
    "commitments": "commitments",
    "followups": "scheduled follow-ups",
    "nudges": "nudges (sent and pending)",
    "team_plans": "team plans you facilitated",
    "team_steps": "team steps you added or owned",
}


class PersonData(Protocol):
    """Reads or deletes every stored row about one person (``core.store.privacy``)."""

    async def collect(self, key: str) -> dict[str, list[dict[str, Any]]]: ...

    async def erase(self, key: str) -> dict[str, int]: ...


def forget_action_id(actor: Actor) -> str:
    """The confirmation button's id: it names whose data it deletes."""
    return FORGET_PREFIX + actor.key()


class Privacy:
    """Export and forget for one person at a time."""

    def __init__(self, data: PersonData) -> None:
        self.data = data

    async def export(self, actor: Actor, *, now: datetime) -> list[Intent]:
        """Everything about ``actor``, as a JSON file and a Markdown file in their DM."""
        tables = await self.data.collect(actor.key())
        dm = DirectMessage(actor=actor)
        stamp = f"{now:%Y-%m-%d}"
        document = {"person": actor.key(), "exported_at": now.isoformat(), "tables": tables}
        rows = sum(len(r) for r in tables.values())
        return [
            Say(
                to=dm,
                text=f"Here is everything Breakthrough keeps about you: {rows} records, "
                "as JSON (for other tools) and as Markdown (to read).",
            ),
            Document(
                to=dm,
                title="Your Breakthrough data (JSON)",
                filename=f"breakthrough-export-{stamp}.json",
                markdown=json.dumps(document, indent=2, ensure_ascii=False, default=str),
            ),
            Document(
                to=dm,
                title="Your Breakthrough data",
                filename=f"breakthrough-export-{stamp}.md",
                markdown=_markdown(tables, now=now),
            ),
        ]

    def confirm_forget(self, actor: Actor) -> list[Intent]:
        """The question that must be answered "yes" before anything is deleted."""
        return [
            Ask(
                to=DirectMessage(actor=actor),
                prompt="This deletes everything Breakthrough keeps about you: your sessions "
                "with every answer and breakthrough moment, commitments, nudges (those still "
                "to come too), partner links, settings and profile. Team plans keep their "
                "steps, without your name. It cannot be undone. Delete it all?",
                expects="choice",
                choices=(
                    Choice(value="yes", label="Yes, delete everything"),
                    Choice(value="no", label="No, keep it"),
                ),
                action_id=forget_action_id(actor),
            )
        ]

    async def forget(self, actor: Actor, *, action_id: str, value: str) -> list[Intent]:
        """Delete everything about ``actor`` if they confirmed, and say what went."""
        dm = DirectMessage(actor=actor)
        if action_id != forget_action_id(actor):
            return [Say(to=dm, text="That button deletes someone else's data; nothing changed.")]
        if value != "yes":
            return [Say(to=dm, text="Nothing was deleted.")]
        counts = await self.data.erase(actor.key())
        return [Say(to=dm, text=_forgotten(counts))]


def _forgotten(counts: dict[str, int]) -> str:
    """The receipt: what went, in the person's terms (not table names), then the team's."""
    n = counts.get
    lines: list[str] = []
    if n("sessions"):
        inside = [
            counted(n("answers", 0), "answer"),
            counted(n("moments", 0), "breakthrough moment"),
        ]
        inside = [part for part in inside if not part.startswith("0 ")]
        lines.append(
            counted(n("sessions", 0), "coaching session")
            + (f", with {' and '.join(inside)}" if inside else "")
        )
    if n("commitments"):
        lines.append(counted(n("commitments", 0), "commitment"))
    if n("followups"):
        lines.append(counted(n("followups", 0), "scheduled follow-up"))
    if n("nudges"):
        pending = n("nudges_pending", 0)
        lines.append(
            counted(n("nudges", 0), "nudge")
            + (f", including {pending} still to come" if pending else "")
        )
    if n("partners"):
        lines.append(counted(n("partners", 0), "accountability partner link"))
    if n("preferences"):
        lines.append("your nudge settings")
    if n("people"):
        lines.append("your name and time zone")
    team: list[str] = []
    if n("team steps made unowned"):
        owned = counted(n("team steps made unowned", 0), "step")
        team.append(f"{owned} you owned, now unclaimed for someone else to take on")
    if n("team steps made anonymous"):
        added = counted(n("team steps made anonymous", 0), "step")
        team.append(f"{added} you added, now without your name")
    if n("team plans handed to the team"):
        led = counted(n("team plans handed to the team", 0), "team plan")
        team.append(f"{led} you facilitated, now the team's, without your name")
    if not lines and not team:
        return "There was nothing stored about you, and nothing is now."
    text = "Deleted everything about you" + (":" if lines else ".")
    text += "".join(f"\n• {line}" for line in lines)
    if team:
        text += "\nTeam plans keep their steps:\n" + "\n".join(f"• {line}" for line in team)
    return text


def _markdown(tables: dict[str, list[dict[str, Any]]], *, now: datetime) -> str:
    """A readable account of the export: sessions with their answers, then the rest."""
    out = ["# Your Breakthrough data", "", f"Exported {now:%d %B %Y %H:%M} UTC.", ""]
    sessions: Sequence[dict[str, Any]] = tables.get("sessions", [])
    out.append(f"## Sessions ({len(sessions)})")
    for s in sessions:
        out += ["", f"### {s.get('method')}: {s.get('topic') or 'untitled'}"]
        out.append(f"Status: {s.get('status')}; started {s.get('created_at')}.")
        state = s.get("state") or {}
        answers = state.get("answers", {}) if isinstance(state, dict) else {}
        for step, answer in answers.items():
            out.append(f"- **{step}**: {_answer_text(answer)}")
        moments = state.get("moments", []) if isinstance(state, dict) else []
        for moment in moments if isinstance(moments, list) else []:
            if isinstance(moment, dict):
                quote, reflection = moment.get("quote"), moment.get("reflection")
                line = f"- Breakthrough moment ({moment.get('type')}): {quote}"
                out.append(line + (f" — {reflection}" if reflection else ""))
    for table in (
        "commitments",
        "followups",
        "nudges",
        "preferences",
        "partners",
        "team_plans",
        "team_steps",
    ):
        rows = tables.get(table, [])
        out += ["", f"## {_LABELS[table].capitalize()} ({len(rows)})"]
        for row in rows:
            out.append("- " + "; ".join(f"{k}: {v}" for k, v in row.items() if v is not None))
    return "\n".join(out) + "\n"


def _answer_text(answer: Any) -> str:
    if isinstance(answer, list):
        return "; ".join(_answer_text(a) for a in answer)
    if isinstance(answer, dict):
        return str(answer.get("text") or answer.get("item") or answer)
    return str(answer)
