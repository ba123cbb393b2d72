"""The guards: conditions an action must meet beyond its stage (``domain.process``).

Each returns None when the action may go ahead, or the reason it may not, in the desk's
words: a paid plan needs the customer's recorded confirmation before any dispatch, a price
change on site needs consent, a settlement must be the confirmed amount, a major complaint
needs its task group, a written solution and the general manager's revisit.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from domain import steps as st
from domain.bounds import BOOKED_BACK, ahead_refusal, past_refusal
from domain.case import ActionRequest, CaseState
from domain.models import CaseKind, Stage
from domain.process import TECHNICIAN
from domain.records import Amendment
from domain.rules import Rules
from domain.warranty import plan_cost_default

S = Stage


def money(value: Decimal) -> str:
    return f"{value:.2f}"


Guard = Callable[[CaseState, Any, Rules, datetime], "str | None"]


def _g_dispatch(case: CaseState, p: st.Dispatch, rules: Rules, now: datetime) -> str | None:
    plan = case.current_plan()
    if plan is None:
        return "there is no repair plan"
    if plan.status not in ("free", "confirmed"):
        return "the customer has not confirmed the paid plan: no dispatch without a recorded confirmation"
    if p.window_start <= now:
        return "the appointment window must start in the future"
    return ahead_refusal("the appointment window (window_start)", p.window_start, now)


def _g_book_survey(case: CaseState, p: st.BookSurvey, rules: Rules, now: datetime) -> str | None:
    return ahead_refusal("the survey's appointment", p.appointment, now, back=BOOKED_BACK)


def _g_confirm_plan(case: CaseState, p: st.Confirmation, rules: Rules, now: datetime) -> str | None:
    return past_refusal("the customer's confirmation (confirmed_at)", p.confirmed_at, now, case.received_at)


def _g_accept(case: CaseState, p: st.AcceptWork, rules: Rules, now: datetime) -> str | None:
    return past_refusal("the customer's signature (signed_at)", p.signed_at, now, case.received_at)


def _g_confirm_visit(case: CaseState, p: Any, rules: Rules, now: datetime) -> str | None:
    order = case.current_order()
    return "the visit is already confirmed" if order and order.confirmed_at else None


def _g_start(case: CaseState, p: Any, rules: Rules, now: datetime) -> str | None:
    order = case.current_order()
    return f"the work was already started at {order.started_at.isoformat()}" if order and order.started_at else None


def not_assigned(case: CaseState, request: ActionRequest) -> str | None:
    """A technician acts only on their own job: the survey booked with them (its findings),
    the case's current work order (the visit's steps), either for a note. (The API sets
    ``by`` to the staff id of the technician's token.)"""
    if request.role != TECHNICIAN:
        return None
    surveyor = {case.survey.technician} if case.survey else set()
    visitor = {case.work_orders[-1].technician} if case.work_orders else set()
    assigned = {"record_survey": surveyor, "add_note": surveyor | visitor}.get(request.action, visitor)
    if request.by in assigned:
        return None
    return f"technician {request.by} is not assigned to case {case.case_no}: a technician acts on their own jobs only"


def _g_reschedule(case: CaseState, p: st.Reschedule, rules: Rules, now: datetime) -> str | None:
    if p.window_start <= now:
        return "the new appointment window must start in the future"
    return ahead_refusal("the new appointment window (window_start)", p.window_start, now)


def pending_amendment(case: CaseState) -> Amendment | None:
    return next((a for a in case.amendments if a.pending), None)


def _g_amend(case: CaseState, p: Any, rules: Rules, now: datetime) -> str | None:
    return "an earlier amendment still waits for the customer's consent" if pending_amendment(case) else None


def _g_confirm_amendment(case: CaseState, p: st.Confirmation, rules: Rules, now: datetime) -> str | None:
    if not pending_amendment(case):
        return "no amendment waits for the customer's consent"
    return _g_confirm_plan(case, p, rules, now)


def _g_complete(case: CaseState, p: Any, rules: Rules, now: datetime) -> str | None:
    if pending_amendment(case):
        return "the customer has not consented to the amendment's price change"
    return None


def _g_settle(case: CaseState, p: st.Settle, rules: Rules, now: datetime) -> str | None:
    due = case.amount_due
    if p.amount != due:
        return f"the settlement must be the confirmed amount {money(due)}, not {money(p.amount)}"
    return None


def _g_task_group(case: CaseState, p: Any, rules: Rules, now: datetime) -> str | None:
    return None if case.major else "only a major complaint forms a task group: mark it major first"


def _g_solution(case: CaseState, p: st.ProposeSolution, rules: Rules, now: datetime) -> str | None:
    if case.major and not case.task_group:
        return "a major complaint needs its task group first"
    if case.major and not p.written:
        return "a major complaint needs a written solution"
    return None


def _g_verdict(case: CaseState, p: st.RecordVerdict, rules: Rules, now: datetime) -> str | None:
    if p.satisfied and case.major and case.gm_revisit is None:
        return "the general manager's personal revisit of this major complaint is still due"
    return None


def _g_gm_revisit(case: CaseState, p: Any, rules: Rules, now: datetime) -> str | None:
    if not case.major:
        return "only a major complaint has the general manager's revisit"
    return "the general manager's revisit is already recorded" if case.gm_revisit else None


def _g_mark_major(case: CaseState, p: Any, rules: Rules, now: datetime) -> str | None:
    return "it is already a major complaint" if case.major else None


def _g_hand_over(case: CaseState, p: st.HandOver, rules: Rules, now: datetime) -> str | None:
    if p.reply_by <= now:
        return "the expected reply time must be in the future"
    return ahead_refusal("the expected reply time (reply_by)", p.reply_by, now)


def _g_severity(case: CaseState, p: st.ChangeSeverity, rules: Rules, now: datetime) -> str | None:
    return f"the severity is already {p.severity.value}" if p.severity == case.severity else None


def _g_kind(case: CaseState, p: st.ChangeKind, rules: Rules, now: datetime) -> str | None:
    if p.kind == case.kind:
        return f"the case is already a {p.kind.value}"
    if case.stage != S.new and p.kind == CaseKind.consultation:
        return "a case already responded to cannot become a consultation"
    if case.major:
        return "a major complaint stays a complaint"
    return None


def _g_pause(case: CaseState, p: st.PauseClock, rules: Rules, now: datetime) -> str | None:
    process = rules.policy.process
    if p.clock.value not in process.pausable_clocks:
        return f"the policy does not allow pausing the {p.clock.value} clock (pausable: {', '.join(process.pausable_clocks)})"
    if p.reason not in process.pause_reasons:
        return f"the policy does not allow pausing for '{p.reason}'"
    clock = case.find_clock(p.clock)
    if clock is None or clock.met_at is not None:
        return f"the {p.clock.value} clock is not running"
    return f"the {p.clock.value} clock is already paused" if clock.paused_at else None


def _g_resume(case: CaseState, p: st.ResumeClock, rules: Rules, now: datetime) -> str | None:
    clock = case.find_clock(p.clock)
    return None if clock is not None and clock.paused_at else f"the {p.clock.value} clock is not paused"


def _g_plan(case: CaseState, p: st.ProposePlan, rules: Rules, now: datetime) -> str | None:
    if p.cost_estimate is None and plan_cost(case, p) is None:
        return "no price given and the repair is not in warranty (by the survey or the case): state the cost estimate"
    return None


def plan_cost(case: CaseState, p: st.ProposePlan) -> Decimal | None:
    """The plan's price: as stated, or the warranty's default (None: no default)."""
    if p.cost_estimate is not None:
        return p.cost_estimate
    return plan_cost_default(case.under_warranty, case.survey.responsibility if case.survey else None)


def _g_reopen(case: CaseState, p: Any, rules: Rules, now: datetime) -> str | None:
    window = rules.seconds("reopen_within")
    if case.closed_at is not None and (now - case.closed_at).total_seconds() > window:
        return f"it was closed more than {rules.policy.process.reopen_within} ago (the policy's reopening window)"
    return None


GUARDS: dict[str, Guard] = {
    "book_survey": _g_book_survey,
    "propose_plan": _g_plan,
    "confirm_plan": _g_confirm_plan,
    "dispatch": _g_dispatch,
    "confirm_visit": _g_confirm_visit,
    "start_work": _g_start,
    "reschedule": _g_reschedule,
    "amend_plan": _g_amend,
    "confirm_amendment": _g_confirm_amendment,
    "complete_work": _g_complete,
    "accept_work": _g_accept,
    "settle": _g_settle,
    "form_task_group": _g_task_group,
    "propose_solution": _g_solution,
    "record_verdict": _g_verdict,
    "gm_revisit": _g_gm_revisit,
    "mark_major": _g_mark_major,
    "hand_over": _g_hand_over,
    "change_severity": _g_severity,
    "change_kind": _g_kind,
    "pause_clock": _g_pause,
    "resume_clock": _g_resume,
    "reopen": _g_reopen,
}
