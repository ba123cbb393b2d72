"""What the API returns. Built from the live workflow when it answers, else from the case file."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field

from adapters.storage.tables import Case, CaseEventRow, EscalationRow, SlaClock
from domain.case import ACTIONS, CaseState, workflow_id
from domain.clocks import ClockState, ClockStatus, clock_status


class ClockOut(BaseModel):
    name: str
    limit: str
    basis: str
    started_at: datetime
    deadline: datetime
    warn_at: datetime | None
    met_at: datetime | None
    warned_at: datetime | None
    breached_at: datetime | None
    level: int
    status: ClockStatus

    @classmethod
    def from_state(cls, clock: ClockState) -> "ClockOut":
        return cls.model_validate(clock.model_dump(exclude={"milestones"}))

    @classmethod
    def from_row(cls, row: SlaClock) -> "ClockOut":
        return cls(
            name=row.name,
            limit=row.limit,
            basis=row.basis,
            started_at=row.started_at,
            deadline=row.deadline,
            warn_at=row.warn_at,
            met_at=row.met_at,
            warned_at=row.warned_at,
            breached_at=row.breached_at,
            level=row.level,
            status=clock_status(row.met_at, row.warned_at, row.breached_at),
        )


class EscalationOut(BaseModel):
    level: int
    at: datetime
    source: str
    clock: str | None
    reason: str
    by: str


class ActionOut(BaseModel):
    action: str
    at: datetime
    by: str
    note: str = ""


class Customer(BaseModel):
    name: str
    phone: str


class CaseSummary(BaseModel):
    case_no: str
    kind: str
    severity: str
    channel: str
    stage: str
    received_at: datetime
    customer_name: str
    sla_breached: bool
    escalated: bool
    next_deadline: datetime | None

    @classmethod
    def from_row(cls, case: Case) -> "CaseSummary":
        return cls(
            case_no=case.case_no,
            kind=case.kind,
            severity=case.severity,
            channel=case.channel,
            stage=case.stage,
            received_at=case.received_at,
            customer_name=case.customer.name,
            sla_breached=case.sla_breached,
            escalated=case.escalated,
            next_deadline=case.next_deadline,
        )


class CaseList(BaseModel):
    items: list[CaseSummary]
    total: int
    page: int
    page_size: int


class CaseView(CaseSummary):
    """One case in full: the intake from the case file, the clocks from the workflow."""

    workflow_id: str
    temporal_ui: str
    live: bool = Field(description="true when read from the running workflow, false from the case file")
    customer: Customer
    address: str
    house_type: str | None
    description: str
    attachments: list[str]
    under_warranty: str
    repaired_before: bool
    project_id: str | None
    clocks: list[ClockOut]
    escalations: list[EscalationOut]
    actions: list[ActionOut]


_EVENT_ACTIONS = {action.event: action.name for action in ACTIONS.values()}


def ui_link(ui_url: str, namespace: str, case_no: str) -> str:
    return f"{ui_url}/namespaces/{namespace}/workflows/{quote(workflow_id(case_no), safe='')}"


def case_view(
    case: Case,
    *,
    ui: str,
    state: CaseState | None = None,
    clock_rows: list[SlaClock] = (),
    escalation_rows: list[EscalationRow] = (),
    event_rows: list[CaseEventRow] = (),
    planned: list[ClockState] = (),
) -> CaseView:
    """The case as the desk sees it: live from ``state`` when given, else from the rows."""
    base = CaseSummary.from_row(case).model_dump()
    file = dict(
        workflow_id=workflow_id(case.case_no),
        temporal_ui=ui,
        customer=Customer(name=case.customer.name, phone=case.customer.phone),
        address=case.address,
        house_type=case.house_type,
        description=case.description,
        attachments=list(case.attachments or []),
        under_warranty=case.under_warranty,
        repaired_before=case.repaired_before,
        project_id=case.project_id,
    )
    if state is not None:
        base.update(
            stage=state.stage.value,
            sla_breached=state.sla_breached,
            escalated=state.escalated,
            next_deadline=state.next_deadline,
        )
        return CaseView(
            **base,
            **file,
            live=True,
            clocks=[ClockOut.from_state(c) for c in state.clocks],
            escalations=[EscalationOut.model_validate(e.model_dump()) for e in state.escalations],
            actions=[ActionOut.model_validate(a.model_dump()) for a in state.actions],
        )
    clocks = [ClockOut.from_row(r) for r in clock_rows] or [ClockOut.from_state(c) for c in planned]
    return CaseView(
        **base,
        **file,
        live=False,
        clocks=clocks,
        escalations=[
            EscalationOut(level=r.level, at=r.at, source=r.source, clock=r.clock, reason=r.reason, by=r.by)
            for r in escalation_rows
        ],
        actions=[
            ActionOut(action=_EVENT_ACTIONS[r.type], at=r.at, by=r.actor, note=r.data.get("note", ""))
            for r in event_rows
            if r.type in _EVENT_ACTIONS
        ],
    )


class ActionBody(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    note: str = Field(default="", max_length=4000)
    by: str | None = Field(default=None, min_length=1, max_length=100, description="staff id; defaults to the role")


class EscalateBody(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    level: int = Field(default=1, ge=1, le=9)
    reason: str = Field(min_length=1, max_length=2000)
    by: str | None = Field(default=None, min_length=1, max_length=100)
