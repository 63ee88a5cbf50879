"""Transcript drivers for the engine and the console adapter.

Slack and Discord drivers join these when their adapters exist; every driver must make
every transcript pass and leave the same answers and commitments behind.
"""

from __future__ import annotations

import asyncio
import io
import queue
import threading
from datetime import timedelta
from pathlib import Path

from adapters.console.app import ConsoleApp
from core.dialogue.coach import Coach
from core.dialogue.model import Actor
from core.testing import FakeClock


class ScriptedStdin:
    """A stdin whose lines a test feeds one at a time; it tells when the app waits again."""

    def __init__(self) -> None:
        self.lines: queue.Queue[str] = queue.Queue()
        self.waiting = threading.Semaphore(0)

    def readline(self) -> str:
        self.waiting.release()
        return self.lines.get()


class ConsoleDriver:
    """Plays a transcript through :class:`ConsoleApp`, reading what it printed per turn."""

    def __init__(self, coach: Coach, *, actor: Actor, clock: FakeClock, files_dir: Path) -> None:
        self.stdin = ScriptedStdin()
        self.stdout = io.StringIO()
        self.clock = clock
        self.app = ConsoleApp(
            coach,
            actor=actor,
            clock=clock,
            files_dir=files_dir,
            stdin=self.stdin,  # type: ignore[arg-type]
            stdout=self.stdout,
        )
        self.task: asyncio.Task[int] | None = None

    async def _until_waiting(self, since: int) -> list[str]:
        await asyncio.to_thread(self.stdin.waiting.acquire)
        return [self.stdout.getvalue()[since:]]

    async def start(self, method: str, topic: str) -> list[str]:
        self.task = asyncio.create_task(self.app.run(method, topic))
        self.task.add_done_callback(lambda _t: self.stdin.waiting.release())
        return await self._until_waiting(0)

    async def say(self, text: str) -> list[str]:
        self.clock.advance(timedelta(seconds=30))
        since = len(self.stdout.getvalue())
        self.stdin.lines.put(text + "\n")
        return await self._until_waiting(since)

    async def close(self) -> None:
        if self.task is not None and not self.task.done():
            self.stdin.lines.put("")
            await self.task
