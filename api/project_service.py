"""The desk's operations on renovation projects: open, start, read, act; the warranty of a
project and of a case opened for it.

As for cases: the customer's data is written to the project file first; the workflow gets
the project id, the package and the rules. A retried ``POST /projects`` with the same
``Idempotency-Key`` returns the same project.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import date, timedelta

from fastapi import HTTPException, status
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from adapters.storage import projects as project_file
from adapters.storage.project_tables import Project
from api import updates
from api.deps import AppContext, unprocessable
from settings import Caller
from api.project_schemas import ProjectIntake, ProjectView, project_view
from domain import search_attributes as sa
from domain import warranty
from domain.case import ActionRequest
from domain.project import ProjectRules, ProjectStart, ProjectState, human_summary, workflow_id
from domain.process import TECHNICIAN
from domain.project_process import STEPS, not_assigned, role_refusal, sees_customer
from workflows.project import ProjectLifecycle

log = logging.getLogger("aftersales.api")
LIVE_QUERY_TIMEOUT = timedelta(seconds=3)


def _rules(ctx: AppContext, at) -> ProjectRules:
    offset = at.astimezone(ctx.settings.zone).utcoffset() or timedelta(0)
    policy = ctx.policy
    return ProjectRules(warranty=policy.warranty, project=policy.project, working_time=policy.working_time,
                        utc_offset_minutes=int(offset.total_seconds() // 60))


async def start_workflow(ctx: AppContext, p: Project) -> None:
    client = await ctx.temporal.client()
    start = ProjectStart(project_id=p.project_id, package=p.package, opened_at=p.created_at, policy=ctx.policy.name,
                         rules=_rules(ctx, p.created_at))
    await client.start_workflow(
        ProjectLifecycle.run, start, id=workflow_id(p.project_id), task_queue=ctx.settings.temporal_task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        static_summary=human_summary(start),
        search_attributes=TypedSearchAttributes([
            SearchAttributePair(sa.PROJECT_ID, p.project_id), SearchAttributePair(sa.PROJECT_STAGE, "consultation"),
        ]),
    )


async def open_project(ctx: AppContext, intake: ProjectIntake, idempotency_key: str | None) -> tuple[ProjectView, bool]:
    fingerprint = hashlib.sha256(intake.model_dump_json().encode()).hexdigest()
    now = await ctx.clock()

    def write() -> tuple[Project, bool]:
        if idempotency_key:
            with ctx.db.session() as session:
                if (existing := project_file.find_by_idempotency_key(session, idempotency_key)) is not None:
                    return existing, True
        try:
            with ctx.db.session() as session:
                p = project_file.open_project(
                    session, name=intake.customer_name, phone=intake.phone, address=intake.address,
                    house_type=intake.house_type, package=intake.package, channel=intake.channel.value, now=now,
                    idempotency_key=idempotency_key, fingerprint=fingerprint if idempotency_key else None,
                )
            return p, False
        except IntegrityError:
            if not idempotency_key:
                raise
            with ctx.db.session() as session:  # the same key raced us: its project is the answer
                return project_file.find_by_idempotency_key(session, idempotency_key), True

    p, replayed = await run_in_threadpool(write)
    if replayed and p.request_fingerprint != fingerprint:
        raise HTTPException(status.HTTP_409_CONFLICT,
                            f"Idempotency-Key already used for project {p.project_id} with a different request")
    state = ProjectState(project_id=p.project_id, package=p.package, opened_at=p.created_at, policy=ctx.policy.name)
    if replayed and p.last_seq > 0:
        # Its workflow recorded it (and may have ended): the project as it is, never started again.
        return await view(ctx, p.project_id), replayed
    try:
        await start_workflow(ctx, p)
    except WorkflowAlreadyStartedError:
        # Only a finished workflow that never recorded this project holds its id: the project
        # file was restored without Temporal's store.
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE,
                            f"project {p.project_id} was recorded, but its id belongs to an earlier finished "
                            "workflow: the project file and Temporal are out of step") from None
    except (RPCError, HTTPException) as exc:
        # Recorded: the repair pass starts its workflow once Temporal is back. "Accepted", not
        # an error, so that nobody retries it into a second project.
        log.warning("project %s recorded; its workflow could not start yet: %s", p.project_id, type(exc).__name__)
        return _view(ctx, p, state, live=False).model_copy(update={"pending": True}), replayed
    return _view(ctx, p, state, live=False), replayed


def _view(ctx: AppContext, p: Project, state: ProjectState, live: bool, customer: bool = True) -> ProjectView:
    return project_view(p, state, ui_url=ctx.settings.ui_url, namespace=ctx.settings.temporal_namespace, live=live,
                        customer=customer)


async def load(ctx: AppContext, project_id: str) -> Project:
    def read() -> Project | None:
        with ctx.db.session() as session:
            return project_file.get_project(session, project_id)

    p = await run_in_threadpool(read)
    if p is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no project {project_id}")
    return p


async def state(ctx: AppContext, p: Project) -> tuple[ProjectState, bool]:
    """The live state from the workflow; the project file's copy when Temporal cannot answer."""
    try:
        client = await ctx.temporal.client()
        live = await client.get_workflow_handle(workflow_id(p.project_id)).query(
            ProjectLifecycle.state, rpc_timeout=LIVE_QUERY_TIMEOUT, result_type=ProjectState
        )
        return live, True
    except (RPCError, HTTPException) as exc:
        log.warning("project %s: live state unavailable (%s); answering from the project file", p.project_id, exc)
    if p.state is not None:
        return ProjectState.model_validate(p.state), False
    return ProjectState(project_id=p.project_id, package=p.package, opened_at=p.created_at, policy=ctx.policy.name), False


