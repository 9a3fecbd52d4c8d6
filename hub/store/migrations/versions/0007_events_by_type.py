"""Events found by site, type and time (reports: a day's ratings) without reading the whole log.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_events_site_type_at", "events", ["site_id", "type", "at"])


def downgrade() -> None:
    op.drop_index("ix_events_site_type_at", table_name="events")
