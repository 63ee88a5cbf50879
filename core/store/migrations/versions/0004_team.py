"""Team coaching channels: team plans, their steps, each channel's digest; share consent.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22

A team plan outlives its dialogue (claims, nudges and digests go on), so it has a row of
its own beside the session. A step's owner and author are columns, not JSON inside the
facilitator's session, so that forgetting a person can make their steps unowned with
one UPDATE. ``preferences.share`` is each person's consent to celebrate their done team
steps in the channel.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamp(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "team_plans",
        sa.Column("session_id", sa.String(), nullable=False),
        sa.Column("place", sa.String(), nullable=False),
        sa.Column("channel", sa.String(), nullable=False),
        sa.Column("workspace", sa.String(), nullable=False),
        sa.Column("facilitator", sa.String(), nullable=True),
        sa.Column("facilitator_name", sa.Text(), nullable=False),
        sa.Column("method", sa.String(), nullable=False),
        sa.Column("topic", sa.Text(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        _timestamp("created_at"),
        _timestamp("ended_at", nullable=True),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["sessions.id"],
            name="fk_team_plans_session_id_sessions",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("session_id", name="pk_team_plans"),
    )
    for column in ("place", "channel", "workspace", "facilitator"):
        op.create_index(f"ix_team_plans_{column}", "team_plans", [column])
    op.create_table(
        "team_steps",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("session_id", sa.String(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("author", sa.String(), nullable=True),
        sa.Column("author_name", sa.Text(), nullable=False),
        sa.Column("owner", sa.String(), nullable=True),
        sa.Column("owner_name", sa.Text(), nullable=False),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["team_plans.session_id"],
            name="fk_team_steps_session_id_team_plans",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_team_steps"),
    )
    for column in ("session_id", "author", "owner"):
        op.create_index(f"ix_team_steps_{column}", "team_steps", [column])
    op.create_table(
        "team_channels",
        sa.Column("channel", sa.String(), nullable=False),
        sa.Column("digest_day", sa.Integer(), nullable=False),
        sa.Column("digest_time", sa.String(), nullable=False),
        sa.Column("tz", sa.String(), nullable=False),
        sa.Column("digest_on", sa.Boolean(), nullable=False),
        _timestamp("updated_at"),
        sa.PrimaryKeyConstraint("channel", name="pk_team_channels"),
    )
    op.add_column(
        "preferences",
        sa.Column("share", sa.String(), nullable=False, server_default="ask"),
    )


def downgrade() -> None:
    with op.batch_alter_table("preferences") as batch:
        batch.drop_column("share")
    op.drop_table("team_channels")
    op.drop_table("team_steps")
    op.drop_table("team_plans")
