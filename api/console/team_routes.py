"""The field team in the console: the technician board for the desk (with registration and
status changes for managers, through ``technician_service.register/change_status`` like the
API's), and a technician's own day (``field_service.my_jobs``) with the steps they take on site.

A technician acts through ``case_service.act`` as themselves, so the stage model's rule
that a technician acts on their own jobs only holds here exactly as in the API.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from api import case_service, field_service, technician_service
from api.console import forms
from api.console.errors import Problem, allow, call
from api.console.pages import render
from api.console.session import Session, require
from api.console.submit import submitted
from api.deps import DESK, SUPERVISORS, get_context
from api.routers.technicians import StatusChange
from domain.dispatch import TechnicianIn
from domain.models import Stage
from domain.process import MANAGERS, STEPS, TECHNICIAN

router = APIRouter(prefix="/console", include_in_schema=False)
Signed = Annotated[Session, Depends(require)]

# What a technician does on a job, in the order of a visit; the stage model says when.
JOB_STEPS = ("confirm_visit", "start_work", "amend_plan", "complete_work")
CARD_FIELDS = forms.fields_of(field_service.CardIn)
REGISTER_FIELDS = forms.as_tags(forms.fields_of(TechnicianIn), "skills", "areas", "days")
STATUS_FIELDS = forms.fields_of(StatusChange)
REGISTER = "register"  # the registration form's name; a status form's is "{id}/status"


async def _technicians_page(request: Request, s: Session, *, failed: str | None = None,
                            state: forms.FormState | None = None, status_code: int = 200) -> Response:
    ctx = get_context(request)
    team = await call(s, technician_service.search(ctx))
    cards = {tech.id: await call(s, field_service.list_cards(ctx, tech.id)) for tech in team}
    return render(request, "technicians.html", s, status_code=status_code, team=team, cards=cards,
                  card_fields=CARD_FIELDS, may_card=s.caller.role in SUPERVISORS, failed=failed,
                  state=state or forms.FormState(), may_manage=s.caller.role in MANAGERS,
                  register_fields=REGISTER_FIELDS, status_fields=STATUS_FIELDS)


@router.get("/technicians")
async def technicians(request: Request, s: Signed) -> Response:
    allow(s, DESK)
    return await _technicians_page(request, s)


@router.post("/technicians/{technician_id}/cards")
async def give_card(technician_id: str, request: Request, s: Signed) -> Response:
    allow(s, SUPERVISORS)
    sub = await submitted(request, s, field_service.CardIn, CARD_FIELDS)
    if sub.payload is None:
        return await _technicians_page(request, s, failed=technician_id, state=sub.state, status_code=422)
    try:
        await field_service.give_card(get_context(request), technician_id, sub.payload, by=s.caller.acting_as(None))
    except HTTPException as exc:
        sub.refused(exc, elsewhere=(404,))  # no such row on the board to show it next to
        return await _technicians_page(request, s, failed=technician_id, state=sub.state, status_code=exc.status_code)
    return RedirectResponse("/console/technicians", status_code=303)


@router.post("/technicians/register")
async def register(request: Request, s: Signed) -> Response:
    """A technician registered as ``POST /technicians`` does (manager or admin); a taken id's
    409 and the model's 422s are shown next to the form."""
    allow(s, MANAGERS)
    sub = await submitted(request, s, TechnicianIn, REGISTER_FIELDS)
    if sub.payload is None:
        return await _technicians_page(request, s, failed=REGISTER, state=sub.state, status_code=422)
    try:
        await technician_service.register(get_context(request), sub.payload, by=s.caller.acting_as(None))
    except HTTPException as exc:
        sub.refused(exc, elsewhere=())
        return await _technicians_page(request, s, failed=REGISTER, state=sub.state, status_code=exc.status_code)
    return RedirectResponse("/console/technicians", status_code=303)


@router.post("/technicians/{technician_id}/status")
async def change_status(technician_id: str, request: Request, s: Signed) -> Response:
    """Suspend, remove or reinstate, as ``POST /technicians/{id}/status`` (manager or admin):
    the service refuses a reinstatement without the retraining (422) and a removed or
    unchanged technician (409), shown next to that technician's form."""
    allow(s, MANAGERS)
    sub = await submitted(request, s, StatusChange, STATUS_FIELDS)
    failed = f"{technician_id}/status"
    if sub.payload is None:
        return await _technicians_page(request, s, failed=failed, state=sub.state, status_code=422)
    try:
        await technician_service.change_status(get_context(request), technician_id, sub.payload.status, sub.payload.reason,
                                               by=s.caller.acting_as(None), retraining=sub.payload.retraining)
    except HTTPException as exc:
        sub.refused(exc, elsewhere=(404,))  # no such row on the board to show it next to
        return await _technicians_page(request, s, failed=failed, state=sub.state, status_code=exc.status_code)
    return RedirectResponse("/console/technicians", status_code=303)


def _job_steps(job: field_service.Job) -> list[tuple[str, str, list[forms.FieldSpec]]]:
    """The forms a job offers now, each keyed ``case_no/step`` (a day has several jobs)."""
    done = {"confirm_visit": job.confirmed_at or job.started_at, "start_work": job.started_at,
            "complete_work": job.completed_at}
    if job.case_stage != Stage.dispatched.value or job.completed_at:
        return []
    return [(f"{job.case_no}/{name}", name, forms.fields_of(STEPS[name].payload, without=("by",))) for name in JOB_STEPS
            if TECHNICIAN in STEPS[name].roles and not done.get(name)]


async def _my_day(request: Request, s: Session, day: date | None = None, *, failed: str | None = None,
                  state: forms.FormState | None = None, status_code: int = 200) -> Response:
    ctx = get_context(request)
    today = (await ctx.clock()).astimezone(ctx.settings.zone).date()
    jobs = await call(s, field_service.my_jobs(ctx, s.caller.staff_id, day or today))
    # A refusal about a job not on this day's list (not theirs, or another day) shows on top.
    elsewhere = bool(failed) and not any(failed.startswith(f"{job.case_no}/") for job in jobs)
    return render(request, "my_jobs.html", s, status_code=status_code, day=day or today,
                  jobs=[(job, _job_steps(job)) for job in jobs], failed=failed, elsewhere=elsewhere,
                  state=state or forms.FormState())


@router.get("/me")
async def my_day(request: Request, s: Signed, day: date | None = None) -> Response:
    allow(s, {TECHNICIAN})
    return await _my_day(request, s, day)


@router.post("/me/jobs/{case_no}/{action}")
async def job_step(case_no: str, action: str, request: Request, s: Signed) -> Response:
    allow(s, {TECHNICIAN})
    if action not in JOB_STEPS:
        raise Problem(404, f"no job step {action}", s)
    sub = await submitted(request, s, STEPS[action].payload, forms.fields_of(STEPS[action].payload, without=("by",)))
    failed = f"{case_no}/{action}"
    if sub.payload is None:
        return await _my_day(request, s, failed=failed, state=sub.state, status_code=422)
    try:
        await case_service.act(get_context(request), case_no, action, sub.payload, s.caller)
    except case_service.ActionPending:
        pass  # accepted by the case; the day's list shows it once the case file has it
    except HTTPException as exc:
        sub.refused(exc, elsewhere=())  # the day's page names a job not on it at the top
        return await _my_day(request, s, failed=failed, state=sub.state, status_code=exc.status_code)
    return RedirectResponse("/console/me", status_code=303)
