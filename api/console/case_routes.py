"""The case board, the case page with its action forms, and the new-case form.

Every read and every action goes through the functions the API's routes call
(``api.routers.cases.list_cases``, ``case_service.view/act/open_case``,
``notification_service.for_case``, ``field_service.suggest_for``); the stage model decides
which forms a role sees.
Search text arrives in a POST body, never in a URL (URLs end up in logs and histories).
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from api import case_service, field_service, notification_service
from api.console import forms, timeline
from api.console.errors import Problem, allow, call
from api.console.pages import render
from api.console.session import Session, require
from api.console.submit import posted, submitted
from api.deps import DESK, get_context
from api.routers import cases as cases_router
from domain.models import CaseKind, Intake, Severity, Stage
from domain.process import STEPS

router = APIRouter(prefix="/console/cases", include_in_schema=False)
Signed = Annotated[Session, Depends(require)]
SORTS = ("deadline", "received")


def _pick(value, allowed):
    return value if isinstance(value, str) and value in allowed else None


def board_filters(form: dict) -> dict:
    """The board's filters from its form; anything unknown is simply not a filter."""
    text = form.get("text")
    return {
        "kind": _pick(form.get("kind"), {k.value for k in CaseKind}),
        "severity": _pick(form.get("severity"), {s.value for s in Severity}),
        "stage": _pick(form.get("stage"), {s.value for s in Stage}),
        "breached": _pick(form.get("breached"), {"true", "false"}),
        "text": text.strip()[:100] if isinstance(text, str) and text.strip() else None,
        "sort": _pick(form.get("sort"), SORTS) or "deadline",
    }


async def _board(request: Request, s: Session, filters: dict):
    ctx = get_context(request)
    found = await call(s, cases_router.list_cases(
        ctx, s.caller.role,
        kind=CaseKind(filters["kind"]) if filters["kind"] else None,
        severity=Severity(filters["severity"]) if filters["severity"] else None,
        stage=Stage(filters["stage"]) if filters["stage"] else None,
        breached=None if filters["breached"] is None else filters["breached"] == "true",
        text=filters["text"], sort=filters["sort"], page=1, page_size=100,
    ))
    return found, await ctx.clock()


def _board_values(filters: dict) -> dict:
    return dict(filters=filters, kinds=[k.value for k in CaseKind], severities=[s.value for s in Severity],
                stages=[s.value for s in Stage], sorts=SORTS)


@router.get("")
async def board(request: Request, s: Signed) -> Response:
    return await _board_page(request, s, {})


@router.post("")
async def board_filtered(request: Request, s: Signed) -> Response:
    return await _board_page(request, s, await posted(request, s))


async def _board_page(request: Request, s: Session, form: dict) -> Response:
    allow(s, DESK)
    filters = board_filters(form)
    found, now = await _board(request, s, filters)
    return render(request, "board.html", s, cases=found.items, total=found.total, now=now, **_board_values(filters))


@router.post("/table")
async def board_rows(request: Request, s: Signed) -> Response:
    """The board's rows alone: the page reloads them every few seconds."""
    allow(s, DESK)
    found, now = await _board(request, s, board_filters(await posted(request, s)))
    return render(request, "board_rows.html", s, cases=found.items, total=found.total, now=now)


# -- a new case ---------------------------------------------------------------------------------------------

INTAKE_FIELDS = forms.fields_of(Intake)


def _new_case_page(request: Request, s: Session, state: forms.FormState, key: str, status_code: int = 200) -> Response:
    return render(request, "new_case.html", s, status_code=status_code, specs=INTAKE_FIELDS, state=state, key=key)


@router.get("/new")
async def new_case(request: Request, s: Signed) -> Response:
    allow(s, DESK)
    return _new_case_page(request, s, forms.FormState(values={"kind": "", "channel": "", "locale": "zh-CN"}),
                          secrets.token_urlsafe(16))


@router.post("/new")
async def open_case(request: Request, s: Signed) -> Response:
    allow(s, DESK)
    sub = await submitted(request, s, Intake, INTAKE_FIELDS)
    # One key per rendering of the form: a double click or a resend opens one case.
    key = sub.form.get("key") if isinstance(sub.form.get("key"), str) and sub.form.get("key") else secrets.token_urlsafe(16)
    if sub.payload is None:
        return _new_case_page(request, s, sub.state, key, status_code=422)
    try:
        case, _ = await case_service.open_case(get_context(request), sub.payload, f"console:{key}")
    except HTTPException as exc:
        sub.refused(exc, elsewhere=())
        return _new_case_page(request, s, sub.state, key, status_code=exc.status_code)
    return RedirectResponse(f"/console/cases/{case.case_no}", status_code=303)


# -- one case -------------------------------------------------------------------------------------------------


SUGGEST_FIELDS = forms.as_tags(forms.fields_of(field_service.WorkOrderNeeds), "skills")
SUGGEST = "suggest"  # the suggestion form's name, shown just above the dispatch form


