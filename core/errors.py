"""The exception root of the core, so callers can catch Breakthrough's own failures only."""

from __future__ import annotations

__all__ = ["BreakthroughError"]


class BreakthroughError(Exception):
    """Base of every error raised on purpose by Breakthrough."""
