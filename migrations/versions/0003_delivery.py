"""Delivering the outbox: locales, short texts, routes, quiet hours, attempts, dead letters;
customers' email, preferred channel and locale.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 14:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("customers") as batch:
        batch.add_column(sa.Column("email", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("preferred_channel", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("locale", sa.String(length=10), nullable=False, server_default="zh-CN"))
    with op.batch_alter_table("notifications") as batch:
        batch.alter_column("address", type_=sa.String(length=200), existing_type=sa.String(length=100), existing_nullable=False)
        batch.add_column(sa.Column("locale", sa.String(length=10), nullable=False, server_default="zh-CN"))
        batch.add_column(sa.Column("route", JSON, nullable=False, server_default="[]"))
        batch.add_column(sa.Column("short_text", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("urgent", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("not_before", WHEN, nullable=True))
        batch.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("last_error", sa.Text(), nullable=True))
        batch.add_column(sa.Column("provider_id", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("provider_response", sa.Text(), nullable=True))
        batch.add_column(sa.Column("sent_at", WHEN, nullable=True))
        batch.add_column(sa.Column("retried_by", sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("notifications") as batch:
        for column in ("retried_by", "sent_at", "provider_response", "provider_id", "last_error", "attempts",
                       "not_before", "urgent", "short_text", "route", "locale"):
            batch.drop_column(column)
        batch.alter_column("address", type_=sa.String(length=100), existing_type=sa.String(length=200), existing_nullable=False)
    with op.batch_alter_table("customers") as batch:
        for column in ("locale", "preferred_channel", "email"):
            batch.drop_column(column)