async def view(ctx: AppContext, project_id: str) -> ProjectView:
    p = await load(ctx, project_id)
    s, live = await state(ctx, p)
    return _view(ctx, p, s, live)


async def act(ctx: AppContext, project_id: str, action: str, payload, caller: Caller) -> ProjectView:
    """One step: 403 for a role the stage model does not allow or a technician not on the
    project's crew, 409 with the reason when the project's stage or the step's guard refuses
    it; ``updates.ActionPending`` (the API's 202) when the workflow took it but the project file
    has not recorded it yet. A technician's answer carries no customer data."""
    step = STEPS[action]
    role = caller.role
    if reason := role_refusal(step, role):
        raise HTTPException(status.HTTP_403_FORBIDDEN, reason)
    p = await load(ctx, project_id)
    request = ActionRequest(action=action, by=caller.acting_as(payload.by), role=role,
                            payload=payload.model_dump(mode="json", exclude={"by"}))
    if role == TECHNICIAN:
        # Refused here before the stage is asked, so a stranger learns nothing of the project;
        # the workflow's validator holds the same rule for the Temporal UI and CLI.
        current, _ = await state(ctx, p)
        if reason := not_assigned(current, request):
            raise HTTPException(status.HTTP_403_FORBIDDEN, reason)
    client = await ctx.temporal.client()

    def unavailable(exc: RPCError) -> HTTPException:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return HTTPException(status.HTTP_409_CONFLICT, f"project {project_id} is {p.stage}: its workflow has ended")
        return HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, f"Temporal could not take the step: {exc.message}")

    s = await updates.send(client.get_workflow_handle(workflow_id(project_id)), ProjectLifecycle.act, request,
                           ProjectState, what=f"project {project_id}", unavailable=unavailable)
    return _view(ctx, p, s, live=True, customer=sees_customer(role))


def card_terms(state: ProjectState) -> list[warranty.TermEnd]:
    """The terms as issued at the handover (the warranty card), not today's policy."""
    return list(state.warranty.terms) if state.warranty else []


def covered(ctx: AppContext, state: ProjectState, defect, area, on: date) -> warranty.WarrantyStatus:
    return warranty.status_on_card(card_terms(state), defect, area, on,
                                   fallback_default=ctx.policy.warranty.default_term)


def case_warranty(ctx: AppContext, project_id: str, defect, area, on: date) -> warranty.WarrantyStatus | None:
    """A case opened for a project: covered or not by the terms on the project's warranty
    card (fixed at its handover), for the defect's category and area on the day the case is
    received (None while the project is not handed over). Blocking."""
    with ctx.db.session() as session:
        p = project_file.get_project(session, project_id)
    if p is None:
        raise unprocessable(("body", "project_id"), f"no project {project_id}: check the project id")
    state = ProjectState.model_validate(p.state) if p.state else None
    if p.handover_on is None or state is None or state.warranty is None:
        return None
    return covered(ctx, state, defect, area, on)