def _actions(case, role: str) -> list[tuple[str, list[forms.FieldSpec]]]:
    return [(name, forms.fields_of(STEPS[name].payload)) for name in case.next_actions if role in STEPS[name].roles]


async def _case_page(request: Request, s: Session, case_no: str, *, failed: str | None = None,
                     state: forms.FormState | None = None, notice: str | None = None, status_code: int = 200,
                     suggestions: list | None = None, dispatch_prefill: forms.FormState | None = None) -> Response:
    ctx = get_context(request)
    case = await call(s, case_service.view(ctx, case_no))
    messages = await call(s, notification_service.for_case(ctx, case_no))
    actions = _actions(case, s.caller.role)
    return render(
        request, "case.html", s, status_code=status_code, case=case, messages=messages,
        events=timeline.entries(case, messages), actions=actions, failed=failed,
        state=state or forms.FormState(), notice=notice, now=await ctx.clock(),
        suggest_fields=SUGGEST_FIELDS, suggestions=suggestions, dispatch_prefill=dispatch_prefill,
    )


@router.get("/{case_no}")
async def case_page(case_no: str, request: Request, s: Signed) -> Response:
    allow(s, DESK)
    return await _case_page(request, s, case_no)


@router.get("/{case_no}/service-file")
async def service_file(case_no: str, request: Request, s: Signed) -> Response:
    """The printable service file, as the API serves it (archived once closed, a draft before)."""
    allow(s, DESK)
    page = await call(s, cases_router.service_file_html(case_no, get_context(request), s.caller.role))
    page.headers["Cache-Control"] = "no-store"
    return page


@router.post("/{case_no}/act/{action}")
async def act(case_no: str, action: str, request: Request, s: Signed) -> Response:
    """One action from its form: the model's errors or the workflow's refusal are shown next
    to the form (422, 409, 403); a success goes back to the case page."""
    allow(s, DESK)
    if action not in STEPS:
        raise Problem(404, f"no action {action}", s)
    sub = await submitted(request, s, STEPS[action].payload, forms.fields_of(STEPS[action].payload))
    if sub.payload is None:
        return await _case_page(request, s, case_no, failed=action, state=sub.state, status_code=422)
    try:
        await case_service.act(get_context(request), case_no, action, sub.payload, s.caller)
    except case_service.ActionPending:
        return await _case_page(request, s, case_no, notice="notice.pending", status_code=202)
    except HTTPException as exc:
        sub.refused(exc)
        return await _case_page(request, s, case_no, failed=action, state=sub.state, status_code=exc.status_code)
    return RedirectResponse(f"/console/cases/{case_no}", status_code=303)


@router.post("/{case_no}/suggest")
async def suggest(case_no: str, request: Request, s: Signed) -> Response:
    """Who should take the case's next work order (``field_service.suggest_for``, as
    ``POST /work-orders/{case_no}/{n}/suggest``): the ranking is shown above the dispatch form,
    whose technician and window are filled in with the first eligible one and the window asked
    about; the desk still dispatches with the dispatch form."""
    allow(s, DESK)
    ctx = get_context(request)
    sub = await submitted(request, s, field_service.WorkOrderNeeds, SUGGEST_FIELDS)
    case = await call(s, case_service.view(ctx, case_no))
    if "dispatch" not in dict(_actions(case, s.caller.role)):
        # The page offers suggestions beside the dispatch form only (the stage moved on).
        sub.state.errors[forms.GENERAL] = [sub.t("suggest.not_now")]
        return await _case_page(request, s, case_no, failed=SUGGEST, state=sub.state, status_code=409)
    if sub.payload is None:
        return await _case_page(request, s, case_no, failed=SUGGEST, state=sub.state, status_code=422)
    try:
        ranked = await field_service.suggest_for(ctx, case_no, len(case.work_orders) + 1, sub.payload)
    except ValidationError as exc:  # the window itself (the service checks it as a JobIn)
        for err in exc.errors(include_url=False):
            loc = err.get("loc") or ()
            where = str(loc[0]) if loc and loc[0] in {f.name for f in SUGGEST_FIELDS} else forms.GENERAL
            sub.state.errors.setdefault(where, []).append(forms.error_text(err, sub.t))
        return await _case_page(request, s, case_no, failed=SUGGEST, state=sub.state, status_code=422)
    except HTTPException as exc:
        sub.refused(exc, elsewhere=())  # no district in the address (422), not a repair (409)
        return await _case_page(request, s, case_no, failed=SUGGEST, state=sub.state, status_code=exc.status_code)
    first = next((r.technician_id for r in ranked if r.eligible), "")
    prefill = forms.FormState(values={"technician": first, "window_start": sub.state.values.get("window_start", ""),
                                      "window_end": sub.state.values.get("window_end", "")})
    return await _case_page(request, s, case_no, failed=None, state=sub.state, suggestions=ranked,
                            dispatch_prefill=prefill)
