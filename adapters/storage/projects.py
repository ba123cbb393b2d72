"""Projects in the project file: opening one, recording its events (with the revisit tasks
and sales leads they carry), and the desk's lists."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from adapters.storage import leads as sales_leads
from adapters.storage.db import contains_text, insert
from adapters.storage.project_tables import Project, ProjectEventRow, RevisitTaskRow, SalesLead
from adapters.storage.tables import Customer, NumberCounter
from domain.project import ProjectEvent
from domain.revisit import lead_source


def _customer(session: Session, name: str, phone: str, now: datetime) -> Customer:
    # The same customer as their cases: one row per phone number, never a duplicate.
    stmt = insert(session, Customer).values(name=name, phone=phone, created_at=now)
    session.execute(stmt.on_conflict_do_nothing(index_elements=["phone"]))
    return session.scalars(select(Customer).where(Customer.phone == phone)).one()


def _next_project_id(session: Session) -> str:
    # A counter row like the case numbers' (migration 0012): a restore raises it past every
    # id given before it (ops/backup.py), which a row id could not.
    stmt = insert(session, NumberCounter).values(name="project", last=1)
    stmt = stmt.on_conflict_do_update(index_elements=["name"], set_={"last": NumberCounter.last + 1})
    return f"PJ{session.execute(stmt.returning(NumberCounter.last)).scalar_one():06d}"


def open_project(
    session: Session, *, name: str, phone: str, address: str, house_type: str | None, package: str, channel: str,
    now: datetime, idempotency_key: str | None = None, fingerprint: str | None = None,
) -> Project:
    """Write a new project and give it its id (``PJ`` and the next project number). The workflow starts next."""
    project = Project(
        project_id=_next_project_id(session),
        customer=_customer(session, name, phone, now), address=address, house_type=house_type, package=package,
        channel=channel, created_at=now, updated_at=now, idempotency_key=idempotency_key,
        request_fingerprint=fingerprint, stage="consultation", breached=False, last_seq=0,
    )
    session.add(project)
    session.flush()
    return project


def get_project(session: Session, project_id: str) -> Project | None:
    return session.scalars(select(Project).where(Project.project_id == project_id)).one_or_none()


def find_by_idempotency_key(session: Session, key: str) -> Project | None:
    return session.scalars(select(Project).where(Project.idempotency_key == key)).one_or_none()


def record_event(session: Session, event: ProjectEvent) -> bool:
    """Write one project event and bring the projection up to it; idempotent by (project, seq).
    Returns False when the event was already recorded (a retried activity)."""
    stmt = select(Project).where(Project.project_id == event.project_id).with_for_update(of=Project)
    project = session.scalars(stmt).one_or_none()
    if project is None:
        raise LookupError(f"project {event.project_id} is not in the project file")
    row = insert(session, ProjectEventRow).values(
        project_pk=project.id, seq=event.seq, type=event.type, at=event.at, actor=event.actor, data=event.data
    )
    if session.execute(row.on_conflict_do_nothing(index_elements=["project_pk", "seq"])).rowcount != 1:
        return False
    if event.seq > project.last_seq:  # never move the projection backwards: an older event committed last
        _project(session, project, event)
    if event.type == "record_revisit":  # secondary needs become sales leads (domain.revisit)
        sales_leads.record(session, source=lead_source(event.data["revisit"]), answers=event.data, at=event.at,
                           project_pk=project.id)
    return True


def _project(session: Session, project: Project, event: ProjectEvent) -> None:
    """The projection as of ``event``: the project's row and its revisit tasks."""
    state = event.state
    project.stage, project.designer, project.project_manager = state.stage.value, state.designer, state.project_manager
    project.breached, project.last_seq = state.breached, event.seq
    project.state = state.model_dump(mode="json")
    project.updated_at = event.at
    if state.warranty:
        project.handover_on, project.warranty_until = state.warranty.handover_on, state.warranty.until
    for task in state.warranty.revisits if state.warranty else ():
        values = dict(due_on=task.due_at.date(), window_end=task.window_end, status=task.status, recorded_at=task.recorded_at)
        upsert = insert(session, RevisitTaskRow).values(project_pk=project.id, kind=task.kind.value, **values)
        session.execute(upsert.on_conflict_do_update(index_elements=["project_pk", "kind"], set_=values))


def issue_warranty_card(session: Session, project_id: str, render, now: datetime) -> bool:
    """Store the card once: a retried activity finds it issued and keeps the first."""
    project = session.scalars(select(Project).where(Project.project_id == project_id).with_for_update(of=Project)).one_or_none()
    if project is None:
        raise LookupError(f"project {project_id} is not in the project file")
    if project.warranty_card_html is not None:
        return False
    project.warranty_card_html, project.warranty_card_issued_at = render(project), now
    return True


def events(session: Session, project_pk: int) -> list[ProjectEventRow]:
    return list(session.scalars(select(ProjectEventRow).where(ProjectEventRow.project_pk == project_pk).order_by(ProjectEventRow.seq)))


@dataclass
class ProjectFilter:
    stage: str | None = None
    package: str | None = None
    staff: str | None = None  # designer or project manager
    breached: bool | None = None
    warranty_on: date | None = None  # projects under warranty on that day
    text: str | None = None  # project id, address, customer name or phone


def list_projects(session: Session, f: ProjectFilter, *, page: int, page_size: int) -> tuple[list[Project], int]:
    stmt: Select = select(Project).join(Project.customer)
    if f.stage:
        stmt = stmt.where(Project.stage == f.stage)
    if f.package:
        stmt = stmt.where(Project.package == f.package)
    if f.staff:
        stmt = stmt.where(or_(Project.designer == f.staff, Project.project_manager == f.staff))
    if f.breached is not None:
        stmt = stmt.where(Project.breached == f.breached)
    if f.warranty_on:
        stmt = stmt.where(Project.handover_on <= f.warranty_on, Project.warranty_until >= f.warranty_on)
    if f.text:  # the text as typed: % and _ are no wildcards (as for cases)
        stmt = stmt.where(contains_text(f.text, Project.project_id, Project.address, Customer.name, Customer.phone))
    total = session.scalar(select(func.count()).select_from(stmt.subquery()))
    rows = session.scalars(stmt.order_by(Project.id.desc()).offset((page - 1) * page_size).limit(page_size)).all()
    return list(rows), total or 0


def due_revisits(session: Session, on: date) -> list[tuple[RevisitTaskRow, Project]]:
    """Revisits to make on ``on``: due by then, not recorded, their window still open."""
    stmt = (
        select(RevisitTaskRow, Project).join(Project, Project.id == RevisitTaskRow.project_pk)
        .where(RevisitTaskRow.due_on <= on, RevisitTaskRow.window_end >= on,
               RevisitTaskRow.status.in_(("scheduled", "due")))
        .order_by(RevisitTaskRow.due_on, Project.id)
    )
    return [(r, p) for r, p in session.execute(stmt).all()]


def leads(session: Session, need: str | None, page: int, page_size: int) -> tuple[list[SalesLead], int]:
    """Every sales lead, a project's revisit's or a repair case's, newest first."""
    return sales_leads.listed(session, need, page, page_size)


def unstarted(session: Session, created_before: datetime) -> list[Project]:
    """Projects written by the API whose workflow never recorded them (Temporal was away, or
    the API died between the write and the start)."""
    stmt = select(Project).where(Project.last_seq == 0, Project.created_at < created_before).order_by(Project.id)
    return list(session.scalars(stmt))
