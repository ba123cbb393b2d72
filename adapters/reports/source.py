"""What the KPIs and the live counts read from the case file.

KPIs read each case's whole state (``cases.state``, written by the case's workflow) with the
problem the intake named; the formulas are in ``domain.kpi``. The live counts read the same
projection the Temporal UI's search attributes are set from, by the same conditions.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from adapters.storage.tables import Case
from domain.case import CaseState
from domain.kpi import CaseRecord, Period, Problem
from domain.models import Stage
from domain.process import FINAL

FINAL_STAGES = tuple(stage.value for stage in Stage if stage in FINAL)  # closed, cancelled


def case_records(session: Session, period: Period) -> list[CaseRecord]:
    """Every case that can have anything counted in the period: received before it ends, and
    with its last KPI instant (``cases.kpi_until``, ``domain.kpi.kpi_until``: a deadline or a
    window's end may lie after its last event) not before it begins."""
    stmt = (
        select(Case.state, Case.problem_category, Case.product, Case.product_model)
        .where(
            Case.state.is_not(None),
            Case.received_at < period.end,
            Case.kpi_until >= period.start,
        )
        .order_by(Case.id)
    )
    return [
        CaseRecord(CaseState.model_validate(state), Problem(category, product, model))
        for state, category, product, model in session.execute(stmt)
    ]


@dataclass(frozen=True)
class LiveCount:
    name: str
    label: str
    temporal_query: str  # the same question, asked of the Temporal UI's search attributes
    condition: object  # the case file's condition


_OPEN = Case.stage.not_in(FINAL_STAGES)
_OPEN_QUERY = " AND ".join(f"CaseStage != '{stage}'" for stage in FINAL_STAGES)
LIVE_COUNTS = (
    LiveCount(
        "breached_open", "breached and still open",
        f"SlaBreached = true AND {_OPEN_QUERY}",
        and_(Case.sla_breached.is_(True), _OPEN),
    ),
    LiveCount(
        "escalated_open", "escalated and still open",
        f"Escalated = true AND {_OPEN_QUERY}",
        and_(Case.escalated.is_(True), _OPEN),
    ),
    LiveCount(
        "emergency_not_responded", "emergency not yet responded",
        "CaseSeverity = 'emergency' AND CaseStage = 'new'",
        and_(Case.severity == "emergency", Case.stage == "new"),
    ),
)


def live_counts(session: Session) -> dict[str, int]:
    """Each live count from the case file, in one query."""
    columns = [func.count().filter(c.condition).label(c.name) for c in LIVE_COUNTS]
    row = session.execute(select(*columns).select_from(Case)).one()
    return {c.name: int(getattr(row, c.name)) for c in LIVE_COUNTS}
