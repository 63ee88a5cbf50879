"""The wake-up timer and the scaled clock.

ScaledClock is tested on a fake monotonic clock. WakeTimer runs a real APScheduler, so
its tests wait for real, briefly: the timers use speed 1000 (a minute of clock time is
60 ms) and every wait is bounded, keeping the whole file well under a second.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from core.schedule.timer import ScaledClock, WakeTimer
from core.testing import FakeClock

START = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
SPEED = 1000.0  # one clock minute is 60 real milliseconds


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


class Recorder:
    """An ``on_wake`` that counts runs and lets a test wait for the n-th."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self._changed = asyncio.Event()

    async def __call__(self) -> None:
        self.times.append(time.monotonic())
        self._changed.set()

    async def wait_for(self, runs: int, within: float = 1.0) -> None:
        async def until() -> None:
            while len(self.times) < runs:
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(until(), within)


async def eventually(condition: Callable[[], bool], within: float = 1.0) -> None:
    """Wait until ``condition`` holds, polling briefly; fail after ``within`` seconds."""
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "condition never became true"
        await asyncio.sleep(0.002)


# ------------------------------------------------------------------ ScaledClock


def test_scaled_clock_runs_faster_than_real_time() -> None:
    mono = FakeMonotonic()
    clock = ScaledClock(3600, start=START, monotonic=mono)
    assert clock.now() == START
    mono.now += 1.0
    assert clock.now() == START + timedelta(hours=1)
    mono.now += 0.5
    assert clock.now() == START + timedelta(hours=1, minutes=30)
    assert clock.now().tzinfo == UTC


def test_scaled_clock_converts_clock_delays_to_real_seconds() -> None:
    mono = FakeMonotonic()
    clock = ScaledClock(3600, start=START, monotonic=mono)
    assert clock.real_seconds_until(START + timedelta(hours=2)) == pytest.approx(2.0)
    mono.now += 1.0
    assert clock.real_seconds_until(START + timedelta(hours=2)) == pytest.approx(1.0)
    assert clock.real_seconds_until(START) == 0.0  # already past: no negative waits


def test_scaled_clock_starts_from_its_base_clock_by_default() -> None:
    base = FakeClock(START)
    mono = FakeMonotonic()
    clock = ScaledClock(60, base=base, monotonic=mono)
    base.advance(timedelta(days=1))  # only read once, at construction
    mono.now += 2.0
    assert clock.now() == START + timedelta(minutes=2)
    assert abs(ScaledClock(1).now() - datetime.now(UTC)) < timedelta(seconds=5)


def test_scaled_clock_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError):
        ScaledClock(0, start=START)
    with pytest.raises(ValueError):
        ScaledClock(10, start=datetime(2026, 11, 21, 10, 0))


# -------------------------------------------------------------------- WakeTimer


async def test_wake_at_fires_on_wake_at_the_scaled_time() -> None:
    clock, wake = FakeClock(START), Recorder()
    timer = WakeTimer(wake, clock=clock, speed=SPEED)
    timer.start()
    began = time.monotonic()
    timer.wake_at(START + timedelta(minutes=1))
    await wake.wait_for(1)
    assert wake.times[0] - began >= 0.05  # ~60 ms: not at once
    assert timer.next_wake is None  # the one-off wake-up is used up
    await timer.shutdown()


async def test_the_earlier_wake_up_wins() -> None:
    clock, wake = FakeClock(START), Recorder()
    timer = WakeTimer(wake, clock=clock, speed=SPEED)
    timer.start()
    timer.wake_at(START + timedelta(minutes=5))  # 300 ms
    first = timer.next_wake
    assert first is not None
    timer.wake_at(START + timedelta(hours=1))  # later: ignored
    assert timer.next_wake == first
    began = time.monotonic()
    timer.wake_at(START + timedelta(seconds=30))  # 30 ms, earlier: replaces it
    assert timer.next_wake is not None and timer.next_wake < first
    await wake.wait_for(1)
    assert wake.times[0] - began < 0.2
    assert timer.next_wake is None  # the later one was replaced, not kept alongside
    await timer.shutdown()


async def test_a_past_time_fires_promptly() -> None:
    clock, wake = FakeClock(START), Recorder()
    timer = WakeTimer(wake, clock=clock, speed=SPEED)
    timer.start()
    began = time.monotonic()
    timer.wake_at(START - timedelta(days=2))
    await wake.wait_for(1, within=0.5)
    assert wake.times[0] - began < 0.1
    await timer.shutdown()


async def test_a_wake_up_asked_for_before_start_is_kept() -> None:
    clock, wake = FakeClock(START), Recorder()
    timer = WakeTimer(wake, clock=clock, speed=SPEED)
    timer.wake_at(START + timedelta(minutes=30))
    timer.wake_at(START + timedelta(seconds=20))
    timer.start()
    await wake.wait_for(1, within=0.5)
    await timer.shutdown()


