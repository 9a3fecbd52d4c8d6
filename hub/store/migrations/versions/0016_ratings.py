"""Rating aspects, reasons and source (hub/ratings).

The reports' rating rows gain the sub-indicators (办事效率, 服务水平, 服务态度), the reasons (comma-separated
``RatingReason`` values) and where the citizen rated; a citizen's free comment from the ticket page or a kiosk is kept
in ``rating_comments`` (hub-side only: never in an event, on a device or in a log).

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_ASPECTS = ("efficiency", "service_level", "attitude")


def upgrade() -> None:
    with op.batch_alter_table("report_ratings") as table:
        for aspect in _ASPECTS:
            table.add_column(sa.Column(aspect, sa.SmallInteger(), nullable=True))
        table.add_column(sa.Column("reasons", sa.String(160), nullable=False, server_default=""))
        table.add_column(sa.Column("source", sa.String(16), nullable=False, server_default="evaluator"))
    op.create_table(
        "rating_comments",
        sa.Column("site_id", sa.String(64), primary_key=True),
        sa.Column("seq", sa.BigInteger(), primary_key=True),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("written_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("rating_comments")
    with op.batch_alter_table("report_ratings") as table:
        for column in ("source", "reasons", *reversed(_ASPECTS)):
            table.drop_column(column)
