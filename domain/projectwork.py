"""What each project step does, after the stage model, the role and the guard allow it.

Pure functions over ``ProjectState``, as ``domain.casework`` is for the case: the workflow
calls ``check`` in its update validator and ``apply`` in the handler, then writes the event.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel

from domain import project_dates
from domain import project_steps as ps
from domain.case import ActionRecord, ActionRequest
from domain.casework import Refused, parse
from domain.project import (
    Acceptance,
    Deadline,
    Defect,
    DesignRound,
    Handover,
    Inspection,
    Needs,
    ProjectRules,
    ProjectStage,
    ProjectState,
    TradeMilestone,
)
from domain.project_process import STEPS, refusal, role_refusal

P = ProjectStage


def check(project: ProjectState, request: ActionRequest, rules: ProjectRules, now: datetime) -> BaseModel:
    """Refuse (``Refused``) unless the stage model, the role, the step's guard and the bounds
    of its dates (``domain.project_dates``) allow it."""
    step = STEPS.get(request.action)
    if step is None:
        raise Refused(f"unknown action '{request.action}'")
    if reason := role_refusal(step, request.role):
        raise Refused(reason, forbidden=True)
    if reason := refusal(step, project.stage):
        raise Refused(reason)
    payload = parse(step, request)
    if step.guard and (reason := step.guard(project, payload)):
        raise Refused(f"cannot {step.verb} project {project.project_id}: {reason}")
    if reason := project_dates.refusal(project, payload, rules, now):
        raise Refused(f"cannot {step.verb} project {project.project_id}: {reason}")
    return payload


def apply(project: ProjectState, request: ActionRequest, rules: ProjectRules, now: datetime) -> dict[str, Any]:
    """Check, then carry out the step; returns what the event row records."""
    payload = check(project, request, rules, now)
    _EFFECTS[request.action](project, payload, rules, now, request.by)
    data = payload.model_dump(mode="json", exclude={"by"}, exclude_defaults=True)
    project.actions.append(
        ActionRecord(action=request.action, at=now, by=request.by, role=request.role, stage=None, data=data)
    )
    if project.stage in (P.closed, P.cancelled) and project.closed_at is None:
        project.closed_at = now
    return data


def _progress_clock(project: ProjectState, rules: ProjectRules, start: datetime) -> None:
    due = start + timedelta(days=rules.project.progress_report_days)
    project.progress = Deadline(started_at=start, due_at=due)


# -- effects -------------------------------------------------------------------------------

Effect = Callable[[ProjectState, Any, ProjectRules, datetime, str], None]


def _record_needs(p: ProjectState, x: ps.RecordNeeds, rules, now, by):
    p.needs = Needs(style=x.style, budget=x.budget, rooms=list(x.rooms), notes=x.notes)


def _assign_team(p: ProjectState, x: ps.AssignTeam, rules, now, by):
    p.designer = x.designer or p.designer
    p.project_manager = x.project_manager or p.project_manager
    p.service_agent = x.service_agent or p.service_agent
    if x.technicians is not None:
        p.technicians = list(dict.fromkeys(x.technicians))


def _start_design(p: ProjectState, x, rules, now, by):
    p.stage = P.design


def _propose_design(p: ProjectState, x: ps.ProposeDesign, rules, now, by):
    if p.design_rounds and p.design_rounds[-1].status == "proposed":
        p.design_rounds[-1].status, p.design_rounds[-1].reason = "rejected", "superseded by the next round"
    p.design_rounds.append(DesignRound(round=len(p.design_rounds) + 1, summary=x.summary, proposed_at=now, proposed_by=by))


def _reject_design(p: ProjectState, x: ps.RejectDesign, rules, now, by):
    p.design_rounds[-1].status, p.design_rounds[-1].reason = "rejected", x.reason


def _confirm_design(p: ProjectState, x: ps.ConfirmDesign, rules, now, by):
    p.design_rounds[-1].status = "confirmed"
    p.stage = P.construction
    _progress_clock(p, rules, now)


def _record_milestone(p: ProjectState, x: ps.RecordMilestone, rules, now, by):
    p.milestones.append(TradeMilestone(trade=x.trade, status=x.status, at=now, note=x.note))


def _record_inspection(p: ProjectState, x: ps.RecordInspection, rules, now, by):
    p.inspections.append(Inspection(trade=x.trade, passed=x.passed, at=now, by=by, note=x.note))


def _record_site_visit(p: ProjectState, x: ps.RecordSiteVisit, rules, now, by):
    p.site_visits.append({"at": now.isoformat(), "by": by, "with_customer": x.with_customer, "note": x.note})


def _notify_materials(p: ProjectState, x: ps.NotifyMaterials, rules, now, by):
    p.material_notices.append({"at": now.isoformat(), "materials": list(x.materials), "arrives_on": x.arrives_on.isoformat()})


def _report_progress(p: ProjectState, x: ps.ReportProgress, rules, now, by):
    p.progress_reports.append({"at": now.isoformat(), "by": by, "summary": x.summary})
    _progress_clock(p, rules, now)  # the next week's report is due from now


def _report_problem(p: ProjectState, x: ps.ReportProblem, rules, now, by):
    p.problems.append({"at": now.isoformat(), "by": by, "problem": x.problem})


def _finish_construction(p: ProjectState, x, rules, now, by):
    if p.progress and p.progress.met_at is None:
        p.progress.met_at = now  # no more weekly reports once the works are finished
    p.stage = P.acceptance


def _record_defect(p: ProjectState, x: ps.RecordDefect, rules, now, by):
    p.defects.append(Defect(
        number=len(p.defects) + 1, description=x.description, category=x.category, area=x.area, owner=x.owner,
        recorded_at=now, rectification=Deadline(started_at=now, due_at=x.rectify_by),
    ))


def _close_defect(p: ProjectState, x: ps.CloseDefect, rules, now, by):
    defect = p.defect(x.defect)
    defect.closed_at, defect.note = now, x.note
    defect.rectification.met_at = now


def _accept_completion(p: ProjectState, x: ps.AcceptCompletion, rules, now, by):
    p.acceptance = Acceptance(signed_by=x.signed_by, signed_at=x.signed_at, recorded_at=now)
    p.stage = P.delivery


def _hand_over(p: ProjectState, x: ps.HandOverProject, rules, now, by):
    # The warranty itself (terms, revisits, greetings) is planned by the workflow next: it
    # needs the working calendar of the warranty's years.
    p.handover = Handover(handover_on=x.handover_on, documents=list(x.documents),
                          care_instructions=x.care_instructions, recorded_at=now)
    p.stage = P.warranty


def _record_revisit(p: ProjectState, x: ps.RecordProjectRevisit, rules, now, by):
    task = next(t for t in p.warranty.revisits if t.kind == x.revisit)
    task.status, task.recorded_at = "done", now
    task.answers = ps.RecordProjectRevisit.model_validate(x.model_dump(exclude={"by"}))


def _add_note(p: ProjectState, x: ps.AddNote, rules, now, by):
    p.notes.append({"at": now.isoformat(), "by": by, "note": x.note})


def _cancel(p: ProjectState, x: ps.Cancel, rules, now, by):
    p.stage = P.cancelled


_EFFECTS: dict[str, Effect] = {
    "record_needs": _record_needs, "assign_team": _assign_team, "start_design": _start_design,
    "propose_design": _propose_design, "reject_design": _reject_design, "confirm_design": _confirm_design,
    "record_milestone": _record_milestone, "record_inspection": _record_inspection,
    "record_site_visit": _record_site_visit, "notify_materials": _notify_materials,
    "report_progress": _report_progress, "report_problem": _report_problem,
    "finish_construction": _finish_construction, "record_defect": _record_defect, "close_defect": _close_defect,
    "accept_completion": _accept_completion, "hand_over": _hand_over, "record_revisit": _record_revisit,
    "add_note": _add_note, "cancel": _cancel,
}
assert set(_EFFECTS) == set(STEPS), set(STEPS) ^ set(_EFFECTS)
