"""The case file: customers, cases, their events, SLA clocks, escalations and the outbox.

Personal data (name, phone, address) lives in the database's tables (these, the field
team's and the project file's) and nowhere else: not in workflow ids, search attributes,
workflow histories or logs.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from adapters.storage.db import Base, UTCDateTime

Json = JSON().with_variant(JSONB(), "postgresql")


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str] = mapped_column(String(32), unique=True)  # one customer per number
    email: Mapped[str | None] = mapped_column(String(200))
    preferred_channel: Mapped[str | None] = mapped_column(String(20))  # sms | email
    locale: Mapped[str] = mapped_column(String(10), default="zh-CN", server_default="zh-CN")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CaseCounter(Base):
    """Last case number handed out per local day: AS20261122-0001, -0002, …"""

    __tablename__ = "case_counters"

    day: Mapped[str] = mapped_column(String(8), primary_key=True)
    last: Mapped[int] = mapped_column(Integer)


class NumberCounter(Base):
    """Last number handed out of a sequence that is not per day (``project``: PJ000001, …);
    a restore raises it past every number given before it (ops/backup.py, migration 0012)."""

    __tablename__ = "number_counters"

    name: Mapped[str] = mapped_column(String(20), primary_key=True)
    last: Mapped[int] = mapped_column(Integer)


class RestoreRow(Base):
    """A backup set restored: when, which set, and the numbering floors it left."""

    __tablename__ = "restores"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    restored_at: Mapped[datetime] = mapped_column(UTCDateTime())
    set_name: Mapped[str] = mapped_column(String(200))
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime())
    gap: Mapped[int] = mapped_column(Integer)
    floors: Mapped[str] = mapped_column(Text)


class Case(Base):
    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_no: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)
    severity: Mapped[str] = mapped_column(String(20), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    address: Mapped[str] = mapped_column(String(300))
    house_type: Mapped[str | None] = mapped_column(String(50))
    description: Mapped[str] = mapped_column(Text)
    attachments: Mapped[list[str]] = mapped_column(Json, default=list)
    under_warranty: Mapped[str] = mapped_column(String(10))
    repaired_before: Mapped[bool] = mapped_column(Boolean)
    project_id: Mapped[str | None] = mapped_column(String(40))
    # For a project's case: the warranty term that applies, its end date, covered or not
    # (domain.warranty.WarrantyStatus, judged by the project's card when the case was received).
    warranty: Mapped[dict[str, Any] | None] = mapped_column(Json)
    # What the problem is about (intake, optional): the most-frequent-problems report groups by it.
    problem_category: Mapped[str | None] = mapped_column(String(30), index=True)
    product: Mapped[str | None] = mapped_column(String(100))
    product_model: Mapped[str | None] = mapped_column(String(60))
    major: Mapped[bool] = mapped_column(Boolean, default=False)  # a major complaint from intake
    # The case this one was opened from (a problem found at a revisit).
    related_case_no: Mapped[str | None] = mapped_column(String(32), index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    request_fingerprint: Mapped[str | None] = mapped_column(String(64))
    # The projection of the workflow's state, written by the case-event activity.
    # last_seq = 0 means the workflow has not recorded the case yet.
    stage: Mapped[str] = mapped_column(String(30), index=True, default="new")
    sla_breached: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    escalated: Mapped[bool] = mapped_column(Boolean, default=False)
    next_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    owner: Mapped[str | None] = mapped_column(String(100), index=True)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    # The workflow's whole state after the last event: the case page when Temporal cannot
    # answer, and the source of the service file.
    state: Mapped[dict[str, Any] | None] = mapped_column(Json)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The latest instant anything the KPIs count of this case is placed at (a deadline may
    # lie after the last event): domain.kpi.kpi_until(state); KPIs of a period load the
    # cases with kpi_until >= its start.
    kpi_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)

    customer: Mapped[Customer] = relationship(lazy="joined")


class CaseEventRow(Base):
    __tablename__ = "case_events"
    __table_args__ = (UniqueConstraint("case_id", "seq", name="uq_case_events_case_seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(100))
    data: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)


class SlaClock(Base):
    __tablename__ = "sla_clocks"
    __table_args__ = (
        UniqueConstraint("case_id", "name", name="uq_sla_clocks_case_name"),
        Index("ix_sla_clocks_breached_at", "breached_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(20))
    limit: Mapped[str] = mapped_column(String(20))
    basis: Mapped[str] = mapped_column(String(10))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    deadline: Mapped[datetime] = mapped_column(UTCDateTime())
    warn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    met_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    warned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    breached_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    level: Mapped[int] = mapped_column(Integer, default=0)


class EscalationRow(Base):
    __tablename__ = "escalations"
    __table_args__ = (UniqueConstraint("case_id", "seq", name="uq_escalations_case_seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)  # the case event that recorded it
    level: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(20))  # clock | supervisor
    clock: Mapped[str | None] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text)
    by: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class ServiceFile(Base):
    """The archived service file of a closed case: the document as JSON and as printable HTML."""

    __tablename__ = "service_files"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    archived_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seq: Mapped[int] = mapped_column(Integer)  # the case event it was archived at
    document: Mapped[dict[str, Any]] = mapped_column(Json)
    html: Mapped[str] = mapped_column(Text)


class Notification(Base):
    """The outbox: every message the system owes someone, queued once by its key, then
    delivered by its own workflow (``notification-<id>``): queued → sending → sent, or dead
    after the last attempt on the last channel, until a supervisor retries it."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    # None for a message about no single case (the weekly report to the managers).
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    # A renovation project's message (greetings, revisits, progress, defects); None otherwise.
    project_pk: Mapped[int | None] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    template: Mapped[str] = mapped_column(String(40))
    recipient: Mapped[str] = mapped_column(String(100))  # customer, a staff role or a staff id
    locale: Mapped[str] = mapped_column(String(10), default="zh-CN", server_default="zh-CN")
    # The channels to try, in order, each with its address: [{"channel": "sms", "address": "138…"}]
    route: Mapped[list[dict[str, str]]] = mapped_column(Json, default=list)
    channel: Mapped[str] = mapped_column(String(20))  # the one it went by (or will try first)
    address: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(200))
    short_text: Mapped[str] = mapped_column(Text, default="", server_default="")
    body: Mapped[str] = mapped_column(Text)  # the long text
    urgent: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    status: Mapped[str] = mapped_column(String(20), default="queued", index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    not_before: Mapped[datetime | None] = mapped_column(UTCDateTime())  # held by quiet hours
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
    provider_id: Mapped[str | None] = mapped_column(String(200))
    provider_response: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    retried_by: Mapped[str | None] = mapped_column(String(100))


class ReportRow(Base):
    """A report as it was compiled and sent: its data, and the page managers read. One per
    kind and period (``key``), so a retried or repeated run never makes a second."""

    __tablename__ = "reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(60), unique=True)  # weekly:2026-11-23
    kind: Mapped[str] = mapped_column(String(20))  # weekly
    period_start: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    period_end: Mapped[datetime] = mapped_column(UTCDateTime())
    title: Mapped[str] = mapped_column(String(200))
    document: Mapped[dict[str, Any]] = mapped_column(Json)
    html: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
