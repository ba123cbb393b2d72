"""What each action does to a case, after the stage model and its guard allow it.

Pure functions over ``CaseState``; the workflow calls ``check`` in its update validator and
``apply`` in the handler, then writes the event and queues the notices ``apply`` returns.
Clocks started or met here are picked up by the workflow's clock loop.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ValidationError

from domain import steps as st
from domain.case import ActionRecord, ActionRequest, CaseState
from domain.clocks import (
    ClockState,
    Pause,
    carry_over,
    pause,
    plan_clocks,
    resume,
    timed_clock,
)
from domain.guards import GUARDS, money, pending_amendment, plan_cost
from domain.models import SLA_CLOCKS, CaseKind, ClockName, Stage
from domain.policy import EscalationChain
from domain.process import STEPS, Step, refusal, reopen_stage, role_refusal
from domain.records import (
    Acceptance,
    Amendment,
    ComplaintRound,
    Confirmation,
    Handover,
    PlanRound,
    Revisit,
    Settlement,
    Survey,
    WorkOrder,
)
from domain.revisit import low_score, repair_revisit_due
from domain.rules import Rules

S = Stage


class Refused(Exception):
    """The action is not possible now; ``reason`` says why, in the desk's words."""

    def __init__(self, reason: str, forbidden: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.forbidden = forbidden  # the role may not take it at all


@dataclass
class Notice:
    recipient: str
    template: str
    context: dict[str, Any] = field(default_factory=dict)


# Chains of the process clocks: who hears of a late re-confirmation, revisit, follow-up, reply.
_DESK_ALERT = EscalationChain(warning=["assignee"], breach=["assignee", "supervisor"])
_REVISIT = EscalationChain(warning=["assignee"], breach=["supervisor"])
_FOLLOW_UP = EscalationChain(warning=["supervisor"], breach=["manager"])
_GM = EscalationChain(warning=["general_manager"], breach=["general_manager", "manager"])


def parse(step: Step, request: ActionRequest) -> BaseModel:
    try:
        return step.payload.model_validate(request.payload)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "payload"
        raise Refused(f"invalid {step.name}: {where}: {first['msg']}") from None


def check(case: CaseState, request: ActionRequest, rules: Rules, now: datetime) -> BaseModel:
    """Refuse the action (``Refused``) unless the stage model, the role and its guard allow it."""
    step = STEPS.get(request.action)
    if step is None:
        raise Refused(f"unknown action '{request.action}'")
    if reason := role_refusal(step, request.role):
        raise Refused(reason, forbidden=True)
    if reason := refusal(step, case.kind, case.stage):
        raise Refused(reason)
    payload = parse(step, request)
    if (guard := GUARDS.get(step.name)) and (reason := guard(case, payload, rules, now)):
        raise Refused(f"cannot {step.verb} case {case.case_no}: {reason}")
    return payload


def apply(case: CaseState, request: ActionRequest, rules: Rules, now: datetime) -> list[Notice]:
    """Check, then carry out the action on ``case``; returns the messages it owes."""
    payload = check(case, request, rules, now)
    notices = _EFFECTS[request.action](case, payload, rules, now, request.by) or []
    data = payload.model_dump(mode="json", exclude={"by"}, exclude_defaults=True)
    case.actions.append(ActionRecord(action=request.action, at=now, by=request.by, role=request.role, stage=case.stage, data=data))
    if case.stage == S.closed and case.closed_at is None:
        case.closed_at = now
    return notices


# -- helpers -------------------------------------------------------------------------------


def _meet(case: CaseState, name: ClockName, now: datetime) -> None:
    clock = case.find_clock(name)
    if clock is not None and clock.met_at is None:
        clock.met_at = now


def _put_clock(case: CaseState, clock: ClockState) -> None:
    """Start ``clock``, replacing an earlier clock of that name (its record is in the events)."""
    case.clocks = [c for c in case.clocks if c.name != clock.name] + [clock]


def _replan_sla(case: CaseState, rules: Rules) -> None:
    """Recalculate the response, plan and resolution clocks from the intake time, keeping
    what already happened to them (met, warned, breached, pauses)."""
    fresh = plan_clocks(rules.policy, rules.calendar, case.kind, case.severity, case.received_at)
    for new in fresh:
        old = case.find_clock(new.name)
        _put_clock(case, carry_over(old, new, rules.calendar) if old else new)
    order = {name: i for i, name in enumerate(ClockName)}
    case.clocks.sort(key=lambda c: order[c.name])


def _confirmation(payload: st.Confirmation, by: str) -> Confirmation:
    return Confirmation(how=payload.how, confirmed_at=payload.confirmed_at, through=payload.through, recorded_by=by)


def _reconfirm_clock(case: CaseState, order: WorkOrder, rules: Rules, now: datetime) -> None:
    """The technician re-confirms ``reconfirm_before`` the appointment; an appointment sooner
    than that is confirmed by the dispatch itself."""
    due = order.window_start - timedelta(seconds=rules.seconds("reconfirm_before"))
    if due > now:
        _put_clock(case, timed_clock(ClockName.reconfirm, _DESK_ALERT, now, due, limit=rules.policy.process.reconfirm_before))
    else:
        order.confirmed_at = now
        _meet(case, ClockName.reconfirm, now)


# -- effects -------------------------------------------------------------------------------

Effect = Callable[[CaseState, Any, Rules, datetime, str], "list[Notice] | None"]


def _respond(case, p: st.Respond, rules, now, by):
    _meet(case, ClockName.response, now)
    case.owner = case.owner or by
    case.stage = S.diagnosing


def _solve_remotely(case, p: st.SolveRemotely, rules, now, by):
    case.remote_guidance = p.guidance
    _meet(case, ClockName.plan, now)
    case.stage = S.awaiting_acceptance


def _book_survey(case, p: st.BookSurvey, rules, now, by):
    case.survey = Survey(appointment=p.appointment, technician=p.technician, booked_at=now)
    case.stage = S.survey_booked
    return [Notice("customer", "survey_booked", {"appointment": p.appointment.isoformat()})]


def _record_survey(case, p: st.RecordSurvey, rules, now, by):
    survey = case.survey
    survey.media = [str(u) for u in p.media]
    survey.measurements, survey.cause, survey.responsibility, survey.recorded_at = (
        p.measurements, p.cause, p.responsibility, now)
    case.stage = S.planning


def _propose_plan(case, p: st.ProposePlan, rules, now, by):
    cost = plan_cost(case, p)  # the guard refused a plan with neither a price nor a free default
    paid = cost > 0
    case.plans.append(PlanRound(
        round=len(case.plans) + 1, cause=p.cause, method=p.method, materials=p.materials,
        labour_hours=p.labour_hours, cost_estimate=cost, proposed_at=now, proposed_by=by,
        status="awaiting_confirmation" if paid else "free",
    ))
    _meet(case, ClockName.plan, now)
    if not paid:
        case.stage = S.ready_to_dispatch
        return None
    case.stage = S.awaiting_confirmation
    return [Notice("customer", "plan_to_confirm", {"round": len(case.plans), "cost": money(cost)})]


def _confirm_plan(case, p: st.Confirmation, rules, now, by):
    plan = case.current_plan()
    plan.status, plan.confirmation = "confirmed", _confirmation(p, by)
    case.stage = S.ready_to_dispatch


def _reject_plan(case, p: st.RejectPlan, rules, now, by):
    plan = case.current_plan()
    plan.status, plan.rejection = "rejected", p.reason
    case.stage = S.planning


def _dispatch(case, p: st.Dispatch, rules, now, by):
    order = WorkOrder(
        number=len(case.work_orders) + 1, task=p.task, technician=p.technician, window_start=p.window_start,
        window_end=p.window_end, requirements=p.requirements, dispatched_at=now,
    )
    case.work_orders.append(order)
    _reconfirm_clock(case, order, rules, now)
    case.stage = S.dispatched
    return [Notice("customer", "appointment", {"window_start": p.window_start.isoformat(), "window_end": p.window_end.isoformat(), "visit": order.number})]


def _confirm_visit(case, p, rules, now, by):
    case.current_order().confirmed_at = now
    _meet(case, ClockName.reconfirm, now)


def _start_work(case, p, rules, now, by):
    case.current_order().started_at = now
    _meet(case, ClockName.reconfirm, now)  # on site: the visit happened, confirmed or not


def _reschedule(case, p: st.Reschedule, rules, now, by):
    order = case.current_order()
    order.reschedules.append({"from": order.window_start.isoformat(), "to": p.window_start.isoformat(), "reason": p.reason, "at": now.isoformat()})
    order.window_start, order.window_end, order.confirmed_at = p.window_start, p.window_end, None
    _reconfirm_clock(case, order, rules, now)
    return [Notice("customer", "appointment", {"window_start": p.window_start.isoformat(), "window_end": p.window_end.isoformat(), "visit": order.number})]


def _amend_plan(case, p: st.AmendPlan, rules, now, by):
    case.amendments.append(Amendment(change=p.change, cost_delta=p.cost_delta, proposed_at=now, proposed_by=by,
                                     work_order=case.current_order().number))
    if p.cost_delta != 0:
        return [Notice("customer", "amendment_to_confirm", {"cost_delta": money(p.cost_delta)})]
    return None


def _confirm_amendment(case, p: st.Confirmation, rules, now, by):
    pending_amendment(case).consent = _confirmation(p, by)


def _complete_work(case, p: st.CompleteWork, rules, now, by):
    order = case.current_order()
    order.completed_at, order.self_check = now, p.self_check
    _meet(case, ClockName.reconfirm, now)
    case.stage = S.awaiting_acceptance
    return [Notice("customer", "work_completed", {"visit": order.number})]


def _accept_work(case, p: st.AcceptWork, rules, now, by):
    order = case.current_order()
    remote = order is None or order.outcome is not None
    if not remote:
        order.outcome = "accepted"
    case.acceptance = Acceptance(signed_by=p.signed_by, signed_at=p.signed_at, recorded_at=now, remote=remote, note=p.note)
    _meet(case, ClockName.resolution, now)
    # The revisit task falls due on the first working moment of the window, at the latest
    # at its end (the one revisit rule for cases and projects: domain.revisit).
    due, window_end = repair_revisit_due(rules.calendar, now, rules.seconds("revisit_after"), rules.seconds("revisit_within"))
    case.revisit = Revisit(due_at=due, window_end=window_end)
    _put_clock(case, timed_clock(ClockName.revisit, _REVISIT, now, window_end, limit=rules.policy.process.revisit_within, due_at=due))
    case.stage = S.awaiting_settlement if case.amount_due > 0 else S.awaiting_revisit


def _reject_work(case, p: st.RejectWork, rules, now, by):
    order = case.current_order()
    if order is None or order.outcome is not None:  # remote guidance did not hold: diagnose again
        case.remote_guidance += f"\n(rejected: {p.reasons})"
        case.stage = S.diagnosing
        return
    order.outcome, order.rejection = "rejected", p.reasons
    case.stage = S.ready_to_dispatch


def _settle(case, p: st.Settle, rules, now, by):
    case.settlement = Settlement(amount=p.amount, invoice_no=p.invoice_no, settled_at=now, by=by)
    case.stage = S.awaiting_revisit


def _record_revisit(case, p: st.RecordRevisit, rules, now, by):
    process = rules.policy.process
    revisit = case.revisit
    low = low_score(p.satisfaction, [p.attitude, p.professionalism, p.timeliness], process.low_overall, process.low_core_at_most)
    revisit.method, revisit.satisfaction, revisit.recorded_at, revisit.low_score = p.method, p.satisfaction, now, low
    revisit.attitude, revisit.professionalism, revisit.timeliness = p.attitude, p.professionalism, p.timeliness
    revisit.problem_found, revisit.problem, revisit.comments = p.problem_found, p.problem, p.comments
    revisit.secondary_needs, revisit.needs_note = list(p.secondary_needs), p.needs_note  # leads (domain.revisit)
    _meet(case, ClockName.revisit, now)
    if not low:
        case.stage = S.closed
        return None
    deadline = now + timedelta(seconds=rules.seconds("follow_up"))
    _put_clock(case, timed_clock(ClockName.follow_up, _FOLLOW_UP, now, deadline, limit=process.follow_up, warning_at=rules.policy.warning_at))
    case.stage = S.follow_up
    return [Notice("supervisor", "low_score", {"satisfaction": p.satisfaction, "follow_up_by": deadline.isoformat()})]


def _follow_up(case, p: st.FollowUp, rules, now, by):
    case.revisit.follow_up, case.revisit.followed_up_at = p.outcome, now
    _meet(case, ClockName.follow_up, now)
    case.stage = S.closed


def _apologise(case, p: st.Apologise, rules, now, by):
    _meet(case, ClockName.response, now)
    case.owner = case.owner or by
    case.complaint_rounds.append(ComplaintRound(round=1))
    case.stage = S.investigating


def _assign_department(case, p: st.AssignDepartment, rules, now, by):
    rnd = case.current_round()
    rnd.department, rnd.owner = p.department, p.owner
    case.owner = p.owner


def _form_task_group(case, p: st.FormTaskGroup, rules, now, by):
    case.task_group = [m.model_dump() for m in p.members]


def _propose_solution(case, p: st.ProposeSolution, rules, now, by):
    rnd = case.current_round()
    rnd.solution, rnd.compensation, rnd.written, rnd.solution_at = p.solution, p.compensation, p.written, now
    rnd.attributed_to = p.attributed_to
    _meet(case, ClockName.plan, now)
    case.stage = S.solution_given


def _report_result(case, p: st.ReportResult, rules, now, by):
    rnd = case.current_round()
    rnd.result, rnd.result_at = p.result, now
    _meet(case, ClockName.resolution, now)
    case.stage = S.awaiting_verdict


def _record_verdict(case, p: st.RecordVerdict, rules, now, by):
    rnd = case.current_round()
    rnd.satisfied, rnd.verdict_comments, rnd.verdict_at = p.satisfied, p.comments, now
    if p.satisfied:
        case.stage = S.closed
        return
    # Not satisfied: handled again, by the same department, until satisfied.
    case.complaint_rounds.append(ComplaintRound(round=rnd.round + 1, department=rnd.department, owner=rnd.owner))
    case.stage = S.investigating


def _gm_revisit(case, p: st.GmRevisit, rules, now, by):
    case.gm_revisit = {"method": p.method, "note": p.note, "at": now.isoformat(), "by": by}
    _meet(case, ClockName.gm_revisit, now)


def _start_major(case: CaseState, rules: Rules, now: datetime) -> list[Notice]:
    case.major = True
    deadline = now + timedelta(seconds=rules.seconds("gm_revisit"))
    _put_clock(case, timed_clock(ClockName.gm_revisit, _GM, now, deadline, limit=rules.policy.process.gm_revisit))
    return [Notice("general_manager", "major_complaint", {"revisit_by": deadline.isoformat()})]


def _mark_major(case, p: st.MarkMajor, rules, now, by):
    return _start_major(case, rules, now)


def _answer(case, p: st.Answer, rules, now, by):
    case.answer = p.answer
    for name in (*SLA_CLOCKS, ClockName.reply):
        _meet(case, name, now)
    case.stage = S.closed


def _hand_over(case, p: st.HandOver, rules, now, by):
    _meet(case, ClockName.response, now)
    case.handover = Handover(to=p.to, reply_by=p.reply_by, at=now)
    limit = f"{max(1, int((p.reply_by - now).total_seconds()))}s"
    _put_clock(case, timed_clock(ClockName.reply, rules.policy.chain(case.kind), now, p.reply_by, limit=limit,
                                 warning_at=rules.policy.warning_at))
    case.stage = S.handed_over
    return [Notice("customer", "handed_over", {"reply_by": p.reply_by.isoformat()})]


def _change_severity(case, p: st.ChangeSeverity, rules, now, by):
    case.severity = p.severity
    _replan_sla(case, rules)


def _change_kind(case, p: st.ChangeKind, rules, now, by):
    case.kind = p.kind
    if case.stage != S.new:
        case.stage = reopen_stage(p.kind)
        if p.kind == CaseKind.complaint and not case.complaint_rounds:
            case.complaint_rounds.append(ComplaintRound(round=1))
    _replan_sla(case, rules)


def _reassign(case, p: st.Reassign, rules, now, by):
    case.owner = p.owner


def _pause_clock(case, p: st.PauseClock, rules, now, by):
    pause(case.clock(p.clock), Pause(reason=p.reason, by=by, note=p.note, paused_at=now))


def _resume_clock(case, p: st.ResumeClock, rules, now, by):
    resume(case.clock(p.clock), now, rules.calendar)


def _add_note(case, p: st.AddNote, rules, now, by):
    case.notes.append({"at": now.isoformat(), "by": by, "note": p.note})


def _cancel(case, p: st.Cancel, rules, now, by):
    case.stage = S.cancelled
    case.closed_at = now


def _reopen(case, p: st.Reopen, rules, now, by):
    case.stage = reopen_stage(case.kind)
    case.closed_at = None
    case.reopened += 1
    # A fresh resolution clock from now; the first one's record stays in the events.
    fresh = plan_clocks(rules.policy, rules.calendar, case.kind, case.severity, now)
    _put_clock(case, next(c for c in fresh if c.name == ClockName.resolution))
    if case.kind == CaseKind.complaint:
        last = case.current_round()
        case.complaint_rounds.append(ComplaintRound(round=(last.round if last else 0) + 1,
                                                    department=last.department if last else None))


_EFFECTS: dict[str, Effect] = {
    "respond": _respond, "solve_remotely": _solve_remotely, "book_survey": _book_survey,
    "record_survey": _record_survey, "propose_plan": _propose_plan, "confirm_plan": _confirm_plan,
    "reject_plan": _reject_plan, "dispatch": _dispatch, "confirm_visit": _confirm_visit, "start_work": _start_work,
    "reschedule": _reschedule, "amend_plan": _amend_plan, "confirm_amendment": _confirm_amendment,
    "complete_work": _complete_work, "accept_work": _accept_work, "reject_work": _reject_work,
    "settle": _settle, "record_revisit": _record_revisit, "follow_up": _follow_up,
    "apologise": _apologise, "assign_department": _assign_department, "form_task_group": _form_task_group,
    "propose_solution": _propose_solution, "report_result": _report_result, "record_verdict": _record_verdict,
    "gm_revisit": _gm_revisit, "mark_major": _mark_major, "answer": _answer, "hand_over": _hand_over,
    "change_severity": _change_severity, "change_kind": _change_kind, "reassign": _reassign,
    "pause_clock": _pause_clock, "resume_clock": _resume_clock, "add_note": _add_note,
    "cancel": _cancel, "reopen": _reopen,
}
assert set(_EFFECTS) == set(STEPS), set(STEPS) ^ set(_EFFECTS)


def opened(case: CaseState, rules: Rules, now: datetime) -> list[Notice]:
    """What opening the case does beyond its SLA clocks: a major complaint from intake."""
    if case.major:
        case.major = False
        return _start_major(case, rules, now)
    return []
