"""The technician registry and the booked slots: the dispatch rules' data, and the one place
that makes double booking impossible (a primary key per technician and slot)."""

from __future__ import annotations

from datetime import datetime, time

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from adapters.storage.db import insert
from adapters.storage.field_tables import BookingSlot, TechnicianRow, TechnicianStatusChange
from domain.dispatch import Booking, Technician, slots
from domain.policy import WEEKDAYS


class SlotTaken(Exception):
    """The technician's time is already held by another work order."""


class NotAssignable(Exception):
    """The technician is not in the registry, or not active."""


def to_domain(row: TechnicianRow) -> Technician:
    return Technician(
        id=row.id,
        skills=frozenset(row.skills),
        areas=frozenset(row.areas),
        days=frozenset(WEEKDAYS.index(d) for d in row.days),
        start=time.fromisoformat(row.start),
        end=time.fromisoformat(row.end),
        daily_capacity=row.daily_capacity,
        status=row.status,
    )


def get(session: Session, technician_id: str, *, for_update: bool = False) -> TechnicianRow | None:
    """The technician's row; ``for_update`` locks it until the transaction ends, so that the
    discipline's writes (cards, reviews, status changes) for one technician go one at a time."""
    return session.get(TechnicianRow, technician_id, with_for_update=for_update)


def listed(
    session: Session, *, status: str | None = None, skill: str | None = None, area: str | None = None
) -> list[TechnicianRow]:
    rows = session.scalars(select(TechnicianRow).order_by(TechnicianRow.id)).all()
    # Skills and areas are short JSON lists; filtering here works the same on both databases.
    return [
        r for r in rows
        if (status is None or r.status == status) and (skill is None or skill in r.skills) and (area is None or area in r.areas)
    ]


def set_status(
    session: Session, row: TechnicianRow, status: str, reason: str, by: str, now: datetime, source: str | None = None
) -> TechnicianStatusChange:
    row.status, row.updated_at = status, now
    change = TechnicianStatusChange(technician_id=row.id, status=status, reason=reason, by=by, at=now, source=source)
    session.add(change)
    session.flush()
    return change


def history(session: Session, technician_id: str) -> list[TechnicianStatusChange]:
    return list(
        session.scalars(
            select(TechnicianStatusChange)
            .where(TechnicianStatusChange.technician_id == technician_id)
            .order_by(TechnicianStatusChange.id)
        )
    )


def bookings_between(session: Session, start: datetime, end: datetime) -> list[Booking]:
    """Every booking with a slot in [start, end), one per work order and technician."""
    rows = session.scalars(
        select(BookingSlot).where(BookingSlot.slot_start >= start, BookingSlot.slot_start < end)
    ).all()
    seen = {(r.technician_id, r.work_order): Booking(r.technician_id, r.window_start, r.window_end, r.work_order) for r in rows}
    return list(seen.values())


def book(
    session: Session, technician_id: str, work_order: str, start: datetime, end: datetime, slot_minutes: int, now: datetime
) -> None:
    """Hold the technician's slots for the work order, all or none. Booking the same work
    order again is a no-op (a retried request); any slot held by another raises
    ``SlotTaken``, a technician who is not active ``NotAssignable``; either way the caller's
    transaction must roll back."""
    row = get(session, technician_id, for_update=True)  # a suspension cannot slip in between
    if row is None:
        raise NotAssignable(f"no technician {technician_id} in the registry")
    if row.status != "active":
        raise NotAssignable(f"technician {technician_id} is {row.status}: not assignable")
    wanted = slots(start, end, slot_minutes)
    stmt = insert(session, BookingSlot).values(
        [
            dict(technician_id=technician_id, slot_start=s, work_order=work_order, window_start=start, window_end=end,
                 booked_at=now)
            for s in wanted
        ]
    )
    session.execute(stmt.on_conflict_do_nothing(index_elements=["technician_id", "slot_start"]))
    holders = session.execute(
        select(BookingSlot.work_order, BookingSlot.window_start, BookingSlot.window_end).where(
            BookingSlot.technician_id == technician_id, BookingSlot.slot_start.in_(wanted), BookingSlot.work_order != work_order
        )
    ).first()
    if holders is not None:
        window = f"{holders.window_start.isoformat()}–{holders.window_end.isoformat()}"
        raise SlotTaken(f"{technician_id} is booked for {holders.work_order} ({window})")


def trim(
    session: Session, technician_id: str, work_order: str, keep: tuple[datetime, datetime] | None, slot_minutes: int
) -> int:
    """Free the work order's slots of this technician outside ``keep`` (all of them when it is
    None): the old window of a rescheduled visit, or a dispatch the case refused."""
    stmt = delete(BookingSlot).where(BookingSlot.technician_id == technician_id, BookingSlot.work_order == work_order)
    if keep is not None:
        stmt = stmt.where(BookingSlot.slot_start.not_in(slots(*keep, slot_minutes)))
    return session.execute(stmt).rowcount


def release_after(session: Session, work_orders: list[str], moment: datetime) -> int:
    """Free the slots of these work orders that start after ``moment`` (the work is done, or
    its case cancelled); the slot in progress stays, so the day's load still counts it."""
    stmt = delete(BookingSlot).where(BookingSlot.work_order.in_(work_orders), BookingSlot.slot_start > moment)
    return session.execute(stmt).rowcount
