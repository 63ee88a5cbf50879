"""What SIGTERM and SIGINT do to a running bot: stop taking work, finish what was taken.

A service manager stops a process with SIGTERM and kills it a while later: Kubernetes
after ``terminationGracePeriodSeconds`` (30 s by default), systemd after
``TimeoutStopSec`` (90 s), Docker after ``stop_grace_period`` (10 s unless set). So the
first SIGTERM (or Ctrl-C) starts a stop bounded by ``BREAKTHROUGH_SHUTDOWN_GRACE_SECONDS``
(25 s: inside Kubernetes' default):

1. readiness turns 503 (:meth:`Shutdown.on_request`) and no new work is taken: the
   platform gives it to another replica or sends it again later;
2. turns already accepted finish, so their state is committed and their reply posted;
   nudge deliveries under way finish and are recorded as sent, and nudges claimed but not
   yet started are given back at once;
3. claims are released and connections closed; the exit code is 0.

When the grace runs out, or a second signal comes, what is left is cut short: counted in
the log, cancelled (a turn cut before its commit is rolled back whole; a nudge cut
mid-send is sent again later, so at worst twice), claims released, exit code 1. A third
signal leaves at once, for a process stuck where cancelling does not reach.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Final, TextIO

from adapters.tasks import TrackedTasks
from core.schedule.dispatcher import Dispatcher

__all__ = ["EXIT_CUT_SHORT", "Shutdown", "drain"]

_log = logging.getLogger(__name__)

EXIT_CUT_SHORT: Final = 1
"""The exit code when the grace ran out (or a second signal came) with work unfinished."""

_SIGNALS: Final = (signal.SIGINT, signal.SIGTERM)


class Shutdown:
    """The stop signals of one long-running command, and the grace they allow.

    :meth:`install` makes SIGINT and SIGTERM call :meth:`signal`: the first sets
    :attr:`requested` (the command then stops taking work and drains), the second sets
    :attr:`forced` (the drain ends at once), the third exits the process.
    """

    def __init__(
        self,
        grace: float,
        *,
        say: TextIO | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """``say``: where to tell a person at the terminal that it is stopping; standard
        output (beside "listening on …": standard error may carry JSON logs) unless that
        carries something else."""
        self.grace = grace
        self._say = say
        self.requested = asyncio.Event()
        self.forced = asyncio.Event()
        self._monotonic = monotonic
        self._since: float | None = None
        self._callbacks: list[Callable[[], object]] = []
        self._installed = False

    def on_request(self, callback: Callable[[], object]) -> None:
        """Call ``callback`` at the first signal, before anything waits (readiness: 503)."""
        self._callbacks.append(callback)

    def install(self) -> None:
        """Handle SIGINT and SIGTERM on the running loop until :meth:`remove`."""
        loop = asyncio.get_running_loop()
        for sig in _SIGNALS:
            loop.add_signal_handler(sig, self.signal, sig)
        self._installed = True

    def remove(self) -> None:
        """Give SIGINT and SIGTERM back to Python's defaults."""
        if self._installed:
            loop = asyncio.get_running_loop()
            for sig in _SIGNALS:
                loop.remove_signal_handler(sig)
            self._installed = False

    def signal(self, sig: int = signal.SIGTERM) -> None:
        """A stop signal arrived (or a test, or the program, asks to stop)."""
        name = signal.Signals(sig).name
        if not self.requested.is_set():
            self._since = self._monotonic()
            print(
                f"Stopping ({name}): finishing what is under way, for at most "
                f"{self.grace:g} s. Press Ctrl-C again to stop at once.",
                file=self._say or sys.stdout,
                flush=True,
            )
            _log.info("%s: stopping, grace %g s", name, self.grace)
            self.requested.set()
            for callback in self._callbacks:
                try:
                    callback()
                except Exception:  # readiness must not keep the process from stopping
                    _log.exception("a shutdown callback failed")
        elif not self.forced.is_set():
            _log.warning("%s again: stopping at once", name)
            self.forced.set()
        else:
            print(
                f"{name} a third time: leaving without cleaning up.",
                file=self._say or sys.stdout,
                flush=True,
            )
            os._exit(EXIT_CUT_SHORT)

    @property
    def reason(self) -> str:
        """Why a drain ended early, for the log."""
        if self.forced.is_set():
            return "a second stop signal came"
        return f"the shutdown grace of {self.grace:g} s ran out"

    def remaining(self) -> float:
        """Seconds of grace left (the clock starts at the first signal, or now)."""
        if self._since is None:
            self._since = self._monotonic()
        return max(0.0, self.grace - (self._monotonic() - self._since))

    async def within_grace(self, work: Awaitable[object]) -> bool:
        """Wait for ``work`` until the grace runs out or a second signal comes.

        Returns whether ``work`` finished; if not, it is left running for the caller
        to cut short (it knows what cutting means).
        """
        task = asyncio.ensure_future(work)
        forced = asyncio.ensure_future(self.forced.wait())
        try:
            await asyncio.wait(
                {task, forced}, timeout=self.remaining(), return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            forced.cancel()
        return task.done()


async def drain(
    tasks: TrackedTasks | None, dispatcher: Dispatcher, shutdown: Shutdown | None
) -> bool:
    """Finish the accepted turns and the nudge deliveries under way, then release claims.

    Called once the platform takes no more work (``tasks`` ``None``: a worker that takes
    none). Without ``shutdown`` it waits as long as that takes (tests). Returns whether
    nothing had to be cut short.
    """
    dispatcher.begin_stop()
    if tasks is None:
        tasks = TrackedTasks("none", _log)
    work = asyncio.gather(tasks.idle(), dispatcher.drained())
    finished = True
    if shutdown is None:
        await work
    else:
        finished = await shutdown.within_grace(work)
    if not finished:
        assert shutdown is not None
        turns, deliveries = tasks.pending, dispatcher.delivering
        _log.warning(
            "stopping: %s; cutting short %d turn(s) and %d nudge delivery(ies) still "
            "under way (a turn cut before its commit is rolled back; a nudge cut mid-send "
            "is sent again later)",
            shutdown.reason,
            turns,
            deliveries,
        )
        await tasks.cancel()
    await dispatcher.stop(cut=not finished)
    await work
    if dispatcher.stats.released:
        _log.info("stopping: %d claimed nudges were given back unsent", dispatcher.stats.released)
    return finished