async def test_speed_defaults_to_the_scaled_clocks() -> None:
    clock = ScaledClock(SPEED, start=START)
    wake = Recorder()
    timer = WakeTimer(wake, clock=clock)
    timer.start()
    timer.wake_at(clock.now() + timedelta(minutes=1))
    await wake.wait_for(1, within=0.5)
    await timer.shutdown()


async def test_the_poll_fires_without_any_wake_up_set() -> None:
    wake = Recorder()
    timer = WakeTimer(wake, clock=FakeClock(START), poll_seconds=0.03)
    timer.start()
    await wake.wait_for(2, within=0.5)
    await timer.shutdown()


async def test_jobs_never_drop_a_late_run() -> None:
    timer = WakeTimer(Recorder(), clock=FakeClock(START), speed=SPEED)
    timer.start()
    timer.wake_at(START + timedelta(hours=1))
    jobs = timer._scheduler.get_jobs()  # inspecting the APScheduler configuration
    assert len(jobs) == 2
    for job in jobs:
        assert job.misfire_grace_time is None
        assert job.coalesce is True
        assert job.max_instances == 1
    await timer.shutdown()


async def test_overlapping_wakes_coalesce_into_one_more_run() -> None:
    release = asyncio.Event()
    running = 0
    most = 0
    runs = 0

    async def slow() -> None:
        nonlocal running, most, runs
        running += 1
        runs += 1
        most = max(most, running)
        await release.wait()
        running -= 1

    timer = WakeTimer(slow, clock=FakeClock(START), speed=SPEED)
    timer.start()
    timer.wake_now()
    await eventually(lambda: runs == 1)
    for _ in range(5):
        timer.wake_now()
    timer.wake_at(START - timedelta(minutes=5))
    await asyncio.sleep(0.01)
    assert runs == 1
    release.set()
    await eventually(lambda: runs == 2 and running == 0)
    await asyncio.sleep(0.01)
    assert (runs, most) == (2, 1)  # one more run for all six, never two at once
    await timer.shutdown()
    assert timer.runs == 2


async def test_a_failing_wake_up_is_logged_without_its_message_and_the_timer_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls = 0

    async def flaky() -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("Ann's private plan: quit my job")

    timer = WakeTimer(flaky, clock=FakeClock(START), speed=SPEED)
    timer.start()
    with caplog.at_level(logging.ERROR, logger="core.schedule.timer"):
        timer.wake_now()
        await eventually(lambda: calls == 1)
    assert timer.state == "running"
    assert "RuntimeError" in caplog.text
    assert "private plan" not in caplog.text
    timer.wake_at(START + timedelta(seconds=10))
    await eventually(lambda: calls == 2)
    await timer.shutdown()


async def test_shutdown_stops_every_wake_up() -> None:
    wake = Recorder()
    timer = WakeTimer(wake, clock=FakeClock(START), poll_seconds=0.02, speed=SPEED)
    timer.start()
    timer.wake_at(START + timedelta(seconds=30))
    await timer.shutdown()
    assert timer.state == "stopped"
    assert not timer._scheduler.running
    timer.wake_now()
    timer.wake_at(START - timedelta(hours=1))
    await asyncio.sleep(0.06)
    assert wake.times == []
    await timer.shutdown()  # twice is fine
    with pytest.raises(RuntimeError):
        timer.start()


async def test_shutdown_waits_for_a_run_or_cancels_it() -> None:
    finished: list[str] = []

    async def slow() -> None:
        await asyncio.sleep(0.02)
        finished.append("done")

    waiting = WakeTimer(slow, clock=FakeClock(START))
    waiting.start()
    waiting.wake_now()
    await asyncio.sleep(0)
    await waiting.shutdown()
    assert finished == ["done"]

    cancelled = WakeTimer(slow, clock=FakeClock(START))
    cancelled.start()
    cancelled.wake_now()
    await asyncio.sleep(0)
    await cancelled.shutdown(wait=False)
    assert finished == ["done"]


async def test_on_wake_may_shut_the_timer_down() -> None:
    timer: WakeTimer

    async def last() -> None:
        await timer.shutdown()

    timer = WakeTimer(last, clock=FakeClock(START))
    timer.start()
    timer.wake_now()
    await eventually(lambda: timer.state == "stopped")


async def test_start_needs_a_running_loop() -> None:
    timer = WakeTimer(Recorder(), clock=FakeClock(START))

    def outside_the_loop() -> None:
        timer.start()

    with pytest.raises(RuntimeError):
        await asyncio.to_thread(outside_the_loop)
    with pytest.raises(ValueError):
        WakeTimer(Recorder(), clock=FakeClock(START), poll_seconds=0)
