"""The weekly after-sales problem report (seed 003: 《售后问题周报》), as data. Pure.

It covers the seven local days before the Monday it runs on (Monday 00:00 to Monday 00:00 in
the company's time zone), and says: each KPI of the company against its target, the most
frequent problems, the clocks breached and the escalations of the week, and the technicians
whose complaint rate over the discipline window (``DisciplinePolicy.complaint_window_days``,
ending with the week) exceeds ``complaint_rate_limit``. Breaches and escalations are events
and count whatever became of the case (cancelled ones too).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta, tzinfo

from pydantic import AwareDatetime, BaseModel

from domain import kpi
from domain.discipline import DisciplinePolicy
from domain.targets import KpiTargets

MAX_LISTED = 20  # case numbers listed per section; the counts are complete


def week_before(moment: datetime, zone: tzinfo) -> kpi.Period:
    """The Monday-to-Monday local week that ended at the last Monday 00:00 at or before ``moment``."""
    local = moment.astimezone(zone).date()
    monday = local - timedelta(days=local.weekday())
    return kpi.Period(_midnight(monday - timedelta(days=7), zone), _midnight(monday, zone))


def _midnight(day: date, zone: tzinfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone)


def report_key(period: kpi.Period, zone: tzinfo) -> str:
    return f"weekly:{period.start.astimezone(zone).date().isoformat()}"


class KpiLine(BaseModel):
    kpi: str
    value: float | None
    hits: int
    total: int
    target: float | None
    met: bool | None  # by ``KpiTargets.met``; None without a target or without observations


class ProblemLine(BaseModel):
    category: str | None
    product: str | None
    model: str | None
    cases: int
    case_nos: list[str]


class TechnicianLine(BaseModel):
    technician: str
    complaints: int
    jobs: int
    rate: float


class WeeklyReport(BaseModel):
    key: str
    period_start: AwareDatetime
    period_end: AwareDatetime
    as_of: AwareDatetime
    kpis: list[KpiLine]
    problems: list[ProblemLine]
    breaches: dict[str, int]  # clock → breaches recorded in the week
    breached_cases: list[str]
    escalations: dict[str, int]  # level → escalations in the week (clock or supervisor)
    escalated_cases: list[str]
    complaint_rate_limit: float
    complaint_window_days: int
    technicians_above: list[TechnicianLine]


def kpi_lines(row: kpi.KpiRow, targets: KpiTargets) -> list[KpiLine]:
    lines = []
    for name in kpi.ALL:
        value = row.value(name)
        rate = row.rates.get(name, kpi.Rate(row.complaints, row.jobs))
        target = targets.of(name)
        met = targets.met(name, value)
        lines.append(KpiLine(kpi=name, value=value, hits=rate.hits, total=rate.total, target=target, met=met))
    return lines


def compile_weekly(
    records: Sequence[kpi.CaseRecord],
    period: kpi.Period,
    zone: tzinfo,
    as_of: datetime,
    targets: KpiTargets,
    discipline: DisciplinePolicy,
    top: int = 10,
) -> WeeklyReport:
    """The report's content; ``records`` must hold every case active since the start of the
    discipline window (see ``window``)."""
    company = kpi.kpi_table(records, period, "company", as_of)[0]
    breaches: Counter[str] = Counter()
    escalations: Counter[str] = Counter()
    breached_cases: list[str] = []
    escalated_cases: list[str] = []
    for record in records:
        case = record.state
        late = [clock for clock, at in kpi.breaches(case) if at in period]
        breaches.update(late)
        if late:
            breached_cases.append(case.case_no)
        levels = [level for level, at in kpi.escalations(case) if at in period]
        escalations.update(levels)
        if levels:
            escalated_cases.append(case.case_no)
    above = [
        TechnicianLine(technician=row.group, complaints=row.complaints, jobs=row.jobs, rate=row.complaint_rate)
        for row in kpi.kpi_table(records, window(period, discipline), "technician", as_of)
        if row.complaint_rate is not None and row.complaint_rate > discipline.complaint_rate_limit
    ]
    return WeeklyReport(
        key=report_key(period, zone),
        period_start=period.start,
        period_end=period.end,
        as_of=as_of,
        kpis=kpi_lines(company, targets),
        problems=[
            ProblemLine(category=p.category, product=p.product, model=p.model, cases=p.cases, case_nos=list(p.case_nos))
            for p in kpi.top_problems(records, period, top)
        ],
        breaches=dict(sorted(breaches.items())),
        breached_cases=sorted(breached_cases)[:MAX_LISTED],
        escalations=dict(sorted(escalations.items())),
        escalated_cases=sorted(escalated_cases)[:MAX_LISTED],
        complaint_rate_limit=discipline.complaint_rate_limit,
        complaint_window_days=discipline.complaint_window_days,
        technicians_above=sorted(above, key=lambda t: (-t.rate, t.technician)),
    )


def window(period: kpi.Period, discipline: DisciplinePolicy) -> kpi.Period:
    """The complaint-rate window that ends with the report's week."""
    return kpi.Period(period.end - timedelta(days=discipline.complaint_window_days), period.end)


# -- what the report workflow and its activities pass each other ---------------------------


class WeeklyReportRun(BaseModel):
    """The report workflow's input. Empty from the schedule: the run reads the time it was
    scheduled for (``TemporalScheduledStartTime``), so a late or backfilled run still
    reports the week before the Monday it was due."""

    fired_at: AwareDatetime | None = None


class StoredReport(BaseModel):
    id: int
    key: str
    new: bool  # False when a retried or repeated run found it already stored
