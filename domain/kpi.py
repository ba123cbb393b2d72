"""The KPIs of seeds 003 and 004 (DOMAIN.md §6): every formula, once. Pure: it reads
``CaseState`` objects (the case file's ``cases.state``) and a period, and counts.

Every rate is *hits / observations*. An observation is one promise that fell due (or one
event that happened) in the period; it is placed in a period by one instant, named below.
A rate with no observations is ``None`` (shown as "—"), never 0 %.

| KPI | one observation | placed at | a hit when |
| --- | --- | --- | --- |
| ``response_timeliness`` | a case's response clock | its deadline | met, never breached |
| ``plan_within_limit`` | a case's plan (solution) clock | its deadline | met, never breached |
| ``resolution_within_limit`` | a case's resolution clock | its deadline | met, never breached |
| ``complaint_timeliness`` | a complaint | its resolution deadline | apology (1 h), solution (24 h) and result (72 h) all met, none breached |
| ``first_time_fix`` | an accepted repair or installation | the acceptance | accepted after at most one visit, no rework (``CaseState.first_time_fix``) |
| ``csat`` | a recorded revisit | when it was recorded | ``satisfied`` or ``very_satisfied`` |
| ``on_time_installation`` | a work order of an installation | its appointment's end | completed by the end of its window |

A clock is decided when it is met or breached, or when its deadline has passed unmet by
``as_of`` (a breach not yet recorded); a clock still running before its deadline, or
paused, is left out until it is decided. A complaint is decided as late by its first late
clock and as on time when all three are met in time. A rescheduled visit counts against
the window agreed last with the customer.

The complaint rate (per technician) is ``domain.discipline.complaint_rate``: complaints
attributed to the technician by the complaint's solution (``CaseState.attributed_technician``),
placed at that solution, over the work orders the technician completed (``completed_at``)
in the same period.

Excluded everywhere: cancelled cases. Grouped by agent, an observation belongs to the case's
``owner`` (``(unassigned)`` when none, so agents add up to the company); by technician, to
the technician of the work it judges: the resolution and CSAT to the last visit's
technician, the first-time fix to the first visit's, an installation to its work order's;
the response, plan and complaint clocks are the desk's and have no technician.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from domain.case import CaseState
from domain.clocks import ClockState
from domain.discipline import complaint_rate
from domain.models import SLA_CLOCKS, CaseKind, ClockName, Stage

RESPONSE, PLAN, RESOLUTION = "response_timeliness", "plan_within_limit", "resolution_within_limit"
COMPLAINT_TIMELINESS, FIRST_TIME_FIX, CSAT = "complaint_timeliness", "first_time_fix", "csat"
ON_TIME_INSTALLATION, COMPLAINT_RATE = "on_time_installation", "complaint_rate"
RATES = (RESPONSE, PLAN, RESOLUTION, COMPLAINT_TIMELINESS, FIRST_TIME_FIX, CSAT, ON_TIME_INSTALLATION)
ALL = (*RATES, COMPLAINT_RATE)

LABELS: dict[str, dict[str, str]] = {
    "zh-CN": {
        RESPONSE: "响应及时率", PLAN: "方案及时率", RESOLUTION: "解决及时率", COMPLAINT_TIMELINESS: "投诉处理及时率",
        FIRST_TIME_FIX: "一次性解决率", CSAT: "客户满意度", ON_TIME_INSTALLATION: "安装准时率", COMPLAINT_RATE: "投诉率",
    },
    "en": {
        RESPONSE: "response timeliness", PLAN: "plan within limit", RESOLUTION: "resolution within limit",
        COMPLAINT_TIMELINESS: "complaint timeliness", FIRST_TIME_FIX: "first-time fix", CSAT: "CSAT",
        ON_TIME_INSTALLATION: "on-time installation", COMPLAINT_RATE: "complaint rate",
    },
}

SATISFIED = frozenset({"satisfied", "very_satisfied"})
UNASSIGNED = "(unassigned)"
COMPANY = "company"
GroupBy = Literal["company", "agent", "technician"]
_CLOCK_KPI = {ClockName.response: RESPONSE, ClockName.plan: PLAN, ClockName.resolution: RESOLUTION}


@dataclass(frozen=True)
class Period:
    """``[start, end)``: aware instants; a week is Monday 00:00 to the next Monday 00:00, local."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("a period needs aware datetimes (with a UTC offset)")
        if self.end <= self.start:
            raise ValueError("the period must end after it starts")

    def __contains__(self, moment: datetime | None) -> bool:
        return moment is not None and self.start <= moment < self.end


