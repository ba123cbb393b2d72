"""What each step of a repair or an installation does to the case (DOMAIN.md §1): respond,
diagnose, survey, plan, dispatch, the visit, acceptance, settlement, revisit, follow-up.
Pure functions over ``CaseState``, looked up by ``domain.casework``."""

from __future__ import annotations

from datetime import timedelta

from domain import steps as st
from domain.clocks import timed_clock
from domain.effects import (
    FOLLOW_UP_CHAIN,
    REVISIT_CHAIN,
    Effect,
    Notice,
    confirmation,
    meet,
    put_clock,
    reconfirm_clock,
)
from domain.guards import money, pending_amendment, plan_cost
from domain.models import ClockName, Stage
from domain.records import Acceptance, Amendment, PlanRound, Revisit, Settlement, Survey, WorkOrder
from domain.revisit import low_score, repair_revisit_due

S = Stage


def _respond(case, p: st.Respond, rules, now, by):
    meet(case, ClockName.response, now)
    case.owner = case.owner or by
    case.stage = S.diagnosing


def _solve_remotely(case, p: st.SolveRemotely, rules, now, by):
    case.remote_guidance = p.guidance
    meet(case, ClockName.plan, now)
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
    meet(case, ClockName.plan, now)
    if not paid:
        case.stage = S.ready_to_dispatch
        return None
    case.stage = S.awaiting_confirmation
    return [Notice("customer", "plan_to_confirm", {"round": len(case.plans), "cost": money(cost)})]


def _confirm_plan(case, p: st.Confirmation, rules, now, by):
    plan = case.current_plan()
    plan.status, plan.confirmation = "confirmed", confirmation(p, by)
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
    reconfirm_clock(case, order, rules, now)
    case.stage = S.dispatched
    return [Notice("customer", "appointment", {"window_start": p.window_start.isoformat(), "window_end": p.window_end.isoformat(), "visit": order.number})]


def _confirm_visit(case, p, rules, now, by):
    case.current_order().confirmed_at = now
    meet(case, ClockName.reconfirm, now)


def _start_work(case, p, rules, now, by):
    case.current_order().started_at = now
    meet(case, ClockName.reconfirm, now)  # on site: the visit happened, confirmed or not


def _reschedule(case, p: st.Reschedule, rules, now, by):
    order = case.current_order()
    order.reschedules.append({"from": order.window_start.isoformat(), "to": p.window_start.isoformat(), "reason": p.reason, "at": now.isoformat()})
    order.window_start, order.window_end, order.confirmed_at = p.window_start, p.window_end, None
    reconfirm_clock(case, order, rules, now)
    return [Notice("customer", "appointment", {"window_start": p.window_start.isoformat(), "window_end": p.window_end.isoformat(), "visit": order.number})]


def _amend_plan(case, p: st.AmendPlan, rules, now, by):
    case.amendments.append(Amendment(change=p.change, cost_delta=p.cost_delta, proposed_at=now, proposed_by=by,
                                     work_order=case.current_order().number))
    if p.cost_delta != 0:
        return [Notice("customer", "amendment_to_confirm", {"cost_delta": money(p.cost_delta)})]
    return None


def _confirm_amendment(case, p: st.Confirmation, rules, now, by):
    pending_amendment(case).consent = confirmation(p, by)


def _complete_work(case, p: st.CompleteWork, rules, now, by):
    order = case.current_order()
    order.completed_at, order.self_check = now, p.self_check
    meet(case, ClockName.reconfirm, now)
    case.stage = S.awaiting_acceptance
    return [Notice("customer", "work_completed", {"visit": order.number})]


def _accept_work(case, p: st.AcceptWork, rules, now, by):
    order = case.current_order()
    remote = order is None or order.outcome is not None
    if not remote:
        order.outcome = "accepted"
    case.acceptance = Acceptance(signed_by=p.signed_by, signed_at=p.signed_at, recorded_at=now, remote=remote, note=p.note)
    meet(case, ClockName.resolution, now)
    # The revisit task falls due on the first working moment of the window, at the latest
    # at its end (the one revisit rule for cases and projects: domain.revisit).
    due, window_end = repair_revisit_due(rules.calendar, now, rules.seconds("revisit_after"), rules.seconds("revisit_within"))
    case.revisit = Revisit(due_at=due, window_end=window_end)
    put_clock(case, timed_clock(ClockName.revisit, REVISIT_CHAIN, now, window_end, limit=rules.policy.process.revisit_within, due_at=due))
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
    meet(case, ClockName.revisit, now)
    if not low:
        case.stage = S.closed
        return None
    deadline = now + timedelta(seconds=rules.seconds("follow_up"))
    put_clock(case, timed_clock(ClockName.follow_up, FOLLOW_UP_CHAIN, now, deadline, limit=process.follow_up, warning_at=rules.policy.warning_at))
    case.stage = S.follow_up
    return [Notice("supervisor", "low_score", {"satisfaction": p.satisfaction, "follow_up_by": deadline.isoformat()})]


def _follow_up(case, p: st.FollowUp, rules, now, by):
    case.revisit.follow_up, case.revisit.followed_up_at = p.outcome, now
    meet(case, ClockName.follow_up, now)
    case.stage = S.closed


REPAIR_EFFECTS: dict[str, Effect] = {
    "respond": _respond,
    "solve_remotely": _solve_remotely,
    "book_survey": _book_survey,
    "record_survey": _record_survey,
    "propose_plan": _propose_plan,
    "confirm_plan": _confirm_plan,
    "reject_plan": _reject_plan,
    "dispatch": _dispatch,
    "confirm_visit": _confirm_visit,
    "start_work": _start_work,
    "reschedule": _reschedule,
    "amend_plan": _amend_plan,
    "confirm_amendment": _confirm_amendment,
    "complete_work": _complete_work,
    "accept_work": _accept_work,
    "reject_work": _reject_work,
    "settle": _settle,
    "record_revisit": _record_revisit,
    "follow_up": _follow_up,
}
