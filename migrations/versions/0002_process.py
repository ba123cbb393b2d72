"""The whole process: the case's state snapshot, owner, major flag, linked cases, service files.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 10:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.alter_column("stage", type_=sa.String(length=30), existing_type=sa.String(length=20), existing_nullable=False)
        batch.add_column(sa.Column("major", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("related_case_no", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("owner", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("state", JSON, nullable=True))
        batch.create_index("ix_cases_related_case_no", ["related_case_no"])
        batch.create_index("ix_cases_owner", ["owner"])
    op.create_table(
        "service_files",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("document", JSON, nullable=False),
        sa.Column("html", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("case_id"),
    )


def downgrade() -> None:
    op.drop_table("service_files")
    with op.batch_alter_table("cases") as batch:
        batch.drop_index("ix_cases_owner")
        batch.drop_index("ix_cases_related_case_no")
        batch.drop_column("state")
        batch.drop_column("owner")
        batch.drop_column("related_case_no")
        batch.drop_column("major")
        batch.alter_column("stage", type_=sa.String(length=20), existing_type=sa.String(length=30), existing_nullable=False)
