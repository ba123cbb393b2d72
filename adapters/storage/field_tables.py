"""The field team's tables: the technician registry with its status history, booked slots,
work orders as the cases last recorded them, complaint attributions, cards and quality checks.

A technician's name and phone are personal data: here only.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from adapters.storage.db import Base, UTCDateTime
from adapters.storage.tables import Json


class TechnicianRow(Base):
    """A technician of the field team. Name and phone are personal data: here only."""

    __tablename__ = "technicians"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)  # a staff id, e.g. tech-017
    name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str] = mapped_column(String(32))
    skills: Mapped[list[str]] = mapped_column(Json, default=list)
    areas: Mapped[list[str]] = mapped_column(Json, default=list)
    days: Mapped[list[str]] = mapped_column(Json, default=list)  # mon … sun
    start: Mapped[str] = mapped_column(String(5))  # "09:00", local time
    end: Mapped[str] = mapped_column(String(5))
    daily_capacity: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default="active", index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class TechnicianStatusChange(Base):
    """Every change of a technician's status, with who and why."""

    __tablename__ = "technician_status_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    technician_id: Mapped[str] = mapped_column(ForeignKey("technicians.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text)
    by: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    # What caused an automatic change ("complaint:<case>", "card:<id>"), so that a retried
    # activity or request finds it instead of writing it twice.
    source: Mapped[str | None] = mapped_column(String(100), unique=True)


class BookingSlot(Base):
    """One slot of a technician's time held by a work order. The primary key is what makes
    double booking impossible: two work orders cannot both insert (technician, slot)."""

    __tablename__ = "booking_slots"

    technician_id: Mapped[str] = mapped_column(ForeignKey("technicians.id", ondelete="CASCADE"), primary_key=True)
    slot_start: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
    work_order: Mapped[str] = mapped_column(String(60), index=True)  # <case number>/<visit number>
    window_start: Mapped[datetime] = mapped_column(UTCDateTime())
    window_end: Mapped[datetime] = mapped_column(UTCDateTime())
    booked_at: Mapped[datetime] = mapped_column(UTCDateTime())


class WorkOrderRow(Base):
    """A work order (派工单) as the case's workflow last recorded it: the technician's day,
    the jobs they completed (the complaint rate's denominator), the quality sampling's source."""

    __tablename__ = "work_orders"
    __table_args__ = (UniqueConstraint("case_id", "number", name="uq_work_orders_case_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    work_order: Mapped[str] = mapped_column(String(60), unique=True)  # <case number>/<visit number>
    number: Mapped[int] = mapped_column(Integer)
    technician_id: Mapped[str] = mapped_column(String(100), index=True)
    task: Mapped[str] = mapped_column(Text)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    window_end: Mapped[datetime] = mapped_column(UTCDateTime())
    dispatched_at: Mapped[datetime] = mapped_column(UTCDateTime())
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    outcome: Mapped[str | None] = mapped_column(String(20))  # accepted | rejected
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False)


class ComplaintAttribution(Base):
    """A complaint attributed to a technician by its solution: the complaint rate's numerator."""

    __tablename__ = "complaint_attributions"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    technician_id: Mapped[str] = mapped_column(String(100), index=True)
    attributed_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class TechnicianCard(Base):
    """A yellow card (a minor fault) or a red card (a major one) given by a supervisor."""

    __tablename__ = "technician_cards"

    id: Mapped[int] = mapped_column(primary_key=True)
    technician_id: Mapped[str] = mapped_column(ForeignKey("technicians.id", ondelete="CASCADE"), index=True)
    color: Mapped[str] = mapped_column(String(10))  # yellow | red
    reason: Mapped[str] = mapped_column(Text)
    work_order: Mapped[str | None] = mapped_column(String(60))
    by: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    # A card given by a failed quality check carries the check's work order: at most one.
    source: Mapped[str | None] = mapped_column(String(100), unique=True)


class QualityCheck(Base):
    """A completed work order drawn into the supervisors' quality-check queue, and its result."""

    __tablename__ = "quality_checks"

    work_order: Mapped[str] = mapped_column(String(60), primary_key=True)  # drawn at most once
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    technician_id: Mapped[str] = mapped_column(String(100), index=True)
    drawn_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(10), default="pending", index=True)  # pending | passed | failed
    method: Mapped[str | None] = mapped_column(String(10))  # phone | on_site
    notes: Mapped[str | None] = mapped_column(Text)
    checked_by: Mapped[str | None] = mapped_column(String(100))
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    card_id: Mapped[int | None] = mapped_column(ForeignKey("technician_cards.id"))
