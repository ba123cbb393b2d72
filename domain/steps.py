"""What the desk, the technician and the supervisor enter for each step of a case.

One model per action: the API's request body and, unchanged, the payload the workflow
receives. Free text passes ``redact_phones`` (it travels through Temporal's history); no
field asks for a customer's name, phone or address: those stay in the case file.
Each model carries an example (``json_schema_extra``) that the API docs show and the tests use.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    model_validator,
)

from domain.bounds import Instant
from domain.dispatch import window_refusal
from domain.models import (
    CaseKind,
    CleanText,
    ClockName,
    Severity,
    clean_text,
    redact_phones,
)

# Every instant a step takes is an ``Instant`` (domain.bounds: aware, from 2000 to 2100: a 422
# naming the field at the API, a refusal in the workflow's validator); how far from now each
# may lie is its step's guard (domain.guards).
FreeText = Annotated[str, AfterValidator(clean_text), AfterValidator(redact_phones)]
Text = Annotated[FreeText, Field(min_length=1, max_length=4000)]
Note = Annotated[FreeText, Field(max_length=4000)]
StaffId = Annotated[CleanText, Field(min_length=1, max_length=100, description="a staff id, e.g. tech-017")]
Money = Annotated[Decimal, Field(ge=0, max_digits=10, decimal_places=2)]
Satisfaction = Literal["very_satisfied", "satisfied", "neutral", "dissatisfied", "very_dissatisfied"]
# Heard at a revisit (a project's or a repair's) and passed to sales as leads (domain.revisit).
SecondaryNeed = Literal["partial_renovation", "furniture_upgrade", "soft_furnishing"]
Score = Annotated[int, Field(ge=1, le=5, description="1 (poor) to 5 (excellent)")]
ConfirmedHow = Literal["written", "signature", "verbal_recorded", "sms", "wechat"]
Responsibility = Literal["in_warranty", "user_damage", "out_of_warranty"]

T0 = "2026-11-25T10:00:00+08:00"


class StepInput(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    by: StaffId | None = Field(default=None, description="who acted; defaults to the caller's role")


def _example(**example):
    return ConfigDict(extra="forbid", str_strip_whitespace=True, json_schema_extra={"examples": [example]})


class Respond(StepInput):
    model_config = _example(note="called back, the customer sends photos")
    note: Note = ""


class SolveRemotely(StepInput):
    model_config = _example(guidance="reset the breaker in the kitchen; works again")
    guidance: Text


class BookSurvey(StepInput):
    model_config = _example(appointment=T0, technician="tech-017")
    appointment: Instant
    technician: StaffId
    note: Note = ""


class RecordSurvey(StepInput):
    model_config = _example(
        media=["https://files.example.com/s/1.jpg"], measurements="crack 40 cm", cause="silicone seal aged",
        responsibility="in_warranty",
    )
    media: list[HttpUrl] = Field(default_factory=list, max_length=20, description="photo or video URLs")
    measurements: Note = ""
    cause: Text
    responsibility: Responsibility


class ProposePlan(StepInput):
    model_config = _example(cause="seal aged", method="replace the seal", materials=["silicone"], labour_hours=2, cost_estimate="0")
    cause: Text
    method: Text
    materials: list[Annotated[CleanText, Field(min_length=1, max_length=200)]] = Field(default_factory=list, max_length=50)
    labour_hours: Annotated[Decimal, Field(ge=0, le=1000)]
    cost_estimate: Money | None = Field(
        default=None,
        description="what the customer pays; 0 when the repair is free; left out: free if the repair is in "
        "warranty (the survey's finding, else the case's warranty status), otherwise refused: state the price")


class Confirmation(StepInput):
    """The customer's recorded consent: how, when, and through whom it was taken."""

    model_config = _example(how="verbal_recorded", confirmed_at=T0, through="agent-007")
    how: ConfirmedHow
    confirmed_at: Instant
    through: StaffId


class RejectPlan(StepInput):
    model_config = _example(reason="too expensive: wants a cheaper material")
    reason: Text


class Dispatch(StepInput):
    model_config = _example(task="replace the shower seal", window_start="2026-11-26T14:00:00+08:00",
                            window_end="2026-11-26T16:00:00+08:00", technician="tech-017")
    task: Text
    window_start: Instant
    window_end: Instant
    requirements: Note = Field(default="", description="e.g. shoe covers, dust sheets, parts to bring")
    technician: StaffId

    @model_validator(mode="after")
    def _window(self) -> Dispatch:
        if reason := window_refusal(self.window_start, self.window_end):
            raise ValueError(reason)
        return self


class ConfirmVisit(StepInput):
    model_config = _example(note="confirmed by phone")
    note: Note = ""


class StartWork(StepInput):
    model_config = _example(note="on site; shoe covers and dust sheets laid")
    note: Note = ""


class Reschedule(StepInput):
    model_config = _example(window_start="2026-11-27T14:00:00+08:00", window_end="2026-11-27T16:00:00+08:00",
                            reason="the customer is away")
    window_start: Instant
    window_end: Instant
    reason: Text

    @model_validator(mode="after")
    def _window(self) -> Reschedule:
        if reason := window_refusal(self.window_start, self.window_end):
            raise ValueError(reason)
        return self


