"""/api/v1/projects, /leads and /revisits: renovation projects, their warranty, the revisits
due and the sales leads they produce."""

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Response, status
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.concurrency import run_in_threadpool

from adapters.archive import warranty_card
from adapters.notify import project_outbox
from adapters.storage import projects as project_file
from api import project_service
from api.deps import (
    Context,
    DeskRole,
    IdempotencyKey,
    Page,
    PathId,
    SearchText,
    check_day,
    current_caller,
    unprocessable,
)
from api.project_schemas import (
    LeadList,
    LeadOut,
    ProjectIntake,
    ProjectList,
    ProjectSummary,
    ProjectView,
    RevisitDue,
    WarrantyView,
)
from api.schemas import NotificationOut, notification_out
from api.updates import ActionPending
from domain import warranty
from domain.bounds import Day
from domain.models import CleanText
from domain.project import Package, ProjectStage
from domain.project_process import STEPS, ProjectStep
from domain.revisit import SecondaryNeed
from settings import Caller

router = APIRouter(tags=["projects"])


@router.post("/projects", status_code=status.HTTP_201_CREATED, response_model=ProjectView, responses={
    200: {"model": ProjectView, "description": "the same Idempotency-Key and body again: the project it opened"},
    202: {"model": ProjectView, "description": "recorded, Temporal away (pending): the repair pass starts it"},
})
async def open_project(
    intake: ProjectIntake, ctx: Context, role: DeskRole, response: Response,
    idempotency_key: IdempotencyKey,
) -> ProjectView:
    """A new project at its first consultation; its workflow starts in ``consultation``. The
    same ``Idempotency-Key`` returns the same project (200). 202 (``pending``): recorded, but
    Temporal is away; the repair pass starts its workflow when it is back."""
    project, replayed = await project_service.open_project(ctx, intake, idempotency_key)
    if replayed:
        response.status_code = status.HTTP_200_OK
        response.headers["Idempotent-Replayed"] = "true"
    elif project.pending:
        response.status_code = status.HTTP_202_ACCEPTED
    return project


