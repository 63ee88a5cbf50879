"""The dispatcher: claim due nudge rows, deliver them through the Messenger, record outcomes.

Each replica runs one. The rows are the schedule; this process keeps only one timer, at
the earliest due time (:class:`~core.schedule.timer.WakeTimer`, APScheduler underneath),
plus a slow poll for rows other replicas added. A tick claims due rows in batches
(atomically, so two replicas never hold the same row), asks
:class:`~core.schedule.accountability.Accountability` what each should say, sends it
paced per destination and per workspace, and records every outcome of the batch in one
transaction.

Failure handling, per nudge:

- the platform says wait (:class:`~core.errors.DeliveryDeferred`, a 429's Retry-After):
  the destination or workspace is held in the pacer, the row goes back to pending at
  that time; no attempt is counted against it.
- the platform refuses for good (:class:`~core.errors.DeliveryRefused`): ``failed``,
  with the reason, not retried.
- anything else: retried with backoff (1, 2, 4 ... minutes, at most an hour) until
  ``max_attempts`` claims, then ``failed``.
- the process dies after claiming: the claim expires after ``lease`` and any replica
  takes the row again. Nothing is lost; a message whose send completed but whose
  outcome was not yet recorded may be sent again (at-least-once in that window only).

Stopping (SIGTERM), in two steps so that nothing waits for the whole batch:
:meth:`Dispatcher.begin_stop` claims no new batch and releases at once the claimed
nudges whose delivery has not started (another replica, or the next start, sends them
promptly); the deliveries under way finish and are recorded as sent. :meth:`Dispatcher.stop`
then stops the timer and releases anything still claimed; with ``cut`` (the shutdown's
grace ran out) it cancels the deliveries under way instead of waiting, and those are sent
again later (the at-least-once window above).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from core.dialogue.intents import DirectMessage, Intent
from core.errors import DeliveryDeferred, DeliveryRefused
from core.ports import Clock, Messenger
from core.schedule.accountability import Accountability, BatchFacts, Delivery
from core.schedule.model import NudgeOutcome, NudgeRecord
from core.schedule.pacing import Pacer, pacer_for
from core.schedule.ports import NudgeStore
from core.schedule.timer import WakeTimer
from core.telemetry import NO_TELEMETRY, Telemetry

__all__ = ["DispatchStats", "Dispatcher", "worker_name"]

_log = logging.getLogger(__name__)

DEFAULT_LEASE = timedelta(minutes=5)
DEFAULT_BATCH = 200
DEFAULT_CONCURRENCY = 32
DEFAULT_MAX_ATTEMPTS = 8


# When several nudges about one commitment are due at once (after downtime or a
# vacation), only the latest in this order is sent: one message, not three.
_PRECEDENCE = {"reminder": 0, "checkin": 1, "overdue": 2}


def _coalesce(claimed: list[NudgeRecord]) -> tuple[list[NudgeRecord], list[NudgeOutcome]]:
    """Split a claimed batch into the nudges to send and the superseded ones."""
    best: dict[str, NudgeRecord] = {}
    for n in claimed:
        if n.kind in _PRECEDENCE:
            held = best.get(n.target)
            if held is None or _PRECEDENCE[n.kind] > _PRECEDENCE[held.kind]:
                best[n.target] = n
    sending: list[NudgeRecord] = []
    skipped: list[NudgeOutcome] = []
    for n in claimed:
        if n.kind in _PRECEDENCE and best[n.target] is not n:
            reason = f"coalesced into the {best[n.target].kind} due at the same time"
            skipped.append(NudgeOutcome(key=n.key, status="skipped", error=reason))
        else:
            sending.append(n)
    return sending, skipped


def worker_name() -> str:
    """A name unique to this process, recorded on the rows it claims."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass(slots=True)
class DispatchStats:
    """Counters since start, for health checks, benchmarks and tests."""

    ticks: int = 0
    claimed: int = 0
    sent: int = 0
    skipped: int = 0
    retried: int = 0
    failed: int = 0
    lost_claims: int = 0
    """Outcomes not recorded because the claim had expired and another worker took it."""
    released: int = 0
    """Claimed nudges given back unstarted because the dispatcher was stopping."""


