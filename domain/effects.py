"""What the effects of a case's actions share: the notices they return and the helpers
that meet, start and replan clocks (``domain.casework`` and ``domain.repairwork`` use them)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from domain import steps as st
from domain.case import CaseState
from domain.clocks import ClockState, carry_over, plan_clocks, timed_clock
from domain.models import ClockName
from domain.policy import EscalationChain
from domain.records import Confirmation, WorkOrder
from domain.rules import Rules


@dataclass
class Notice:
    recipient: str
    template: str
    context: dict[str, Any] = field(default_factory=dict)


# Chains of the process clocks: who hears of a late re-confirmation, revisit, follow-up, reply.
DESK_ALERT = EscalationChain(warning=["assignee"], breach=["assignee", "supervisor"])
REVISIT_CHAIN = EscalationChain(warning=["assignee"], breach=["supervisor"])
FOLLOW_UP_CHAIN = EscalationChain(warning=["supervisor"], breach=["manager"])
GM_CHAIN = EscalationChain(warning=["general_manager"], breach=["general_manager", "manager"])


Effect = Callable[[CaseState, Any, Rules, datetime, str], "list[Notice] | None"]


def meet(case: CaseState, name: ClockName, now: datetime) -> None:
    clock = case.find_clock(name)
    if clock is not None and clock.met_at is None:
        clock.met_at = now


def put_clock(case: CaseState, clock: ClockState) -> None:
    """Start ``clock``, replacing an earlier clock of that name. A breach is history: an
    earlier clock that breached, and whose breach the new one does not carry over (a
    reopened case's fresh resolution clock), is kept among the case's past clocks."""
    old = case.find_clock(clock.name)
    if old is not None and old.breached_at is not None and clock.breached_at is None:
        case.past_clocks.append(old)
    case.clocks = [c for c in case.clocks if c.name != clock.name] + [clock]


def replan_sla(case: CaseState, rules: Rules) -> None:
    """Recalculate the response, plan and resolution clocks from the intake time, keeping
    what already happened to them (met, warned, breached, pauses)."""
    fresh = plan_clocks(rules.policy, rules.calendar, case.kind, case.severity, case.received_at)
    for new in fresh:
        old = case.find_clock(new.name)
        put_clock(case, carry_over(old, new, rules.calendar) if old else new)
    order = {name: i for i, name in enumerate(ClockName)}
    case.clocks.sort(key=lambda c: order[c.name])


def confirmation(payload: st.Confirmation, by: str) -> Confirmation:
    return Confirmation(how=payload.how, confirmed_at=payload.confirmed_at, through=payload.through, recorded_by=by)


def reconfirm_clock(case: CaseState, order: WorkOrder, rules: Rules, now: datetime) -> None:
    """The technician re-confirms ``reconfirm_before`` the appointment; an appointment sooner
    than that is confirmed by the dispatch itself."""
    due = order.window_start - timedelta(seconds=rules.seconds("reconfirm_before"))
    if due > now:
        put_clock(case, timed_clock(ClockName.reconfirm, DESK_ALERT, now, due, limit=rules.policy.process.reconfirm_before))
    else:
        order.confirmed_at = now
        meet(case, ClockName.reconfirm, now)
