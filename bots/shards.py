"""Which Discord gateway shards this process runs: ``DISCORD_SHARD_COUNT`` and
``DISCORD_SHARD_IDS``.

Discord splits a bot's servers into shards (server ``g`` is on shard
``(g >> 22) % shard_count``); each shard is one gateway connection, and every shard must
be connected by exactly one process. Several replicas share the load by each running a
range of shards: ``DISCORD_SHARD_COUNT=4`` everywhere, ``DISCORD_SHARD_IDS=0-1`` on one
and ``2-3`` on the other. Kept apart from :mod:`bots.discord` (and discord.py) so that
``breakthrough doctor`` can check the same rules cheaply.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

__all__ = ["ShardError", "Shards", "parse_shards"]

_ITEM: Final = re.compile(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?")


class ShardError(ValueError):
    """The shard settings are not usable; the message names the variable and the fix."""


@dataclass(frozen=True, slots=True)
class Shards:
    """``count`` ``None``: no sharding settings (one connection for every server)."""

    count: int | None = None
    ids: tuple[int, ...] | None = None
    """The shards this process runs; ``None``: all of ``count``."""

    @property
    def sharded(self) -> bool:
        return self.count is not None


def parse_shards(count: int | None, ids: str | None) -> Shards:
    """Check ``DISCORD_SHARD_COUNT`` and ``DISCORD_SHARD_IDS`` (``"0-3"``, ``"0,2"``,
    ``"0-1,4"``) together; raise :class:`ShardError` saying what to change."""
    text = (ids or "").strip()
    if count is not None and count < 1:
        raise ShardError(f"DISCORD_SHARD_COUNT must be 1 or more (it is {count}).")
    if not text:
        return Shards(count=count)
    if count is None:
        raise ShardError(
            "DISCORD_SHARD_IDS needs DISCORD_SHARD_COUNT: set how many shards the bot has "
            "in all (the same number in every process), e.g. DISCORD_SHARD_COUNT=4."
        )
    chosen: set[int] = set()
    for item in text.split(","):
        found = _ITEM.fullmatch(item)
        if found is None:
            raise ShardError(
                f"DISCORD_SHARD_IDS={text!r} is not a list of shard numbers: write a range "
                "like 0-3, a list like 0,2, or both like 0-1,4."
            )
        first = int(found.group(1))
        last = int(found.group(2)) if found.group(2) is not None else first
        if last < first:
            raise ShardError(
                f"DISCORD_SHARD_IDS has the range {first}-{last}, which goes down: "
                f"write {last}-{first}."
            )
        if last >= count:
            raise ShardError(
                f"DISCORD_SHARD_IDS includes shard {last}, but DISCORD_SHARD_COUNT is {count}: "
                f"shards are numbered 0 to {count - 1}."
            )
        chosen.update(range(first, last + 1))
    return Shards(count=count, ids=tuple(sorted(chosen)))
