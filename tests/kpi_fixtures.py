"""A week of finished cases, built as real ``CaseState`` objects and written to the case file
as the workflows write them, for the KPI and weekly-report tests. The week is Monday
2026-11-16 to Monday 2026-11-23 in Shanghai; the report runs on 2026-11-23 at 09:00.

| case | kind | owner | response | plan | resolution | visits (technician, on time?) | accepted | revisit | problem |
| R1 | repair | agent-a | on time | on time | on time | tech-1 | yes, 1 visit | very satisfied | furniture 实木床架 BF-1200 |
| R2 | repair | agent-a | LATE | on time | LATE | tech-1 rejected, tech-2 | yes, rework | neutral | furniture 实木床架 bf-1200 |
| I1 | installation | agent-b | on time | on time | on time | tech-2 within window | yes, 1 visit | satisfied | hardware 橱柜铰链 H-35 |
| I2 | installation | agent-b | on time | on time | paused (undecided) | tech-1 AFTER window | no | — | furniture 实木床架 BF-1200 |
| C1 | complaint | agent-a | on time | on time | on time | — | — | — | attributed to tech-1 |
| C2 | complaint | — | LATE | on time | on time | — | — | — | attributed to tech-2 |
| X1 | repair, CANCELLED | agent-b | LATE | — | — | — | — | — | furniture 实木床架 BF-1200 |
| Q1 | consultation | agent-b | on time | on time | on time | — | — | — | — |
| R3 | repair, received the week BEFORE | agent-a | on time | on time | on time | tech-1 (completed before) | the week before | dissatisfied, IN the week | — |

Escalations in the week: R2 level 1 (its response breach), C2 levels 1 and 2.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from conftest import sample_intake

from adapters.storage import cases as case_file
from domain.case import CaseEvent, CaseState, EscalationRecord
from domain.clocks import ClockState, Pause
from domain.kpi import Period
from domain.models import CaseKind, Channel, ClockName, Severity, Stage
from domain.records import Acceptance, ComplaintRound, Revisit, WorkOrder

SHANGHAI = ZoneInfo("Asia/Shanghai")
WEEK = Period(datetime(2026, 11, 16, tzinfo=SHANGHAI), datetime(2026, 11, 23, tzinfo=SHANGHAI))
REPORT_TIME = datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI)
LIMITS = {ClockName.response: 1, ClockName.plan: 24, ClockName.resolution: 72}


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=SHANGHAI)


def clocks(received: datetime, late=(), paused=()) -> list[ClockState]:
    """The three SLA clocks: met halfway through their limit, or breached at the deadline and
    met after it (``late``), or paused an hour before the deadline and never resumed."""
    result = []
    for name, hours in LIMITS.items():
        deadline = received + timedelta(hours=hours)
        clock = ClockState(name=name, limit=f"{hours}h", basis="calendar", started_at=received, deadline=deadline, milestones=[])
        if name in late:
            clock.breached_at, clock.met_at = deadline, deadline + timedelta(hours=2)
        elif name in paused:
            clock.pauses = [Pause(reason="customer", by="sup-li", paused_at=deadline - timedelta(hours=1))]
        else:
            clock.met_at = received + timedelta(hours=hours / 2)
        result.append(clock)
    return result


def order(number: int, technician: str, window_end: datetime, completed: datetime, outcome=None) -> WorkOrder:
    return WorkOrder(number=number, task="上门维修", technician=technician, window_start=window_end - timedelta(hours=2),
                     window_end=window_end, dispatched_at=window_end - timedelta(days=1), completed_at=completed,
                     outcome=outcome)


def accepted(at: datetime) -> Acceptance:
    return Acceptance(signed_by="客户", signed_at=at, recorded_at=at)


def revisit(at: datetime, satisfaction: str) -> Revisit:
    return Revisit(due_at=at, window_end=at + timedelta(days=4), satisfaction=satisfaction, recorded_at=at)


def escalation(level: int, at: datetime) -> EscalationRecord:
    return EscalationRecord(level=level, at=at, source="clock", clock=ClockName.response, reason="overdue", by="system",
                            notify=["supervisor"])


# name: (kind, received, owner, stage, state fields, problem (category, product, model))
SPEC = {
    "R1": (CaseKind.repair, local(16, 10), "agent-a", Stage.closed, dict(
        clocks=clocks(local(16, 10)), work_orders=[order(1, "tech-1", local(17, 12), local(17, 11), "accepted")],
        acceptance=accepted(local(17, 12)), revisit=revisit(local(20, 10), "very_satisfied")),
        ("furniture", "实木床架", "BF-1200")),
    "R2": (CaseKind.repair, local(16, 14), "agent-a", Stage.closed, dict(
        clocks=clocks(local(16, 14), late=(ClockName.response, ClockName.resolution)),
        work_orders=[order(1, "tech-1", local(17, 12), local(17, 11), "rejected"),
                     order(2, "tech-2", local(19, 18), local(19, 17), "accepted")],
        acceptance=accepted(local(19, 19)), revisit=revisit(local(22, 10), "neutral"),
        escalations=[escalation(1, local(16, 15))]),
        ("furniture", "实木床架", "bf-1200")),
    "I1": (CaseKind.installation, local(17, 9), "agent-b", Stage.closed, dict(
        clocks=clocks(local(17, 9)), work_orders=[order(1, "tech-2", local(18, 12), local(18, 11, 30), "accepted")],
        acceptance=accepted(local(18, 12)), revisit=revisit(local(21, 10), "satisfied")),
        ("hardware", "橱柜铰链", "H-35")),
    "I2": (CaseKind.installation, local(19, 10), "agent-b", Stage.awaiting_acceptance, dict(
        clocks=clocks(local(19, 10), paused=(ClockName.resolution,)),
        work_orders=[order(1, "tech-1", local(20, 12), local(20, 15))]),
        ("furniture", "实木床架", "BF-1200")),
    "C1": (CaseKind.complaint, local(17, 10), "agent-a", Stage.closed, dict(
        clocks=clocks(local(17, 10)),
        complaint_rounds=[ComplaintRound(round=1, attributed_to="tech-1", solution_at=local(17, 20), satisfied=True)]),
        None),
    "C2": (CaseKind.complaint, local(18, 10), None, Stage.closed, dict(
        clocks=clocks(local(18, 10), late=(ClockName.response,)),
        complaint_rounds=[ComplaintRound(round=1, attributed_to="tech-2", solution_at=local(18, 20), satisfied=True)],
        escalations=[escalation(1, local(18, 11)), escalation(2, local(18, 11, 30))]),
        None),
    "X1": (CaseKind.repair, local(18, 9), "agent-b", Stage.cancelled, dict(
        clocks=clocks(local(18, 9), late=(ClockName.response,))),
        ("furniture", "实木床架", "BF-1200")),
    "Q1": (CaseKind.consultation, local(19, 9), "agent-b", Stage.closed, dict(clocks=clocks(local(19, 9))), None),
    "R3": (CaseKind.repair, local(9, 10), "agent-a", Stage.closed, dict(
        clocks=clocks(local(9, 10)), work_orders=[order(1, "tech-1", local(13, 12), local(13, 11), "accepted")],
        acceptance=accepted(local(13, 12)), revisit=revisit(local(17, 15), "dissatisfied")),
        None),
}


def last_activity(state: CaseState) -> datetime:
    """When the case last changed: its latest recorded event, as the case file's ``updated_at``
    (not its deadlines, which may lie later)."""
    moments = [state.received_at, *(e.at for e in state.escalations)]
    for clock in state.clocks:
        moments += [clock.met_at, clock.breached_at, *(p.paused_at for p in clock.pauses)]
    for o in state.work_orders:
        moments += [o.dispatched_at, o.completed_at]
    moments += [at for r in state.complaint_rounds for at in (r.solution_at, r.result_at, r.verdict_at)]
    moments += [x.recorded_at for x in (state.acceptance, state.revisit) if x is not None] + [state.closed_at]
    return max(m for m in moments if m is not None)


def write_case(db, name: str, kind: CaseKind, received: datetime, owner: str | None, stage: Stage, fields: dict,
               problem: tuple | None, phone: str) -> str:
    """One case written to the case file as its workflow writes it: opened by the API, then
    its state recorded by an event at its last activity (``_project`` fills in the rest)."""
    category, product, model = problem or (None, None, None)
    intake = sample_intake(kind=kind.value, problem_category=category, product=product, product_model=model, phone=phone)
    with db.session() as session:
        row = case_file.open_case(session, intake=intake, severity=Severity.normal, received_at=received,
                                  now=received, prefix="AS", zone=SHANGHAI)
        state = CaseState(case_no=row.case_no, kind=kind, severity=Severity.normal, channel=Channel.hotline,
                          received_at=received, policy="default", stage=stage, owner=owner, **fields)
        event = CaseEvent(case_no=row.case_no, seq=1, type=f"fixture_{name}", at=last_activity(state), actor="test",
                          state=state)
        assert case_file.record_event(session, event)
        return row.case_no


def write_week(db) -> dict[str, str]:
    """Write every case of the table to the case file; returns fixture name → case number."""
    return {
        name: write_case(db, name, *spec, phone=f"1390000{number:04d}")
        for number, (name, spec) in enumerate(SPEC.items())
    }