@router.get("/projects", response_model=ProjectList)
async def list_projects(
    ctx: Context, role: DeskRole, stage: ProjectStage | None = None,
    package: Package | None = None,
    staff: Annotated[CleanText | None, Query(max_length=100, description="designer or project manager")] = None,
    breached: bool | None = None,
    under_warranty_on: Annotated[Day | None, Query(description="handed over and still under warranty that day")] = None,
    text: SearchText = None,
    page: Page = 1, page_size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> ProjectList:
    f = project_file.ProjectFilter(stage=stage.value if stage else None, package=package, staff=staff,
                                   breached=breached, warranty_on=under_warranty_on, text=text)

    def read() -> ProjectList:
        with ctx.db.session() as session:
            rows, total = project_file.list_projects(session, f, page=page, page_size=page_size)
            return ProjectList(items=[ProjectSummary.from_row(r) for r in rows], total=total, page=page, page_size=page_size)

    return await run_in_threadpool(read)


@router.get("/projects/{project_id}", response_model=ProjectView)
async def get_project(project_id: PathId, ctx: Context, role: DeskRole) -> ProjectView:
    """The live project from its workflow (the project file's copy when Temporal cannot answer)."""
    return await project_service.view(ctx, project_id)


async def _warranty_state(ctx, project_id: PathId):
    p = await project_service.load(ctx, project_id)
    state, _ = await project_service.state(ctx, p)
    if state.warranty is None:
        raise HTTPException(status.HTTP_409_CONFLICT, f"project {project_id} is not handed over yet (stage {state.stage.value})")
    return p, state


@router.get("/projects/{project_id}/warranty", response_model=WarrantyView)
async def get_warranty(
    project_id: PathId, ctx: Context, role: DeskRole,
    on: Annotated[Day | None, Query(description="the day to judge; today by default")] = None,
    defect: warranty.DefectCategory | None = None, area: warranty.Area | None = None,
) -> WarrantyView:
    """Every term with its end date; with ``defect`` (and ``area``), whether that defect is covered."""
    _, state = await _warranty_state(ctx, project_id)
    w = state.warranty
    day = on or (await ctx.clock()).astimezone(ctx.settings.zone).date()
    covered = None
    if defect is not None:  # by the terms on the card issued at the handover
        covered = project_service.covered(ctx, state, defect, area, day)
    return WarrantyView(project_id=project_id, handover_on=w.handover_on, warranty_until=w.until, terms=w.terms, on=day,
                        in_warranty=[t.term for t in w.terms if t.starts_on <= day <= t.ends_on], defect=covered)


@router.get("/projects/{project_id}/warranty-card.html", response_class=HTMLResponse)
async def get_warranty_card(project_id: PathId, ctx: Context, role: DeskRole) -> HTMLResponse:
    """The warranty card (保修卡) issued at the handover: the terms and their end dates, printable."""
    p, state = await _warranty_state(ctx, project_id)
    if p.warranty_card_html is not None:
        return HTMLResponse(p.warranty_card_html)  # as issued at the handover
    # Handed over before cards were issued (or not yet written): rendered now, the same terms.
    today = (await ctx.clock()).astimezone(ctx.settings.zone).date()
    html = warranty_card.render(warranty_card.card_data(p, state), company=ctx.settings.company_name,
                                company_phone=ctx.settings.company_phone, today=today)
    return HTMLResponse(html)


@router.get("/projects/{project_id}/notifications", response_model=list[NotificationOut])
async def project_notifications(project_id: PathId, ctx: Context, role: DeskRole) -> list[NotificationOut]:
    """Every message of the project (progress reports, problems, materials, revisits, greetings,
    defects to their owners) with its delivery status; oldest first."""
    p = await project_service.load(ctx, project_id)

    def read() -> list[NotificationOut]:
        with ctx.db.session() as session:
            return [notification_out(row, None) for row in project_outbox.for_project(session, p.id)]

    return await run_in_threadpool(read)


def _step_route(step: ProjectStep) -> None:
    """``POST /projects/{project_id}/<step>`` for one step of the project's stage model."""
    # No "from __future__ import annotations" here: FastAPI reads the body model from the
    # annotation, which must be the real class.
    who = Depends(current_caller)

    async def endpoint(project_id: PathId, body: step.payload, ctx: Context, caller: Caller = who) -> ProjectView | JSONResponse:  # type: ignore[valid-type]
        try:
            return await project_service.act(ctx, project_id, step.name, body, caller)
        except ActionPending:
            return JSONResponse(
                {"project_id": project_id, "accepted": True,
                 "detail": "accepted; the project file records it when the database is back"},
                status_code=status.HTTP_202_ACCEPTED,
            )

    endpoint.__name__ = f"project_{step.name}"
    router.add_api_route(
        f"/projects/{{project_id}}/{step.path}", endpoint, methods=["POST"], response_model=ProjectView,
        summary=step.summary,
        description=f"Stages: {', '.join(sorted(s.value for s in step.sources))}. Roles: {', '.join(sorted(step.roles))}.",
        responses={202: {"description": "accepted by the project, not yet in the project file (the database is down)"},
                   403: {"description": "the caller's role may not take this step"},
                   409: {"description": "illegal in the project's stage, or a condition is not met; the reason is in detail"},
                   503: {"description": "Temporal is unreachable, or the project's workflow did not take the step in time"}},
    )


for _step in STEPS.values():
    _step_route(_step)


@router.get("/revisits", response_model=list[RevisitDue])
async def revisits_due(
    ctx: Context, role: DeskRole,
    due: Annotated[str, Query(max_length=10, description="'today' or a date (YYYY-MM-DD) from 2000-01-01 to 2100-12-31")] = "today",
) -> list[RevisitDue]:
    """Project revisits to make that day: due by then, not recorded, their window still open."""
    if due == "today":
        day = (await ctx.clock()).astimezone(ctx.settings.zone).date()
    else:
        try:
            day = date.fromisoformat(due)
        except ValueError:
            raise unprocessable(("query", "due"), "due must be 'today' or a date YYYY-MM-DD") from None
        check_day("due", day)

    def read() -> list[RevisitDue]:
        with ctx.db.session() as session:
            return [RevisitDue.from_rows(t, p) for t, p in project_file.due_revisits(session, day)]

    return await run_in_threadpool(read)


@router.get("/leads", response_model=LeadList)
async def list_leads(
    ctx: Context, role: DeskRole, need: SecondaryNeed | None = None,
    page: Page = 1, page_size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> LeadList:
    """Secondary needs heard at revisits, for sales, newest first, each with its source revisit."""

    def read() -> LeadList:
        with ctx.db.session() as session:
            rows, total = project_file.leads(session, need, page, page_size)
            return LeadList(items=[LeadOut.from_row(r) for r in rows], total=total, page=page, page_size=page_size)

    return await run_in_threadpool(read)
