"""/api/v1/cases: the service desk's door to cases."""


from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Response, status
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.concurrency import run_in_threadpool

from adapters.archive import service_file
from adapters.storage import cases as case_file
from api import case_service
from api.deps import (
    AppContext,
    Context,
    DeskRole,
    IdempotencyKey,
    Page,
    PathId,
    SearchText,
    SupervisorCaller,
    current_caller,
    unprocessable,
)
from api.schemas import CaseList, CaseSummary, CaseView, EscalateBody
from domain.bounds import Instant
from domain.case import EscalateInput
from domain.models import CaseKind, Intake, Severity, Stage, reported_at_refusal
from domain.process import STEPS, Step
from settings import Caller

router = APIRouter(prefix="/cases", tags=["cases"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=CaseView, responses={
    200: {"model": CaseView, "description": "the same Idempotency-Key and body again: the case it opened"},
    202: {"model": CaseView, "description": "recorded, Temporal away (pending): the repair pass starts it"},
})
async def open_case(
    intake: Intake,
    ctx: Context,
    role: DeskRole,
    response: Response,
    idempotency_key: IdempotencyKey,
) -> CaseView:
    """Record a request from any channel and start its case. The same ``Idempotency-Key``
    returns the same case (200) instead of opening another. 202 (``pending``): recorded, but
    Temporal is away; its workflow starts, clocks from the intake time, when it is back."""
    # Judged on the clock the case is received by, before anything is written.
    if reason := reported_at_refusal(intake.reported_at, await ctx.clock()):
        raise unprocessable(("body", "reported_at"), reason)
    case, replayed = await case_service.open_case(ctx, intake, idempotency_key)
    if replayed:
        response.status_code = status.HTTP_200_OK
        response.headers["Idempotent-Replayed"] = "true"
    elif case.pending:
        response.status_code = status.HTTP_202_ACCEPTED
    return case


@router.get("", response_model=CaseList)
async def list_cases(
    ctx: Context,
    role: DeskRole,
    kind: CaseKind | None = None,
    severity: Severity | None = None,
    stage: Stage | None = None,
    breached: bool | None = None,
    breached_since: Annotated[Instant | None, Query(description="a clock breached at or after (with its offset)")] = None,
    breached_until: Annotated[Instant | None, Query(description="a clock breached before (with its offset)")] = None,
    text: SearchText = None,
    sort: Annotated[str, Query(pattern="^(received|deadline)$")] = "received",
    page: Page = 1,
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
async def get_case(case_no: PathId, ctx: Context, role: DeskRole) -> CaseView:
    """The live case: every clock with its deadline and whether it was met, warned or breached."""
    return await case_service.view(ctx, case_no)


def _action_route(step: Step) -> None:
    """``POST /cases/{case_no}/<action>`` for one step of the stage model, with its body model."""
    # The role is checked against the stage model in case_service.act, which names the step.
    who = Depends(current_caller)

    # No "from __future__ import annotations" in this module: FastAPI reads the body model
    # from the annotation, which must be the real class here.
    async def endpoint(case_no: PathId, body: step.payload, ctx: Context, caller: Caller = who) -> CaseView | JSONResponse:  # type: ignore[valid-type]
        try:
            return await case_service.act(ctx, case_no, step.name, body, caller)
        except case_service.ActionPending:
            return JSONResponse(
                {"case_no": case_no, "accepted": True, "detail": "accepted; the case file records it when the database is back"},
                status_code=status.HTTP_202_ACCEPTED,
            )

    endpoint.__name__ = step.name
    stages = ", ".join(sorted(s.value for s in step.sources))
    router.add_api_route(
        f"/{{case_no}}/{step.path}", endpoint, methods=["POST"], response_model=CaseView, summary=step.summary,
        description=f"Kinds: {', '.join(sorted(k.value for k in step.kinds))}. Stages: {stages}. "
        f"Roles: {', '.join(sorted(step.roles))}.",
        responses={
            202: {"description": "accepted by the case, not yet in the case file (the database is down)"},
            403: {"description": "the caller's role may not take this action"},
            409: {"description": "illegal in the case's current stage, or a condition is not met; the reason is in detail"},
        },
    )


for _step in STEPS.values():
    _action_route(_step)


@router.post("/{case_no}/escalate", status_code=status.HTTP_202_ACCEPTED)
async def escalate(case_no: PathId, body: EscalateBody, ctx: Context, caller: SupervisorCaller) -> dict:
    """A supervisor or manager escalates the case to a level; the chain for that level is told."""
    await case_service.escalate(ctx, case_no, EscalateInput(level=body.level, reason=body.reason, by=caller.acting_as(body.by)))
    return {"case_no": case_no, "level": body.level, "accepted": True}


def _service_file(ctx: AppContext, case_no: PathId):
    """A reader of the archived file of a closed case, or of a draft of a live one."""

    def read() -> tuple[dict, str] | None:
        with ctx.db.session() as session:
            case = case_file.get_case(session, case_no)
            if case is None:
                return None
            archived = service_file.stored(session, case)
            if archived is not None:
                return archived.document, archived.html
            doc = service_file.document(session, case)
            return doc, service_file.render_html(doc, company=ctx.settings.company_name, zone=ctx.settings.zone, draft=True)

    return read


@router.get("/{case_no}/service-file")
async def service_file_json(case_no: PathId, ctx: Context, role: DeskRole) -> dict:
    """The case's complete service file as JSON: intake, survey, plan rounds, work orders,
    acceptance, settlement, revisit, notes, the SLA record, escalations and the timeline."""
    found = await run_in_threadpool(_service_file(ctx, case_no))
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no case {case_no}")
    return found[0]


@router.get("/{case_no}/service-file.html", response_class=HTMLResponse)
async def service_file_html(case_no: PathId, ctx: Context, role: DeskRole) -> HTMLResponse:
    """The same file as a printable HTML document."""
    found = await run_in_threadpool(_service_file(ctx, case_no))
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no case {case_no}")
    return HTMLResponse(found[1])
