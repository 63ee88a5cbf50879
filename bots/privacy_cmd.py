"""``breakthrough export`` and ``breakthrough forget``: the console's ``/breakthrough export``
and ``/breakthrough forget``, for the person at this terminal (or ``--user NAME``).

The same :class:`~core.privacy.Privacy` answers as on Slack and Discord: export writes
the JSON and Markdown files to the files folder instead of a DM, and forget asks the same
question, answered by typing ``yes`` (or ``--yes`` for a script).
"""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from adapters.console.render import ConsoleRenderer
from bots.runtime import Runtime
from bots.settings import Settings
from core.dialogue.intents import Ask, Document, Say
from core.dialogue.model import Actor
from core.ports import Clock, SystemClock
from core.privacy import forget_action_id
from core.store.repository import SqlStore

__all__ = ["export", "forget"]


async def export(
    settings: Settings,
    me: Actor,
    *,
    clock: Clock | None = None,
    store: SqlStore | None = None,
    out: TextIO | None = None,
) -> int:
    """Write everything stored about ``me`` to two files; say where they are.

    ``store`` (tests) is used instead of opening the configured database.
    """
    out = out or sys.stdout
    runtime = await Runtime.open(settings, clock=clock or SystemClock(), store=store)
    try:
        intents = await runtime.privacy.export(me, now=runtime.clock.now())
    finally:
        await runtime.close()
    renderer = ConsoleRenderer(settings.files_dir)
    for intent in intents:
        if isinstance(intent, Say):
            print(intent.text, file=out)
        elif isinstance(intent, Document):
            path = renderer.save(intent.filename, intent.markdown.encode("utf-8"), "export")
            print(f"  {path}", file=out)
    return 0


async def forget(
    args: argparse.Namespace,
    settings: Settings,
    me: Actor,
    *,
    clock: Clock | None = None,
    store: SqlStore | None = None,
    stdin: TextIO | None = None,
    out: TextIO | None = None,
) -> int:
    """Ask, then delete everything stored about ``me`` and say what went.

    Exit code 0 when deleted, 1 when the answer was not yes (nothing changed).
    """
    stdin, out = stdin or sys.stdin, out or sys.stdout
    runtime = await Runtime.open(settings, clock=clock or SystemClock(), store=store)
    try:
        answer = "yes"
        if not getattr(args, "yes", False):
            for intent in runtime.privacy.confirm_forget(me):
                if isinstance(intent, Ask):
                    print(f"{intent.prompt} Type yes to delete it all: ", end="", file=out)
                    out.flush()
            answer = "yes" if stdin.readline().strip().lower() in ("yes", "y") else "no"
        said = await runtime.privacy.forget(me, action_id=forget_action_id(me), value=answer)
    finally:
        await runtime.close()
    for intent in said:
        if isinstance(intent, Say):
            print(intent.text, file=out)
    if answer != "yes":
        return 1
    print(
        "Copies outside the database are not touched: earlier exports and reports in "
        f"{settings.files_dir}, and any backups of the database.",
        file=out,
    )
    return 0
