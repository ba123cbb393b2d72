"""The case file keeps, per case, the latest instant its KPIs are placed at (``cases.kpi_until``,
``domain.kpi.kpi_until``), so the KPIs of a period load every case that can count in it:
a case closed before the period whose deadline falls in it too. Existing cases are filled in
from their state, in Python (the same function the projection uses), on PostgreSQL and SQLite.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-25 08:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from adapters.storage.db import UTCDateTime
from domain.case import CaseState
from domain.kpi import kpi_until

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
BATCH = 500

cases = sa.table(
    "cases", sa.column("id", sa.Integer()), sa.column("state", JSON), sa.column("kpi_until", UTCDateTime())
)


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:  # batch: SQLite too
        batch.add_column(sa.Column("kpi_until", sa.DateTime(timezone=True), nullable=True))
        batch.create_index("ix_cases_kpi_until", ["kpi_until"])
    backfill(op.get_bind())


def backfill(connection: sa.Connection) -> None:
    """Every recorded case's ``kpi_until`` from its state, a batch at a time."""
    last = 0
    while True:
        rows = connection.execute(
            sa.select(cases.c.id, cases.c.state)
            .where(cases.c.id > last, cases.c.state.is_not(None))
            .order_by(cases.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        for case_id, state in rows:
            if state is not None:  # JSON null: not recorded by its workflow yet
                until = kpi_until(CaseState.model_validate(state))
                connection.execute(sa.update(cases).where(cases.c.id == case_id).values(kpi_until=until))
        last = rows[-1][0]


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.drop_index("ix_cases_kpi_until")
        batch.drop_column("kpi_until")
