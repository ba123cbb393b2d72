"""Messages of renovation projects: an outbox row may belong to a project (greetings, the
revisit SMS, progress reports, problems, material notices, defects to their owners).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 05:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("notifications") as batch:  # batch: SQLite too
        batch.add_column(sa.Column("project_pk", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_notifications_project_pk", "projects", ["project_pk"], ["id"], ondelete="CASCADE")
        batch.create_index("ix_notifications_project_pk", ["project_pk"])


def downgrade() -> None:
    with op.batch_alter_table("notifications") as batch:
        batch.drop_index("ix_notifications_project_pk")
        batch.drop_constraint("fk_notifications_project_pk", type_="foreignkey")
        batch.drop_column("project_pk")
