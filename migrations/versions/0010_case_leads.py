"""A repair case's revisit records secondary needs as sales leads too: a lead belongs to a
project or to a case.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25 07:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sales_leads") as batch:  # batch: SQLite too
        batch.alter_column("project_pk", existing_type=sa.Integer(), nullable=True)
        batch.add_column(sa.Column("case_pk", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_sales_leads_case_pk", "cases", ["case_pk"], ["id"], ondelete="CASCADE")
        batch.create_index("ix_sales_leads_case_pk", ["case_pk"])
        batch.create_unique_constraint("uq_sales_leads_case_source_need", ["case_pk", "source", "need"])


def downgrade() -> None:
    op.execute("DELETE FROM sales_leads WHERE project_pk IS NULL")  # a case's leads cannot stay
    with op.batch_alter_table("sales_leads") as batch:
        batch.drop_constraint("uq_sales_leads_case_source_need", type_="unique")
        batch.drop_index("ix_sales_leads_case_pk")
        batch.drop_constraint("fk_sales_leads_case_pk", type_="foreignkey")
        batch.drop_column("case_pk")
        batch.alter_column("project_pk", existing_type=sa.Integer(), nullable=False)
