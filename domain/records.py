"""The records a case collects step by step: the survey, every plan round, work orders,
amendments, the acceptance, the settlement, the revisit, complaint rounds, a handover.
They live in ``CaseState`` and are printed in the service file."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, Field


class Confirmation(BaseModel):
    how: str
    confirmed_at: AwareDatetime
    through: str
    recorded_by: str


class Survey(BaseModel):
    appointment: AwareDatetime
    technician: str
    booked_at: AwareDatetime
    media: list[str] = Field(default_factory=list)
    measurements: str = ""
    cause: str = ""
    responsibility: str | None = None
    recorded_at: AwareDatetime | None = None


class PlanRound(BaseModel):
    round: int
    cause: str
    method: str
    materials: list[str]
    labour_hours: Decimal
    cost_estimate: Decimal
    proposed_at: AwareDatetime
    proposed_by: str
    status: Literal["free", "awaiting_confirmation", "confirmed", "rejected"]
    confirmation: Confirmation | None = None
    rejection: str = ""


class Amendment(BaseModel):
    change: str
    cost_delta: Decimal
    proposed_at: AwareDatetime
    proposed_by: str
    work_order: int
    consent: Confirmation | None = None

    @property
    def pending(self) -> bool:
        return self.cost_delta != 0 and self.consent is None


class WorkOrder(BaseModel):
    number: int  # 1 for the first visit, 2 for the first rework…
    task: str
    technician: str
    window_start: AwareDatetime
    window_end: AwareDatetime
    requirements: str = ""
    dispatched_at: AwareDatetime
    confirmed_at: AwareDatetime | None = None
    reschedules: list[dict[str, Any]] = Field(default_factory=list)
    started_at: AwareDatetime | None = None  # the technician is on site
    completed_at: AwareDatetime | None = None
    self_check: str = ""
    outcome: Literal["accepted", "rejected"] | None = None
    rejection: str = ""


class Acceptance(BaseModel):
    signed_by: str
    signed_at: AwareDatetime
    recorded_at: AwareDatetime
    remote: bool = False  # solved by remote guidance, no visit
    note: str = ""


class Settlement(BaseModel):
    amount: Decimal
    invoice_no: str
    settled_at: AwareDatetime
    by: str


class Revisit(BaseModel):
    due_at: AwareDatetime
    window_end: AwareDatetime
    method: str | None = None
    satisfaction: str | None = None
    attitude: int | None = None
    professionalism: int | None = None
    timeliness: int | None = None
    low_score: bool = False
    problem_found: bool = False
    problem: str = ""
    comments: str = ""
    secondary_needs: list[str] = Field(default_factory=list)  # passed to sales as leads
    needs_note: str = ""
    recorded_at: AwareDatetime | None = None
    follow_up: str = ""
    followed_up_at: AwareDatetime | None = None


class ComplaintRound(BaseModel):
    round: int
    department: str | None = None
    owner: str | None = None
    solution: str = ""
    compensation: str = ""
    written: bool = False
    attributed_to: str | None = None  # the technician the complaint is attributed to
    solution_at: AwareDatetime | None = None
    result: str = ""
    result_at: AwareDatetime | None = None
    satisfied: bool | None = None
    verdict_comments: str = ""
    verdict_at: AwareDatetime | None = None


class Handover(BaseModel):
    to: str
    reply_by: AwareDatetime
    at: AwareDatetime


class Attention(BaseModel):
    """A write the workflow could not make (a permanent database or template error): the
    case or project goes on, its clocks keep running, and a supervisor must look at it.
    ``error`` is the failure's code and class, never its text (no personal data)."""

    at: AwareDatetime
    what: str
    error: str
