"""Pacing: rates per destination and per workspace, holds, fairness, sweeping.

Runs on virtual time: ``sleep`` parks the caller until the test's clock reaches its
deadline, and the clock jumps to the earliest parked deadline once every task is
blocked, so hours of pacing take microseconds and concurrent waits overlap correctly.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Awaitable

import pytest

from core.schedule.pacing import PLATFORM_PACING, Pacer, Rate, TokenBucket, pacer_for

T0 = 1000.0


class VirtualTime:
    """A monotonic clock and a sleep that only move when the test lets time pass."""

    def __init__(self) -> None:
        self.now = T0
        self.sleeps: list[float] = []
        self._parked: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._parked, (self.now + seconds, next(self._seq), future))
        await future

    async def run(self, *coros: Awaitable[object]) -> None:
        """Run ``coros`` concurrently, moving time forward whenever all are parked."""
        tasks = [asyncio.ensure_future(c) for c in coros]
        for _ in range(100_000):
            for _ in range(20):  # let every runnable task reach its next sleep or lock
                await asyncio.sleep(0)
            if all(t.done() for t in tasks):
                break
            assert self._parked, "tasks are blocked but nobody sleeps"
            deadline, _, future = heapq.heappop(self._parked)
            self.now = max(self.now, deadline)
            future.set_result(None)
        await asyncio.gather(*tasks)

    def pacer(
        self, *, per_destination: Rate | None, per_workspace: Rate | None, sweep_every: int = 1024
    ) -> Pacer:
        return Pacer(
            per_destination=per_destination,
            per_workspace=per_workspace,
            monotonic=self.monotonic,
            sleep=self.sleep,
            sweep_every=sweep_every,
        )


@pytest.fixture
def vt() -> VirtualTime:
    return VirtualTime()


async def _send(
    pacer: Pacer, vt: VirtualTime, log: list[tuple[str, float]], dest: str, ws: str
) -> None:
    await pacer.acquire(dest, ws)
    log.append((dest, vt.now - T0))


# ------------------------------------------------------------------ the bucket


def test_bucket_queues_reservations_fairly() -> None:
    bucket = TokenBucket(Rate(per_second=2.0, burst=3), now=0.0)
    waits = [bucket.reserve(0.0) for _ in range(7)]
    # The burst goes at once; the n-th caller after it waits n/rate.
    assert waits == [0.0, 0.0, 0.0, 0.5, 1.0, 1.5, 2.0]


def test_bucket_refills_over_time_up_to_the_burst() -> None:
    bucket = TokenBucket(Rate(per_second=1.0, burst=2), now=0.0)
    assert bucket.reserve(0.0) == 0.0
    assert bucket.reserve(0.0) == 0.0
    assert not bucket.is_full(0.5)
    assert bucket.reserve(100.0) == 0.0  # long idle: full again, but never above burst
    assert bucket.reserve(100.0) == 0.0
    assert bucket.reserve(100.0) == pytest.approx(1.0)
    assert bucket.wait_time(100.0) == pytest.approx(2.0)


@pytest.mark.parametrize(("per_second", "burst"), [(0.0, 1), (-1.0, 1), (1.0, 0)])
def test_rate_rejects_nonsense(per_second: float, burst: int) -> None:
    with pytest.raises(ValueError):
        Rate(per_second=per_second, burst=burst)


# ------------------------------------------------------------------ the pacer


async def test_rate_is_respected_for_one_destination(vt: VirtualTime) -> None:
    pacer = vt.pacer(per_destination=Rate(per_second=2.0, burst=3), per_workspace=None)
    log: list[tuple[str, float]] = []
    for _ in range(11):
        await vt.run(_send(pacer, vt, log, "C1", "T1"))
    times = [t for _, t in log]
    assert times[:3] == [0.0, 0.0, 0.0]
    assert times[-1] == pytest.approx((11 - 3) / 2.0)
    gaps = [b - a for a, b in itertools.pairwise(times[2:])]
    assert gaps == pytest.approx([0.5] * 8)


async def test_destinations_do_not_wait_for_each_other(vt: VirtualTime) -> None:
    pacer = vt.pacer(
        per_destination=Rate(per_second=1.0, burst=1),
        per_workspace=Rate(per_second=100.0, burst=100),
    )
    log: list[tuple[str, float]] = []
    await vt.run(*(_send(pacer, vt, log, dest, "T1") for dest in ("A", "B", "C", "A")))
    assert sorted(log) == [("A", 0.0), ("A", 1.0), ("B", 0.0), ("C", 0.0)]


async def test_destinations_share_the_workspace_bucket(vt: VirtualTime) -> None:
    pacer = vt.pacer(
        per_destination=Rate(per_second=10.0, burst=10), per_workspace=Rate(per_second=1.0, burst=2)
    )
    log: list[tuple[str, float]] = []
    await vt.run(*(_send(pacer, vt, log, dest, "T1") for dest in ("A", "B", "C", "D")))
    await vt.run(_send(pacer, vt, log, "E", "T2"))  # another workspace is not held up
    assert [t for _, t in log[:4]] == pytest.approx([0.0, 0.0, 1.0, 2.0])
    assert log[4] == ("E", 2.0)


async def test_a_send_delayed_by_the_workspace_counts_at_its_real_time(vt: VirtualTime) -> None:
    pacer = vt.pacer(
        per_destination=Rate(per_second=0.5, burst=1), per_workspace=Rate(per_second=1.0, burst=1)
    )
    log: list[tuple[str, float]] = []
    await vt.run(_send(pacer, vt, log, "B", "T1"), _send(pacer, vt, log, "A", "T1"))
    await vt.run(_send(pacer, vt, log, "A", "T1"))
    # A went at 1.0 (held by the workspace), so its next send is 2 s after that, not
    # 2 s after it first asked.
    assert log == [("B", 0.0), ("A", 1.0), ("A", 3.0)]


async def test_fifty_concurrent_sends_are_spaced_and_in_order(vt: VirtualTime) -> None:
    pacer = vt.pacer(per_destination=Rate(per_second=4.0, burst=1), per_workspace=None)
    order: list[tuple[int, float]] = []

    async def send(index: int) -> None:
        await pacer.acquire("C1", "T1")
        order.append((index, vt.now - T0))

    await vt.run(*(send(i) for i in range(50)))
    assert [i for i, _ in order] == list(range(50))
    assert [t for _, t in order] == pytest.approx([i / 4.0 for i in range(50)])


async def test_hold_delays_only_that_destination(vt: VirtualTime) -> None:
    pacer = vt.pacer(
        per_destination=Rate(per_second=1.0, burst=5), per_workspace=Rate(per_second=10.0, burst=10)
    )
    pacer.hold("A", 30.0)
    pacer.hold("A", 5.0)  # a shorter hold never cuts a longer one short
    log: list[tuple[str, float]] = []
    await vt.run(_send(pacer, vt, log, "A", "T1"), _send(pacer, vt, log, "B", "T1"))
    assert sorted(log) == [("A", 30.0), ("B", 0.0)]


async def test_hold_on_a_workspace_delays_its_destinations_only(vt: VirtualTime) -> None:
    pacer = vt.pacer(per_destination=Rate(per_second=1.0, burst=5), per_workspace=None)
    pacer.hold("T1", 10.0)
    log: list[tuple[str, float]] = []
    await vt.run(
        _send(pacer, vt, log, "A", "T1"),
        _send(pacer, vt, log, "B", "T1"),
        _send(pacer, vt, log, "C", "T2"),
    )
    assert sorted(log) == [("A", 10.0), ("B", 10.0), ("C", 0.0)]


async def test_hold_set_while_waiting_is_obeyed(vt: VirtualTime) -> None:
    pacer = vt.pacer(per_destination=None, per_workspace=Rate(per_second=1.0, burst=1))
    log: list[tuple[str, float]] = []

    async def rate_limited_meanwhile() -> None:
        await vt.sleep(0.5)
        pacer.hold("T1", 20.0)  # a 429 arrives at 0.5 s

    await vt.run(
        _send(pacer, vt, log, "A", "T1"), _send(pacer, vt, log, "B", "T1"), rate_limited_meanwhile()
    )
    assert log == [("A", 0.0), ("B", 20.5)]


async def test_disabled_pacer_never_sleeps(vt: VirtualTime) -> None:
    pacer = Pacer.disabled()
    console = pacer_for("console")
    for i in range(500):
        await pacer.acquire(f"C{i % 3}", "T1")
        await console.acquire("terminal", "local")
    assert pacer.tracked == 0
    assert console.per_destination is None and console.per_workspace is None


async def test_idle_buckets_are_swept(vt: VirtualTime) -> None:
    pacer = vt.pacer(
        per_destination=Rate(per_second=1.0, burst=2),
        per_workspace=Rate(per_second=10.0, burst=50),
        sweep_every=100,
    )
    for i in range(99):
        await pacer.acquire(f"D{i}", f"T{i % 3}")
    pacer.hold("D0", 1.0)
    assert pacer.tracked == 99 + 3 + 1
    vt.now += 5.0  # every bucket has refilled; the hold has ended
    await pacer.acquire("fresh", "T0")  # the 100th acquire sweeps
    assert pacer.tracked == 2  # only the buckets just used
    assert pacer.sweep() == 0


async def test_a_busy_destination_is_not_swept(vt: VirtualTime) -> None:
    pacer = vt.pacer(per_destination=Rate(per_second=1.0, burst=1), per_workspace=None)
    await pacer.acquire("A", "T1")
    assert pacer.sweep() == 0  # its token is not back yet
    vt.now += 1.0
    assert pacer.sweep() == 1


def test_platform_defaults() -> None:
    slack_dest, slack_ws = PLATFORM_PACING["slack"]
    assert slack_dest == Rate(per_second=1.0, burst=3)
    assert slack_ws is not None and slack_ws.per_second > slack_dest.per_second
    discord_dest, discord_global = PLATFORM_PACING["discord"]
    assert discord_dest == Rate(per_second=1.0, burst=5)  # 5 per 5 s
    assert discord_global == Rate(per_second=50.0, burst=50)
    assert PLATFORM_PACING["console"] == (None, None)
    assert pacer_for("slack").per_destination == slack_dest
    with pytest.raises(ValueError, match="slak"):
        pacer_for("slak")
