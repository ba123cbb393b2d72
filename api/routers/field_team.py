"""The field team: suggestions for a work order, the technician's day, cards, quality checks.

A technician's own actions on a job (confirm the visit, start, self-check and ask for the
customer's acceptance) are the case's actions (``POST /cases/{case_no}/confirm-visit`` …),
which the stage model lets a technician take on their own jobs only.
"""

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, status

from api import field_service as service
from api.deps import (
    Context,
    DeskRole,
    Page,
    PathId,
    PathNumber,
    SupervisorCaller,
    allow_caller,
)
from api.field_service import (
    CardIn,
    CardOut,
    Job,
    QualityCheckIn,
    QualityCheckList,
    QualityCheckOut,
    WorkOrderNeeds,
)
from api.technician_service import Suggestion
from domain.dispatch import work_order_id
from settings import Caller

router = APIRouter(tags=["field team"])
Technician = Annotated[Caller, Depends(allow_caller("technician"))]


@router.post("/work-orders/{case_no}/{number}/suggest", response_model=list[Suggestion])
async def suggest(case_no: PathId, number: PathNumber, body: WorkOrderNeeds, ctx: Context, role: DeskRole) -> list[Suggestion]:
    """Who should take the case's work order ``number`` (the next one is one more than it
    has): every technician, the eligible first and best first, each with the reasons. The
    desk dispatches to the first (``POST /cases/{case_no}/dispatch``) or picks another."""
    return await service.suggest_for(ctx, case_no, number, body)


@router.get("/me/jobs", response_model=list[Job])
async def my_jobs(ctx: Context, caller: Technician, day: date | None = None) -> list[Job]:
    """The calling technician's visits of the day (today in the company's timezone by default)."""
    today = (await ctx.clock()).astimezone(ctx.settings.zone).date()
    return await service.my_jobs(ctx, caller.staff_id, day or today)


@router.post("/technicians/{technician_id}/cards", status_code=status.HTTP_201_CREATED, response_model=CardOut)
async def give_card(technician_id: PathId, body: CardIn, ctx: Context, caller: SupervisorCaller) -> CardOut:
    """A yellow card (minor fault) or a red card (major fault) with the reason. The policy's
    number of yellow cards since the last reinstatement suspends for retraining; a red card
    removes. ``status_after`` says what the card did."""
    return await service.give_card(ctx, technician_id, body, by=caller.acting_as(None))


@router.get("/technicians/{technician_id}/cards", response_model=list[CardOut])
async def list_cards(technician_id: PathId, ctx: Context, role: DeskRole) -> list[CardOut]:
    return await service.list_cards(ctx, technician_id)


@router.get("/quality-checks", response_model=QualityCheckList)
async def quality_queue(
    ctx: Context,
    caller: SupervisorCaller,
    status_: Annotated[Literal["pending", "passed", "failed"] | None, Query(alias="status")] = "pending",
    page: Page = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
) -> QualityCheckList:
    """Completed work orders drawn for a quality check (the policy's share, at random),
    oldest first; ``status=pending`` by default."""
    return await service.quality_queue(ctx, status_, page, page_size)


@router.post("/quality-checks/{case_no}/{number}", response_model=QualityCheckOut)
async def record_check(case_no: PathId, number: PathNumber, body: QualityCheckIn, ctx: Context, caller: SupervisorCaller) -> QualityCheckOut:
    """The check's result (by phone or on site, passed or failed, notes); a failed check can
    give the technician a card. 409 if it was already checked."""
    return await service.record_check(ctx, work_order_id(case_no, number), body, by=caller.acting_as(None))
