"""Renovation projects in the console: the list and one project's page with the steps its
stage model allows this role (``domain/project_process.py``), through ``project_service``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from api import project_service
from api.console import forms
from api.console.errors import Problem, allow, call
from api.console.pages import render
from api.console.session import Session, require
from api.console.submit import posted, submitted
from api.deps import DESK, get_context
from api.updates import ActionPending
from api.routers import projects as projects_router
from domain.project import ProjectStage
from domain.project_process import STEPS

router = APIRouter(prefix="/console/projects", include_in_schema=False)
Signed = Annotated[Session, Depends(require)]


async def _list(request: Request, s: Session, stage: str | None, text: str | None) -> Response:
    ctx = get_context(request)
    chosen = ProjectStage(stage) if stage in {p.value for p in ProjectStage} else None
    found = await call(s, projects_router.list_projects(
        ctx, s.caller.role, stage=chosen, package=None, staff=None, breached=None, under_warranty_on=None,
        text=text[:100] if text else None, page=1, page_size=100,
    ))
    return render(request, "projects.html", s, projects=found.items, total=found.total,
                  stages=[p.value for p in ProjectStage], stage=chosen.value if chosen else "", text=text or "")


@router.get("")
async def projects(request: Request, s: Signed) -> Response:
    allow(s, DESK)
    return await _list(request, s, None, None)


@router.post("")
async def projects_filtered(request: Request, s: Signed) -> Response:
    """Filtered in a POST: the search text (a name, a phone) stays out of URLs."""
    allow(s, DESK)
    form = await posted(request, s)
    stage, text = form.get("stage"), form.get("text")
    return await _list(request, s, stage if isinstance(stage, str) else None,
                       text.strip() if isinstance(text, str) and text.strip() else None)


async def _page(request: Request, s: Session, project_id: str, *, failed: str | None = None,
                state: forms.FormState | None = None, notice: str | None = None, status_code: int = 200) -> Response:
    ctx = get_context(request)
    project = await call(s, project_service.view(ctx, project_id))
    role = s.caller.role
    steps = [(n, forms.fields_of(STEPS[n].payload)) for n in project.next_actions if role in STEPS[n].roles]
    return render(request, "project.html", s, status_code=status_code, project=project, p=project.state,
                  actions=steps, failed=failed, state=state or forms.FormState(), notice=notice)


@router.get("/{project_id}")
async def project_page(project_id: str, request: Request, s: Signed) -> Response:
    allow(s, DESK)
    return await _page(request, s, project_id)


@router.post("/{project_id}/act/{step}")
async def act(project_id: str, step: str, request: Request, s: Signed) -> Response:
    allow(s, DESK)
    if step not in STEPS:
        raise Problem(404, f"no project step {step}", s)
    sub = await submitted(request, s, STEPS[step].payload, forms.fields_of(STEPS[step].payload))
    if sub.payload is None:
        return await _page(request, s, project_id, failed=step, state=sub.state, status_code=422)
    try:
        await project_service.act(get_context(request), project_id, step, sub.payload, s.caller)
    except ActionPending:
        return await _page(request, s, project_id, notice="notice.project_pending", status_code=202)
    except HTTPException as exc:
        sub.refused(exc)
        return await _page(request, s, project_id, failed=step, state=sub.state, status_code=exc.status_code)
    return RedirectResponse(f"/console/projects/{project_id}", status_code=303)
