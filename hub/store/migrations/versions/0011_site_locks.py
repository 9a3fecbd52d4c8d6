"""Several hubs on one database: each site's lock key and epoch, and the hubs' heartbeats (``hub.cluster``).

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "site_locks",
        sa.Column("site_id", sa.String(64), primary_key=True),
        sa.Column("lock_key", sa.Integer(), nullable=False),
        sa.Column("epoch", sa.BigInteger(), nullable=False),
        sa.Column("owner", sa.String(64), nullable=True),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("lock_key", name="uq_site_locks_lock_key"),
    )
    op.create_table(
        "cluster_hubs",
        sa.Column("hub_id", sa.String(64), primary_key=True),
        sa.Column("address", sa.String(255), nullable=False),
        sa.Column("prefer", sa.Text(), nullable=False),
        sa.Column("sharing", sa.Boolean(), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("cluster_hubs")
    op.drop_table("site_locks")