@dataclass(frozen=True)
class Problem:
    """What the intake says the problem is about (optional intake fields)."""

    category: str | None = None
    product: str | None = None
    model: str | None = None

    def __bool__(self) -> bool:
        return any((self.category, self.product, self.model))


@dataclass(frozen=True)
class CaseRecord:
    """One case as the KPIs read it: its state, and its problem from the intake."""

    state: CaseState
    problem: Problem = Problem()


@dataclass(frozen=True)
class Observation:
    kpi: str
    at: datetime
    hit: bool
    agent: str | None
    technician: str | None


def clock_outcome(clock: ClockState | None, as_of: datetime) -> bool | None:
    """True: met in time; False: breached, met late, or overdue at ``as_of``; None: undecided."""
    if clock is None:
        return None
    if clock.breached_at is not None:
        return False
    if clock.met_at is not None:
        return clock.met_at <= clock.deadline
    if clock.paused_at is None and clock.deadline < as_of:
        return False
    return None


def observations(record: CaseRecord, as_of: datetime) -> Iterator[Observation]:
    """Every KPI observation one case makes, wherever in time it falls."""
    case = record.state
    if case.stage == Stage.cancelled:
        return
    owner = case.owner
    orders = case.work_orders
    first_tech = orders[0].technician if orders else None
    last_tech = orders[-1].technician if orders else None
    for name, kpi in _CLOCK_KPI.items():
        clock = case.find_clock(name)
        outcome = clock_outcome(clock, as_of)
        if outcome is not None:
            yield Observation(kpi, clock.deadline, outcome, owner, last_tech if name == ClockName.resolution else None)
    if case.kind == CaseKind.complaint:
        outcomes = [clock_outcome(case.find_clock(n), as_of) for n in SLA_CLOCKS]
        decided = False in outcomes or all(o is True for o in outcomes)
        resolution = case.find_clock(ClockName.resolution)
        if decided and resolution is not None:
            yield Observation(COMPLAINT_TIMELINESS, resolution.deadline, False not in outcomes, owner, None)
    if case.kind in (CaseKind.repair, CaseKind.installation) and case.first_time_fix is not None:
        yield Observation(FIRST_TIME_FIX, case.acceptance.recorded_at, case.first_time_fix, owner, first_tech)
    revisit = case.revisit
    if revisit is not None and revisit.satisfaction and revisit.recorded_at is not None:
        yield Observation(CSAT, revisit.recorded_at, revisit.satisfaction in SATISFIED, owner, last_tech)
    if case.kind == CaseKind.installation:
        for order in orders:
            if order.completed_at is not None:
                yield Observation(ON_TIME_INSTALLATION, order.window_end, order.completed_at <= order.window_end,
                                  owner, order.technician)
            elif order.window_end < as_of:
                yield Observation(ON_TIME_INSTALLATION, order.window_end, False, owner, order.technician)


def breaches(case: CaseState) -> Iterator[tuple[str, datetime]]:
    """Each clock breach recorded on the case (any clock, cancelled cases too): (clock, when)."""
    return ((c.name.value, c.breached_at) for c in (*case.past_clocks, *case.clocks) if c.breached_at is not None)


def escalations(case: CaseState) -> Iterator[tuple[str, datetime]]:
    """Each escalation of the case (by a clock or a supervisor): (level, when)."""
    return ((str(e.level), e.at) for e in case.escalations)


def kpi_until(case: CaseState) -> datetime:
    """The latest instant at which anything the KPIs or the weekly report count of this case
    is placed, whatever ``as_of``: every observation (a clock's deadline, a window's end, an
    acceptance, a revisit), the complaint and the jobs it counts, its breaches, escalations
    and receipt. Projected to ``cases.kpi_until`` at every event, so the cases a period needs
    are exactly those with ``kpi_until >= start``: an instant still to come that is not known
    yet (a paused clock's new deadline, a revisit) arrives with an event that projects again."""
    record = CaseRecord(case)
    moments = [case.received_at, *(o.at for o in observations(record, _END_OF_TIME))]
    moments += [at for _, at in completed_jobs(case)] + [at for _, at in breaches(case)] + [at for _, at in escalations(case)]
    attributed = attributed_complaint(case)
    if attributed is not None:
        moments.append(attributed[1])
    return max(moments)


