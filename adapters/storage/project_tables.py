"""The project file: projects, their events, revisit tasks and sales leads.

The customer (name, phone) is the case file's ``customers`` row; the address is here. Neither
goes to Temporal: the workflow knows the project id, the package and staff ids.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from adapters.storage.db import Base, UTCDateTime
from adapters.storage.tables import Case, Customer, Json


class Project(Base):
    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[str | None] = mapped_column(String(40), unique=True)  # PJ000001, from id
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    address: Mapped[str] = mapped_column(String(300))
    house_type: Mapped[str | None] = mapped_column(String(50))
    package: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    request_fingerprint: Mapped[str | None] = mapped_column(String(64))
    # The projection of the workflow's state, written by the project-event activity.
    stage: Mapped[str] = mapped_column(String(20), index=True, default="consultation")
    designer: Mapped[str | None] = mapped_column(String(100), index=True)
    project_manager: Mapped[str | None] = mapped_column(String(100), index=True)
    handover_on: Mapped[date | None] = mapped_column(Date())
    warranty_until: Mapped[date | None] = mapped_column(Date())
    breached: Mapped[bool] = mapped_column(default=False)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[dict[str, Any] | None] = mapped_column(Json)
    # The warranty card as issued at the handover (the same page years later).
    warranty_card_html: Mapped[str | None] = mapped_column(Text)
    warranty_card_issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    customer: Mapped[Customer] = relationship(lazy="joined")


class ProjectEventRow(Base):
    __tablename__ = "project_events"
    __table_args__ = (UniqueConstraint("project_pk", "seq", name="uq_project_events_project_seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_pk: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    actor: Mapped[str] = mapped_column(String(100))
    data: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)


class RevisitTaskRow(Base):
    """A project revisit the desk owes, as planned at handover; the desk's list of the day."""

    __tablename__ = "project_revisits"

    project_pk: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)  # initial | mid_term | late
    due_on: Mapped[date] = mapped_column(Date(), index=True)
    window_end: Mapped[date] = mapped_column(Date())
    status: Mapped[str] = mapped_column(String(20), index=True)  # scheduled | due | done | missed
    recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SalesLead(Base):
    """A secondary need heard at a revisit (partial renovation, furniture upgrade, soft
    furnishing), passed to sales: a project's revisit (``project_pk``) or a repair case's
    (``case_pk``). One per (project or case, revisit, need): a retry adds none."""

    __tablename__ = "sales_leads"
    __table_args__ = (
        UniqueConstraint("project_pk", "source", "need", name="uq_sales_leads_source_need"),
        UniqueConstraint("case_pk", "source", "need", name="uq_sales_leads_case_source_need"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_pk: Mapped[int | None] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    case_pk: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(String(40))  # "revisit:mid_term", "revisit:repair"
    need: Mapped[str] = mapped_column(String(40), index=True)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    status: Mapped[str] = mapped_column(String(20), default="new")

    project: Mapped[Project | None] = relationship(lazy="joined")
    case: Mapped[Case | None] = relationship(lazy="joined")
