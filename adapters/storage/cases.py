"""Cases in the case file: opening one, recording its events, finding and listing them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Select, exists, func, select
from sqlalchemy.orm import Session

from adapters.storage import leads
from adapters.storage.db import contains_text, insert
from adapters.storage.tables import (
    Case,
    CaseCounter,
    CaseEventRow,
    Customer,
    EscalationRow,
    SlaClock,
)
from domain.case import CaseEvent, EscalationRecord
from domain.kpi import kpi_until
from domain.models import Intake, Severity
from domain.revisit import REPAIR_LEAD_SOURCE


Projection = Callable[[Session, Case, CaseEvent], None]


def _next_case_no(session: Session, prefix: str, received: datetime, zone: ZoneInfo) -> str:
    # The day's counter. A restore raises it past every number given before it (ops/numbers.py):
    # after a restore the day's numbers jump (README, "Backups and restore").
    day = received.astimezone(zone).strftime("%Y%m%d")
    stmt = insert(session, CaseCounter).values(day=day, last=1)
    stmt = stmt.on_conflict_do_update(index_elements=["day"], set_={"last": CaseCounter.last + 1})
    last = session.execute(stmt.returning(CaseCounter.last)).scalar_one()
    return f"{prefix}{day}-{last:04d}"


def _customer(session: Session, intake: Intake, now: datetime) -> Customer:
    # Concurrent intakes for one phone: insert-or-nothing, then read, never a duplicate.
    stmt = insert(session, Customer).values(name=intake.customer_name, phone=intake.phone, created_at=now)
    session.execute(stmt.on_conflict_do_nothing(index_elements=["phone"]))
    customer = session.scalars(select(Customer).where(Customer.phone == intake.phone)).one()
    # How the customer wants to be reached is what they told us last.
    if intake.email:
        customer.email = intake.email
    if intake.preferred_channel:
        customer.preferred_channel = intake.preferred_channel
    if "locale" in intake.model_fields_set:
        customer.locale = intake.locale
    return customer


def open_case(
    session: Session,
    *,
    intake: Intake,
    severity: Severity,
    received_at: datetime,
    now: datetime,
    prefix: str,
    zone: ZoneInfo,
    idempotency_key: str | None = None,
    fingerprint: str | None = None,
    related_case_no: str | None = None,
) -> Case:
    """Write a new case (and its customer) and give it its number. The workflow starts next."""
    customer = _customer(session, intake, now)
    case = Case(
        case_no=_next_case_no(session, prefix, now, zone),
        kind=intake.kind.value,
        severity=severity.value,
        channel=intake.channel.value,
        customer=customer,
        address=intake.address,
        house_type=intake.house_type,
        description=intake.description,
        attachments=[str(url) for url in intake.attachments],
        under_warranty=intake.under_warranty,
        repaired_before=intake.repaired_before,
        project_id=intake.project_id,
        problem_category=intake.problem_category.value if intake.problem_category else None,
        product=intake.product,
        product_model=intake.product_model,
        major=intake.major,
        related_case_no=related_case_no,
        received_at=received_at,
        created_at=now,
        updated_at=now,
        idempotency_key=idempotency_key,
        request_fingerprint=fingerprint,
        stage="new",
        sla_breached=False,
        escalated=False,
        last_seq=0,
    )
    session.add(case)
    session.flush()
    return case


def get_case(session: Session, case_no: str) -> Case | None:
    return session.scalars(select(Case).where(Case.case_no == case_no)).one_or_none()


def find_by_idempotency_key(session: Session, key: str) -> Case | None:
    return session.scalars(select(Case).where(Case.idempotency_key == key)).one_or_none()


def record_event(session: Session, event: CaseEvent, also_project: Projection | None = None) -> bool:
    """Write one case event and bring the case's projection up to it.

    Idempotent: a retried activity finds its (case, seq) row and writes nothing. Events that
    arrive out of order never move the projection backwards (guarded by ``last_seq``).
    ``also_project`` brings other records up to the newest event in the same transaction
    (the field team's work orders). Returns False when the event was already recorded.
    """
    case = session.scalars(select(Case).where(Case.case_no == event.case_no).with_for_update(of=Case)).one_or_none()
    if case is None:
        raise LookupError(f"case {event.case_no} is not in the case file")
    stmt = insert(session, CaseEventRow).values(
        case_id=case.id, seq=event.seq, type=event.type, at=event.at, actor=event.actor, data=event.data
    )
    written = session.execute(stmt.on_conflict_do_nothing(index_elements=["case_id", "seq"])).rowcount == 1
    if not written:
        return False
    if event.type in ("clock_breached", "escalated"):
        record = EscalationRecord.model_validate(event.data)
        session.execute(
            insert(session, EscalationRow)
            .values(
                case_id=case.id,
                seq=event.seq,
                level=record.level,
                source=record.source,
                clock=record.clock.value if record.clock else None,
                reason=record.reason,
                by=record.by,
                at=record.at,
            )
            .on_conflict_do_nothing(index_elements=["case_id", "seq"])
        )
    if event.type == "record_revisit":  # secondary needs heard become sales leads (domain.revisit)
        leads.record(session, source=REPAIR_LEAD_SOURCE, answers=event.data, at=event.at, case_pk=case.id)
    if event.seq > case.last_seq:
        _project(session, case, event)
        if also_project is not None:
            also_project(session, case, event)
    return True


def _project(session: Session, case: Case, event: CaseEvent) -> None:
    state = event.state
    case.stage = state.stage.value
    case.sla_breached = state.sla_breached
    case.escalated = state.escalated
    case.next_deadline = state.next_deadline
    case.kind = state.kind.value
    case.severity = state.severity.value
    case.owner = state.owner
    case.state = state.model_dump(mode="json")
    case.last_seq = event.seq
    case.updated_at = event.at
    case.kpi_until = kpi_until(state)  # what the KPIs of a period load (adapters.reports.source)
    for clock in state.clocks:
        values = dict(
            limit=clock.limit,
            basis=clock.basis,
            started_at=clock.started_at,
            deadline=clock.deadline,
            warn_at=clock.warn_at,
            met_at=clock.met_at,
            warned_at=clock.warned_at,
            breached_at=clock.breached_at,
            level=clock.level,
        )
        stmt = insert(session, SlaClock).values(case_id=case.id, name=clock.name.value, **values)
        # A breach is history: a clock replaced by a fresh one (a reopened case) keeps the
        # first breach of its name on the row, so the breached filters still find it.
        update = {**values, "breached_at": func.coalesce(SlaClock.breached_at, stmt.excluded.breached_at)}
        session.execute(stmt.on_conflict_do_update(index_elements=["case_id", "name"], set_=update))


@dataclass
class CaseFilter:
    kind: str | None = None
    severity: str | None = None
    stage: str | None = None
    breached: bool | None = None
    text: str | None = None
    breached_since: datetime | None = None
    breached_until: datetime | None = None


def _filtered(f: CaseFilter) -> Select:
    stmt = select(Case)
    if f.kind:
        stmt = stmt.where(Case.kind == f.kind)
    if f.severity:
        stmt = stmt.where(Case.severity == f.severity)
    if f.stage:
        stmt = stmt.where(Case.stage == f.stage)
    if f.breached is not None:
        stmt = stmt.where(Case.sla_breached.is_(f.breached))
    if f.breached_since or f.breached_until:
        clock = select(SlaClock.id).where(SlaClock.case_id == Case.id, SlaClock.breached_at.is_not(None))
        if f.breached_since:
            clock = clock.where(SlaClock.breached_at >= f.breached_since)
        if f.breached_until:
            clock = clock.where(SlaClock.breached_at < f.breached_until)
        stmt = stmt.where(exists(clock))
    if f.text:
        stmt = stmt.join(Customer, Customer.id == Case.customer_id).where(
            contains_text(f.text, Case.case_no, Case.description, Case.address, Customer.name, Customer.phone)
        )
    return stmt


def list_cases(
    session: Session, f: CaseFilter, *, page: int, page_size: int, by_deadline: bool = False
) -> tuple[list[Case], int]:
    stmt = _filtered(f)
    total = session.scalar(select(func.count()).select_from(stmt.subquery()))
    if by_deadline:
        order = (Case.next_deadline.is_(None), Case.next_deadline, Case.case_no)
    else:
        order = (Case.received_at.desc(), Case.case_no.desc())
    rows = session.scalars(stmt.order_by(*order).offset((page - 1) * page_size).limit(page_size)).unique().all()
    return list(rows), int(total or 0)


def events(session: Session, case_id: int) -> list[CaseEventRow]:
    return list(session.scalars(select(CaseEventRow).where(CaseEventRow.case_id == case_id).order_by(CaseEventRow.seq)))


def clocks(session: Session, case_id: int) -> list[SlaClock]:
    return list(session.scalars(select(SlaClock).where(SlaClock.case_id == case_id).order_by(SlaClock.id)))


def escalations(session: Session, case_id: int) -> list[EscalationRow]:
    return list(session.scalars(select(EscalationRow).where(EscalationRow.case_id == case_id).order_by(EscalationRow.seq)))


def linked(session: Session, case_no: str) -> list[Case]:
    """Cases opened from this one (a problem found at its revisit)."""
    return list(session.scalars(select(Case).where(Case.related_case_no == case_no).order_by(Case.id)))


def unstarted(session: Session, created_before: datetime) -> list[Case]:
    """Cases written by the API whose workflow never recorded them (the API died in between)."""
    stmt = select(Case).where(Case.last_seq == 0, Case.created_at < created_before).order_by(Case.id)
    return list(session.scalars(stmt))


def open_linked_case(
    session: Session, *, parent_no: str, problem: str, key: str, received_at: datetime, now: datetime, prefix: str,
    zone: ZoneInfo, severity_of: Callable[[str], Severity],
) -> Case:
    """The case a problem heard at ``parent_no``'s revisit opens: the same customer, address
    and product, linked to the parent. Once by ``key``: a retried write returns that case."""
    if (existing := find_by_idempotency_key(session, key)) is not None:
        return existing
    parent = get_case(session, parent_no)
    if parent is None:
        raise LookupError(f"case {parent_no} is not in the case file")
    intake = Intake(
        kind=parent.kind if parent.kind != "consultation" else "repair",
        channel=parent.channel,
        customer_name=parent.customer.name,
        phone=parent.customer.phone,
        address=parent.address,
        house_type=parent.house_type,
        description=f"回访发现问题（原工单 {parent.case_no}）：{problem}",
        under_warranty=parent.under_warranty,
        repaired_before=True,
        project_id=parent.project_id,
        # the same product, most likely: the problem report counts it again
        problem_category=parent.problem_category,
        product=parent.product,
        product_model=parent.product_model,
    )
    return open_case(
        session, intake=intake, severity=severity_of(intake.description), received_at=received_at, now=now,
        prefix=prefix, zone=zone, idempotency_key=key, related_case_no=parent.case_no,
    )
