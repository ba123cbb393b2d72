"""Sales leads: the secondary needs heard at revisits (domain.revisit), from a project's
revisit or a repair case's, written in the same transaction as the revisit's event."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from adapters.storage.db import insert
from adapters.storage.project_tables import SalesLead
from domain.revisit import leads_heard


def record(session: Session, *, source: str, answers: dict, at: datetime, project_pk: int | None = None,
           case_pk: int | None = None) -> int:
    """One lead per need heard; a retried event adds none. Returns how many are new."""
    owner = ["project_pk"] if project_pk is not None else ["case_pk"]
    new = 0
    for need, note in leads_heard(answers):
        row = insert(session, SalesLead).values(project_pk=project_pk, case_pk=case_pk, source=source, need=need,
                                                note=note, created_at=at, status="new")
        new += session.execute(row.on_conflict_do_nothing(index_elements=[*owner, "source", "need"])).rowcount
    return new


def listed(session: Session, need: str | None, page: int, page_size: int) -> tuple[list[SalesLead], int]:
    """Every lead, newest first, with its project or case."""
    stmt = select(SalesLead)
    if need:
        stmt = stmt.where(SalesLead.need == need)
    total = session.scalar(select(func.count()).select_from(stmt.subquery()))
    rows = session.scalars(stmt.order_by(SalesLead.created_at.desc(), SalesLead.id.desc())
                           .offset((page - 1) * page_size).limit(page_size)).unique().all()
    return list(rows), total or 0