class Dispatcher:
    """Delivers due nudges; call :meth:`tick` directly (tests) or :meth:`start` (a bot)."""

    def __init__(
        self,
        *,
        nudges: NudgeStore,
        accountability: Accountability,
        messenger: Messenger,
        clock: Clock,
        worker: str | None = None,
        lease: timedelta = DEFAULT_LEASE,
        batch: int = DEFAULT_BATCH,
        concurrency: int = DEFAULT_CONCURRENCY,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        pacing: Callable[[str], Pacer] | None = pacer_for,
        on_delivered: Callable[[Delivery], None] | None = None,
        telemetry: Telemetry = NO_TELEMETRY,
        upkeep: Callable[[datetime, Callable[[], bool]], Awaitable[object]] | None = None,
    ) -> None:
        """``upkeep`` runs on every tick once what is due has been delivered, on this
        dispatcher's clock, with a way to ask whether the dispatcher is stopping (a long
        first prune must not hold up nudges or a shutdown); it decides itself how often
        to do anything (retention runs once a day)."""
        self.nudges = nudges
        self.accountability = accountability
        self.messenger = messenger
        self.clock = clock
        self.worker = worker or worker_name()
        self.lease = lease
        self.batch = batch
        self.max_attempts = max_attempts
        self.stats = DispatchStats()
        self.on_delivered = on_delivered
        self.telemetry = telemetry
        self.upkeep = upkeep
        self._pacing = pacing
        self._pacers: dict[str, Pacer] = {}
        self._slots = asyncio.Semaphore(concurrency)
        self._tick_lock = asyncio.Lock()
        self._timer: WakeTimer | None = None
        self._stopping = asyncio.Event()
        self._delivering = 0

    # -- running -------------------------------------------------------------------------

    async def start(self, *, poll_seconds: float = 30.0, speed: float = 1.0) -> None:
        """Start the timer: a tick now, then at each earliest due time and every poll."""
        self._timer = WakeTimer(
            self._timed_tick, clock=self.clock, poll_seconds=poll_seconds, speed=speed
        )
        self._timer.start()
        self.accountability.wake = self._timer.wake_at
        self._timer.wake_now()

    def begin_stop(self) -> None:
        """Start no new delivery: called first thing on SIGTERM, before anything waits.

        Claims no new batch; the running batch gives back its nudges not yet started (at
        once) and finishes the deliveries under way (:meth:`drained` says when).
        """
        self._stopping.set()

    @property
    def stopping(self) -> bool:
        """Whether :meth:`begin_stop` (or :meth:`stop`) was called."""
        return self._stopping.is_set()

    @property
    def delivering(self) -> int:
        """How many deliveries are under way (sent to the platform, not yet answered)."""
        return self._delivering

    async def drained(self) -> None:
        """Return once no batch is being delivered; after :meth:`begin_stop`, for good."""
        async with self._tick_lock:
            pass

    async def stop(self, *, cut: bool = False) -> None:
        """Stop the timer and release every claim this worker still holds.

        The batch under way finishes first, or with ``cut`` is cancelled: a delivery
        cancelled mid-request may have reached the platform and is sent again later.
        """
        self.begin_stop()
        if self._timer is not None:
            self.accountability.wake = None
            await self._timer.shutdown(wait=not cut)
            self._timer = None
        async with self._tick_lock:
            released = await self.nudges.release(worker=self.worker, now=self.clock.now())
        if released:
            _log.info("released %d claimed nudges on shutdown", released)

    async def _timed_tick(self) -> None:
        await self.tick()
        timer = self._timer
        if timer is not None:
            upcoming = await self.nudges.next_due()
            if upcoming is not None:
                timer.wake_at(upcoming)

    # -- one pass ------------------------------------------------------------------------

    async def tick(self) -> int:
        """Deliver everything due now, batch by batch; return how many were handled."""
        async with self._tick_lock:
            if self.stopping:
                return 0
            self.stats.ticks += 1
            await self.accountability.sweep(self.clock.now())
            handled = 0
            while not self.stopping:
                now = self.clock.now()
                claimed = await self.nudges.claim_due(
                    now=now, worker=self.worker, lease=self.lease, limit=self.batch
                )
                if not claimed:
                    if self.upkeep is not None:
                        await self.upkeep(self.clock.now(), lambda: self.stopping)
                    return handled
                self.stats.claimed += len(claimed)
                sending, coalesced = _coalesce(claimed)
                self.stats.skipped += len(coalesced)
                facts = await self.accountability.facts(sending)
                outcomes = [*coalesced, *await self._deliver(sending, now, facts)]
                applied = await self.nudges.finish(
                    outcomes, worker=self.worker, now=self.clock.now()
                )
                self.stats.lost_claims += len(outcomes) - applied
                handled += len(claimed)
            return handled

    async def _deliver(
        self, sending: list[NudgeRecord], now: datetime, facts: BatchFacts
    ) -> list[NudgeOutcome]:
        """Deliver a batch; if :meth:`begin_stop` comes first, give back the unstarted.

        A nudge has started once it holds a delivery slot: from then on it finishes
        (its check-in session may already be open, so it must also be sent). The others
        are released in one write at once rather than after the slowest delivery.
        """
        started: set[str] = set()
        handles = [asyncio.ensure_future(self._handle(n, now, facts, started)) for n in sending]
        batch = asyncio.gather(*handles)
        stopping = asyncio.ensure_future(self._stopping.wait())
        either: set[asyncio.Future[Any]] = {batch, stopping}
        try:
            await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:  # cut short (stop with cut): cancel the deliveries too
            batch.cancel()
            raise
        finally:
            stopping.cancel()
        if not batch.done():
            # Stopping: whatever has not started never will (see _handle).
            waiting = [n for n in sending if n.key not in started]
            if waiting:
                back = [
                    NudgeOutcome(key=n.key, status="retry", retry_at=n.due_at, error=n.error)
                    for n in waiting
                ]
                self.stats.released += await self.nudges.finish(
                    back, worker=self.worker, now=self.clock.now()
                )
                _log.info("stopping: gave back %d nudges not yet started", len(waiting))
        return [outcome for outcome in await batch if outcome is not None]

    async def _handle(
        self, nudge: NudgeRecord, now: datetime, facts: BatchFacts, started: set[str]
    ) -> NudgeOutcome | None:
        """Deliver one nudge; ``None`` when the dispatcher stopped before it started."""
        async with self._slots:
            if self.stopping:
                return None
            started.add(nudge.key)
            try:
                delivery = await self.accountability.prepare(nudge, now=now, facts=facts)
                if delivery.intents:
                    await self._send(delivery.intents)
            except DeliveryDeferred as exc:
                self.stats.retried += 1
                return NudgeOutcome(
                    key=nudge.key,
                    status="retry",
                    retry_at=now + timedelta(seconds=exc.retry_after),
                    error=str(exc),
                )
            except DeliveryRefused as exc:
                self.stats.failed += 1
                self.telemetry.nudge_failed(kind=nudge.kind, reason="refused")
                # Our own words with the platform's error code (no one's message).
                _log.warning("nudge %s refused by the platform: %s", nudge.kind, exc)
                return NudgeOutcome(key=nudge.key, status="failed", error=str(exc))
            except Exception as exc:  # any other failure: retry with backoff
                return self._after_error(nudge.key, nudge.kind, nudge.attempts, exc, now)
        outcome = delivery.outcome
        if outcome.status == "sent":
            self.stats.sent += 1
            lag = (self.clock.now() - nudge.due_at).total_seconds()
            self.telemetry.nudge_sent(kind=nudge.kind, lag_seconds=lag)
            if self.on_delivered is not None:
                self.on_delivered(delivery)
        elif outcome.status == "skipped":
            self.stats.skipped += 1
        elif outcome.status == "retry":
            self.stats.retried += 1
        return outcome

    def _after_error(
        self, key: str, kind: str, attempts: int, exc: Exception, now: datetime
    ) -> NudgeOutcome:
        # The row keeps the message (its owner may see it); the log gets the type only: a
        # driver's message can quote the values it was given (PostgreSQL's "Failing row
        # contains (...)"), and those may be someone's words.
        error = f"{exc.__class__.__name__}: {exc}"
        if attempts >= self.max_attempts:
            self.stats.failed += 1
            self.telemetry.nudge_failed(kind=kind, reason="gave_up")
            _log.error(
                "nudge %s failed after %d attempts (%s)", kind, attempts, exc.__class__.__name__
            )
            return NudgeOutcome(key=key, status="failed", error=error)
        self.stats.retried += 1
        backoff = timedelta(minutes=min(60, 2 ** max(0, attempts - 1)))
        _log.warning(
            "nudge %s attempt %d failed (%s); retrying", kind, attempts, exc.__class__.__name__
        )
        return NudgeOutcome(key=key, status="retry", retry_at=now + backoff, error=error)

    async def _send(self, intents: list[Intent]) -> None:
        """Pace, then deliver; a Retry-After holds the destination (or workspace) too."""
        to = intents[0].to
        if isinstance(to, DirectMessage):
            platform = to.actor.platform
            destination = f"dm:{to.actor.key()}"
            workspace = f"{platform}:{to.actor.workspace}"
        else:
            platform = to.platform
            destination = f"{platform}:{to.workspace}:{to.channel}"
            workspace = f"{platform}:{to.workspace}"
        if self._pacing is None:
            # Unpaced (tests, benchmarks): a Retry-After still delays the nudge itself,
            # through its row's retry time, but holds nothing else in real time.
            await self._deliver_now(intents)
            return
        pacer = self._pacers.get(platform)
        if pacer is None:
            pacer = self._pacers[platform] = self._pacing(platform)
        await pacer.acquire(destination, workspace)
        try:
            await self._deliver_now(intents)
        except DeliveryDeferred as exc:
            pacer.hold(workspace if exc.scope == "workspace" else destination, exc.retry_after)
            raise

    async def _deliver_now(self, intents: list[Intent]) -> None:
        self._delivering += 1
        try:
            await self.messenger.deliver(intents)
        finally:
            self._delivering -= 1
