"""Daily aggregates of the reports (hub/reports).

Revision ID: 0017
Revises: 0016

The reports read ``report_days`` and ``report_hours`` from now on; they are kept by the projection like the other
read models, so the read models are emptied here and the running hub projects every log again from its start
(what ``hall-hub reports rebuild`` does).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

_KEEP_ALONG = ("report_tickets", "report_services", "report_ratings", "report_windows", "report_checkpoints")


def upgrade() -> None:
    op.create_table(
        "report_days",
        sa.Column("site_id", sa.String(64), primary_key=True),
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("matter", sa.String(32), primary_key=True),
        sa.Column("window_id", sa.String(64), primary_key=True),
        sa.Column("staff_id", sa.String(64), primary_key=True),
        sa.Column("issued", sa.Integer(), nullable=False),
        sa.Column("served", sa.Integer(), nullable=False),
        sa.Column("no_shows", sa.Integer(), nullable=False),
        sa.Column("transfers", sa.Integer(), nullable=False),
        sa.Column("parked", sa.Integer(), nullable=False),
        sa.Column("cancelled", sa.Integer(), nullable=False),
        sa.Column("within", sa.Integer(), nullable=False),
        sa.Column("level1", sa.Integer(), nullable=False),
        sa.Column("level2", sa.Integer(), nullable=False),
        sa.Column("level3", sa.Integer(), nullable=False),
        sa.Column("level4", sa.Integer(), nullable=False),
        sa.Column("level5", sa.Integer(), nullable=False),
        sa.Column("waits", sa.LargeBinary(), nullable=False),
        sa.Column("services", sa.LargeBinary(), nullable=False),
    )
    op.create_index("ix_report_days_day", "report_days", ["day", "site_id"])
    op.create_table(
        "report_hours",
        sa.Column("site_id", sa.String(64), primary_key=True),
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("hour", sa.Integer(), primary_key=True),
        sa.Column("arrivals", sa.Integer(), nullable=False),
        sa.Column("waited", sa.BigInteger(), nullable=False),
        sa.Column("called", sa.Integer(), nullable=False),
    )
    op.create_index("ix_report_hours_day", "report_hours", ["day", "site_id"])
    for table in _KEEP_ALONG:  # projected again from the start, the new tables with them
        op.execute(sa.text(f"DELETE FROM {table}"))


def downgrade() -> None:
    op.drop_table("report_hours")
    op.drop_table("report_days")
