"""The after-sales case: its facts, its live state with every record of the process, and the
messages that cross between the API, the workflow and the case file.

Which action is legal when lives in ``domain.process``; what an action does to the state in
``domain.casework``.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from decimal import Decimal
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, computed_field

from domain.calendar import CalendarSpec, WorkingCalendar
from domain.clocks import ClockState, plan_clocks
from domain.models import CaseKind, Channel, ClockName, Severity, Stage
from domain.policy import Policy
from domain.records import (
    Acceptance,
    Attention,
    Amendment,
    ComplaintRound,
    Handover,
    PlanRound,
    Revisit,
    Settlement,
    Survey,
    WorkOrder,
)
from domain.steps import FreeText


class CaseFacts(BaseModel):
    """What a case is, without personal data: all Temporal ever learns of it."""

    case_no: str
    kind: CaseKind
    severity: Severity
    channel: Channel
    received_at: AwareDatetime
    policy: str  # the name of the policy its clocks were planned by
    # From the intake (for a project's case: the project's warranty card); a plan proposed
    # without a price is free when the repair is in warranty (domain.warranty.plan_cost_default).
    under_warranty: Literal["yes", "no", "unknown"] = "unknown"


class CaseStart(CaseFacts):
    """The workflow's input: the facts, the planned clocks, and the rules and working
    calendar the case runs by, so that the workflow replans its own clocks."""

    clocks: list[ClockState]
    rules: Policy
    calendar: CalendarSpec  # carries the company's UTC offset too
    major: bool = False  # a major complaint from intake


def case_start(policy: Policy, zone: tzinfo, case: Any) -> CaseStart:
    """The workflow's input for a recorded case (any object with the case file's fields):
    its clocks planned by the policy on the working calendar of its intake's year and the
    next, which it carries so that the workflow replans its own clocks."""
    kind, severity = CaseKind(case.kind), Severity(case.severity)
    calendar = CalendarSpec.build(policy.working_time, zone, case.received_at)
    return CaseStart(
        case_no=case.case_no,
        kind=kind,
        severity=severity,
        channel=Channel(case.channel),
        received_at=case.received_at,
        policy=policy.name,
        clocks=plan_clocks(policy, WorkingCalendar(calendar), kind, severity, case.received_at),
        rules=policy,
        calendar=calendar,
        major=case.major,
        under_warranty=case.under_warranty,
    )


class LinkedCase(BaseModel):
    """A problem heard at a revisit: a new case for the same customer, linked to this one,
    opened by the workflow (``open_linked_case``) once per revisit event."""

    case_no: str
    problem: str
    key: str  # the new case's idempotency key: the parent's workflow, its event
    at: AwareDatetime


class ActionRequest(BaseModel):
    """One desk, field or supervisor action sent to the workflow (the ``act`` update)."""

    action: str  # a name in domain.process.STEPS
    by: str = Field(min_length=1, max_length=100)
    role: str
    payload: dict[str, Any] = Field(default_factory=dict)  # the action's model in domain.steps


class EscalateInput(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    level: int = Field(default=1, ge=1, le=9)
    reason: FreeText = Field(min_length=1, max_length=2000)
    by: str = Field(default="supervisor", min_length=1, max_length=100)


class ActionRecord(BaseModel):
    """One action in the case's timeline, with what was entered."""

    action: str
    at: AwareDatetime
    by: str
    role: str = ""
    stage: Stage | None = None  # the stage it led to
    data: dict[str, Any] = Field(default_factory=dict)


class EscalationRecord(BaseModel):
    level: int
    at: AwareDatetime
    source: Literal["clock", "supervisor"]
    clock: ClockName | None = None
    reason: str
    by: str
    notify: list[str]


