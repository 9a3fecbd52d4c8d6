"""The reports' read models (hub/reports): projection tables kept from the event log.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "report_tickets",
        sa.Column("site_id", sa.String(64), primary_key=True),
        sa.Column("ticket_id", sa.String(64), primary_key=True),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("matter", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("priority", sa.String(16), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("issue_hour", sa.Integer(), nullable=False),
        sa.Column("called_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("wait_seconds", sa.Integer(), nullable=True),
        sa.Column("window_id", sa.String(64), nullable=True),
        sa.Column("staff_id", sa.String(64), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("transfers", sa.Integer(), nullable=False),
        sa.Column("parks", sa.Integer(), nullable=False),
        sa.Column("serving_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("serving_window", sa.String(64), nullable=True),
    )
    op.create_index("ix_report_tickets_day", "report_tickets", ["day", "site_id"])
    op.create_table(
        "report_services",
        sa.Column("site_id", sa.String(64), primary_key=True),
        sa.Column("seq", sa.BigInteger(), primary_key=True),
        sa.Column("ticket_id", sa.String(64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("window_id", sa.String(64), nullable=False),
        sa.Column("staff_id", sa.String(64), nullable=True),
        sa.Column("matter", sa.String(32), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seconds", sa.Integer(), nullable=False),
    )
    op.create_index("ix_report_services_day", "report_services", ["day", "site_id"])
    op.create_table(
        "report_ratings",
        sa.Column("site_id", sa.String(64), primary_key=True),
        sa.Column("seq", sa.BigInteger(), primary_key=True),
        sa.Column("ticket_id", sa.String(64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("window_id", sa.String(64), nullable=False),
        sa.Column("staff_id", sa.String(64), nullable=True),
        sa.Column("matter", sa.String(32), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("rated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_report_ratings_day", "report_ratings", ["day", "site_id"])
    op.create_table(
        "report_windows",
        sa.Column("site_id", sa.String(64), primary_key=True),
        sa.Column("window_id", sa.String(64), primary_key=True),
        sa.Column("staff_id", sa.String(64), nullable=True),
    )
    op.create_table(
        "report_checkpoints",
        sa.Column("site_id", sa.String(64), primary_key=True),
        sa.Column("seq", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    for table in ("report_checkpoints", "report_windows", "report_ratings", "report_services", "report_tickets"):
        op.drop_table(table)
