"""The exception root of the core, and what a messenger may raise when delivery fails."""

from __future__ import annotations

__all__ = ["BreakthroughError", "DeliveryDeferred", "DeliveryRefused"]


class BreakthroughError(Exception):
    """Base of every error raised on purpose by Breakthrough."""


class DeliveryDeferred(BreakthroughError):
    """The platform asked us to wait (HTTP 429 with Retry-After): send it again later.

    ``scope`` says what is rate limited: ``"destination"`` (one channel or DM) or
    ``"workspace"`` (the whole team or the bot's global limit), so the dispatcher pauses
    exactly the deliveries that would hit the same limit.
    """

    def __init__(self, retry_after: float, *, scope: str = "destination") -> None:
        super().__init__(f"rate limited; retry after {retry_after:.1f} s ({scope})")
        self.retry_after = max(0.0, retry_after)
        self.scope = scope


class DeliveryRefused(BreakthroughError):
    """The platform will not deliver this, ever (a DM that cannot be opened, a user who
    left): record it as failed instead of retrying forever."""
