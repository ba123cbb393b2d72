"""The field team as the desk and managers see it: the registry, suggestions, bookings."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import HTTPException, status
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool

from adapters.storage import technicians as registry
from adapters.storage.field_tables import TechnicianRow
from api.deps import AppContext, unprocessable
from domain.dispatch import JobIn, TechnicianIn, rank


class TechnicianOut(BaseModel):
    id: str
    name: str
    phone: str
    skills: list[str]
    areas: list[str]
    days: list[str]
    start: str
    end: str
    daily_capacity: int
    status: str


class Suggestion(BaseModel):
    technician_id: str
    eligible: bool
    reasons: list[str]
    jobs_that_day: int


def _out(row: TechnicianRow) -> TechnicianOut:
    return TechnicianOut(
        id=row.id, name=row.name, phone=row.phone, skills=row.skills, areas=row.areas, days=row.days, start=row.start,
        end=row.end, daily_capacity=row.daily_capacity, status=row.status,
    )


def _columns(body: TechnicianIn) -> dict:
    data = body.model_dump(exclude={"id"})
    data["start"], data["end"] = body.start.strftime("%H:%M"), body.end.strftime("%H:%M")
    return data


async def register(ctx: AppContext, body: TechnicianIn, by: str) -> TechnicianOut:
    now = await ctx.clock()

    def write() -> TechnicianOut:
        try:
            with ctx.db.session() as session:
                row = TechnicianRow(id=body.id, status="active", created_at=now, updated_at=now, **_columns(body))
                session.add(row)
                session.flush()
                registry.set_status(session, row, "active", "registered", by, now)
                return _out(row)
        except IntegrityError:
            raise HTTPException(status.HTTP_409_CONFLICT, f"technician {body.id} is already registered") from None

    return await run_in_threadpool(write)


async def replace(ctx: AppContext, technician_id: str, body: TechnicianIn) -> TechnicianOut:
    if body.id != technician_id:
        raise unprocessable(("body", "id"), f"the body's id {body.id!r} is not {technician_id!r}")
    now = await ctx.clock()

    def write() -> TechnicianOut:
        with ctx.db.session() as session:
            row = found(session, technician_id)
            for name, value in _columns(body).items():
                setattr(row, name, value)
            row.updated_at = now
            return _out(row)

    return await run_in_threadpool(write)


def found(session, technician_id: str, *, for_update: bool = False) -> TechnicianRow:
    """The technician's row, or the API's 404."""
    row = registry.get(session, technician_id, for_update=for_update)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no technician {technician_id}")
    return row


async def read(ctx: AppContext, technician_id: str) -> TechnicianOut:
    def load() -> TechnicianOut:
        with ctx.db.session() as session:
            return _out(found(session, technician_id))

    return await run_in_threadpool(load)


async def search(ctx: AppContext, **filters) -> list[TechnicianOut]:
    def load() -> list[TechnicianOut]:
        with ctx.db.session() as session:
            return [_out(r) for r in registry.listed(session, **filters)]

    return await run_in_threadpool(load)


async def change_status(
    ctx: AppContext, technician_id: str, new: str, reason: str, by: str, retraining: str | None = None
) -> TechnicianOut:
    now = await ctx.clock()

    def write() -> TechnicianOut:
        with ctx.db.session() as session:
            row = found(session, technician_id, for_update=True)
            if row.status == "removed":
                raise HTTPException(status.HTTP_409_CONFLICT, f"technician {technician_id} was removed; a removal is final")
            if row.status == new:
                raise HTTPException(status.HTTP_409_CONFLICT, f"technician {technician_id} is already {new}")
            why = reason
            if new == "active":
                # Seed 003: back to work only after retraining, and the manager says which.
                if not retraining:
                    raise unprocessable(
                        ("body", "retraining"),
                        "reinstating a suspended technician needs 'retraining': the training they completed, and when",
                    )
                why = f"{reason} (retraining: {retraining})"
            registry.set_status(session, row, new, why, by, now)
            return _out(row)

    return await run_in_threadpool(write)


class StatusChangeOut(BaseModel):
    status: str
    reason: str
    by: str
    at: datetime


async def history(ctx: AppContext, technician_id: str) -> list[StatusChangeOut]:
    def load() -> list[StatusChangeOut]:
        with ctx.db.session() as session:
            found(session, technician_id)
            return [StatusChangeOut(status=c.status, reason=c.reason, by=c.by, at=c.at)
                    for c in registry.history(session, technician_id)]

    return await run_in_threadpool(load)


async def suggest(ctx: AppContext, body: JobIn, work_order: str | None = None) -> list[Suggestion]:
    """Every technician, the eligible first and best first, each with the reasons. The
    work order's own booking (a visit being moved) does not count against its technician.
    The window lies within the days a request may name (``JobIn``: its day's end never
    overflows)."""
    zone = ctx.settings.zone
    local = body.window_start.astimezone(zone)
    day_start = datetime.combine(local.date(), datetime.min.time(), zone)

    def load():
        with ctx.db.session() as session:
            techs = [registry.to_domain(r) for r in registry.listed(session)]
            bookings = registry.bookings_between(session, day_start, day_start + timedelta(days=1))
            return techs, [b for b in bookings if b.work_order != work_order]

    techs, bookings = await run_in_threadpool(load)
    return [
        Suggestion(technician_id=c.technician_id, eligible=c.eligible, reasons=c.reasons, jobs_that_day=c.jobs_that_day)
        for c in rank(techs, body.job(), bookings, zone, ctx.policy.dispatch.slot_minutes)
    ]
