"""Accountability nudges: nudges, preferences, partners; commitments.slips.

Revision ID: 0002
Revises: 0001
Create Date: 2025-12-01

``nudges`` is the only durable schedule (``core.schedule``): its primary key is the
dedupe key. ``commitments.slips`` counts how often a commitment was moved to a later
date; existing rows get 0 from the server default, so the column is added in place on
both databases (SQLite allows ``ADD COLUMN ... NOT NULL`` with a constant default).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamp(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "nudges",
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("owner", sa.String(), nullable=False),
        sa.Column("target", sa.String(), nullable=False),
        sa.Column("session_id", sa.String(), nullable=True),
        _timestamp("due_at"),
        sa.Column("tz", sa.String(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_by", sa.String(), nullable=True),
        _timestamp("claim_until", nullable=True),
        _timestamp("sent_at", nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["sessions.id"],
            name="fk_nudges_session_id_sessions",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("key", name="pk_nudges"),
    )
    op.create_index("ix_nudges_status_due_at", "nudges", ["status", "due_at"])
    op.create_index("ix_nudges_owner", "nudges", ["owner"])
    op.create_index("ix_nudges_target", "nudges", ["target"])
    op.create_index("ix_nudges_session_id", "nudges", ["session_id"])
    op.create_table(
        "preferences",
        sa.Column("owner", sa.String(), nullable=False),
        sa.Column("tz", sa.String(), nullable=True),
        sa.Column("quiet_start", sa.String(), nullable=True),
        sa.Column("quiet_end", sa.String(), nullable=True),
        sa.Column("working_days", sa.String(), nullable=False),
        sa.Column("lead_minutes", sa.Integer(), nullable=True),
        sa.Column("morning", sa.String(), nullable=False),
        _timestamp("paused_until", nullable=True),
        sa.Column("nudges", sa.Boolean(), nullable=False),
        _timestamp("updated_at"),
        sa.PrimaryKeyConstraint("owner", name="pk_preferences"),
    )
    op.create_table(
        "partners",
        sa.Column("owner", sa.String(), nullable=False),
        sa.Column("partner", sa.String(), nullable=False),
        sa.Column("partner_name", sa.Text(), nullable=False),
        sa.Column("owner_name", sa.Text(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        sa.PrimaryKeyConstraint("owner", name="pk_partners"),
    )
    op.create_index("ix_partners_partner", "partners", ["partner"])
    op.add_column(
        "commitments",
        sa.Column("slips", sa.Integer(), nullable=False, server_default="0"),
    )


def downgrade() -> None:
    # Batch mode: SQLite before 3.35 cannot DROP COLUMN, so Alembic copies the table
    # there; PostgreSQL runs a plain ALTER TABLE.
    with op.batch_alter_table("commitments") as batch:
        batch.drop_column("slips")
    op.drop_table("partners")
    op.drop_table("preferences")
    op.drop_table("nudges")
