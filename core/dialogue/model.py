"""Who is talking and where: the two facts every turn carries.

They are plain values so that the same conversation can be replayed through the
console, Slack and Discord and compared.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Actor", "Place"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Place:
    """Where a conversation happens.

    ``workspace`` is the Slack team, the Discord guild, or ``"dm"``; ``thread`` is the
    thread a session runs in (a Slack ``thread_ts``, a Discord thread id), or ``None``
    for the channel itself.
    """

    platform: str
    workspace: str
    channel: str
    thread: str | None = None

    def key(self) -> str:
        """A stable text key, used to find the session that lives in this place."""
        return f"{self.platform}:{self.workspace}:{self.channel}:{self.thread or ''}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Actor:
    """A person on one platform. ``tz`` is their IANA time zone when the platform knows it."""

    platform: str
    workspace: str
    user_id: str
    display_name: str = ""
    tz: str | None = None

    def key(self) -> str:
        """A stable text key for the person: their sessions and commitments hang off it."""
        return f"{self.platform}:{self.workspace}:{self.user_id}"
