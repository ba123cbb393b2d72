"""The desk's operations on cases: open (idempotently), start, read, act, escalate.

Personal data is written to the case file first; the workflow gets only the case number,
kind, severity, channel and clocks. If the API dies between the two, the case is still in
the file with ``last_seq = 0`` and the repair pass (``api.repair``) starts its workflow later.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta

from fastapi import HTTPException, status
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool
from temporalio.client import Client, WorkflowHandle
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from adapters.storage import cases as case_file
from adapters.storage.tables import Case
from api.deps import AppContext
from api import project_service, updates
from api.schemas import CaseView, case_view, ui_link
from domain import search_attributes as sa
from domain.case import (
    ActionRequest,
    CaseFacts,
    CaseStart,
    CaseState,
    EscalateInput,
    case_start,
    human_summary,
    workflow_id,
)
from domain.models import Intake, received_at
from domain.process import FINAL, STEPS, role_refusal
from domain.steps import StepInput
from settings import Caller
from workflows.case import AfterSalesCase

log = logging.getLogger("aftersales.api")
# How long a case page waits for the workflow before it answers from the case file.
LIVE_QUERY_TIMEOUT = timedelta(seconds=3)
# How long an action waits for the case file to record it before answering "accepted".
ACTION_RECORD_TIMEOUT = updates.RECORD_TIMEOUT
ActionPending = updates.ActionPending  # the routers' and the console's name for it


def _fingerprint(intake: Intake) -> str:
    # Only what the request said: a field added to the intake later (with its default) does
    # not make a retried request look like a different one.
    return hashlib.sha256(intake.model_dump_json(exclude_defaults=True).encode()).hexdigest()


def _case_start(ctx: AppContext, case: Case) -> CaseStart:
    return case_start(ctx.policy, ctx.settings.zone, case)


class NumberTaken(Exception):
    """The case's workflow id belongs to an earlier, finished workflow that never recorded it:
    the case file was restored without Temporal's store (see "Backups and restore")."""


async def start_workflow(ctx: AppContext, client: Client, case: Case) -> CaseStart:
    """Start the case's workflow; a second call for the same case is harmless."""
    start = _case_start(ctx, case)
    try:
        await client.start_workflow(
            AfterSalesCase.run,
            start,
            id=workflow_id(case.case_no),
            task_queue=ctx.settings.temporal_task_queue,
            # A retried start joins the running workflow; a closed case is never reopened.
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            static_summary=human_summary(start),
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(sa.CASE_KIND, start.kind.value),
                    SearchAttributePair(sa.CASE_SEVERITY, start.severity.value),
                    SearchAttributePair(sa.CASE_STAGE, "new"),
                    SearchAttributePair(sa.SLA_BREACHED, False),
                    SearchAttributePair(sa.ESCALATED, False),
                ]
                # A project's case: filter a project's cases in the Temporal UI (ProjectId = 'PJ…').
                + ([SearchAttributePair(sa.PROJECT_ID, case.project_id)] if case.project_id else [])
            ),
        )
    except WorkflowAlreadyStartedError:
        if case.last_seq == 0:
            # A finished workflow holds this number but never recorded this case: the case
            # file was reset without Temporal's store. Say so rather than attach to it.
            log.error("case %s: its workflow id belongs to an earlier, finished workflow", case.case_no)
            raise NumberTaken(
                f"case {case.case_no} was recorded, but its number belongs to an earlier finished "
                "workflow: the case file and Temporal are out of step"
            ) from None
        # Otherwise the case's own workflow already ran to its end.
    return start


async def open_case(
    ctx: AppContext, intake: Intake, idempotency_key: str | None, related_case_no: str | None = None
) -> tuple[CaseView, bool]:
    """Record the intake and start its workflow. Returns the case and whether it was a replay."""
    fingerprint = _fingerprint(intake)
    now = await ctx.clock()

    def write() -> tuple[Case, bool]:
        if idempotency_key:
            with ctx.db.session() as session:
                existing = case_file.find_by_idempotency_key(session, idempotency_key)
            if existing is not None:
                return existing, True
        severity = intake.severity or ctx.policy.detect_severity(intake.description)
        try:
            with ctx.db.session() as session:
                judged, covered = _project_warranty(ctx, intake, now)
                case = case_file.open_case(
                    session,
                    intake=judged,
                    severity=severity,
                    received_at=received_at(intake, now),
                    now=now,
                    prefix=ctx.settings.case_prefix,
                    zone=ctx.settings.zone,
                    idempotency_key=idempotency_key,
                    fingerprint=fingerprint if idempotency_key else None,
                    related_case_no=related_case_no,
                )
                if covered is not None:  # the term that applies and its end date, for the case view
                    case.warranty = covered.model_dump(mode="json")
            return case, False
        except IntegrityError:
            if not idempotency_key:
                raise
            # The same key raced us: the other request's case is the answer.
            with ctx.db.session() as session:
                return case_file.find_by_idempotency_key(session, idempotency_key), True

    case, replayed = await run_in_threadpool(write)
    if replayed and case.request_fingerprint != fingerprint:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            f"Idempotency-Key already used for case {case.case_no} with a different request",
        )
    if replayed and case.last_seq > 0:
        # Its workflow recorded it: the case file answers. Never started again: once a closed
        # case's workflow has left Temporal (retention), a start would run its clocks anew.
        return await view(ctx, case.case_no), replayed
    try:
        client = await ctx.temporal.client()
        start = await start_workflow(ctx, client, case)
    except NumberTaken as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from None
    except (RPCError, HTTPException) as exc:  # the gateway's 503: no connection to Temporal
        # The case is in the file: the repair pass starts its workflow once Temporal is back.
        # So the answer is "accepted", not an error: a client that retries without an
        # Idempotency-Key would otherwise open the case twice.
        log.warning("case %s recorded; its workflow could not start yet: %s", case.case_no, type(exc).__name__)
        pending = case_view(case, ui=_ui(ctx, case), state=_planned_state(ctx, case), live=False)
        return pending.model_copy(update={"pending": True}), replayed
    if not replayed:
        log.info("case %s opened (%s, %s)", case.case_no, case.kind, case.severity)
    return case_view(case, ui=_ui(ctx, case), state=_planned_state(ctx, case, start), live=False), replayed


