"""A number with its noun, as people read it: "1 step", "2 steps", "1,200 steps".

One place for it, so the forget receipt, the prune summary and the team digest say counts
the same way (regular English plurals only: every noun we count takes an "s").
"""

from __future__ import annotations

__all__ = ["counted"]


def counted(count: int, noun: str) -> str:
    """``count`` and ``noun``, plural unless the count is one, with thousands separated."""
    return f"{count:,} {noun}" if count == 1 else f"{count:,} {noun}s"
