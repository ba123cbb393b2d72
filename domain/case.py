"""The after-sales case: its stages, which desk action is legal when, and the messages that
cross between the API, the workflow and the case file."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, computed_field

from domain.clocks import ClockState
from domain.models import CaseKind, Channel, ClockName, Severity, Stage, redact_phones
from domain.policy import EscalationChain


@dataclass(frozen=True)
class Action:
    name: str  # the update's name and the API path
    verb: str  # for messages: "respond to"
    source: Stage
    target: Stage
    meets: ClockName | None  # the clock this action stops
    event: str  # the case-file event it writes


ACTIONS: dict[str, Action] = {
    a.name: a
    for a in (
        Action("respond", "respond to", Stage.new, Stage.responded, ClockName.response, "responded"),
        Action("propose_plan", "propose a plan for", Stage.responded, Stage.planned, ClockName.plan, "plan_proposed"),
        Action("resolve", "resolve", Stage.planned, Stage.resolved, ClockName.resolution, "resolved"),
        Action("close", "close", Stage.resolved, Stage.closed, None, "closed"),
    )
}

# What the desk must do next, per stage, to explain a refused action.
_NEXT_STEP = {
    Stage.new: "the customer has not been contacted yet: respond first",
    Stage.responded: "no plan has been given yet: propose a plan first",
    Stage.planned: "the plan has not been carried out yet: resolve the case first",
    Stage.resolved: "the case is resolved: it can only be closed",
    Stage.closed: "the case is closed",
}


def refusal(action: str, stage: Stage) -> str | None:
    """Why ``action`` is illegal in ``stage``, or None when it is allowed."""
    step = ACTIONS[action]
    if stage == step.source:
        return None
    return f"cannot {step.verb} case in stage '{stage.value}': {_NEXT_STEP[stage]}"


class CaseFacts(BaseModel):
    """What a case is, without personal data: all Temporal ever learns of it."""

    case_no: str
    kind: CaseKind
    severity: Severity
    channel: Channel
    received_at: AwareDatetime
    policy: str  # the name of the policy its clocks were planned by


class CaseStart(CaseFacts):
    """The workflow's input: the facts, the planned clocks and the escalation chain."""

    utc_offset_minutes: int  # the company's, for the times shown in the Temporal UI
    clocks: list[ClockState]
    escalation: EscalationChain  # who is told at each level, also for a supervisor's escalation


FreeText = Annotated[str, AfterValidator(redact_phones)]


class ActionInput(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    by: str = Field(min_length=1, max_length=100, description="who acted (staff id or role)")
    note: FreeText = Field(default="", max_length=4000)


class EscalateInput(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    level: int = Field(default=1, ge=1, le=9)
    reason: FreeText = Field(min_length=1, max_length=2000)
    by: str = Field(default="supervisor", min_length=1, max_length=100)


class ActionRecord(BaseModel):
    action: str
    at: AwareDatetime
    by: str
    note: str = ""


class EscalationRecord(BaseModel):
    level: int
    at: AwareDatetime
    source: Literal["clock", "supervisor"]
    clock: ClockName | None = None
    reason: str
    by: str
    notify: list[str]


class CaseState(CaseFacts):
    """The whole live case, as the ``state`` query returns it."""

    stage: Stage = Stage.new
    clocks: list[ClockState]
    actions: list[ActionRecord] = Field(default_factory=list)
    escalations: list[EscalationRecord] = Field(default_factory=list)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def sla_breached(self) -> bool:
        return any(c.breached_at is not None for c in self.clocks)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def escalated(self) -> bool:
        return bool(self.escalations)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def next_deadline(self) -> AwareDatetime | None:
        open_deadlines = [c.deadline for c in self.clocks if c.met_at is None]
        return min(open_deadlines, default=None)

    def clock(self, name: ClockName) -> ClockState:
        return next(c for c in self.clocks if c.name == name)


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


def workflow_id(case_no: str) -> str:
    return f"case-{case_no}"


def human_summary(start: CaseStart) -> str:
    return f"{start.kind.value} · {start.severity.value} · via {start.channel.value} · {start.case_no}"


def human_details(state: CaseState, zone: tzinfo) -> str:
    """Current details for the Temporal UI: the stage, each clock, the escalation level."""
    lines = [f"Stage: {state.stage.value}"]
    for clock in state.clocks:
        when = clock.deadline.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S %z")
        lines.append(f"{clock.name.value}: {clock.status} (due {when})")
    if state.escalations:
        top = max(e.level for e in state.escalations)
        lines.append(f"Escalated to level {top}")
    return "\n".join(lines)
