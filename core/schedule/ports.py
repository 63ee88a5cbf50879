"""What scheduling needs from the database: :class:`NudgeStore`.

Implemented by :class:`core.store.nudges.SqlNudgeStore` on SQLite and PostgreSQL. Every
method that writes returns after its transaction committed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol

from core.ports import SessionRecord
from core.schedule.model import (
    NudgeDraft,
    NudgeOutcome,
    NudgeRecord,
    NudgeStatus,
    PartnerLink,
    Preferences,
)

__all__ = ["NudgeStore"]


class NudgeStore(Protocol):
    """Nudge rows, preferences and partner links."""

    # -- scheduling ----------------------------------------------------------------------

    async def add_nudges(self, drafts: Sequence[NudgeDraft], *, now: datetime) -> int:
        """Insert the drafts whose key is new; return how many were inserted.

        An existing key (whatever its status) is left untouched: that is the dedupe.
        """
        ...

    async def replace_nudges(
        self, *, target: str, drafts: Sequence[NudgeDraft], now: datetime
    ) -> None:
        """Make ``drafts`` the pending nudges of ``target``, in one transaction.

        Pending nudges of ``target`` whose key is not among the drafts become
        ``cancelled``; a draft whose key is pending or cancelled updates that row and
        makes it pending (a settings change moves a nudge without changing its key;
        "nudges on" brings back what "nudges off" cancelled); drafts with a new key are
        inserted; claimed, sent, failed and skipped rows are left alone. An empty
        ``drafts`` cancels every pending nudge of the target.
        """
        ...

    async def cancel_nudges(
        self,
        *,
        now: datetime,
        owner: str | None = None,
        target: str | None = None,
        session_id: str | None = None,
        kinds: Sequence[str] | None = None,
    ) -> int:
        """Cancel the pending nudges matching every given filter; return how many."""
        ...

    async def reschedule(self, key: str, *, due_at: datetime, now: datetime) -> bool:
        """Move a pending nudge to ``due_at``; ``False`` if it is not pending."""
        ...

    # -- delivery ------------------------------------------------------------------------

    async def claim_due(
        self, *, now: datetime, worker: str, lease: timedelta, limit: int
    ) -> list[NudgeRecord]:
        """Atomically claim up to ``limit`` due nudges for ``worker``, earliest first.

        Due means ``pending`` with ``due_at <= now``, or ``claimed`` with an expired
        ``claim_until`` (its dispatcher died). Claimed rows get ``status='claimed'``,
        ``claimed_by=worker``, ``claim_until=now+lease`` and ``attempts+1``. Concurrent
        callers, in any process, never get the same row while its claim holds
        (PostgreSQL: ``FOR UPDATE SKIP LOCKED``; SQLite: one writer).
        """
        ...

    async def finish(self, outcomes: Sequence[NudgeOutcome], *, worker: str, now: datetime) -> int:
        """Record outcomes of nudges ``worker`` claimed, in one transaction.

        An outcome applies only while the row is still claimed by ``worker`` (a claim
        that expired and was taken over is not overwritten); its ``then`` drafts are
        inserted (dedupe as in :meth:`add_nudges`) only when it applies. Returns how
        many outcomes applied. ``retry`` sets the row back to ``pending`` at
        ``retry_at``; ``sent`` sets ``sent_at=now``.
        """
        ...

    async def release(self, *, worker: str, now: datetime) -> int:
        """Put every row ``worker`` still claims back to ``pending`` (a clean shutdown)."""
        ...

    async def next_due(self) -> datetime | None:
        """When the next nudge may be claimed: the earliest pending ``due_at`` or
        claimed ``claim_until``; ``None`` when there is nothing to do."""
        ...

    # -- reading -------------------------------------------------------------------------

    async def get_nudge(self, key: str) -> NudgeRecord | None: ...

    async def list_nudges(
        self,
        *,
        owner: str | None = None,
        target: str | None = None,
        statuses: Sequence[NudgeStatus] | None = None,
        limit: int = 100,
    ) -> list[NudgeRecord]:
        """Nudges ordered by ``due_at`` then key."""
        ...

    async def count_nudges(self) -> dict[str, int]:
        """How many rows in each status (every status present, zero if none)."""
        ...

    async def silent_sessions(
        self, *, before: datetime, exclude_methods: Sequence[str], limit: int
    ) -> list[SessionRecord]:
        """Active sessions last updated before ``before`` that have no ``resume:<id>``
        nudge yet (of any status), oldest first."""
        ...

    # -- preferences and partners -------------------------------------------------------

    async def get_preferences(self, owner: str) -> Preferences | None: ...

    async def get_preferences_many(self, owners: Sequence[str]) -> dict[str, Preferences]:
        """Saved settings by owner, for those of ``owners`` who have any."""
        ...

    async def save_preferences(self, prefs: Preferences, *, now: datetime) -> None: ...

    async def get_partner(self, owner: str) -> PartnerLink | None:
        """The partner link ``owner`` made, if any."""
        ...

    async def partners_of(self, partner: str) -> list[PartnerLink]:
        """Links in which ``partner`` was named, any status."""
        ...

    async def save_partner(self, link: PartnerLink) -> None:
        """Insert or replace the owner's link (one per owner)."""
        ...

    async def delete_partner(self, owner: str) -> bool: ...
