"""/api/v1/cases: the service desk's door to cases."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Header, Query, Response, status
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from adapters.storage import cases as case_file
from api import case_service
from api.deps import Context, DeskRole, SupervisorRole
from api.schemas import ActionBody, CaseList, CaseSummary, CaseView, EscalateBody
from domain.case import ActionInput, EscalateInput
from domain.models import CaseKind, Intake, Severity, Stage

router = APIRouter(prefix="/cases", tags=["cases"])



@router.post("", status_code=status.HTTP_201_CREATED, response_model=CaseView)
async def open_case(
    intake: Intake,
    ctx: Context,
    role: DeskRole,
    response: Response,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> CaseView:
    """Record a request from any channel and start its case. The same ``Idempotency-Key``
    returns the same case (200) instead of opening another."""
    case, replayed = await case_service.open_case(ctx, intake, idempotency_key)
    if replayed:
        response.status_code = status.HTTP_200_OK
        response.headers["Idempotent-Replayed"] = "true"
    return case


@router.get("", response_model=CaseList)
async def list_cases(
    ctx: Context,
    role: DeskRole,
    kind: CaseKind | None = None,
    severity: Severity | None = None,
    stage: Stage | None = None,
    breached: bool | None = None,
    breached_since: Annotated[datetime | None, Query(description="a clock breached at or after")] = None,
    breached_until: Annotated[datetime | None, Query(description="a clock breached before")] = None,
    text: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
    sort: Annotated[str, Query(pattern="^(received|deadline)$")] = "received",
    page: Annotated[int, Query(ge=1)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> CaseList:
    """Cases from the case file: newest first, or by the nearest open deadline."""
    f = case_file.CaseFilter(
        kind=kind, severity=severity, stage=stage, breached=breached, text=text,
        breached_since=breached_since, breached_until=breached_until,
    )

    def read() -> CaseList:
        with ctx.db.session() as session:
            rows, total = case_file.list_cases(session, f, page=page, page_size=page_size, by_deadline=sort == "deadline")
            return CaseList(items=[CaseSummary.from_row(r) for r in rows], total=total, page=page, page_size=page_size)

    return await run_in_threadpool(read)


@router.get("/{case_no}", response_model=CaseView)
async def get_case(case_no: str, ctx: Context, role: DeskRole) -> CaseView:
    """The live case: every clock with its deadline and whether it was met, warned or breached."""
    return await case_service.view(ctx, case_no)


def _action(name: str, path: str, summary: str) -> None:
    async def endpoint(case_no: str, body: ActionBody, ctx: Context, role: DeskRole) -> CaseView | JSONResponse:
        try:
            return await case_service.act(ctx, case_no, name, ActionInput(by=body.by or role, note=body.note))
        except case_service.ActionPending:
            return JSONResponse(
                {"case_no": case_no, "accepted": True, "detail": "accepted; the case file records it when the database is back"},
                status_code=status.HTTP_202_ACCEPTED,
            )

    endpoint.__name__ = name
    router.add_api_route(
        f"/{{case_no}}/{path}", endpoint, methods=["POST"], response_model=CaseView, summary=summary,
        responses={
            202: {"description": "accepted by the case, not yet in the case file (the database is down)"},
            409: {"description": "illegal in the case's current stage; the reason is in detail"},
        },
    )


_action("respond", "respond", "First contact made with the customer (meets the response clock)")
_action("propose_plan", "propose-plan", "Plan or solution given (meets the plan clock)")
_action("resolve", "resolve", "Problem solved (meets the resolution clock)")
_action("close", "close", "Close the case file")


@router.post("/{case_no}/escalate", status_code=status.HTTP_202_ACCEPTED)
async def escalate(case_no: str, body: EscalateBody, ctx: Context, role: SupervisorRole) -> dict:
    """A supervisor or manager escalates the case to a level; the chain for that level is told."""
    await case_service.escalate(ctx, case_no, EscalateInput(level=body.level, reason=body.reason, by=body.by or role))
    return {"case_no": case_no, "level": body.level, "accepted": True}
