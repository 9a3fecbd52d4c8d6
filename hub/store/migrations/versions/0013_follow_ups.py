"""Ratings follow-up and appeals (hub/follow_ups).

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def _key() -> list[sa.Column[object]]:
    return [sa.Column("site_id", sa.String(64), primary_key=True), sa.Column("seq", sa.BigInteger(), primary_key=True)]


def upgrade() -> None:
    when = sa.DateTime(timezone=True)
    op.create_table(
        "follow_ups",
        *_key(),
        sa.Column("ticket_id", sa.String(64), nullable=False),
        sa.Column("window_id", sa.String(64), nullable=False),
        sa.Column("staff_id", sa.String(64), nullable=True),
        sa.Column("matter", sa.String(64), nullable=False),
        sa.Column("level", sa.SmallInteger(), nullable=False),
        sa.Column("rated_at", when, nullable=False),
        sa.Column("opened_at", when, nullable=False),
        sa.Column("done", sa.SmallInteger(), nullable=False),
        sa.Column("due_at", when, nullable=True),
        sa.Column("due_verified", when, nullable=False),
        sa.Column("due_contacted", when, nullable=False),
        sa.Column("due_put_right", when, nullable=False),
        sa.Column("due_reported", when, nullable=True),
        sa.Column("closed_at", when, nullable=True),
        sa.Column("outcome", sa.String(16), nullable=True),
    )
    op.create_index("ix_follow_ups_site_rated", "follow_ups", ["site_id", "rated_at"])
    op.create_index("ix_follow_ups_open_due", "follow_ups", ["closed_at", "due_at"])
    op.create_table(
        "follow_up_steps",
        *_key(),
        sa.Column("step", sa.String(16), primary_key=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("answered_by", sa.String(64), nullable=False),
        sa.Column("answered_at", when, nullable=False),
    )
    op.create_table(
        "follow_up_appeals",
        *_key(),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("appealed_by", sa.String(64), nullable=False),
        sa.Column("appealed_at", when, nullable=False),
        sa.Column("decision", sa.String(16), nullable=True),
        sa.Column("decided_by", sa.String(64), nullable=True),
        sa.Column("decided_at", when, nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
    )
    op.create_table(
        "follow_up_checkpoints",
        sa.Column("site_id", sa.String(64), primary_key=True),
        sa.Column("seq", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("follow_up_checkpoints")
    op.drop_table("follow_up_appeals")
    op.drop_table("follow_up_steps")
    op.drop_index("ix_follow_ups_open_due", table_name="follow_ups")
    op.drop_index("ix_follow_ups_site_rated", table_name="follow_ups")
    op.drop_table("follow_ups")
