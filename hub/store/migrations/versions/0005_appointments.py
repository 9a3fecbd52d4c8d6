"""Appointments (预约) and the places taken per slot; see docs/appointments.md.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "appointments",
        sa.Column("booking_id", sa.String(32), primary_key=True),
        sa.Column("site_id", sa.String(64), nullable=False),
        sa.Column("matter", sa.String(32), nullable=False),
        sa.Column("slot_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("slot_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("phone_masked", sa.String(16), nullable=False),
        sa.Column("phone_hash", sa.String(64), nullable=False),
        sa.Column("name_masked", sa.String(64), nullable=True),
        sa.Column("citizen_ref", sa.String(64), nullable=True),
        sa.Column("request_id", sa.String(128), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("checked_in_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("checkin_command_id", sa.String(160), nullable=True),
        sa.Column("checkin_priority", sa.String(16), nullable=True),
        sa.Column("ticket_id", sa.String(64), nullable=True),
        sa.UniqueConstraint("request_id", name="uq_appointments_request_id"),
        sa.UniqueConstraint("checkin_command_id", name="uq_appointments_checkin_command_id"),
    )
    op.create_index("ix_appointments_site_slot", "appointments", ["site_id", "slot_start"])
    op.create_index("ix_appointments_phone_hash", "appointments", ["phone_hash"])
    op.create_table(
        "appointment_slots",
        sa.Column("site_id", sa.String(64), primary_key=True),
        sa.Column("matter", sa.String(32), primary_key=True),
        sa.Column("slot_start", sa.DateTime(timezone=True), primary_key=True),
        sa.Column("booked", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("appointment_slots")
    op.drop_index("ix_appointments_phone_hash", table_name="appointments")
    op.drop_index("ix_appointments_site_slot", table_name="appointments")
    op.drop_table("appointments")