class AmendPlan(StepInput):
    model_config = _example(change="the valve behind the tiles is corroded too", cost_delta="80")
    change: Text
    cost_delta: Annotated[Decimal, Field(ge=-1_000_000, le=1_000_000, max_digits=10, decimal_places=2)] = Decimal(0)


class CompleteWork(StepInput):
    model_config = _example(self_check="no leak after 10 minutes of running water; area cleaned")
    self_check: Text


class AcceptWork(StepInput):
    model_config = _example(signed_by="customer", signed_at=T0)
    signed_by: Literal["customer", "family_member", "representative"]
    signed_at: Instant
    note: Note = ""


class RejectWork(StepInput):
    model_config = _example(reasons="still drips at the corner")
    reasons: Text


class Settle(StepInput):
    model_config = _example(amount="380.00", invoice_no="INV-2026-0001")
    amount: Money
    invoice_no: str = Field(min_length=1, max_length=60, pattern=r"^[A-Za-z0-9][A-Za-z0-9/_-]*$")


class RecordRevisit(StepInput):
    model_config = _example(method="phone", satisfaction="very_satisfied", attitude=5, professionalism=5, timeliness=5)
    method: Literal["phone", "sms", "on_site"]
    satisfaction: Satisfaction
    attitude: Score
    professionalism: Score
    timeliness: Score
    problem_found: bool = False
    problem: Note = Field(default="", description="what the customer reports; opens a linked case")
    comments: Note = ""
    secondary_needs: list[SecondaryNeed] = Field(default_factory=list, max_length=3,
                                                 description="further needs heard; each becomes a sales lead")
    needs_note: Note = ""

    @model_validator(mode="after")
    def _problem(self) -> RecordRevisit:
        if self.problem_found and not self.problem:
            raise ValueError("describe the problem found (it opens a new case)")
        return self


class FollowUp(StepInput):
    model_config = _example(outcome="apologised; the technician is reminded to clean up")
    outcome: Text


class Apologise(StepInput):
    model_config = _example(note="apologised by phone, owner agent-007")
    note: Note = ""


class AssignDepartment(StepInput):
    model_config = _example(department="after_sales", owner="spec-03")
    department: Literal["after_sales", "sales", "product", "design", "construction", "logistics"]
    owner: StaffId


class TaskGroupMember(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    staff: StaffId
    department: Literal["after_sales", "sales", "product", "design", "construction", "logistics"]


class FormTaskGroup(StepInput):
    model_config = _example(members=[{"staff": "sup-01", "department": "after_sales"},
                                     {"staff": "sales-02", "department": "sales"},
                                     {"staff": "prod-05", "department": "product"}])
    members: list[TaskGroupMember] = Field(min_length=2, max_length=20)


class ProposeSolution(StepInput):
    model_config = _example(solution="replace the door panel free of charge", compensation="a 200 yuan voucher",
                            written=True)
    solution: Text
    compensation: Note = ""
    written: bool = Field(default=False, description="a written solution (required for a major complaint)")
    attributed_to: StaffId | None = Field(
        default=None, description="the technician whose work caused the complaint: counts in their complaint rate"
    )


class ReportResult(StepInput):
    model_config = _example(result="panel replaced on 11-26")
    result: Text


class RecordVerdict(StepInput):
    model_config = _example(satisfied=True, comments="thanks")
    satisfied: bool
    comments: Note = ""


class GmRevisit(StepInput):
    model_config = _example(method="on_site", note="the general manager apologised in person")
    method: Literal["phone", "on_site"]
    note: Text


class Answer(StepInput):
    model_config = _example(answer="the warranty for waterproofing is five years")
    answer: Text


class HandOver(StepInput):
    model_config = _example(to="design", reply_by="2026-11-25T18:00:00+08:00")
    to: Literal["after_sales", "sales", "product", "design", "construction", "logistics"]
    reply_by: Instant


class ChangeSeverity(StepInput):
    model_config = _example(severity="emergency", reason="water is reaching the flat below")
    severity: Severity
    reason: Text


class ChangeKind(StepInput):
    model_config = _example(kind="complaint", reason="the customer complains about the last repair")
    kind: CaseKind
    reason: Text


class MarkMajor(StepInput):
    model_config = _example(reason="media involved")
    reason: Text


class Reassign(StepInput):
    model_config = _example(owner="agent-009", reason="agent-007 is on leave")
    owner: StaffId
    reason: Note = ""


class PauseClock(StepInput):
    model_config = _example(clock="resolution", reason="parts", note="the valve arrives on Friday")
    clock: ClockName
    reason: Literal["customer", "parts"]
    note: Note = ""


class ResumeClock(StepInput):
    model_config = _example(clock="resolution", note="parts arrived")
    clock: ClockName
    note: Note = ""


class AddNote(StepInput):
    model_config = _example(note="the customer prefers calls after 18:00")
    note: Text


class Cancel(StepInput):
    model_config = _example(reason="duplicate of an open case")
    reason: Text


class Reopen(StepInput):
    model_config = _example(reason="the leak is back")
    reason: Text
