"""What the API returns. Built from the live workflow when it answers, else from the case file's copy of its last state."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field

from adapters.storage.tables import Case
from domain.case import CaseState, workflow_id
from domain.clocks import ClockState, ClockStatus, Pause
from domain.models import CleanText
from domain.process import STEPS, refusal
from domain.warranty import WarrantyStatus
from domain.records import (
    Acceptance,
    Amendment,
    ComplaintRound,
    Handover,
    PlanRound,
    Revisit,
    Settlement,
    Survey,
    WorkOrder,
)


class Problem(BaseModel):
    """Why a request was not done: ``detail`` says it (a 422's names each bad field, a list)."""

    detail: str | list[dict[str, Any]]


# What any operation of the API may answer besides its own success and 422, documented once
# for all of them (api/app.py) so the OpenAPI is the whole truth; a route says more where it
# knows more (a step's 409 reason, its 202).
ERRORS: dict[int | str, dict[str, Any]] = {
    # JSON on every route, the HTML pages' included (FastAPI files a model under the route's
    # own media type; "content" adds JSON beside it).
    code: {"model": Problem, "description": text,
           "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Problem"}}}} for code, text in {
        400: "the body is not valid JSON",
        401: "no bearer token, or an unknown one",
        403: "the caller's role may not do this (or a technician's job or project is not theirs)",
        404: "no such case, project, technician, work order, notification or report",
        409: "not possible now; detail says why",
        413: "the request body is over AFTERSALES_MAX_BODY_BYTES",
        503: "the case file or Temporal is unavailable; detail says whether anything was recorded",
    }.items()
}


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
    paused_at: datetime | None
    pauses: list[Pause]

    @classmethod
    def from_state(cls, clock: ClockState) -> ClockOut:
        return cls.model_validate(clock.model_dump(exclude={"milestones"}))


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
    role: str
    stage: str | None
    data: dict[str, Any]


class Customer(BaseModel):
    name: str
    phone: str
    email: str | None = None
    preferred_channel: str | None = None
    locale: str = "zh-CN"


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
    def from_row(cls, case: Case) -> CaseSummary:
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
    """One case in full: the intake from the case file, every step from the workflow."""

    workflow_id: str
    temporal_ui: str
    live: bool = Field(description="true when read from the running workflow, false from the case file")
    pending: bool = Field(default=False, description="recorded, but its workflow could not start yet (Temporal away): "
                          "the repair pass starts it, with its clocks from the intake time")
    customer: Customer
    address: str
    house_type: str | None
    description: str
    attachments: list[str]
    under_warranty: str
    repaired_before: bool
    project_id: str | None
    warranty: WarrantyStatus | None = Field(
        default=None, description="a project's case: the term that applies, its end date, covered or not")
    problem_category: str | None = None
    product: str | None = None
    product_model: str | None = None
    related_case_no: str | None = Field(description="the case this one was opened from")
    linked_cases: list[str] = Field(description="cases opened from this one's revisit")
    owner: str | None
    major: bool
    next_actions: list[str] = Field(description="actions the stage model allows now (roles permitting)")
    clocks: list[ClockOut]
    escalations: list[EscalationOut]
    actions: list[ActionOut]
    remote_guidance: str
    survey: Survey | None
    plans: list[PlanRound]
    work_orders: list[WorkOrder]
    amendments: list[Amendment]
    acceptance: Acceptance | None
    settlement: Settlement | None
    revisit: Revisit | None
    complaint_rounds: list[ComplaintRound]
    task_group: list[dict[str, str]]
    gm_revisit: dict[str, Any] | None
    handover: Handover | None
    answer: str
    notes: list[dict[str, Any]]
    visits: int
    reworks: int
    first_time_fix: bool | None
    amount_due: Decimal
    reopened: int


_RECORDS = (
    "owner", "major", "remote_guidance", "survey", "plans", "work_orders", "amendments", "acceptance",
    "settlement", "revisit", "complaint_rounds", "task_group", "gm_revisit", "handover", "answer", "notes",
    "visits", "reworks", "first_time_fix", "amount_due", "reopened",
)


def ui_link(ui_url: str, namespace: str, case_no: str) -> str:
    return f"{ui_url}/namespaces/{namespace}/workflows/{quote(workflow_id(case_no), safe='')}"


def next_actions(state: CaseState) -> list[str]:
    return [name for name, step in STEPS.items() if refusal(step, state.kind, state.stage) is None]


def case_view(case: Case, *, ui: str, state: CaseState, live: bool, linked: list[str] = ()) -> CaseView:
    """The case as the desk sees it: the intake from the file, everything else from ``state``
    (the workflow's, live, or the last one the case file recorded)."""
    base = CaseSummary.from_row(case).model_dump()
    base.update(
        kind=state.kind.value,
        severity=state.severity.value,
        stage=state.stage.value,
        sla_breached=state.sla_breached,
        escalated=state.escalated,
        next_deadline=state.next_deadline,
    )
    records = {name: getattr(state, name) for name in _RECORDS}
    return CaseView(
        **base,
        **records,
        workflow_id=workflow_id(case.case_no),
        temporal_ui=ui,
        live=live,
        customer=Customer(
            name=case.customer.name,
            phone=case.customer.phone,
            email=case.customer.email,
            preferred_channel=case.customer.preferred_channel,
            locale=case.customer.locale,
        ),
        address=case.address,
        house_type=case.house_type,
        description=case.description,
        attachments=list(case.attachments or []),
        under_warranty=case.under_warranty,
        repaired_before=case.repaired_before,
        project_id=case.project_id,
        warranty=case.warranty,
        problem_category=case.problem_category,
        product=case.product,
        product_model=case.product_model,
        related_case_no=case.related_case_no,
        linked_cases=list(linked),
        next_actions=next_actions(state),
        clocks=[ClockOut.from_state(c) for c in state.clocks],
        escalations=[EscalationOut.model_validate(e.model_dump()) for e in state.escalations],
        actions=[ActionOut.model_validate(a.model_dump()) for a in state.actions],
    )


class EscalateBody(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    level: int = Field(default=1, ge=1, le=9)
    reason: CleanText = Field(min_length=1, max_length=2000)
    by: CleanText | None = Field(default=None, min_length=1, max_length=100)


class NotificationOut(BaseModel):
    """One message of the outbox and how its delivery went."""

    id: int
    case_no: str | None  # None for a message about no single case (the weekly report)
    template: str
    recipient: str = Field(description="customer, or the staff role it is for")
    locale: str
    status: str = Field(description="queued, sending, sent, or dead (every channel gave up; a supervisor can retry)")
    channel: str = Field(description="the channel it went by, or the one it tries first")
    route: list[str] = Field(description="the channels it tries, in order")
    subject: str
    short_text: str
    urgent: bool
    created_at: datetime
    not_before: datetime | None = Field(description="held until then by quiet hours")
    attempts: int
    last_error: str | None
    provider_id: str | None
    sent_at: datetime | None
    retried_by: str | None


def notification_out(row, case_no: str | None) -> NotificationOut:
    return NotificationOut(
        id=row.id, case_no=case_no, template=row.template, recipient=row.recipient, locale=row.locale,
        status=row.status, channel=row.channel, route=[step["channel"] for step in row.route], subject=row.subject,
        short_text=row.short_text, urgent=row.urgent, created_at=row.created_at, not_before=row.not_before,
        attempts=row.attempts, last_error=row.last_error, provider_id=row.provider_id, sent_at=row.sent_at,
        retried_by=row.retried_by,
    )
