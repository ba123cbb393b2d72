"""The stage model: every action of a case, in which stages of which kinds it is allowed,
where it leads and who may take it. The one place for these rules: the workflow's
validators, the API's routes and role checks, the README's diagram and the tests read it.

Conditions beyond the stage (a paid plan needs a confirmation, a major complaint a task
group…) are the ``guard`` of ``domain.casework``; this table only says when an action is
possible at all.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from domain import steps
from domain.models import CaseKind, Stage

S = Stage

REPAIRS = frozenset({CaseKind.repair, CaseKind.installation})
COMPLAINTS = frozenset({CaseKind.complaint})
CONSULTATIONS = frozenset({CaseKind.consultation})
EVERY_KIND = frozenset(CaseKind)

# Roles (the API tokens' roles). The general manager acts through the manager role.
AGENT, SUPERVISOR, MANAGER, ADMIN, TECHNICIAN = "agent", "supervisor", "manager", "admin", "technician"
SUPERVISORS = frozenset({SUPERVISOR, MANAGER, ADMIN})
DESK = frozenset({AGENT}) | SUPERVISORS
FIELD = DESK | {TECHNICIAN}  # steps a technician records on site
MANAGERS = frozenset({MANAGER, ADMIN})

# The stages each kind of case passes through.
KIND_STAGES: dict[CaseKind, tuple[Stage, ...]] = {
    **{
        k: (S.new, S.diagnosing, S.survey_booked, S.planning, S.awaiting_confirmation, S.ready_to_dispatch,
            S.dispatched, S.awaiting_acceptance, S.awaiting_settlement, S.awaiting_revisit, S.follow_up,
            S.closed, S.cancelled)
        for k in REPAIRS
    },
    CaseKind.complaint: (S.new, S.investigating, S.solution_given, S.awaiting_verdict, S.closed, S.cancelled),
    CaseKind.consultation: (S.new, S.handed_over, S.closed, S.cancelled),
}
FINAL = frozenset({S.closed, S.cancelled})
LIVE = frozenset(Stage) - FINAL
COMPLAINT_LIVE = frozenset({S.new, S.investigating, S.solution_given, S.awaiting_verdict})

# What the desk must do next in each stage: the second half of a refusal.
NEXT_STEP: dict[Stage, str] = {
    S.new: "nobody has contacted the customer yet: respond first (apologise, for a complaint)",
    S.diagnosing: "diagnose first: solve it remotely or book an on-site survey",
    S.survey_booked: "the survey is booked: record its findings first",
    S.planning: "no plan yet: propose a repair plan first",
    S.awaiting_confirmation: "the customer has not confirmed the paid plan: record the confirmation (or the rejection) first",
    S.ready_to_dispatch: "the plan is agreed: dispatch a work order first",
    S.dispatched: "a work order is out: the technician completes the work first",
    S.awaiting_acceptance: "the work is done: record the customer's acceptance or rejection first",
    S.awaiting_settlement: "the work is accepted: settle the paid amount first",
    S.awaiting_revisit: "the case waits for its revisit: record the revisit first",
    S.follow_up: "a low revisit score waits for the supervisor's follow-up",
    S.investigating: "the responsible department must give a solution first",
    S.solution_given: "a solution was given: report its result first",
    S.awaiting_verdict: "the result was reported: record whether the customer is satisfied first",
    S.handed_over: "the consultation was handed over: record the answer",
    S.closed: "the case is closed and archived (a supervisor may reopen it)",
    S.cancelled: "the case is cancelled (a supervisor may reopen it)",
}


@dataclass(frozen=True)
class Step:
    name: str  # the action's name: the workflow's update argument and the API path
    verb: str  # "respond to": for refusals
    kinds: frozenset[CaseKind]
    sources: frozenset[Stage]
    targets: tuple[Stage, ...]  # where it may lead (the transition picks one); empty: it stays
    roles: frozenset[str]
    payload: type[BaseModel]
    summary: str

    @property
    def path(self) -> str:
        return self.name.replace("_", "-")


def _s(*stages: Stage) -> frozenset[Stage]:
    return frozenset(stages)


STEPS: dict[str, Step] = {
    s.name: s
    for s in (
        # repairs and installations (DOMAIN.md §1)
        Step("respond", "respond to", REPAIRS, _s(S.new), (S.diagnosing,), DESK, steps.Respond,
             "First contact with the customer (meets the response clock)"),
        Step("solve_remotely", "solve remotely", REPAIRS, _s(S.diagnosing), (S.awaiting_acceptance,), DESK,
             steps.SolveRemotely, "Remote guidance solved it; the customer accepts next (meets the plan clock)"),
        Step("book_survey", "book a survey for", REPAIRS, _s(S.diagnosing), (S.survey_booked,), DESK,
             steps.BookSurvey, "Book an on-site survey"),
        Step("record_survey", "record a survey for", REPAIRS, _s(S.survey_booked), (S.planning,), FIELD,
             steps.RecordSurvey, "Findings of the survey: media, measurements, cause, responsibility"),
        Step("propose_plan", "propose a plan for", REPAIRS, _s(S.planning),
             (S.awaiting_confirmation, S.ready_to_dispatch), DESK, steps.ProposePlan,
             "A repair plan round; a paid plan then needs the customer's confirmation (meets the plan clock)"),
        Step("confirm_plan", "confirm the plan of", REPAIRS, _s(S.awaiting_confirmation), (S.ready_to_dispatch,),
             DESK, steps.Confirmation, "The customer's recorded confirmation of the paid plan"),
        Step("reject_plan", "reject the plan of", REPAIRS, _s(S.awaiting_confirmation), (S.planning,), DESK,
             steps.RejectPlan, "The customer rejects the plan: back to planning for another round"),
        Step("dispatch", "dispatch", REPAIRS, _s(S.ready_to_dispatch), (S.dispatched,), DESK, steps.Dispatch,
             "A work order to a technician, holding their time (409 if taken, or if they are not active); starts the re-confirmation clock"),
        Step("confirm_visit", "confirm the visit of", REPAIRS, _s(S.dispatched), (), FIELD, steps.ConfirmVisit,
             "The technician re-confirms the visit (meets the re-confirmation clock)"),
        Step("start_work", "start the work of", REPAIRS, _s(S.dispatched), (), FIELD, steps.StartWork,
             "The technician is on site and starts (meets the re-confirmation clock)"),
        Step("reschedule", "reschedule", REPAIRS, _s(S.dispatched), (), DESK, steps.Reschedule,
             "Move the appointment (the visit is re-confirmed again)"),
        Step("amend_plan", "amend the plan of", REPAIRS, _s(S.dispatched), (), FIELD, steps.AmendPlan,
             "A change found on site; a price change needs the customer's consent"),
        Step("confirm_amendment", "confirm the amendment of", REPAIRS, _s(S.dispatched), (), DESK,
             steps.Confirmation, "The customer's recorded consent to the amendment"),
        Step("complete_work", "complete the work of", REPAIRS, _s(S.dispatched), (S.awaiting_acceptance,), FIELD,
             steps.CompleteWork, "The technician's self-check; the customer inspects next"),
        Step("accept_work", "accept the work of", REPAIRS, _s(S.awaiting_acceptance),
             (S.awaiting_settlement, S.awaiting_revisit), FIELD, steps.AcceptWork,
             "The customer signs the acceptance (meets the resolution clock, starts the revisit clock)"),
        Step("reject_work", "reject the work of", REPAIRS, _s(S.awaiting_acceptance), (S.ready_to_dispatch, S.diagnosing), FIELD,
             steps.RejectWork, "The customer rejects the work: rework, another visit"),
        Step("settle", "settle", REPAIRS, _s(S.awaiting_settlement), (S.awaiting_revisit,), DESK, steps.Settle,
             "Settle paid work at the confirmed amount, with an invoice number"),
        Step("record_revisit", "record the revisit of", REPAIRS, _s(S.awaiting_revisit), (S.closed, S.follow_up),
             DESK, steps.RecordRevisit, "The revisit's answers (meets the revisit clock); a low score starts the follow-up"),
        Step("follow_up", "follow up", REPAIRS, _s(S.follow_up), (S.closed,), SUPERVISORS, steps.FollowUp,
             "The supervisor's follow-up of a low score (meets the follow-up clock)"),
        # complaints (§2)
        Step("apologise", "apologise for", COMPLAINTS, _s(S.new), (S.investigating,), DESK, steps.Apologise,
             "Apology and contact (meets the response clock)"),
        Step("assign_department", "assign a department to", COMPLAINTS, _s(S.investigating), (), DESK,
             steps.AssignDepartment, "The responsible department and the complaint's owner"),
        Step("form_task_group", "form a task group for", COMPLAINTS, COMPLAINT_LIVE, (), SUPERVISORS,
             steps.FormTaskGroup, "The task group of a major complaint (named members)"),
        Step("propose_solution", "give a solution for", COMPLAINTS, _s(S.investigating), (S.solution_given,), DESK,
             steps.ProposeSolution, "The solution (meets the plan clock); written for a major complaint"),
        Step("report_result", "report the result of", COMPLAINTS, _s(S.solution_given), (S.awaiting_verdict,), DESK,
             steps.ReportResult, "The result reported to the customer (meets the resolution clock)"),
        Step("record_verdict", "record the verdict on", COMPLAINTS, _s(S.awaiting_verdict),
             (S.closed, S.investigating), DESK, steps.RecordVerdict,
             "Satisfied: closed; not satisfied: another round"),
        Step("gm_revisit", "record the general manager's revisit of", COMPLAINTS, COMPLAINT_LIVE, (), MANAGERS,
             steps.GmRevisit, "The general manager's personal revisit of a major complaint"),
        Step("mark_major", "mark as major", COMPLAINTS, COMPLAINT_LIVE, (), SUPERVISORS, steps.MarkMajor,
             "Make it a major complaint: task group, written solution, the general manager's revisit"),
        # consultations (§2)
        Step("answer", "answer", CONSULTATIONS, _s(S.new, S.handed_over), (S.closed,), DESK, steps.Answer,
             "The answer (on the spot, or after the handover)"),
        Step("hand_over", "hand over", CONSULTATIONS, _s(S.new), (S.handed_over,), DESK, steps.HandOver,
             "Hand over with the expected reply time (a clock)"),
        # supervisors, every kind
        Step("change_severity", "change the severity of", EVERY_KIND, LIVE, (), SUPERVISORS, steps.ChangeSeverity,
             "Change the severity: every live clock is recalculated from the intake time"),
        Step("change_kind", "change the kind of", EVERY_KIND, _s(S.new, S.diagnosing, S.investigating), (), SUPERVISORS,
             steps.ChangeKind, "Change the kind (before any plan): clocks recalculated from the intake time"),
        Step("reassign", "reassign", EVERY_KIND, LIVE, (), SUPERVISORS, steps.Reassign, "A new owner for the case"),
        Step("pause_clock", "pause a clock of", EVERY_KIND, LIVE, (), SUPERVISORS, steps.PauseClock,
             "Pause a clock while waiting for the customer or parts (where the policy allows)"),
        Step("resume_clock", "resume a clock of", EVERY_KIND, LIVE, (), SUPERVISORS, steps.ResumeClock,
             "Resume a paused clock: its warning and breach move by the pause"),
        Step("add_note", "add a note to", EVERY_KIND, frozenset(Stage), (), FIELD, steps.AddNote, "A note in the case file"),
        Step("cancel", "cancel", EVERY_KIND, LIVE, (S.cancelled,), SUPERVISORS, steps.Cancel, "Cancel with a reason"),
        Step("reopen", "reopen", EVERY_KIND, FINAL, (S.diagnosing, S.investigating, S.new), SUPERVISORS,
             steps.Reopen, "Reopen within the policy window"),
    )
}


def refusal(step: Step, kind: CaseKind, stage: Stage) -> str | None:
    """Why ``step`` is not possible for a ``kind`` case in ``stage``, or None."""
    if kind not in step.kinds:
        kinds = ", ".join(sorted(k.value for k in step.kinds))
        return f"cannot {step.verb} a {kind.value} case: only {kinds} cases have this step"
    if stage not in step.sources:
        return f"cannot {step.verb} a case in stage '{stage.value}': {NEXT_STEP[stage]}"
    return None


def role_refusal(step: Step, role: str) -> str | None:
    if role in step.roles:
        return None
    return f"role '{role}' may not {step.verb} a case; allowed: {', '.join(sorted(step.roles))}"


def reopen_stage(kind: CaseKind) -> Stage:
    """Where a reopened case starts again: its first stage after the response."""
    return {CaseKind.complaint: S.investigating, CaseKind.consultation: S.new}.get(kind, S.diagnosing)


def mermaid() -> str:
    """The stage diagram of the README, drawn from ``STEPS``."""
    lines = ["stateDiagram-v2", "    [*] --> new"]
    seen: set[tuple[Stage, Stage, str]] = set()
    for step in STEPS.values():
        if step.name == "cancel":
            continue  # from every live stage: one note instead of fifteen arrows
        for source in sorted(step.sources, key=list(Stage).index):
            for target in step.targets:
                if target == source or (source, target, step.name) in seen:
                    continue
                seen.add((source, target, step.name))
                lines.append(f"    {source.value} --> {target.value}: {step.name}")
    lines.append("    closed --> [*]")
    lines.append("    note right of cancelled: cancel (supervisor) from any live stage")
    return "\n".join(lines) + "\n"
