"""Per-platform pacing for the delivery path: send no faster than each platform allows.

A burst of due nudges (the morning after quiet hours, a dispatcher catching up after a
restart) would otherwise hit the platform all at once and come back as 429s. Slack's
``chat.postMessage`` allows about one message per second per channel (short bursts are
tolerated) plus a workspace-wide limit; Discord allows 5 messages per 5 seconds per
channel and 50 requests per second per bot. :class:`Pacer` spaces sends to stay under
both levels, and :meth:`Pacer.hold` obeys a ``Retry-After`` when a limit is hit anyway.

Time is injected (``monotonic`` and ``sleep``) so tests can run hours of pacing in
microseconds of real time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Final

__all__ = [
    "PLATFORM_PACING",
    "Pacer",
    "Rate",
    "TokenBucket",
    "pacer_for",
]

_EPSILON: Final = 1e-9
"""Waits shorter than this are none: float rounding must never make a caller sleep for
1e-17 s over and over (with a fake clock such a sleep may not even move time)."""


@dataclass(frozen=True, slots=True)
class Rate:
    """A sustained rate of ``per_second`` sends, after an initial ``burst`` of sends."""

    per_second: float
    burst: int

    def __post_init__(self) -> None:
        if not self.per_second > 0:
            raise ValueError(f"per_second must be positive, got {self.per_second!r}")
        if self.burst < 1:
            raise ValueError(f"burst must be at least 1, got {self.burst!r}")


class TokenBucket:
    """A token bucket that hands out *reservations*, so waiting callers queue fairly.

    Kept as a "theoretical arrival time" (the GCRA form of a token bucket): ``_tat`` is
    when the bucket will be full again. Taking a token pushes it one interval further,
    even when the bucket is empty, so the n-th caller past the burst waits exactly n
    intervals instead of every caller racing for the next token.
    """

    __slots__ = ("_interval", "_tat", "_tolerance", "rate")

    def __init__(self, rate: Rate, now: float) -> None:
        self.rate = rate
        self._interval = 1.0 / rate.per_second
        # How far ahead of ``now`` the full-again time may run before a caller must wait.
        self._tolerance = (rate.burst - 1) * self._interval
        self._tat = now

    def wait_time(self, now: float) -> float:
        """Seconds until a token is free, without taking it (0 when one is free now)."""
        wait = self._tat - self._tolerance - now
        return wait if wait > _EPSILON else 0.0

    def reserve(self, now: float) -> float:
        """Take one token; return how long the caller must wait before sending.

        ``now`` may lie in the future: the token is then accounted as taken then (the
        pacer does this when a send is delayed by another limit, so this bucket is not
        fooled into thinking the send happened earlier than it did).
        """
        wait = self.wait_time(now)
        self._tat = max(self._tat, now) + self._interval
        return wait

    def is_full(self, now: float) -> bool:
        """Whether the bucket has refilled completely: forgetting it changes nothing."""
        return self._tat <= now


@dataclass(slots=True)
class _Lane:
    """One destination: its bucket, and a lock so its sends go out one at a time, in order."""

    bucket: TokenBucket
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0  # acquires in progress or waiting; a lane in use is never swept


class Pacer:
    """Waits before each send so a destination and its workspace stay under their rates.

    ``destination`` is a DM or channel; ``workspace`` is the wider bucket the platform
    counts (a Slack team, or for Discord a constant global key, since its global limit is
    per bot). Either rate may be ``None`` for no limit at that level.

    Sends to one destination go out one at a time in arrival order. The workspace token
    is reserved only once the destination is ready, and the destination's token is then
    accounted at the real send time, so a send delayed by one level never lets the next
    one through early at the other level.

    Buckets of idle keys are dropped once full (every ``sweep_every`` acquires), so a bot
    that messages a million people over a month keeps only the recently active ones.
    """

    def __init__(
        self,
        *,
        per_destination: Rate | None,
        per_workspace: Rate | None,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        sweep_every: int = 1024,
    ) -> None:
        if sweep_every < 1:
            raise ValueError("sweep_every must be at least 1")
        self.per_destination = per_destination
        self.per_workspace = per_workspace
        self._monotonic = monotonic
        self._sleep = sleep
        self._sweep_every = sweep_every
        self._lanes: dict[str, _Lane] = {}
        self._workspaces: dict[str, TokenBucket] = {}
        self._holds: dict[str, float] = {}
        self._acquires = 0

    @classmethod
    def disabled(cls) -> Pacer:
        """A pacer with no limits: ``acquire`` returns at once (the console, tests).

        A :meth:`hold` is still obeyed: a Retry-After is the platform speaking, but an
        unpaced platform never sends one.
        """
        return cls(per_destination=None, per_workspace=None)

    # ------------------------------------------------------------------ public

    async def acquire(self, destination: str, workspace: str) -> None:
        """Wait until one message may be sent to ``destination`` in ``workspace``."""
        self._acquires += 1
        if self._acquires % self._sweep_every == 0:
            self.sweep()
        if self.per_destination is None:
            await self._wait_holds(destination, workspace)
            await self._take_workspace(destination, workspace)
            return
        lane = self._lanes.get(destination)
        if lane is None:
            lane = _Lane(TokenBucket(self.per_destination, self._monotonic()))
            self._lanes[destination] = lane
        lane.users += 1
        try:
            async with lane.lock:
                while True:
                    await self._wait_holds(destination, workspace)
                    wait = lane.bucket.wait_time(self._monotonic())
                    if not wait:
                        break
                    await self._sleep(wait)
                await self._take_workspace(destination, workspace, lane.bucket)
        finally:
            lane.users -= 1

    def hold(self, key: str, seconds: float) -> None:
        """Send nothing to ``key`` (a destination or a workspace) for ``seconds``.

        Called with a platform's Retry-After; a longer hold already in place is kept.
        """
        if seconds <= 0:
            return
        until = self._monotonic() + seconds
        if until > self._holds.get(key, float("-inf")):
            self._holds[key] = until

    def sweep(self) -> int:
        """Forget full, idle buckets and ended holds; return how many were dropped."""
        now = self._monotonic()
        idle_lanes = [
            key for key, lane in self._lanes.items() if not lane.users and lane.bucket.is_full(now)
        ]
        idle_workspaces = [key for key, b in self._workspaces.items() if b.is_full(now)]
        ended = [key for key, until in self._holds.items() if until <= now]
        for key in idle_lanes:
            del self._lanes[key]
        for key in idle_workspaces:
            del self._workspaces[key]
        for key in ended:
            del self._holds[key]
        return len(idle_lanes) + len(idle_workspaces) + len(ended)

    @property
    def tracked(self) -> int:
        """How many buckets and holds are kept: bounded by recent activity, not history."""
        return len(self._lanes) + len(self._workspaces) + len(self._holds)

    # ----------------------------------------------------------------- helpers

    async def _wait_holds(self, destination: str, workspace: str) -> None:
        if not self._holds:
            return
        while True:
            until = max(
                self._holds.get(destination, float("-inf")),
                self._holds.get(workspace, float("-inf")),
            )
            wait = until - self._monotonic()
            if wait <= _EPSILON:
                return
            await self._sleep(wait)

    async def _take_workspace(
        self, destination: str, workspace: str, lane_bucket: TokenBucket | None = None
    ) -> None:
        """Reserve the workspace token (and the destination's, at the same send time),
        then wait for it."""
        now = self._monotonic()
        wait = 0.0
        if self.per_workspace is not None:
            bucket = self._workspaces.get(workspace)
            if bucket is None:
                bucket = self._workspaces[workspace] = TokenBucket(self.per_workspace, now)
            wait = bucket.reserve(now)
        if lane_bucket is not None:
            lane_bucket.reserve(now + wait)
        if wait:
            await self._sleep(wait)
            # A 429 elsewhere in the workspace may have set a hold while we slept.
            await self._wait_holds(destination, workspace)


PLATFORM_PACING: Final[dict[str, tuple[Rate | None, Rate | None]]] = {
    # chat.postMessage: "one message per second per channel", short bursts tolerated, and
    # a workspace-wide limit of several hundred messages a minute; 4/s is 240 a minute.
    "slack": (Rate(per_second=1.0, burst=3), Rate(per_second=4.0, burst=20)),
    # 5 messages per 5 s per channel; 50 requests/s global per bot (the workspace key
    # for Discord should be one constant, e.g. "global", not the guild).
    "discord": (Rate(per_second=1.0, burst=5), Rate(per_second=50.0, burst=50)),
    # A terminal has no rate limit.
    "console": (None, None),
}
"""``(per_destination, per_workspace)`` rates for each platform."""


def pacer_for(platform: str) -> Pacer:
    """A fresh pacer with :data:`PLATFORM_PACING`'s defaults for ``platform``.

    An unknown platform is an error rather than "no pacing": a typo must not quietly
    send unpaced to a platform that bans bots for flooding.
    """
    try:
        per_destination, per_workspace = PLATFORM_PACING[platform]
    except KeyError:
        known = ", ".join(sorted(PLATFORM_PACING))
        raise ValueError(f"no pacing defaults for platform {platform!r} (known: {known})") from None
    if per_destination is None and per_workspace is None:
        return Pacer.disabled()
    return Pacer(per_destination=per_destination, per_workspace=per_workspace)
