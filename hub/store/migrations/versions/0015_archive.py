"""The electronic archive of documents handed in at kiosks (hub/archive).

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "archive_cases",
        sa.Column("case_id", sa.String(32), primary_key=True),
        sa.Column("case_number", sa.String(40), nullable=False),
        sa.Column("site_id", sa.String(64), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.String(64), nullable=False),
        sa.Column("matter", sa.String(64), nullable=False),
        sa.Column("ticket_id", sa.String(64), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("materials", sa.Text(), nullable=False),
        sa.Column("citizen_ref", sa.String(64), nullable=True),
        sa.Column("commitment_text", sa.String(64), nullable=True),
        sa.Column("commitment_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.UniqueConstraint("case_number", name="uq_archive_cases_case_number"),
        sa.UniqueConstraint("site_id", "submission_id", name="uq_archive_cases_submission"),
        sa.UniqueConstraint("site_id", "day", "seq", name="uq_archive_cases_day_seq"),
        sa.UniqueConstraint("token_hash", name="uq_archive_cases_token_hash"),
    )
    op.create_index("ix_archive_cases_site_created", "archive_cases", ["site_id", "created_at"])
    op.create_index("ix_archive_cases_created", "archive_cases", ["created_at"])
    op.create_index("ix_archive_cases_ticket", "archive_cases", ["site_id", "ticket_id"])
    op.create_table(
        "archive_pages",
        sa.Column("case_id", sa.String(32), primary_key=True),
        sa.Column("material", sa.Integer(), primary_key=True),
        sa.Column("page", sa.Integer(), primary_key=True),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("shape", sa.String(16), nullable=False),
        sa.Column("stored_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "archive_denied",
        sa.Column("citizen_ref", sa.String(64), primary_key=True),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("archive_denied")
    op.drop_table("archive_pages")
    op.drop_index("ix_archive_cases_ticket", table_name="archive_cases")
    op.drop_index("ix_archive_cases_created", table_name="archive_cases")
    op.drop_index("ix_archive_cases_site_created", table_name="archive_cases")
    op.drop_table("archive_cases")
