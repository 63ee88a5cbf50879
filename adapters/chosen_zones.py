"""The time zone each person chose, cached for a minute, for every adapter.

Every message a person sends needs their zone ("tomorrow at 9" is their 9), and the zone
they chose with ``settings tz …`` lives in the database. Reading it on every message cost
a query per turn (measured: it halved Discord's throughput), so each process trusts what
it read for a minute; a change made through this process is seen at once
(:meth:`ChosenZones.forget`), one made through another replica within the minute.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Final

__all__ = ["CHOICE_TTL", "ChosenZones"]

CHOICE_TTL: Final = 60.0
"""Seconds a chosen zone is trusted without asking the database again."""
_SIZE: Final = 50_000


class ChosenZones:
    """``await zones.get(owner_key)``: the zone that person chose, or ``None``."""

    def __init__(
        self,
        lookup: Callable[[str], Awaitable[str | None]],
        *,
        ttl: float = CHOICE_TTL,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lookup = lookup
        self._ttl = ttl
        self._monotonic = monotonic
        self._zones: OrderedDict[str, tuple[float, str | None]] = OrderedDict()

    async def get(self, owner: str) -> str | None:
        now = self._monotonic()
        cached = self._zones.get(owner)
        if cached is not None and now - cached[0] < self._ttl:
            return cached[1]
        tz = await self._lookup(owner)
        self._zones[owner] = (now, tz)
        self._zones.move_to_end(owner)
        if len(self._zones) > _SIZE:
            self._zones.popitem(last=False)
        return tz

    def forget(self, owner: str) -> None:
        """Drop one person's zone (they changed their settings, or asked to be forgotten)."""
        self._zones.pop(owner, None)

    def forget_prefix(self, prefix: str) -> None:
        """Drop the zones of every owner whose key starts with ``prefix`` (a workspace)."""
        for owner in [k for k in self._zones if k.startswith(prefix)]:
            del self._zones[owner]
