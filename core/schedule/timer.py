"""The in-memory wake-up timer: one alarm at the earliest due time, plus a periodic poll.

The durable schedule is the nudge rows in the database (:mod:`core.schedule.ports`).
This process keeps no copy of it; it only needs to wake up when the earliest row falls
due (:meth:`WakeTimer.wake_at`, re-armed by whoever reads ``next_due``) and now and then
anyway (the poll), because another replica may have added an earlier row. Losing the
timer (a crash, a restart) loses nothing: the next start polls and finds every row.

APScheduler 3 drives the timing. Its defaults are wrong for this use and are overridden
on every job: ``misfire_grace_time`` is 1 s by default, which silently *drops* a
wake-up that runs late (a busy loop, a suspended laptop); ``max_instances`` would skip a
wake-up that fires while the previous one still runs. Here the job only signals a
single runner task, which coalesces wakes that arrive during a run into one more run.

:class:`ScaledClock` lets the console demo run days of nudges in minutes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import traceback
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal

from apscheduler.schedulers.asyncio import AsyncIOScheduler  # type: ignore[import-untyped]
from apscheduler.triggers.date import DateTrigger  # type: ignore[import-untyped]
from apscheduler.triggers.interval import IntervalTrigger  # type: ignore[import-untyped]

from core.ports import Clock, SystemClock

__all__ = ["ScaledClock", "WakeTimer"]

_log = logging.getLogger(__name__)

_POLL_JOB: Final = "breakthrough-poll"
_WAKE_JOB: Final = "breakthrough-wake"
_JOB_OPTIONS: Final[dict[str, Any]] = {
    "misfire_grace_time": None,  # late is fine, missed is not
    "coalesce": True,  # several missed runs of the poll are one run
    "max_instances": 1,
}
_MAX_REAL_DELAY: Final = timedelta(days=7)
"""A wake-up further away is set this far out instead (it then re-arms): no datetime
overflow for a far-off nudge on a slow clock, and nothing is lost by waking early."""


class ScaledClock:
    """A :class:`~core.ports.Clock` whose time runs ``speed`` times faster than real time.

    For the console demo: with ``speed=3600`` an hour of nudges passes every second, so
    a week of reminders can be watched over a coffee. Time starts at ``start`` (default:
    ``base.now()`` when the clock is made) and moves with ``monotonic``, so a change of
    the system clock does not make it jump.
    """

    def __init__(
        self,
        speed: float,
        *,
        start: datetime | None = None,
        base: Clock | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if not speed > 0:
            raise ValueError(f"speed must be positive, got {speed!r}")
        if start is None:
            start = (base or SystemClock()).now()
        if start.tzinfo is None or start.utcoffset() is None:
            raise ValueError("start must be timezone-aware")
        self.speed = speed
        self._start = start.astimezone(UTC)
        self._monotonic = monotonic
        self._origin = monotonic()

    def now(self) -> datetime:
        """The scaled time, aware UTC."""
        elapsed = (self._monotonic() - self._origin) * self.speed
        return self._start + timedelta(seconds=elapsed)

    def real_seconds_until(self, when: datetime) -> float:
        """How many real seconds until this clock shows ``when`` (0 if it already has)."""
        return max(0.0, (when - self.now()).total_seconds() / self.speed)


TimerState = Literal["new", "running", "stopped"]


class WakeTimer:
    """Calls ``on_wake`` at the armed time, every ``poll_seconds``, and on demand.

    ``on_wake`` runs never overlap: a wake while one runs makes exactly one more run
    after it, however many arrive. An exception from ``on_wake`` is logged by type and
    place only (its message may quote a person's words) and the timer carries on.

    ``speed`` converts clock time to real time for :meth:`wake_at`; by default it is the
    clock's own ``speed`` for a :class:`ScaledClock`, else 1. ``poll_seconds`` is real
    seconds.
    """

    def __init__(
        self,
        on_wake: Callable[[], Awaitable[None]],
        *,
        clock: Clock,
        poll_seconds: float = 30.0,
        speed: float | None = None,
    ) -> None:
        if speed is None:
            speed = clock.speed if isinstance(clock, ScaledClock) else 1.0
        if not speed > 0:
            raise ValueError(f"speed must be positive, got {speed!r}")
        if not poll_seconds > 0:
            raise ValueError(f"poll_seconds must be positive, got {poll_seconds!r}")
        self._on_wake = on_wake
        self._clock = clock
        self._speed = speed
        self._poll_seconds = poll_seconds
        self._scheduler = AsyncIOScheduler(timezone=UTC)
        self._state: TimerState = "new"
        self._armed_before_start: datetime | None = None
        self._runner: asyncio.Task[None] | None = None
        self._again = False
        self.runs = 0  # how many times on_wake was called, failed runs included

    # ----------------------------------------------------------------- control

    @property
    def state(self) -> TimerState:
        return self._state

    def start(self) -> None:
        """Start polling, and arm any wake-up asked for before. Needs a running loop."""
        asyncio.get_running_loop()  # RuntimeError here is clearer than one inside APScheduler
        if self._state != "new":
            raise RuntimeError(f"a WakeTimer starts once (it is {self._state})")
        self._scheduler.add_job(
            self._fired,
            IntervalTrigger(seconds=self._poll_seconds, timezone=UTC),
            id=_POLL_JOB,
            name="nudge poll",
            **_JOB_OPTIONS,
        )
        self._scheduler.start()
        self._state = "running"
        armed, self._armed_before_start = self._armed_before_start, None
        if armed is not None:
            self._arm(armed)

    def wake_at(self, when: datetime) -> None:
        """Make sure ``on_wake`` runs once clock time reaches ``when``.

        Only one wake-up is kept: an earlier one than is set replaces it, a later one is
        ignored (the run at the earlier time re-arms for whatever is next). A time in the
        past wakes as soon as possible.
        """
        if when.tzinfo is None or when.utcoffset() is None:
            raise ValueError("when must be timezone-aware")
        delay = timedelta(seconds=(when - self._clock.now()).total_seconds() / self._speed)
        run_at = datetime.now(UTC) + min(max(delay, timedelta(0)), _MAX_REAL_DELAY)
        if self._state == "new":
            if self._armed_before_start is None or run_at < self._armed_before_start:
                self._armed_before_start = run_at
            return
        if self._state == "running":
            self._arm(run_at)

    def wake_now(self) -> None:
        """Run ``on_wake`` as soon as possible (once more, if it is running now)."""
        if self._state == "new":
            self._armed_before_start = datetime.now(UTC)
        elif self._state == "running":
            self._kick()

    @property
    def next_wake(self) -> datetime | None:
        """The real time (aware UTC) the single wake-up is set for, if any."""
        if self._state == "new":
            return self._armed_before_start
        if self._state != "running":
            return None
        job = self._scheduler.get_job(_WAKE_JOB)
        when: datetime | None = getattr(job, "next_run_time", None)
        return when

    async def shutdown(self, *, wait: bool = True) -> None:
        """Stop the timer. With ``wait`` a run in progress finishes (no coalesced re-run
        follows); otherwise it is cancelled. Safe to call twice, or from ``on_wake``."""
        if self._state == "stopped":
            return
        was_running = self._state == "running"
        self._state = "stopped"
        if was_running:
            # AsyncIOScheduler.shutdown is deferred to the loop (call_soon_threadsafe).
            self._scheduler.shutdown(wait=False)
        runner, self._runner = self._runner, None
        if runner is not None and not runner.done() and runner is not asyncio.current_task():
            if not wait:
                runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await runner
        await asyncio.sleep(0)  # let the scheduler's deferred shutdown run

    # ----------------------------------------------------------------- helpers

    def _arm(self, run_at: datetime) -> None:
        if run_at <= datetime.now(UTC):
            self._kick()  # a due wake-up needs no timer; a later one already set stays
            return
        current = self.next_wake
        if current is not None and current <= run_at:
            return
        self._scheduler.add_job(
            self._fired,
            DateTrigger(run_date=run_at, timezone=UTC),
            id=_WAKE_JOB,
            name="nudge wake-up",
            replace_existing=True,
            next_run_time=run_at,
            **_JOB_OPTIONS,
        )

    async def _fired(self) -> None:
        """The APScheduler job: hand over to the runner and return at once, so the job
        never counts as still running (``max_instances``) when the next one fires."""
        self._kick()

    def _kick(self) -> None:
        if self._state != "running":
            return
        if self._runner is not None and not self._runner.done():
            self._again = True
            return
        self._runner = asyncio.get_running_loop().create_task(self._run(), name="wake-timer")

    async def _run(self) -> None:
        while True:
            self._again = False
            self.runs += 1
            try:
                await self._on_wake()
            except Exception as exc:
                _log.error("wake-up failed: %s at %s", type(exc).__name__, _where(exc))
            if not self._again or self._state != "running":
                return


def _where(exc: BaseException) -> str:
    """Where an exception was raised, as ``file:line in function``, without its message."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return "unknown place"
    last = frames[-1]
    return f"{last.filename}:{last.lineno} in {last.name}"
