"""The work an adapter has accepted and not yet finished.

Both chat platforms want an answer within 3 seconds, so an adapter acknowledges first and
does the turn afterwards, in a task. Those tasks must not be lost: each failure is logged
(the exception, never the message: a person's words stay out of the logs) and counted, and
shutdown waits for all of them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from core.telemetry import NO_TELEMETRY, Telemetry

__all__ = ["TrackedTasks"]


class TrackedTasks:
    """Runs accepted work in tasks, logs what fails, and can wait until all is done."""

    def __init__(self, platform: str, log: logging.Logger) -> None:
        self._platform = platform
        self._log = log
        self._tasks: set[asyncio.Task[None]] = set()
        self.failures = 0
        """How many tracked tasks raised (tests assert none did)."""
        self.telemetry: Telemetry = NO_TELEMETRY
        """Told of each failure (``platform_error`` with ``what="handler"``)."""

    def track(self, work: Coroutine[Any, Any, object], what: str) -> None:
        """Run ``work`` in a task, tracked until done (see :meth:`idle`)."""
        task = asyncio.create_task(self._guarded(work, what))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _guarded(self, work: Coroutine[Any, Any, object], what: str) -> None:
        try:
            await work
        except Exception:
            self.failures += 1
            self.telemetry.platform_error(platform=self._platform.lower(), what="handler")
            self._log.exception("handling a %s %s failed", self._platform, what)

    async def idle(self) -> None:
        """Wait until every piece of work tracked so far (and any it started) is done."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    @property
    def pending(self) -> int:
        """How many pieces of accepted work are not finished yet."""
        return len(self._tasks)

    async def cancel(self) -> int:
        """Cut every unfinished piece of work short (a shutdown whose grace ran out);
        return how many there were. A turn cut before its commit is rolled back whole."""
        cut = list(self._tasks)
        for task in cut:
            task.cancel()
        await asyncio.gather(*cut, return_exceptions=True)
        return len(cut)
