"""/api/v1: a case's messages, the dead letters, and retrying one."""

from typing import Annotated

from fastapi import APIRouter, Query, status
from pydantic import BaseModel

from api import notification_service
from api.deps import Context, DeskRole, Page, PathId, PathNumber, SupervisorRole
from api.schemas import NotificationOut

router = APIRouter(tags=["notifications"])


class DeadLetters(BaseModel):
    items: list[NotificationOut]
    total: int
    page: int
    page_size: int


@router.get("/cases/{case_no}/notifications", response_model=list[NotificationOut])
async def case_notifications(case_no: PathId, ctx: Context, role: DeskRole) -> list[NotificationOut]:
    """Every message of the case, oldest first, with its delivery status."""
    return await notification_service.for_case(ctx, case_no)


@router.get("/notifications/dead-letters", response_model=DeadLetters)
async def dead_letters(
    ctx: Context,
    role: SupervisorRole,
    page: Page = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
) -> DeadLetters:
    """Messages every channel gave up on, newest first, with the last error."""
    items, total = await notification_service.dead_letters(ctx, page=page, page_size=page_size)
    return DeadLetters(items=items, total=total, page=page, page_size=page_size)


@router.post(
    "/notifications/{notification_id}/retry",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=NotificationOut,
    responses={404: {"description": "no such notification"}, 409: {"description": "not a dead letter, or already being retried"}},
)
async def retry(notification_id: PathNumber, ctx: Context, role: SupervisorRole) -> NotificationOut:
    """Send a dead letter again, now, over the channels configured today."""
    return await notification_service.retry(ctx, notification_id, by=role)
