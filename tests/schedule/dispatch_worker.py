"""A dispatcher in its own process, for the multi-process exactly-once test.

Usage: python -m tests.schedule.dispatch_worker URL NOW OUTFILE

Delivers every due nudge at the fixed time NOW to a messenger that appends each
message's text (the test makes it the nudge's dedupe key) to OUTFILE, then exits.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from core.dialogue.coach import Coach
from core.dialogue.intents import Intent, Say
from core.methods.loader import MethodLibrary
from core.schedule.accountability import Accountability
from core.schedule.dispatcher import Dispatcher
from core.store.nudges import SqlNudgeStore
from core.store.repository import SqlStore
from core.testing import FakeClock


class FileMessenger:
    """Records the text of each delivery, one line each."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    async def deliver(self, intents: Sequence[Intent]) -> None:
        first = intents[0]
        assert isinstance(first, Say)
        self.lines.append(first.text)


async def main(url: str, now: str) -> list[str]:
    store = await SqlStore.open(url, migrate=False)
    nudges = SqlNudgeStore(store)
    coach = Coach(store=store, methods=MethodLibrary.load())
    messenger = FileMessenger()
    dispatcher = Dispatcher(
        nudges=nudges,
        accountability=Accountability(store=store, nudges=nudges, coach=coach),
        messenger=messenger,
        clock=FakeClock(datetime.fromisoformat(now)),
        pacing=None,
        batch=100,
    )
    try:
        while await dispatcher.tick():
            pass
    finally:
        await store.close()
    return messenger.lines


if __name__ == "__main__":
    lines = asyncio.run(main(sys.argv[1], sys.argv[2]))
    Path(sys.argv[3]).write_text("".join(line + "\n" for line in lines))
