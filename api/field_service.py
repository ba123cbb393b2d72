"""The field team's side of the desk: who should take a work order, a technician's day, cards,
and the supervisors' quality-check queue."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Literal

from fastapi import HTTPException, status
from pydantic import BaseModel, Field, model_validator
from starlette.concurrency import run_in_threadpool

from adapters.storage import cases as case_file
from adapters.storage import field_team
from adapters.storage import technicians as registry
from adapters.storage.field_tables import QualityCheck, TechnicianCard
from api.deps import AppContext, check_day, unprocessable
from api.technician_service import Suggestion, found, suggest
from domain.bounds import Instant
from domain.dispatch import JobIn, Tag, district, window_refusal, work_order_id
from domain.models import CleanText
from domain.process import REPAIRS
from domain.steps import FreeText

# -- suggestions for a case's work order ----------------------------------------------------------


class WorkOrderNeeds(BaseModel):
    """What the work order needs; the district defaults to the one in the case's address."""

    skills: list[Tag] = Field(min_length=1, max_length=10)
    area: Tag | None = Field(default=None, description="district, e.g. 浦东新区; read from the case's address when left out")
    window_start: Instant
    window_end: Instant

    @model_validator(mode="after")
    def _window(self) -> WorkOrderNeeds:
        if reason := window_refusal(self.window_start, self.window_end):
            raise ValueError(reason)
        return self


async def suggest_for(ctx: AppContext, case_no: str, number: int, needs: WorkOrderNeeds) -> list[Suggestion]:
    """The ranking for the case's next work order (or a current one being moved)."""

    def read() -> tuple[str, str, int]:
        with ctx.db.session() as session:
            case = case_file.get_case(session, case_no)
            if case is None:
                raise HTTPException(status.HTTP_404_NOT_FOUND, f"no case {case_no}")
            orders = len((case.state or {}).get("work_orders", []))
            return case.kind, case.address, orders

    kind, address, orders = await run_in_threadpool(read)
    if kind not in {k.value for k in REPAIRS}:
        raise HTTPException(status.HTTP_409_CONFLICT, f"case {case_no} is a {kind}: it has no work orders")
    if not 1 <= number <= orders + 1:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"case {case_no} has {orders} work orders; the next is number {orders + 1}")
    area = needs.area or district(address)
    if area is None:
        raise unprocessable(("body", "area"), "the case's address names no district (区/县): give the work order's 'area'")
    job = JobIn(skills=needs.skills, area=area, window_start=needs.window_start, window_end=needs.window_end)
    return await suggest(ctx, job, work_order=work_order_id(case_no, number))


# -- the technician's day -------------------------------------------------------------------------------


class Job(BaseModel):
    """One visit of the technician's day, with what they need to get there."""

    work_order: str
    case_no: str
    case_stage: str
    task: str
    window_start: datetime
    window_end: datetime
    confirmed_at: datetime | None
    started_at: datetime | None
    completed_at: datetime | None
    outcome: str | None
    # The customer's details: the technician is staff, and must reach the customer.
    customer_name: str
    customer_phone: str
    address: str


async def my_jobs(ctx: AppContext, technician_id: str, day: date) -> list[Job]:
    check_day("day", day)
    zone = ctx.settings.zone
    start = datetime.combine(day, datetime.min.time(), zone)

    def read() -> list[Job]:
        with ctx.db.session() as session:
            return [
                Job(
                    work_order=w.work_order, case_no=c.case_no, case_stage=c.stage, task=w.task,
                    window_start=w.window_start, window_end=w.window_end, confirmed_at=w.confirmed_at,
                    started_at=w.started_at, completed_at=w.completed_at, outcome=w.outcome,
                    customer_name=c.customer.name, customer_phone=c.customer.phone, address=c.address,
                )
                for w, c in field_team.jobs_between(session, technician_id, start, start + timedelta(days=1))
            ]

    return await run_in_threadpool(read)


# -- cards ------------------------------------------------------------------------------------------------


class CardIn(BaseModel):
    color: Literal["yellow", "red"] = Field(description="yellow: a minor fault; red: a major one (e.g. damaged property)")
    reason: FreeText = Field(min_length=1, max_length=1000)
    work_order: CleanText | None = Field(default=None, max_length=60, description="e.g. AS20261125-0001/1")


