"""Project ids come from a counter (``number_counters``), like case numbers from
``case_counters``, so that a restore can move them past every id given before it; and the
restore marker (``restores``): when a set was restored and the numbering floors it left
(ops/backup.py, README "Backups and restore").

Existing project ids were their row ids: the counter continues from the highest. A restore
of a set taken before this revision creates both tables itself; this migration then keeps
what it wrote.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 09:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    if not inspector.has_table("number_counters"):
        op.create_table(
            "number_counters",
            sa.Column("name", sa.String(length=20), primary_key=True),
            sa.Column("last", sa.Integer(), nullable=False),
        )
    if not inspector.has_table("restores"):
        op.create_table(
            "restores",
            sa.Column("id", sa.Integer(), primary_key=True),
            sa.Column("restored_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("set_name", sa.String(length=200), nullable=False),
            sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("gap", sa.Integer(), nullable=False),
            sa.Column("floors", sa.Text(), nullable=False),
        )
    highest = bind.execute(sa.text("SELECT coalesce(max(id), 0) FROM projects")).scalar_one()
    current = bind.execute(sa.text("SELECT last FROM number_counters WHERE name = 'project'")).scalar_one_or_none()
    if current is None:
        bind.execute(sa.text("INSERT INTO number_counters (name, last) VALUES ('project', :last)"), {"last": highest})
    elif current < highest:
        bind.execute(sa.text("UPDATE number_counters SET last = :last WHERE name = 'project'"), {"last": highest})


def downgrade() -> None:
    op.drop_table("restores")
    op.drop_table("number_counters")
