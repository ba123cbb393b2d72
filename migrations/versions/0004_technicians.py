"""The field team: technicians, their status history, and booked slots.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 21:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "technicians",
        sa.Column("id", sa.String(length=100), primary_key=True),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("skills", JSON, nullable=False),
        sa.Column("areas", JSON, nullable=False),
        sa.Column("days", JSON, nullable=False),
        sa.Column("start", sa.String(length=5), nullable=False),
        sa.Column("end", sa.String(length=5), nullable=False),
        sa.Column("daily_capacity", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
    )
    op.create_index("ix_technicians_status", "technicians", ["status"])
    op.create_table(
        "technician_status_changes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("technician_id", sa.String(length=100), sa.ForeignKey("technicians.id", ondelete="CASCADE"), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("by", sa.String(length=100), nullable=False),
        sa.Column("at", WHEN, nullable=False),
    )
    op.create_index("ix_technician_status_changes_technician_id", "technician_status_changes", ["technician_id"])
    op.create_table(
        "booking_slots",
        sa.Column("technician_id", sa.String(length=100), sa.ForeignKey("technicians.id", ondelete="CASCADE"), nullable=False),
        sa.Column("slot_start", WHEN, nullable=False),
        sa.Column("work_order", sa.String(length=60), nullable=False),
        sa.Column("window_start", WHEN, nullable=False),
        sa.Column("window_end", WHEN, nullable=False),
        sa.Column("booked_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("technician_id", "slot_start"),
    )
    op.create_index("ix_booking_slots_work_order", "booking_slots", ["work_order"])


def downgrade() -> None:
    op.drop_table("booking_slots")
    op.drop_table("technician_status_changes")
    op.drop_table("technicians")