class CardOut(BaseModel):
    id: int
    technician_id: str
    color: str
    reason: str
    work_order: str | None
    by: str
    at: datetime
    status_after: str  # the technician's status once the card is given
    status_reason: str | None = None  # set when the card changed the status


def _card_out(card: TechnicianCard, status_after: str, status_reason: str | None = None) -> CardOut:
    return CardOut(id=card.id, technician_id=card.technician_id, color=card.color, reason=card.reason,
                   work_order=card.work_order, by=card.by, at=card.at, status_after=status_after,
                   status_reason=status_reason)


async def give_card(ctx: AppContext, technician_id: str, body: CardIn, by: str) -> CardOut:
    now = await ctx.clock()

    def write() -> CardOut:
        with ctx.db.session() as session:
            tech = found(session, technician_id, for_update=True)
            if tech.status == "removed":
                raise HTTPException(status.HTTP_409_CONFLICT, f"technician {technician_id} was removed")
            card, change = field_team.give_card(
                session, tech, color=body.color, reason=body.reason, work_order=body.work_order, by=by, now=now,
                policy=ctx.policy.discipline,
            )
            return _card_out(card, tech.status, change.reason if change else None)

    return await run_in_threadpool(write)


async def list_cards(ctx: AppContext, technician_id: str) -> list[CardOut]:
    def read() -> list[CardOut]:
        with ctx.db.session() as session:
            tech = found(session, technician_id)
            return [_card_out(c, tech.status) for c in field_team.cards(session, technician_id)]

    return await run_in_threadpool(read)


# -- quality checks ---------------------------------------------------------------------------------------


class QualityCheckOut(BaseModel):
    work_order: str
    technician_id: str
    drawn_at: datetime
    status: str
    method: str | None
    notes: str | None
    checked_by: str | None
    checked_at: datetime | None
    card_id: int | None


class QualityCheckList(BaseModel):
    items: list[QualityCheckOut]
    total: int


class QualityCheckIn(BaseModel):
    method: Literal["phone", "on_site"]
    result: Literal["passed", "failed"]
    notes: FreeText = Field(default="", max_length=2000)
    card: Literal["yellow", "red"] | None = Field(default=None, description="a failed check can give the technician a card")
    card_reason: FreeText | None = Field(default=None, max_length=1000)

    @model_validator(mode="after")
    def _card_needs_a_failure(self) -> QualityCheckIn:
        if self.card and self.result != "failed":
            raise ValueError("only a failed check gives a card")
        return self


def _check_out(row: QualityCheck) -> QualityCheckOut:
    return QualityCheckOut(
        work_order=row.work_order, technician_id=row.technician_id, drawn_at=row.drawn_at, status=row.status,
        method=row.method, notes=row.notes, checked_by=row.checked_by, checked_at=row.checked_at, card_id=row.card_id,
    )


async def quality_queue(ctx: AppContext, status_: str | None, page: int, page_size: int) -> QualityCheckList:
    def read() -> QualityCheckList:
        with ctx.db.session() as session:
            rows, total = field_team.quality_checks(session, status_, limit=page_size, offset=(page - 1) * page_size)
            return QualityCheckList(items=[_check_out(r) for r in rows], total=total)

    return await run_in_threadpool(read)


async def record_check(ctx: AppContext, work_order: str, body: QualityCheckIn, by: str) -> QualityCheckOut:
    now = await ctx.clock()

    def write() -> QualityCheckOut:
        with ctx.db.session() as session:
            row = session.get(QualityCheck, work_order, with_for_update=True)
            if row is None:
                raise HTTPException(status.HTTP_404_NOT_FOUND, f"work order {work_order} is not in the quality-check queue")
            if row.status != "pending":
                raise HTTPException(status.HTTP_409_CONFLICT, f"work order {work_order} was already checked ({row.status})")
            row.status, row.method, row.notes, row.checked_by, row.checked_at = body.result, body.method, body.notes, by, now
            if body.card:
                tech = registry.get(session, row.technician_id, for_update=True)
                if tech is not None and tech.status != "removed":
                    card, _ = field_team.give_card(
                        session, tech, color=body.card, reason=body.card_reason or f"failed quality check: {body.notes}",
                        work_order=work_order, by=by, now=now, policy=ctx.policy.discipline, source=f"qc:{work_order}",
                    )
                    row.card_id = card.id
            return _check_out(row)

    return await run_in_threadpool(write)