_END_OF_TIME = datetime.max.replace(tzinfo=UTC)  # every clock not paused has fallen due by then


def attributed_complaint(case: CaseState) -> tuple[str, datetime] | None:
    """The technician a complaint counts against, and when (the solution that attributed it)."""
    if case.kind != CaseKind.complaint or case.stage == Stage.cancelled or case.attributed_technician is None:
        return None
    solved = next(r for r in reversed(case.complaint_rounds) if r.solution_at)
    return case.attributed_technician, solved.solution_at


def completed_jobs(case: CaseState) -> Iterator[tuple[str, datetime]]:
    """Each work order the case's technicians completed: (technician, when)."""
    if case.stage == Stage.cancelled:
        return
    for order in case.work_orders:
        if order.completed_at is not None:
            yield order.technician, order.completed_at


@dataclass
class Rate:
    hits: int = 0
    total: int = 0

    @property
    def value(self) -> float | None:
        return self.hits / self.total if self.total else None


@dataclass
class KpiRow:
    """One line of the KPI table: the company, one agent or one technician."""

    group: str
    rates: dict[str, Rate] = field(default_factory=lambda: {k: Rate() for k in RATES})
    complaints: int = 0  # attributed complaints (technicians and the company only)
    jobs: int = 0  # completed work orders (technicians and the company only)

    @property
    def complaint_rate(self) -> float | None:
        return complaint_rate(self.complaints, self.jobs)

    def value(self, kpi: str) -> float | None:
        return self.complaint_rate if kpi == COMPLAINT_RATE else self.rates[kpi].value


def _group(obs: Observation, by: GroupBy) -> str | None:
    if by == "company":
        return COMPANY
    if by == "agent":
        return obs.agent or UNASSIGNED
    return obs.technician


def kpi_table(records: Iterable[CaseRecord], period: Period, by: GroupBy, as_of: datetime) -> list[KpiRow]:
    """The KPI table for the period: one row for the company, or one per agent / technician
    (sorted by name). Complaint counts and jobs are filled in for the company and technicians."""
    rows: dict[str, KpiRow] = {}

    def row(group: str) -> KpiRow:
        return rows.setdefault(group, KpiRow(group))

    if by == "company":
        row(COMPANY)
    for record in records:
        for obs in observations(record, as_of):
            group = _group(obs, by)
            if group is not None and obs.at in period:
                rate = row(group).rates[obs.kpi]
                rate.total += 1
                rate.hits += obs.hit
        if by == "agent":
            continue
        attributed = attributed_complaint(record.state)
        if attributed is not None and attributed[1] in period:
            row(COMPANY if by == "company" else attributed[0]).complaints += 1
        for technician, at in completed_jobs(record.state):
            if at in period:
                row(COMPANY if by == "company" else technician).jobs += 1
    return [rows[k] for k in sorted(rows)]


@dataclass(frozen=True)
class ProblemCount:
    category: str | None
    product: str | None
    model: str | None
    cases: int
    case_nos: tuple[str, ...]  # the most recent few, for the product side to look up


def top_problems(records: Iterable[CaseRecord], period: Period, limit: int = 10, examples: int = 5) -> list[ProblemCount]:
    """The most frequent problems among cases received in the period, by (category, product,
    model); cases without any of the three are not counted. Ties in order of the key."""
    groups: dict[tuple, list[CaseState]] = defaultdict(list)
    for record in records:
        state = record.state
        if record.problem and state.stage != Stage.cancelled and state.received_at in period:
            p = record.problem
            groups[(p.category or "", p.product or "", p.model or "")].append(state)
    ranked = sorted(groups.items(), key=lambda item: (-len(item[1]), item[0]))[:limit]
    return [
        ProblemCount(
            category=key[0] or None, product=key[1] or None, model=key[2] or None, cases=len(states),
            case_nos=tuple(s.case_no for s in sorted(states, key=lambda s: s.received_at, reverse=True)[:examples]),
        )
        for key, states in ranked
    ]
