"""Renovation projects: projects, their events, revisit tasks and sales leads.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 04:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "projects",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("project_id", sa.String(length=40), nullable=True, unique=True),
        sa.Column("customer_id", sa.Integer(), sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("house_type", sa.String(length=50), nullable=True),
        sa.Column("package", sa.String(length=20), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True, unique=True),
        sa.Column("request_fingerprint", sa.String(length=64), nullable=True),
        sa.Column("stage", sa.String(length=20), nullable=False),
        sa.Column("designer", sa.String(length=100), nullable=True),
        sa.Column("project_manager", sa.String(length=100), nullable=True),
        sa.Column("handover_on", sa.Date(), nullable=True),
        sa.Column("warranty_until", sa.Date(), nullable=True),
        sa.Column("breached", sa.Boolean(), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("state", JSON, nullable=True),
        sa.Column("warranty_card_html", sa.Text(), nullable=True),
        sa.Column("warranty_card_issued_at", WHEN, nullable=True),
        sa.Column("updated_at", WHEN, nullable=False),
    )
    for column in ("stage", "designer", "project_manager"):
        op.create_index(f"ix_projects_{column}", "projects", [column])
    op.create_table(
        "project_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("project_pk", sa.Integer(), sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("at", WHEN, nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("data", JSON, nullable=False),
        sa.UniqueConstraint("project_pk", "seq", name="uq_project_events_project_seq"),
    )
    op.create_index("ix_project_events_at", "project_events", ["at"])
    op.create_table(
        "project_revisits",
        sa.Column("project_pk", sa.Integer(), sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("window_end", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("recorded_at", WHEN, nullable=True),
        sa.PrimaryKeyConstraint("project_pk", "kind"),
    )
    op.create_index("ix_project_revisits_due_on", "project_revisits", ["due_on"])
    op.create_index("ix_project_revisits_status", "project_revisits", ["status"])
    op.create_table(
        "sales_leads",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("project_pk", sa.Integer(), sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("need", sa.String(length=40), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.UniqueConstraint("project_pk", "source", "need", name="uq_sales_leads_source_need"),
    )
    op.create_index("ix_sales_leads_project_pk", "sales_leads", ["project_pk"])
    op.create_index("ix_sales_leads_need", "sales_leads", ["need"])
    op.create_index("ix_sales_leads_created_at", "sales_leads", ["created_at"])


def downgrade() -> None:
    op.drop_table("sales_leads")
    op.drop_table("project_revisits")
    op.drop_table("project_events")
    op.drop_table("projects")