def _project_warranty(ctx: AppContext, intake: Intake, now):
    """A case for a handed-over project is in warranty or not by the project's card (the
    terms and end dates fixed at its handover, the problem's category and area), whatever
    the desk guessed; returns the intake so judged and the term that applies. Blocking."""
    if intake.project_id is None:
        return intake, None
    day = received_at(intake, now).astimezone(ctx.settings.zone).date()
    category = intake.problem_category.value if intake.problem_category else "other"
    covered = project_service.case_warranty(ctx, intake.project_id, category, intake.area, day)
    if covered is None:
        return intake, None
    return intake.model_copy(update={"under_warranty": "yes" if covered.in_warranty else "no"}), covered


def _ui(ctx: AppContext, case: Case) -> str:
    return ui_link(ctx.settings.ui_url, ctx.settings.temporal_namespace, case.case_no)


async def load(ctx: AppContext, case_no: str) -> Case:
    def read() -> Case | None:
        with ctx.db.session() as session:
            return case_file.get_case(session, case_no)

    case = await run_in_threadpool(read)
    if case is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no case {case_no}")
    return case


async def view(ctx: AppContext, case_no: str) -> CaseView:
    """The live case from its workflow; the case file's copy when Temporal cannot answer."""
    case = await load(ctx, case_no)
    linked = await run_in_threadpool(_linked, ctx, case_no)
    try:
        client = await ctx.temporal.client()
        state = await client.get_workflow_handle(workflow_id(case_no)).query(
            AfterSalesCase.state, rpc_timeout=LIVE_QUERY_TIMEOUT
        )
        return case_view(case, ui=_ui(ctx, case), state=state, live=True, linked=linked)
    except (RPCError, HTTPException) as exc:
        log.warning("case %s: live state unavailable (%s); answering from the case file", case_no, exc)
    if case.state is not None:
        return case_view(case, ui=_ui(ctx, case), state=CaseState.model_validate(case.state), live=False, linked=linked)
    # Not recorded by its workflow yet: the clocks as they will be planned.
    return case_view(case, ui=_ui(ctx, case), state=_planned_state(ctx, case), live=False, linked=linked)


def _linked(ctx: AppContext, case_no: str) -> list[str]:
    with ctx.db.session() as session:
        return [c.case_no for c in case_file.linked(session, case_no)]


def _planned_state(ctx: AppContext, case: Case, start: CaseStart | None = None) -> CaseState:
    start = start or _case_start(ctx, case)
    facts = start.model_dump(include=set(CaseFacts.model_fields))
    return CaseState(**facts, clocks=start.clocks, major=start.major)


async def _handle(ctx: AppContext, case_no: str) -> tuple[Case, WorkflowHandle]:
    case = await load(ctx, case_no)
    client = await ctx.temporal.client()
    return case, client.get_workflow_handle(workflow_id(case_no))


def _closed(case: Case, exc: RPCError) -> HTTPException:
    if exc.status == RPCStatusCode.NOT_FOUND:
        return HTTPException(
            status.HTTP_409_CONFLICT, f"case {case.case_no} is {case.stage} and its reopening window has passed"
        )
    return HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, f"Temporal could not take the action: {exc.message}")


async def act(ctx: AppContext, case_no: str, action: str, payload: StepInput, caller: Caller) -> CaseView:
    """Send one action to the case; 403 for a role the stage model does not allow (or a
    technician's action on a job not theirs), 409 with the reason when the case's stage or a
    guard refuses it."""
    step = STEPS[action]
    role = caller.role
    if reason := role_refusal(step, role):
        raise HTTPException(status.HTTP_403_FORBIDDEN, reason)
    case, handle = await _handle(ctx, case_no)
    # A technician acts as themselves: the stage model checks the job is theirs by this id.
    request = ActionRequest(action=action, by=caller.acting_as(payload.by), role=role, payload=payload.model_dump(mode="json", exclude={"by"}))
    # Accepted (or refused with its reason) at once; the result waits for the case file,
    # which may be down: then the desk hears "accepted" (ActionPending) instead of waiting forever.
    state = await updates.send(handle, AfterSalesCase.act, request, CaseState, what=f"case {case_no}",
                               unavailable=lambda exc: _closed(case, exc), record_timeout=ACTION_RECORD_TIMEOUT)
    linked = await run_in_threadpool(_linked, ctx, case_no)
    return case_view(case, ui=_ui(ctx, case), state=state, live=True, linked=linked)


async def escalate(ctx: AppContext, case_no: str, request: EscalateInput) -> None:
    case, handle = await _handle(ctx, case_no)
    if case.stage in FINAL:
        raise HTTPException(status.HTTP_409_CONFLICT, f"case {case.case_no} is {case.stage}")
    try:
        await handle.signal(AfterSalesCase.escalate, request)
    except RPCError as exc:
        raise _closed(case, exc) from None