class CaseState(CaseFacts):
    """The whole live case, as the ``state`` query returns it and the service file shows it."""

    stage: Stage = Stage.new
    owner: str | None = None
    major: bool = False
    clocks: list[ClockState]
    # Clocks replaced after they breached (a reopened case starts a fresh resolution clock):
    # a recorded breach is never unset by a later action.
    past_clocks: list[ClockState] = Field(default_factory=list)
    actions: list[ActionRecord] = Field(default_factory=list)
    escalations: list[EscalationRecord] = Field(default_factory=list)
    # the records of the process, step by step
    remote_guidance: str = ""
    survey: Survey | None = None
    plans: list[PlanRound] = Field(default_factory=list)
    work_orders: list[WorkOrder] = Field(default_factory=list)
    amendments: list[Amendment] = Field(default_factory=list)
    acceptance: Acceptance | None = None
    settlement: Settlement | None = None
    revisit: Revisit | None = None
    complaint_rounds: list[ComplaintRound] = Field(default_factory=list)
    task_group: list[dict[str, str]] = Field(default_factory=list)
    gm_revisit: dict[str, Any] | None = None
    handover: Handover | None = None
    answer: str = ""
    notes: list[dict[str, Any]] = Field(default_factory=list)
    closed_at: AwareDatetime | None = None
    reopened: int = 0
    attention: list[Attention] = Field(default_factory=list)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def sla_breached(self) -> bool:
        return any(c.breached_at is not None for c in (*self.clocks, *self.past_clocks))

    @computed_field  # type: ignore[prop-decorator]
    @property
    def escalated(self) -> bool:
        return bool(self.escalations)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def next_deadline(self) -> AwareDatetime | None:
        if self.stage in (Stage.closed, Stage.cancelled):
            return None
        open_deadlines = [c.deadline for c in self.clocks if c.met_at is None and c.paused_at is None]
        return min(open_deadlines, default=None)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def visits(self) -> int:
        return len(self.work_orders)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def reworks(self) -> int:
        return sum(1 for w in self.work_orders if w.outcome == "rejected")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def first_time_fix(self) -> bool | None:
        """Accepted after the first visit (or remotely) with no rework; None until accepted."""
        if self.acceptance is None:
            return None
        return self.reworks == 0 and self.visits <= 1

    @computed_field  # type: ignore[prop-decorator]
    @property
    def amount_due(self) -> Decimal:
        """The confirmed plan's price plus every consented amendment."""
        confirmed = next((p for p in reversed(self.plans) if p.status in ("confirmed", "free")), None)
        base = confirmed.cost_estimate if confirmed else Decimal(0)
        return base + sum((a.cost_delta for a in self.amendments if a.consent is not None), Decimal(0))

    @computed_field  # type: ignore[prop-decorator]
    @property
    def attributed_technician(self) -> str | None:
        """The technician a complaint is attributed to by its latest solution, if any."""
        return next((r.attributed_to for r in reversed(self.complaint_rounds) if r.solution_at), None)

    def clock(self, name: ClockName) -> ClockState:
        return next(c for c in self.clocks if c.name == name)

    def find_clock(self, name: ClockName) -> ClockState | None:
        return next((c for c in self.clocks if c.name == name), None)

    def current_plan(self) -> PlanRound | None:
        return self.plans[-1] if self.plans else None

    def current_order(self) -> WorkOrder | None:
        return self.work_orders[-1] if self.work_orders else None

    def current_round(self) -> ComplaintRound | None:
        return self.complaint_rounds[-1] if self.complaint_rounds else None


class CaseEvent(BaseModel):
    """One state change for the case file; ``seq`` makes the write idempotent."""

    case_no: str
    seq: int = Field(ge=1)
    type: str
    at: AwareDatetime
    actor: str
    data: dict[str, Any] = Field(default_factory=dict)
    state: CaseState  # the case right after this event, for the database's projection


class NotificationRequest(BaseModel):
    """Queue one message; ``key`` makes a retried activity queue it once."""

    case_no: str
    key: str
    template: str
    recipient: str  # "customer" or a staff role
    context: dict[str, Any] = Field(default_factory=dict)
    # When the event happened (the workflow's time): quiet hours are judged from here.
    at: datetime | None = None


class QueuedNotification(BaseModel):
    """What the outbox did with a request: the row, and when and how it is to be delivered."""

    id: int
    new: bool  # False when a retried activity found it already queued
    not_before: datetime
    channels: list[str]  # an empty route goes straight to the dead letters


def workflow_id(case_no: str) -> str:
    return f"case-{case_no}"


def human_summary(start: CaseStart) -> str:
    major = " · major" if start.major else ""
    return f"{start.kind.value}{major} · {start.severity.value} · via {start.channel.value} · {start.case_no}"


def human_details(state: CaseState, zone: tzinfo) -> str:
    """Current details for the Temporal UI: the stage, each clock, the escalation level."""
    lines = [f"Stage: {state.stage.value}" + (" · major complaint" if state.major else "")]
    if state.owner:
        lines.append(f"Owner: {state.owner}")
    for clock in state.clocks:
        when = clock.deadline.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S %z")
        lines.append(f"{clock.name.value}: {clock.status} (due {when})")
    if state.escalations:
        top = max(e.level for e in state.escalations)
        lines.append(f"Escalated to level {top}")
    if state.attention:
        lines.append(f"Needs attention: {state.attention[-1].what} ({state.attention[-1].error})")
    return "\n".join(lines)
