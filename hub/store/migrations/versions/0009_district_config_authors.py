"""Who saved each version of the district configuration, and why (the web's configuration pages ask for both).

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("district_config") as table:
        table.add_column(sa.Column("author", sa.String(64), nullable=True))
        table.add_column(sa.Column("reason", sa.String(500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("district_config") as table:
        table.drop_column("reason")
        table.drop_column("author")
