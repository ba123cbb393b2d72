"""The field team's records beyond the registry: work orders as the cases last recorded them,
complaints attributed to technicians, the discipline that follows (complaint rate, cards)
and the quality-check queue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, true
from sqlalchemy.orm import Session

from adapters.storage import technicians as registry
from adapters.storage.db import insert
from adapters.storage.field_tables import (
    ComplaintAttribution,
    QualityCheck,
    TechnicianCard,
    TechnicianRow,
    TechnicianStatusChange,
    WorkOrderRow,
)
from adapters.storage.tables import Case
from domain.case import CaseEvent
from domain.discipline import (
    ComplaintReview,
    DisciplinePolicy,
    ReviewVerdict,
    drawn_for_quality_check,
    over_complaint_limit,
    status_after_cards,
)
from domain.dispatch import work_order_id
from domain.kpi import attributed_complaint
from domain.models import Stage


@dataclass(frozen=True)
class Sampling:
    rate: float  # the policy's share of completed work orders
    seed: str  # the installation's secret: nobody can tell in advance which orders are drawn


# -- the projection of a case's work orders -----------------------------------------------------


def project(session: Session, case: Case, event: CaseEvent, sampling: Sampling) -> None:
    """Bring the case's work orders and complaint attribution up to ``event``'s state.

    Called by the case file's projection, in its transaction and only for the newest event,
    so a completion is seen once: that is when the work order is drawn, or not, for a
    quality check, and the slots after it are freed. A cancelled case frees its technicians'
    future slots.
    """
    state = event.state
    cancelled = state.stage == Stage.cancelled
    existing = {r.number: r for r in session.scalars(select(WorkOrderRow).where(WorkOrderRow.case_id == case.id))}
    for order in state.work_orders:
        row = existing.get(order.number)
        if row is None:
            row = WorkOrderRow(case_id=case.id, work_order=work_order_id(case.case_no, order.number), number=order.number)
            session.add(row)
        newly_completed = order.completed_at is not None and row.completed_at is None
        row.technician_id, row.task = order.technician, order.task
        row.window_start, row.window_end, row.dispatched_at = order.window_start, order.window_end, order.dispatched_at
        row.confirmed_at, row.started_at, row.completed_at = order.confirmed_at, order.started_at, order.completed_at
        # A cancelled case's work orders are no jobs of anyone's, done or not (domain.kpi).
        row.outcome, row.cancelled = order.outcome, cancelled
        if newly_completed:  # the rest of the window is free for other work
            registry.release_after(session, [row.work_order], order.completed_at)
        if newly_completed and drawn_for_quality_check(row.work_order, sampling.seed, sampling.rate):
            stmt = insert(session, QualityCheck).values(
                work_order=row.work_order, case_id=case.id, technician_id=order.technician, drawn_at=order.completed_at,
                status="pending",
            )
            session.execute(stmt.on_conflict_do_nothing(index_elements=["work_order"]))
    if cancelled and state.work_orders:
        orders = [work_order_id(case.case_no, o.number) for o in state.work_orders]
        registry.release_after(session, orders, event.at)
    _attribute(session, case, event)


def _attribute(session: Session, case: Case, event: CaseEvent) -> None:
    attributed = attributed_complaint(event.state)  # the KPIs' definition, so both agree
    if attributed is None:  # none yet, a later round's solution names nobody, or cancelled
        session.execute(delete(ComplaintAttribution).where(ComplaintAttribution.case_id == case.id))
        return
    values = {"technician_id": attributed[0], "attributed_at": attributed[1]}
    stmt = insert(session, ComplaintAttribution).values(case_id=case.id, **values)
    session.execute(stmt.on_conflict_do_update(index_elements=["case_id"], set_=values))


# -- the complaint rate ----------------------------------------------------------------------------


def complaint_counts(session: Session, technician_id: str, since: datetime, until: datetime) -> tuple[int, int]:
    """(complaints attributed, jobs completed) in (since, until]: ``domain.kpi``'s
    ``attributed_complaint`` and ``completed_jobs``, counted in the database."""
    complaints = session.scalar(
        select(func.count()).select_from(ComplaintAttribution).where(
            ComplaintAttribution.technician_id == technician_id,
            ComplaintAttribution.attributed_at > since, ComplaintAttribution.attributed_at <= until,
        )
    )
    jobs = session.scalar(
        select(func.count()).select_from(WorkOrderRow).where(
            WorkOrderRow.technician_id == technician_id,
            WorkOrderRow.completed_at > since, WorkOrderRow.completed_at <= until, WorkOrderRow.cancelled.is_(False),
        )
    )
    return int(complaints or 0), int(jobs or 0)


def review(session: Session, request: ComplaintReview, policy: DisciplinePolicy) -> ReviewVerdict:
    """Suspend the technician if this complaint takes their rate over the limit. Idempotent:
    a retried review finds the suspension it recorded (keyed by the complaint's event); a
    later round of the same complaint finds them suspended already and changes nothing."""
    return _review(session, request.technician, request.at, request.source, policy)


def review_team(session: Session, at: datetime, source: str, policy: DisciplinePolicy) -> list[tuple[str, ReviewVerdict]]:
    """The daily review: every active technician's rate at ``at``. It rises without a new
    complaint too (jobs leave the window, a cancelled case's jobs stop counting). Returns
    those it suspends, keyed by ``source`` and the technician: a rerun (or a retried
    activity) suspends nobody twice, and returns again those this review suspended, so that
    their messages are surely delivered."""
    active = session.scalars(select(TechnicianRow.id).where(TechnicianRow.status == "active")).all()
    done = session.scalars(
        select(TechnicianStatusChange.technician_id).where(TechnicianStatusChange.source.like(f"{source}:%"))
    ).all()
    verdicts = [(tech, _review(session, tech, at, f"{source}:{tech}", policy)) for tech in sorted({*active, *done})]
    return [(tech, v) for tech, v in verdicts if v.suspended]


def _review(session: Session, technician_id: str, at: datetime, source: str, policy: DisciplinePolicy) -> ReviewVerdict:
    tech = registry.get(session, technician_id, for_update=True)  # one review at a time
    # The window, but not from before the last reinstatement: retrained, they start afresh
    # (as their cards do).
    since = at - timedelta(days=policy.complaint_window_days)
    since = max(since, last_reinstated(session, technician_id) or since)
    complaints, jobs = complaint_counts(session, technician_id, since, at)
    done = session.scalars(select(TechnicianStatusChange).where(TechnicianStatusChange.source == source)).one_or_none()
    if done is not None:
        return ReviewVerdict(complaints=complaints, completed_jobs=jobs, suspended=True, reason=done.reason)
    reason = over_complaint_limit(complaints, jobs, policy)
    suspend = reason is not None and tech is not None and tech.status == "active"
    if suspend:
        registry.set_status(session, tech, "suspended", reason, "system", at, source=source)
    return ReviewVerdict(complaints=complaints, completed_jobs=jobs, suspended=suspend, reason=reason)


# -- cards -------------------------------------------------------------------------------------------


def last_reinstated(session: Session, technician_id: str) -> datetime | None:
    """When a manager last put the technician back to work (their first status, the
    registration, is no reinstatement): cards and complaints count afresh from then."""
    registration = (
        select(func.min(TechnicianStatusChange.id)).where(TechnicianStatusChange.technician_id == technician_id)
    ).scalar_subquery()
    return session.scalar(
        select(func.max(TechnicianStatusChange.at)).where(
            TechnicianStatusChange.technician_id == technician_id, TechnicianStatusChange.status == "active",
            TechnicianStatusChange.id != registration,
        )
    )


def give_card(
    session: Session, tech: TechnicianRow, *, color: str, reason: str, work_order: str | None, by: str, now: datetime,
    policy: DisciplinePolicy, source: str | None = None,
) -> tuple[TechnicianCard, TechnicianStatusChange | None]:
    """Record a card; then the cards since the last reinstatement may suspend or remove. The
    caller holds the technician's row locked (``registry.get(..., for_update=True)``), so two
    cards given at once both count."""
    card = TechnicianCard(technician_id=tech.id, color=color, reason=reason, work_order=work_order, by=by, at=now,
                          source=source)
    session.add(card)
    session.flush()
    since = last_reinstated(session, tech.id)
    counts = dict(
        session.execute(
            select(TechnicianCard.color, func.count())
            .where(TechnicianCard.technician_id == tech.id, TechnicianCard.at >= since if since else true())
            .group_by(TechnicianCard.color)
        ).all()
    )
    outcome = status_after_cards(counts.get("yellow", 0), counts.get("red", 0), policy)
    change = None
    if outcome is not None and outcome[0] != tech.status:
        change = registry.set_status(session, tech, outcome[0], outcome[1], by, now, source=f"card:{card.id}")
    return card, change


def cards(session: Session, technician_id: str) -> list[TechnicianCard]:
    stmt = select(TechnicianCard).where(TechnicianCard.technician_id == technician_id).order_by(TechnicianCard.id)
    return list(session.scalars(stmt))


# -- the technician's day and the quality-check queue ---------------------------------------------


def jobs_between(session: Session, technician_id: str, start: datetime, end: datetime) -> list[tuple[WorkOrderRow, Case]]:
    """The technician's work orders whose window starts in [start, end), earliest first."""
    rows = session.execute(
        select(WorkOrderRow, Case)
        .join(Case, Case.id == WorkOrderRow.case_id)
        .where(WorkOrderRow.technician_id == technician_id, WorkOrderRow.window_start >= start,
               WorkOrderRow.window_start < end, WorkOrderRow.cancelled.is_(False))
        .order_by(WorkOrderRow.window_start, WorkOrderRow.work_order)
    ).all()
    return [(w, c) for w, c in rows]


def quality_checks(session: Session, status: str | None, *, limit: int, offset: int) -> tuple[list[QualityCheck], int]:
    stmt = select(QualityCheck)
    if status:
        stmt = stmt.where(QualityCheck.status == status)
    total = session.scalar(select(func.count()).select_from(stmt.subquery()))
    rows = session.scalars(stmt.order_by(QualityCheck.drawn_at, QualityCheck.work_order).limit(limit).offset(offset))
    return list(rows), int(total or 0)
