"""Nudges in the terminal: the console adapter's :class:`~core.ports.Messenger`.

Direct messages to the person at this terminal are printed as they are; messages to
anyone else (an accountability partner in a demo) are printed under their name, so a
single terminal shows the whole story.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TextIO

from adapters.console.render import ConsoleRenderer
from core.dialogue.intents import Ask, DirectMessage, Intent
from core.dialogue.model import Actor

__all__ = ["SLASH_FOR_ACTION", "ConsoleMessenger"]

#: How a nudge's buttons are typed in the terminal.
SLASH_FOR_ACTION = {
    "done": "/done",
    "snooze:1h": "/snooze 1h",
    "snooze:morning": "/snooze tomorrow",
    "new_date": "/new-date",
    "blocked": "/blocked",
    "accept": "/accept",
    "decline": "/decline",
}


class ConsoleMessenger:
    """Prints each delivery as a block headed by who it is for."""

    def __init__(self, renderer: ConsoleRenderer, stdout: TextIO, *, me: Actor | None) -> None:
        self.renderer = renderer
        self.stdout = stdout
        self.me = me
        self.delivered = 0

    async def deliver(self, intents: Sequence[Intent]) -> None:
        if not intents:
            return
        to = intents[0].to
        who = to.actor if isinstance(to, DirectMessage) else None
        if who is None or (self.me is not None and who.key() == self.me.key()):
            header = "\n🔔 ─── a nudge ───"
        else:
            header = f"\n🔔 ─── for {who.display_name or who.user_id} ───"
        body = "\n".join(self._render(i) for i in intents)
        self.stdout.write(f"{header}{body}\n")
        self.stdout.flush()
        self.delivered += 1

    def _render(self, intent: Intent) -> str:
        """Buttons on a nudge become the slash commands that do the same."""
        if isinstance(intent, Ask) and ":" in intent.action_id and intent.choices:
            kind = intent.action_id.split(":", 1)[0]
            if kind in ("nudge", "partner"):
                typed = ", ".join(SLASH_FOR_ACTION.get(c.value, c.value) for c in intent.choices)
                return f"\n{intent.prompt}\n   (type {typed})"
        return self.renderer.render_one(intent)
