"""The renovation project (DOMAIN.md §3): its facts, its live state, what crosses into Temporal.

One project is one ``ProjectLifecycle`` workflow from the first consultation to the end of its
warranty. The workflow knows the project id, the package and the staff ids; the customer's
name, phone and address stay in the ``projects`` table.

Which action is legal when: ``domain.project_process``; what it does: ``domain.projectwork``;
the timers (progress report, defect deadlines, revisits, greetings, expiry):
``domain.project_timers``.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, Field, computed_field

from domain.calendar import CalendarSpec
from domain.case import ActionRecord
from domain.clocks import ClockStatus, clock_status
from domain.greetings import GreetingDay
from domain.policy import WorkingTime
from domain.records import Attention
from domain.project_policy import ProjectPolicy
from domain.revisit import RevisitTask
from domain.warranty import TermEnd, WarrantyPolicy

Package = Literal["half", "full", "whole_house"]  # 半包 / 全包 / 整装


class ProjectStage(StrEnum):
    consultation = "consultation"  # needs, style, budget, package
    design = "design"  # proposal rounds until the customer confirms
    construction = "construction"  # milestones per trade, inspections, weekly reports
    acceptance = "acceptance"  # completion acceptance: defects rectified and closed
    delivery = "delivery"  # handover: documents, warranty card, care instructions
    warranty = "warranty"  # revisits, greetings, until the last term ends
    closed = "closed"
    cancelled = "cancelled"


class ProjectFacts(BaseModel):
    project_id: str
    package: Package
    opened_at: AwareDatetime
    policy: str


class ProjectRules(BaseModel):
    """What the project runs by, fixed when it opens (like a case's policy)."""

    warranty: WarrantyPolicy
    project: ProjectPolicy
    working_time: WorkingTime
    utc_offset_minutes: int


class Deadline(BaseModel):
    """A clock to an explicit instant: met on time, met late, or breached and still open."""

    started_at: AwareDatetime
    due_at: AwareDatetime
    met_at: AwareDatetime | None = None
    breached_at: AwareDatetime | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def status(self) -> ClockStatus:
        return clock_status(self.met_at, None, self.breached_at)


class Needs(BaseModel):
    style: str
    budget: Decimal
    rooms: list[str]
    notes: str = ""


class DesignRound(BaseModel):
    round: int
    summary: str
    proposed_at: AwareDatetime
    proposed_by: str
    status: Literal["proposed", "confirmed", "rejected"] = "proposed"
    reason: str = ""


class TradeMilestone(BaseModel):
    trade: str
    status: Literal["started", "finished"]
    at: AwareDatetime
    note: str = ""


class Inspection(BaseModel):
    trade: str
    passed: bool
    at: AwareDatetime
    by: str
    note: str = ""


class Defect(BaseModel):
    number: int
    description: str
    category: str
    area: str | None = None
    owner: str
    recorded_at: AwareDatetime
    rectification: Deadline
    closed_at: AwareDatetime | None = None
    note: str = ""

    @property
    def open(self) -> bool:
        return self.closed_at is None


class Acceptance(BaseModel):
    signed_by: str
    signed_at: AwareDatetime
    recorded_at: AwareDatetime


class Handover(BaseModel):
    handover_on: date
    documents: list[str]
    care_instructions: bool
    recorded_at: AwareDatetime


class Warranty(BaseModel):
    """Planned once at handover: the terms with their end dates, the revisits, the greetings."""

    handover_on: date
    until: date  # the last day the longest term covers
    ends_at: AwareDatetime  # the end of that day: the workflow closes then
    terms: list[TermEnd]
    revisits: list[RevisitTask]
    greetings: list[GreetingDay]


class ProjectState(ProjectFacts):
    stage: ProjectStage = ProjectStage.consultation
    designer: str | None = None
    project_manager: str | None = None
    # The desk agent who keeps the customer relationship: signs the revisit SMS (seed 002).
    service_agent: str | None = None
    # The site crew: the technicians who may take the project's site steps
    # (``domain.project_process.not_assigned``). Empty in projects assigned before it.
    technicians: list[str] = Field(default_factory=list)
    needs: Needs | None = None
    design_rounds: list[DesignRound] = Field(default_factory=list)
    milestones: list[TradeMilestone] = Field(default_factory=list)
    inspections: list[Inspection] = Field(default_factory=list)
    site_visits: list[dict[str, Any]] = Field(default_factory=list)
    material_notices: list[dict[str, Any]] = Field(default_factory=list)
    problems: list[dict[str, Any]] = Field(default_factory=list)
    progress: Deadline | None = None  # the current weekly progress-report clock
    progress_reports: list[dict[str, Any]] = Field(default_factory=list)
    late_progress_reports: int = 0
    defects: list[Defect] = Field(default_factory=list)
    acceptance: Acceptance | None = None
    handover: Handover | None = None
    warranty: Warranty | None = None
    notes: list[dict[str, Any]] = Field(default_factory=list)
    actions: list[ActionRecord] = Field(default_factory=list)
    closed_at: AwareDatetime | None = None
    attention: list[Attention] = Field(default_factory=list)  # writes that failed for good
    runs: int = 1  # workflow runs so far: continue-as-new carries the state into the next

    @computed_field  # type: ignore[prop-decorator]
    @property
    def open_defects(self) -> int:
        return sum(1 for d in self.defects if d.open)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def breached(self) -> bool:
        return self.late_progress_reports > 0 or any(d.rectification.breached_at for d in self.defects)

    def crew(self) -> set[str]:
        """The staff who work on the site: the project manager, the designer, the technicians."""
        return {s for s in (self.project_manager, self.designer) if s} | set(self.technicians)

    def defect(self, number: int) -> Defect | None:
        return next((d for d in self.defects if d.number == number), None)

    def finished_trades(self) -> set[str]:
        return {m.trade for m in self.milestones if m.status == "finished"}

    def passed_trades(self) -> set[str]:
        """Trades whose latest inspection passed."""
        latest: dict[str, bool] = {}
        for inspection in self.inspections:
            latest[inspection.trade] = inspection.passed
        return {t for t, ok in latest.items() if ok}


class ProjectStart(ProjectFacts):
    """The workflow's input; ``resume`` carries the state into a continued run."""

    rules: ProjectRules
    resume: ProjectResume | None = None


class ProjectResume(BaseModel):
    state: ProjectState
    seq: int


class ProjectEvent(BaseModel):
    """One state change for the project file; (project, seq) makes the write idempotent."""

    project_id: str
    seq: int = Field(ge=1)
    type: str
    at: AwareDatetime
    actor: str
    data: dict[str, Any] = Field(default_factory=dict)
    state: ProjectState


class WarrantyCalendarRequest(BaseModel):
    """Ask for the working calendar and greeting days of a warranty (an activity: the
    holidays package is not for workflows)."""

    working_time: WorkingTime
    utc_offset_minutes: int
    handover_on: date
    until: date
    greetings: Any  # domain.greetings.GreetingPolicy as a dict


class WarrantyCalendar(BaseModel):
    calendar: CalendarSpec
    greetings: list[GreetingDay]


ProjectStart.model_rebuild()


def workflow_id(project_id: str) -> str:
    return f"project-{project_id}"


def human_summary(start: ProjectFacts) -> str:
    return f"renovation project · {start.package} package · {start.project_id}"


def human_details(state: ProjectState) -> str:
    """Current details for the Temporal UI: stage, team, open defects, what comes next."""
    lines = [f"Stage: {state.stage.value} · run {state.runs}"]
    team = [f"designer {state.designer}" if state.designer else "", f"PM {state.project_manager}" if state.project_manager else "",
            f"crew {', '.join(state.technicians)}" if state.technicians else ""]
    if any(team):
        lines.append("Team: " + ", ".join(t for t in team if t))
    if state.progress and state.stage == ProjectStage.construction:
        lines.append(f"Progress report due {state.progress.due_at.isoformat()} ({state.late_progress_reports} late so far)")
    if state.defects:
        lines.append(f"Defects: {state.open_defects} open of {len(state.defects)}")
    if state.warranty:
        lines.append(f"Handover {state.warranty.handover_on}; warranty until {state.warranty.until}")
        for r in state.warranty.revisits:
            lines.append(f"Revisit {r.kind.value}: {r.status} (due {r.due_at.date()}, window to {r.window_end})")
    if state.breached:
        lines.append("A deadline was breached")
    return "\n".join(lines)
