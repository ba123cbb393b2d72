"""A message's recipient is a role or a staff id (a project defect's owner), and staff ids are
up to 100 characters everywhere else: the column was 40, so a longer owner's message failed to
queue on PostgreSQL for good (review finding R2).

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 19:45:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("notifications") as batch:
        batch.alter_column("recipient", existing_type=sa.String(40), type_=sa.String(100), existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("notifications") as batch:
        batch.alter_column("recipient", existing_type=sa.String(100), type_=sa.String(40), existing_nullable=False)
