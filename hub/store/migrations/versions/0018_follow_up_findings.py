"""Officers' findings followed up like bad ratings (hub/follow_ups).

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """A follow-up item has a kind (every item so far is a rating's); an officer's finding has no window nor level."""
    with op.batch_alter_table("follow_ups") as table:
        table.add_column(sa.Column("kind", sa.String(16), nullable=False, server_default="rating"))
        table.alter_column("window_id", existing_type=sa.String(64), nullable=True)
        table.alter_column("level", existing_type=sa.SmallInteger(), nullable=True)


def downgrade() -> None:
    """The findings' items go (the older schema cannot hold them), with their answers."""
    op.execute(
        "DELETE FROM follow_up_steps WHERE EXISTS (SELECT 1 FROM follow_ups AS item WHERE item.kind = 'finding'"
        " AND item.site_id = follow_up_steps.site_id AND item.seq = follow_up_steps.seq)"
    )
    op.execute("DELETE FROM follow_ups WHERE kind = 'finding'")
    with op.batch_alter_table("follow_ups") as table:
        table.alter_column("level", existing_type=sa.SmallInteger(), nullable=False)
        table.alter_column("window_id", existing_type=sa.String(64), nullable=False)
        table.drop_column("kind")
