"""Service experience officers, their visits and findings (hub/officers).

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "officers",
        sa.Column("officer_id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("phone_masked", sa.String(16), nullable=False),
        sa.Column("phone_hash", sa.String(64), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("enrolled_by", sa.String(64), nullable=False),
        sa.Column("enrolled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("code_hash", name="uq_officers_code_hash"),
    )
    op.create_table(
        "officer_visits",
        sa.Column("ticket_id", sa.String(64), primary_key=True),
        sa.Column("site_id", sa.String(64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("issued_seq", sa.BigInteger(), nullable=False),
        sa.Column("officer_id", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("findings", sa.Text(), nullable=True),
        sa.Column("findings_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_officer_visits_day", "officer_visits", ["day"])
    op.create_table(
        "officer_bookings",
        sa.Column("booking_id", sa.String(64), primary_key=True),
        sa.Column("site_id", sa.String(64), nullable=False),
        sa.Column("officer_id", sa.String(32), nullable=False),
        sa.Column("booked_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("officer_bookings")
    op.drop_index("ix_officer_visits_day", table_name="officer_visits")
    op.drop_table("officer_visits")
    op.drop_table("officers")
