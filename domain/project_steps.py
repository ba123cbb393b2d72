"""What the desk, the designer, the project manager and the site enter for each project step.

One model per action, as for the case (``domain.steps``): the API's body and, unchanged, the
update's payload. Free text passes ``redact_phones``; nothing asks for personal data.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, model_validator

from domain.bounds import Day, Instant
from domain.models import CleanText
from domain.revisit import ProjectRevisitAnswers, Trade
from domain.steps import Note, StaffId, StepInput, Text, _example
from domain.warranty import Area, DefectCategory

T0 = "2026-11-25T10:00:00+08:00"
Short = Annotated[CleanText, Field(min_length=1, max_length=200)]
# Dates and instants are ``Day`` and ``Instant`` (domain.bounds: 2000 to 2100, a 422 naming the
# field); how far from today each may lie is domain.project_dates.


class RecordNeeds(StepInput):
    model_config = _example(style="modern minimalist", budget="180000", rooms=["kitchen", "bathroom", "living room"],
                            notes="two children; wants storage")
    style: Short
    budget: Annotated[Decimal, Field(gt=0, max_digits=12, decimal_places=2)]
    rooms: list[Short] = Field(min_length=1, max_length=30)
    notes: Note = ""


class AssignTeam(StepInput):
    model_config = _example(designer="des-02", project_manager="pm-05", service_agent="小王",
                            technicians=["tech-017", "tech-020"])
    designer: StaffId | None = None
    project_manager: StaffId | None = None
    service_agent: StaffId | None = Field(
        default=None, description="the desk agent keeping the relationship; the revisit SMS is signed with it")
    technicians: list[StaffId] | None = Field(
        default=None, max_length=30,
        description="the site crew: the technicians who may take the project's site steps (with its project "
                    "manager and designer); replaces the crew when given, [] empties it")

    @model_validator(mode="after")
    def _someone(self) -> AssignTeam:
        if self.designer is None and self.project_manager is None and self.service_agent is None \
                and self.technicians is None:
            raise ValueError("name a designer, a project manager, a service agent, the technicians, or some of them")
        return self


class StartDesign(StepInput):
    model_config = _example(note="needs confirmed with the customer")
    note: Note = ""


class ProposeDesign(StepInput):
    model_config = _example(summary="open kitchen, walk-in shower, oak floors; quote 176,000")
    summary: Text


class ConfirmDesign(StepInput):
    model_config = _example(how="signature", confirmed_at=T0)
    how: Literal["written", "signature", "verbal_recorded", "sms", "wechat"]
    confirmed_at: Instant


class RejectDesign(StepInput):
    model_config = _example(reason="wants a bathtub instead of the shower")
    reason: Text


class RecordMilestone(StepInput):
    model_config = _example(trade="plumbing_electrical", status="finished", note="pressure test 0.8 MPa passed")
    trade: Trade
    status: Literal["started", "finished"]
    note: Note = ""


class RecordInspection(StepInput):
    model_config = _example(trade="plumbing_electrical", passed=True, note="concealed work accepted")
    trade: Trade
    passed: bool
    note: Note = ""


class RecordSiteVisit(StepInput):
    model_config = _example(with_customer=True, note="the customer checked the tiling layout")
    with_customer: bool = True
    note: Note = ""


class NotifyMaterials(StepInput):
    model_config = _example(materials=["floor tiles", "sanitary ware"], arrives_on="2026-12-01")
    materials: list[Short] = Field(min_length=1, max_length=50)
    arrives_on: Day


class ReportProgress(StepInput):
    model_config = _example(summary="tiling 60 % done; carpentry starts Monday")
    summary: Text


class ReportProblem(StepInput):
    model_config = _example(problem="a load-bearing wall found where the plan has a partition")
    problem: Text


class FinishConstruction(StepInput):
    model_config = _example(note="site cleaned")
    note: Note = ""


class RecordDefect(StepInput):
    model_config = _example(description="grout missing behind the basin", category="tiling_masonry", area="bathroom",
                            owner="pm-05", rectify_by="2026-11-28T18:00:00+08:00")
    description: Text
    category: DefectCategory
    area: Area | None = None
    owner: StaffId
    rectify_by: Instant


class CloseDefect(StepInput):
    model_config = _example(defect=1, note="regrouted; the customer checked it")
    defect: int = Field(ge=1, le=10_000)
    note: Note = ""


class AcceptCompletion(StepInput):
    model_config = _example(signed_by="customer", signed_at=T0)
    signed_by: Literal["customer", "family_member", "representative"]
    signed_at: Instant


class HandOverProject(StepInput):
    model_config = _example(handover_on="2026-11-25", documents=["completion report", "as-built drawings",
                            "warranty card"], care_instructions=True)
    handover_on: Day
    documents: list[Short] = Field(min_length=1, max_length=30)
    care_instructions: bool


class RecordProjectRevisit(ProjectRevisitAnswers):
    """Seed 002's questionnaire (``domain.revisit``), as a step."""


class AddNote(StepInput):
    model_config = _example(note="the customer prefers calls after 18:00")
    note: Text


class Cancel(StepInput):
    model_config = _example(reason="the customer withdrew before construction")
    reason: Text
