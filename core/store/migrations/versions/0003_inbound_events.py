"""Inbound events already handled, for exactly-once processing of platform retries.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21

Slack redelivers an event it did not see acknowledged in time (same ``event_id``, with
``X-Slack-Retry-Num``), and with several replicas behind a load balancer the retry may
reach a different process. A primary key in the shared database is what makes "seen
before" true for every replica; ``seen_at`` lets old keys be pruned.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "inbound_events",
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_inbound_events"),
    )
    op.create_index("ix_inbound_events_seen_at", "inbound_events", ["seen_at"])


def downgrade() -> None:
    op.drop_index("ix_inbound_events_seen_at", table_name="inbound_events")
    op.drop_table("inbound_events")
