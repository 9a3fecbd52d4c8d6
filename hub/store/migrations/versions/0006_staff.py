"""Counter staff who sign in at windows: an argon2 hash of each PIN, never the PIN.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "staff",
        sa.Column("staff_id", sa.String(32), primary_key=True),
        sa.Column("site_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("pin_hash", sa.String(255), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("staff")
