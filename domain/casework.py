"""What each action does to a case, after the stage model and its guard allow it.

Pure functions over ``CaseState``; the workflow calls ``check`` in its update validator and
``apply`` in the handler, then writes the event and queues the notices ``apply`` returns.
Clocks started or met here are picked up by the workflow's clock loop. The steps of a repair
are in ``domain.repairwork``; complaints', consultations' and supervisors' are here.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from pydantic import BaseModel, ValidationError

from domain import steps as st
from domain.case import ActionRecord, ActionRequest, CaseState
from domain.clocks import Pause, pause, plan_clocks, resume, timed_clock
from domain.effects import GM_CHAIN, Effect, Notice, meet, put_clock, replan_sla
from domain.guards import GUARDS
from domain.models import SLA_CLOCKS, CaseKind, ClockName, Stage
from domain.process import STEPS, refusal, reopen_stage, role_refusal
from domain.records import ComplaintRound, Handover
from domain.repairwork import REPAIR_EFFECTS
from domain.rules import Rules

S = Stage


class Refused(Exception):
    """The action is not possible now; ``reason`` says why, in the desk's words."""

    def __init__(self, reason: str, forbidden: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.forbidden = forbidden  # the role may not take it at all


class _Step(Protocol):  # a case's step (domain.process) or a project's (domain.project_process)
    name: str
    payload: type[BaseModel]


def parse(step: _Step, request: ActionRequest) -> BaseModel:
    """The action's payload as its step's model (a case's or a project's); a refusal naming
    the first bad field otherwise."""
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


# -- complaints, consultations and supervisors' actions (repairs: domain.repairwork) -----


def _apologise(case, p: st.Apologise, rules, now, by):
    meet(case, ClockName.response, now)
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
    meet(case, ClockName.plan, now)
    case.stage = S.solution_given


def _report_result(case, p: st.ReportResult, rules, now, by):
    rnd = case.current_round()
    rnd.result, rnd.result_at = p.result, now
    meet(case, ClockName.resolution, now)
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
    meet(case, ClockName.gm_revisit, now)


def _start_major(case: CaseState, rules: Rules, now: datetime) -> list[Notice]:
    case.major = True
    deadline = now + timedelta(seconds=rules.seconds("gm_revisit"))
    put_clock(case, timed_clock(ClockName.gm_revisit, GM_CHAIN, now, deadline, limit=rules.policy.process.gm_revisit))
    return [Notice("general_manager", "major_complaint", {"revisit_by": deadline.isoformat()})]


def _mark_major(case, p: st.MarkMajor, rules, now, by):
    return _start_major(case, rules, now)


def _answer(case, p: st.Answer, rules, now, by):
    case.answer = p.answer
    for name in (*SLA_CLOCKS, ClockName.reply):
        meet(case, name, now)
    case.stage = S.closed


def _hand_over(case, p: st.HandOver, rules, now, by):
    meet(case, ClockName.response, now)
    case.handover = Handover(to=p.to, reply_by=p.reply_by, at=now)
    limit = f"{max(1, int((p.reply_by - now).total_seconds()))}s"
    put_clock(case, timed_clock(ClockName.reply, rules.policy.chain(case.kind), now, p.reply_by, limit=limit,
                                 warning_at=rules.policy.warning_at))
    case.stage = S.handed_over
    return [Notice("customer", "handed_over", {"reply_by": p.reply_by.isoformat()})]


def _change_severity(case, p: st.ChangeSeverity, rules, now, by):
    case.severity = p.severity
    replan_sla(case, rules)


def _change_kind(case, p: st.ChangeKind, rules, now, by):
    case.kind = p.kind
    if case.stage != S.new:
        case.stage = reopen_stage(p.kind)
        if p.kind == CaseKind.complaint and not case.complaint_rounds:
            case.complaint_rounds.append(ComplaintRound(round=1))
    replan_sla(case, rules)


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
    put_clock(case, next(c for c in fresh if c.name == ClockName.resolution))
    if case.kind == CaseKind.complaint:
        last = case.current_round()
        case.complaint_rounds.append(ComplaintRound(round=(last.round if last else 0) + 1,
                                                    department=last.department if last else None))


_EFFECTS: dict[str, Effect] = {
    **REPAIR_EFFECTS,
    "apologise": _apologise,
    "assign_department": _assign_department,
    "form_task_group": _form_task_group,
    "propose_solution": _propose_solution,
    "report_result": _report_result,
    "record_verdict": _record_verdict,
    "gm_revisit": _gm_revisit,
    "mark_major": _mark_major,
    "answer": _answer,
    "hand_over": _hand_over,
    "change_severity": _change_severity,
    "change_kind": _change_kind,
    "reassign": _reassign,
    "pause_clock": _pause_clock,
    "resume_clock": _resume_clock,
    "add_note": _add_note,
    "cancel": _cancel,
    "reopen": _reopen,
}
assert set(_EFFECTS) == set(STEPS), set(STEPS) ^ set(_EFFECTS)


def opened(case: CaseState, rules: Rules, now: datetime) -> list[Notice]:
    """What opening the case does beyond its SLA clocks: a major complaint from intake."""
    if case.major:
        case.major = False
        return _start_major(case, rules, now)
    return []
