"""What the project API takes and returns."""

from __future__ import annotations

from datetime import date, datetime
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field

from adapters.storage.project_tables import Project, RevisitTaskRow, SalesLead
from domain.models import Channel, CleanText, Phone
from domain.project import Package, ProjectState, workflow_id
from domain.project_process import STEPS, refusal
from domain.warranty import TermEnd, WarrantyStatus


class ProjectIntake(BaseModel):
    """A new renovation project at its first consultation (DOMAIN.md §3, seed 004's order flow)."""

    model_config = ConfigDict(
        extra="forbid", str_strip_whitespace=True,
        json_schema_extra={"examples": [{"customer_name": "李先生", "phone": "13912345678",
                                         "address": "上海市徐汇区漕溪北路200号3号楼801", "house_type": "三室两厅",
                                         "package": "full", "channel": "store"}]},
    )

    customer_name: CleanText = Field(min_length=1, max_length=100)
    phone: Phone
    address: CleanText = Field(min_length=1, max_length=300)
    house_type: CleanText | None = Field(default=None, max_length=50)
    package: Package = Field(description="half (半包), full (全包) or whole_house (整装)")
    channel: Channel


class ProjectSummary(BaseModel):
    project_id: str
    package: str
    stage: str
    designer: str | None
    project_manager: str | None
    handover_on: date | None
    warranty_until: date | None
    breached: bool
    customer_name: str
    address: str
    created_at: datetime

    @classmethod
    def from_row(cls, p: Project) -> ProjectSummary:
        return cls(project_id=p.project_id, package=p.package, stage=p.stage, designer=p.designer,
                   project_manager=p.project_manager, handover_on=p.handover_on, warranty_until=p.warranty_until,
                   breached=p.breached, customer_name=p.customer.name, address=p.address, created_at=p.created_at)


class ProjectList(BaseModel):
    items: list[ProjectSummary]
    total: int
    page: int
    page_size: int


_DESK_ONLY = "null in a technician's answer: the customer's data is the desk's"


class ProjectView(ProjectSummary):
    customer_name: str | None = Field(description=_DESK_ONLY)  # type: ignore[assignment]
    address: str | None = Field(description=_DESK_ONLY)  # type: ignore[assignment]
    workflow_id: str
    temporal_ui: str
    live: bool = Field(description="true when read from the running workflow, false from the project file")
    pending: bool = Field(default=False, description="recorded, but its workflow could not start yet (Temporal away): "
                          "the repair pass starts it")
    phone: str | None = Field(description=_DESK_ONLY)
    house_type: str | None
    next_actions: list[str]
    state: ProjectState


class WarrantyView(BaseModel):
    project_id: str
    handover_on: date
    warranty_until: date
    terms: list[TermEnd]
    on: date
    in_warranty: list[str] = Field(description="the terms still running on that day")
    defect: WarrantyStatus | None = Field(default=None, description="the asked defect's status, when one is given")


class RevisitDue(BaseModel):
    project_id: str
    kind: str
    due_on: date
    window_end: date
    status: str
    customer_name: str
    phone: str

    @classmethod
    def from_rows(cls, task: RevisitTaskRow, p: Project) -> RevisitDue:
        return cls(project_id=p.project_id, kind=task.kind, due_on=task.due_on, window_end=task.window_end,
                   status=task.status, customer_name=p.customer.name, phone=p.customer.phone)


class LeadOut(BaseModel):
    id: int
    project_id: str | None = Field(description="the project (of the revisit, or of the repair case)")
    case_no: str | None = Field(default=None, description="the repair case whose revisit it was heard at")
    source: str = Field(description="the revisit it was heard at: revisit:initial|mid_term|late, revisit:repair")
    need: str
    note: str
    status: str
    created_at: datetime
    customer_name: str
    phone: str

    @classmethod
    def from_row(cls, lead: SalesLead) -> LeadOut:
        if lead.project is not None:
            p = lead.project
            return cls(id=lead.id, project_id=p.project_id, source=lead.source, need=lead.need, note=lead.note,
                       status=lead.status, created_at=lead.created_at, customer_name=p.customer.name,
                       phone=p.customer.phone)
        c = lead.case
        return cls(id=lead.id, project_id=c.project_id, case_no=c.case_no, source=lead.source, need=lead.need,
                   note=lead.note, status=lead.status, created_at=lead.created_at, customer_name=c.customer.name,
                   phone=c.customer.phone)


class LeadList(BaseModel):
    items: list[LeadOut]
    total: int
    page: int
    page_size: int


def project_view(p: Project, state: ProjectState, *, ui_url: str, namespace: str, live: bool,
                 customer: bool = True) -> ProjectView:
    """The project as the caller may see it: without the customer's name, phone and address
    unless ``customer`` (``domain.project_process.sees_customer``)."""
    summary = ProjectSummary.from_row(p).model_dump()
    summary.update(stage=state.stage.value, designer=state.designer, project_manager=state.project_manager,
                   breached=state.breached)
    if state.warranty:
        summary.update(handover_on=state.warranty.handover_on, warranty_until=state.warranty.until)
    ui = f"{ui_url}/namespaces/{namespace}/workflows/{quote(workflow_id(p.project_id), safe='')}"
    phone: str | None = p.customer.phone
    if not customer:
        summary.update(customer_name=None, address=None)
        phone = None
    return ProjectView(**summary, workflow_id=workflow_id(p.project_id), temporal_ui=ui, live=live,
                       phone=phone, house_type=p.house_type, state=state,
                       next_actions=[n for n, s in STEPS.items() if refusal(s, state.stage) is None])
