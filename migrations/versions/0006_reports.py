"""KPIs and weekly reports: the problem an intake is about (category, product, model),
messages about no single case (the weekly report), and the stored reports.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 04:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("problem_category", sa.String(length=30), nullable=True))
        batch.add_column(sa.Column("product", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("product_model", sa.String(length=60), nullable=True))
        batch.create_index("ix_cases_problem_category", ["problem_category"])
    with op.batch_alter_table("notifications") as batch:
        batch.alter_column("case_id", existing_type=sa.Integer(), nullable=True)
    op.create_table(
        "reports",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("key", sa.String(length=60), nullable=False, unique=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("period_start", WHEN, nullable=False),
        sa.Column("period_end", WHEN, nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("document", JSON, nullable=False),
        sa.Column("html", sa.Text(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
    )
    op.create_index("ix_reports_period_start", "reports", ["period_start"])


def downgrade() -> None:
    op.drop_table("reports")
    # Messages about no case cannot stay once every message must name one.
    op.execute("DELETE FROM notifications WHERE case_id IS NULL")
    with op.batch_alter_table("notifications") as batch:
        batch.alter_column("case_id", existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table("cases") as batch:
        batch.drop_index("ix_cases_problem_category")
        for column in ("product_model", "product", "problem_category"):
            batch.drop_column(column)
