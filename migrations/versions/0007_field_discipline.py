"""The field team's work orders, complaint attributions, cards and quality checks; the
source of an automatic status change.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 04:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("technician_status_changes") as batch:  # batch: SQLite too
        batch.add_column(sa.Column("source", sa.String(length=100), nullable=True))
        batch.create_unique_constraint("uq_technician_status_changes_source", ["source"])
    op.create_table(
        "work_orders",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("cases.id", ondelete="CASCADE"), nullable=False),
        sa.Column("work_order", sa.String(length=60), nullable=False, unique=True),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("technician_id", sa.String(length=100), nullable=False),
        sa.Column("task", sa.Text(), nullable=False),
        sa.Column("window_start", WHEN, nullable=False),
        sa.Column("window_end", WHEN, nullable=False),
        sa.Column("dispatched_at", WHEN, nullable=False),
        sa.Column("confirmed_at", WHEN),
        sa.Column("started_at", WHEN),
        sa.Column("completed_at", WHEN),
        sa.Column("outcome", sa.String(length=20)),
        sa.Column("cancelled", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.UniqueConstraint("case_id", "number", name="uq_work_orders_case_number"),
    )
    op.create_index("ix_work_orders_technician_id", "work_orders", ["technician_id"])
    op.create_index("ix_work_orders_window_start", "work_orders", ["window_start"])
    op.create_index("ix_work_orders_completed_at", "work_orders", ["completed_at"])
    op.create_table(
        "complaint_attributions",
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("technician_id", sa.String(length=100), nullable=False),
        sa.Column("attributed_at", WHEN, nullable=False),
    )
    op.create_index("ix_complaint_attributions_technician_id", "complaint_attributions", ["technician_id"])
    op.create_index("ix_complaint_attributions_attributed_at", "complaint_attributions", ["attributed_at"])
    op.create_table(
        "technician_cards",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("technician_id", sa.String(length=100), sa.ForeignKey("technicians.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("color", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("work_order", sa.String(length=60)),
        sa.Column("by", sa.String(length=100), nullable=False),
        sa.Column("at", WHEN, nullable=False),
        sa.Column("source", sa.String(length=100), unique=True),
    )
    op.create_index("ix_technician_cards_technician_id", "technician_cards", ["technician_id"])
    op.create_table(
        "quality_checks",
        sa.Column("work_order", sa.String(length=60), primary_key=True),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("cases.id", ondelete="CASCADE"), nullable=False),
        sa.Column("technician_id", sa.String(length=100), nullable=False),
        sa.Column("drawn_at", WHEN, nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("method", sa.String(length=10)),
        sa.Column("notes", sa.Text()),
        sa.Column("checked_by", sa.String(length=100)),
        sa.Column("checked_at", WHEN),
        sa.Column("card_id", sa.Integer(), sa.ForeignKey("technician_cards.id")),
    )
    op.create_index("ix_quality_checks_case_id", "quality_checks", ["case_id"])
    op.create_index("ix_quality_checks_technician_id", "quality_checks", ["technician_id"])
    op.create_index("ix_quality_checks_status", "quality_checks", ["status"])


def downgrade() -> None:
    op.drop_table("quality_checks")
    op.drop_table("technician_cards")
    op.drop_table("complaint_attributions")
    op.drop_table("work_orders")
    with op.batch_alter_table("technician_status_changes") as batch:
        batch.drop_constraint("uq_technician_status_changes_source", type_="unique")
        batch.drop_column("source")
