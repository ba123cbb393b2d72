"""/api/v1/technicians: the field team's registry, and who should take a work order."""

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, status
from pydantic import BaseModel, Field

from api import technician_service as service
from api.deps import Context, DeskRole, PathId, allow_caller
from api.technician_service import (
    StatusChangeOut,
    Suggestion,
    TechnicianOut,
)
from domain.dispatch import JobIn, TechnicianIn
from domain.models import CleanText
from settings import Caller

router = APIRouter(prefix="/technicians", tags=["technicians"])
ManagerCaller = Annotated[Caller, Depends(allow_caller("manager", "admin"))]


class StatusChange(BaseModel):
    status: Literal["active", "suspended", "removed"]
    reason: CleanText = Field(min_length=1, max_length=500)
    retraining: CleanText | None = Field(
        default=None, min_length=1, max_length=500,
        description="required to reinstate (status active): the training completed, and when",
    )


@router.post("", status_code=status.HTTP_201_CREATED, response_model=TechnicianOut)
async def register(body: TechnicianIn, ctx: Context, caller: ManagerCaller) -> TechnicianOut:
    """Register a technician (409 if the id is taken)."""
    return await service.register(ctx, body, by=caller.acting_as(None))


@router.get("", response_model=list[TechnicianOut])
async def search(
    ctx: Context,
    role: DeskRole,
    status_: Annotated[Literal["active", "suspended", "removed"] | None, Query(alias="status")] = None,
    skill: str | None = None,
    area: str | None = None,
) -> list[TechnicianOut]:
    return await service.search(ctx, status=status_, skill=skill, area=area)


@router.post("/suggestions", response_model=list[Suggestion])
async def suggest(body: JobIn, ctx: Context, role: DeskRole) -> list[Suggestion]:
    """Who should take a work order needing these skills, in this district, in this window:
    every technician, the eligible first and best first (least loaded that day, then the
    closest fit), each with the reasons; the desk takes the first or picks another."""
    return await service.suggest(ctx, body)


@router.get("/{technician_id}", response_model=TechnicianOut)
async def read(technician_id: PathId, ctx: Context, role: DeskRole) -> TechnicianOut:
    return await service.read(ctx, technician_id)


@router.put("/{technician_id}", response_model=TechnicianOut)
async def replace(technician_id: PathId, body: TechnicianIn, ctx: Context, caller: ManagerCaller) -> TechnicianOut:
    """Change a technician's details (skills, areas, days, hours, capacity); not the status."""
    return await service.replace(ctx, technician_id, body)


@router.post("/{technician_id}/status", response_model=TechnicianOut)
async def change_status(technician_id: PathId, body: StatusChange, ctx: Context, caller: ManagerCaller) -> TechnicianOut:
    """Suspend, remove or reinstate (active, after retraining: manager or admin only) a
    technician, with the reason; kept as history. A removal is final."""
    return await service.change_status(ctx, technician_id, body.status, body.reason, by=caller.acting_as(None), retraining=body.retraining)


@router.get("/{technician_id}/history", response_model=list[StatusChangeOut])
async def history(technician_id: PathId, ctx: Context, role: DeskRole) -> list[StatusChangeOut]:
    """Every status change of the technician, oldest first: who, when and why."""
    return await service.history(ctx, technician_id)
