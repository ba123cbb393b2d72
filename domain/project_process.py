"""The project's stage model: every step, the stages it is allowed in, where it leads, who may
take it, and the condition beyond the stage (the guard). The workflow's validator, the API's
routes and role checks, and the tests all read this table.

Who may act on which project: a technician only on a project whose crew they are on
(``not_assigned``); who sees the customer's name, phone and address: the desk
(``sees_customer``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pydantic import BaseModel

from domain import project_steps as ps
from domain.case import ActionRequest
from domain.process import DESK, FIELD, SUPERVISORS, TECHNICIAN
from domain.project import ProjectStage, ProjectState
from domain.revisit import TRADES

P = ProjectStage
FINAL = frozenset({P.closed, P.cancelled})
LIVE = frozenset(ProjectStage) - FINAL
BEFORE_HANDOVER = frozenset({P.consultation, P.design, P.construction, P.acceptance, P.delivery})

NEXT_STEP: dict[ProjectStage, str] = {
    P.consultation: "the project is in consultation: record the needs, assign a designer and start the design",
    P.design: "the design is not confirmed yet: propose a design and record the customer's confirmation",
    P.construction: "construction is under way: finish every trade and pass its inspection first",
    P.acceptance: "the completion acceptance is open: close every defect and record the acceptance",
    P.delivery: "the works are accepted: hand the project over first",
    P.warranty: "the project is under warranty: only revisits and notes",
    P.closed: "the project's warranty has ended",
    P.cancelled: "the project is cancelled",
}

Guard = Callable[[ProjectState, BaseModel], "str | None"]


@dataclass(frozen=True)
class ProjectStep:
    name: str
    verb: str
    sources: frozenset[ProjectStage]
    targets: tuple[ProjectStage, ...]
    roles: frozenset[str]
    payload: type[BaseModel]
    summary: str
    guard: Guard | None = None

    @property
    def path(self) -> str:
        return self.name.replace("_", "-")


def _s(*stages: ProjectStage) -> frozenset[ProjectStage]:
    return frozenset(stages)


def _design_ready(p: ProjectState, _) -> str | None:
    if p.needs is None:
        return "the customer's needs are not recorded yet (style, budget, rooms)"
    if p.designer is None:
        return "no designer is assigned"
    return None


def _proposal_pending(p: ProjectState, _) -> str | None:
    if not p.design_rounds or p.design_rounds[-1].status != "proposed":
        return "no design proposal is waiting for the customer: propose one first"
    return None


def _construction_ready(p: ProjectState, payload) -> str | None:
    return _proposal_pending(p, payload) or ("no project manager is assigned" if p.project_manager is None else None)


def _construction_done(p: ProjectState, _) -> str | None:
    unfinished = [t for t in TRADES if t not in p.finished_trades()]
    if unfinished:
        return f"trades not finished: {', '.join(unfinished)}"
    failing = [t for t in TRADES if t not in p.passed_trades()]
    if failing:
        return f"trades without a passed quality inspection: {', '.join(failing)}"
    return None


def _defect_open(p: ProjectState, payload: ps.CloseDefect) -> str | None:
    defect = p.defect(payload.defect)
    if defect is None:
        return f"there is no defect {payload.defect} (defects: {len(p.defects)})"
    if not defect.open:
        return f"defect {payload.defect} is already closed"
    return None


def _all_defects_closed(p: ProjectState, _) -> str | None:
    open_ = [str(d.number) for d in p.defects if d.open]
    if open_:
        return f"defects still open: {', '.join(open_)}; acceptance only when all are closed"
    return None


def _revisit_due(p: ProjectState, payload: ps.RecordProjectRevisit) -> str | None:
    task = next((t for t in p.warranty.revisits if t.kind == payload.revisit), None) if p.warranty else None
    if task is None:
        return f"no {payload.revisit.value} revisit is planned"
    if task.status == "done":
        return f"the {payload.revisit.value} revisit is already recorded"
    if task.status == "scheduled":
        return f"the {payload.revisit.value} revisit is not due before {task.due_at.date()}"
    return None  # due, or missed: a late answer is still worth recording


STEPS: dict[str, ProjectStep] = {
    s.name: s
    for s in (
        ProjectStep("record_needs", "record the needs of", _s(P.consultation), (), DESK, ps.RecordNeeds,
                    "Needs, style, budget and rooms (the package is chosen at intake)"),
        ProjectStep("assign_team", "assign the team of", BEFORE_HANDOVER, (), SUPERVISORS, ps.AssignTeam,
                    "The designer, the project manager, the site crew (technicians) and the service agent"),
        ProjectStep("start_design", "start the design of", _s(P.consultation), (P.design,), DESK, ps.StartDesign,
                    "Needs recorded and a designer assigned: the design begins", _design_ready),
        ProjectStep("propose_design", "propose a design for", _s(P.design), (), DESK, ps.ProposeDesign,
                    "A design proposal round for the customer"),
        ProjectStep("reject_design", "reject the design of", _s(P.design), (), DESK, ps.RejectDesign,
                    "The customer asks for changes: another round", _proposal_pending),
        ProjectStep("confirm_design", "confirm the design of", _s(P.design), (P.construction,), DESK,
                    ps.ConfirmDesign, "The customer confirms the design: construction starts (weekly report clock)",
                    _construction_ready),
        ProjectStep("record_milestone", "record a milestone of", _s(P.construction), (), FIELD, ps.RecordMilestone,
                    "A trade started or finished (plumbing-electrical, tiling-masonry, carpentry, painting)"),
        ProjectStep("record_inspection", "record an inspection of", _s(P.construction), (), FIELD,
                    ps.RecordInspection, "A quality inspection of a trade, passed or failed"),
        ProjectStep("record_site_visit", "record a site visit to", _s(P.construction), (), FIELD, ps.RecordSiteVisit,
                    "A site visit, with the customer or not"),
        ProjectStep("notify_materials", "announce materials for", _s(P.construction), (), DESK, ps.NotifyMaterials,
                    "Materials arriving on site, told to the customer"),
        ProjectStep("report_progress", "report the progress of", _s(P.construction), (), DESK, ps.ReportProgress,
                    "The weekly progress report to the customer (meets the progress clock)"),
        ProjectStep("report_problem", "report a problem of", _s(P.construction), (), FIELD, ps.ReportProblem,
                    "A problem on site, told to the customer at once"),
        ProjectStep("finish_construction", "finish the construction of", _s(P.construction), (P.acceptance,), FIELD,
                    ps.FinishConstruction, "Every trade finished and inspected: completion acceptance",
                    _construction_done),
        ProjectStep("record_defect", "record a defect of", _s(P.acceptance), (), FIELD, ps.RecordDefect,
                    "A defect with its owner and rectification deadline (a clock)"),
        ProjectStep("close_defect", "close a defect of", _s(P.acceptance), (), FIELD, ps.CloseDefect,
                    "A defect rectified and checked (meets its clock, late or not)", _defect_open),
        ProjectStep("accept_completion", "accept the completion of", _s(P.acceptance), (P.delivery,), FIELD,
                    ps.AcceptCompletion, "The customer accepts the works; only when every defect is closed",
                    _all_defects_closed),
        ProjectStep("hand_over", "hand over", _s(P.delivery), (P.warranty,), DESK, ps.HandOverProject,
                    "Handover date, completion documents, care instructions: the warranty starts"),
        ProjectStep("record_revisit", "record a revisit of", _s(P.warranty), (), DESK, ps.RecordProjectRevisit,
                    "Seed 002's questionnaire; secondary needs become sales leads", _revisit_due),
        ProjectStep("add_note", "add a note to", frozenset(ProjectStage), (), FIELD, ps.AddNote,
                    "A note in the project file"),
        ProjectStep("cancel", "cancel", BEFORE_HANDOVER, (P.cancelled,), SUPERVISORS, ps.Cancel,
                    "Cancel before handover, with a reason"),
    )
}


def refusal(step: ProjectStep, stage: ProjectStage) -> str | None:
    if stage not in step.sources:
        return f"cannot {step.verb} a project in stage '{stage.value}': {NEXT_STEP[stage]}"
    return None


def role_refusal(step: ProjectStep, role: str) -> str | None:
    if role in step.roles:
        return None
    return f"role '{role}' may not {step.verb} a project; allowed: {', '.join(sorted(step.roles))}"


def not_assigned(project: ProjectState, request: ActionRequest) -> str | None:
    """A technician takes a project's site steps only on their own projects: as its project
    manager, its designer or one of its technicians (``assign_team``), or, to close a defect,
    as that defect's owner. The desk is not held to it. (The API sets ``by`` to the staff id of
    the technician's token.) The reason names nothing of the project: neither its stage nor
    its customer, so a stranger learns nothing by trying."""
    if request.role != TECHNICIAN:
        return None
    allowed = project.crew()
    if request.action == "close_defect":
        number = request.payload.get("defect")
        defect = project.defect(number) if isinstance(number, int) else None
        if defect is not None:
            allowed.add(defect.owner)
    if request.by in allowed:
        return None
    return f"technician {request.by} is not assigned to this project: a technician acts on their own projects only"


def sees_customer(role: str) -> bool:
    """Whether a caller's answers carry the customer's name, phone and address: the desk's
    only. A technician's step answers the project without them."""
    return role in DESK
