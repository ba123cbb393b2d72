"""``ProjectLifecycle``: one renovation project from the first consultation to the end of its
warranty, years later.

It takes the steps of ``domain.project_process`` as one validated update (``act``), answers
its state as a query, and waits for the next timer of ``domain.project_timers`` (the weekly
progress report, each defect's rectification deadline, revisits falling due and their
windows closing, holiday greetings, the warranty's end). Each stage runs in a workflow run of
its own: at a stage boundary, in each new warranty year, or when Temporal suggests it, the
workflow continues as new with its state, so a five-year history never grows large.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import ActivityError

from workflows.conventions import HARDENED_PATCH, LOCAL_WRITE, attention, refusal
from workflows.delivery import start_delivery

with workflow.unsafe.imports_passed_through():
    from activities.project_contracts import (
        ISSUE_WARRANTY_CARD,
        QUEUE_PROJECT_NOTIFICATION,
        RECORD_PROJECT_EVENT,
        WARRANTY_CALENDAR,
    )
    from domain import search_attributes as sa
    from domain.calendar import WorkingCalendar
    from domain.case import ActionRequest
    from domain.casework import Refused
    from domain.project import (
        ProjectEvent,
        ProjectFacts,
        ProjectResume,
        ProjectStage,
        ProjectStart,
        ProjectState,
        WarrantyCalendar,
        WarrantyCalendarRequest,
        human_details,
    )
    from domain.delivery import DeliveryPlan
    from domain.project_messages import ProjectNotice, ProjectNotificationRequest, message_key, notices
    from domain.project_process import FINAL, not_assigned
    from domain.project_timers import fire, next_timer, plan_warranty, zone
    from domain.projectwork import apply, check

_YEAR = 365  # days: a warranty year, for starting a fresh run each year
# Projects handed over before the card was issued at the handover replay without issuing it.
WARRANTY_CARD_PATCH = "issue-warranty-card-at-handover"
# Projects handed over before the Civil Code's month-end rule for the last day of a term
# (domain.warranty.last_covered_day) replay the arithmetic they were planned with.
WARRANTY_END_PATCH = "warranty-end-month-end-rule"
# Projects that ran before their messages were sent replay without queuing them.
MESSAGES_PATCH = "project-messages"
# Projects handed over before this mark answered the handover before their warranty was
# planned (a read right after the 200 found no warranty); from it on the handover's answer
# waits for the warranty's terms to be planned and recorded.
WARRANTY_IN_HANDOVER_PATCH = "warranty-planned-before-the-handover-answers"


@workflow.defn
class ProjectLifecycle:
    @workflow.init
    def __init__(self, start: ProjectStart) -> None:
        if start.resume is not None:
            self._project = start.resume.state
            self._seq = start.resume.seq
        else:
            facts = start.model_dump(include=set(ProjectFacts.model_fields))
            self._project = ProjectState(**facts)
            self._seq = 0
        self._rules = start.rules
        self._changes = 0
        self._deliveries = 0  # messages of this run still being delivered
        self._planning = asyncio.Lock()  # the warranty is planned once, by the handover or the loop
        self._unplannable = False  # the warranty calendar failed for good (needs attention)

    @workflow.run
    async def run(self, start: ProjectStart) -> ProjectState:
        project = self._project
        if start.resume is None:
            await self._record("opened", "desk", {"package": project.package, "policy": project.policy})
        self._publish()
        stage, year = project.stage, self._warranty_year()
        while project.stage not in FINAL:
            if project.stage == ProjectStage.warranty and project.warranty is None and not self._unplannable:
                await self._plan_warranty()
                continue
            boundary = project.stage != stage or self._warranty_year() != year
            # A fresh run once this run's deliveries are done (their workflows are children:
            # the time-skipping test server stops skipping a child whose parent continued).
            if (boundary or workflow.info().is_continue_as_new_suggested()) and not self._deliveries:
                await self._continue_as_new(start)
            timer = next_timer(project)
            if timer is not None and timer.at <= workflow.now():
                await self._fire(timer)
                continue
            changes = self._changes
            try:
                await workflow.wait_condition(
                    lambda: self._changes != changes,
                    timeout=(timer.at - workflow.now()).total_seconds() if timer else None,
                    timeout_summary=timer.summary if timer else "waiting for the next step",
                )
            except TimeoutError:
                if next_timer(project) == timer:  # not met by a step in the meantime
                    await self._fire(timer)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return project

    async def _fire(self, timer) -> None:
        type_, data = fire(self._project, timer, self._rules, workflow.now())
        told = notices(self._project, type_, data)
        self._changes += 1
        self._publish()
        seq = await self._record(type_, "system", data)
        await self._tell(told, seq)

    @workflow.query
    def state(self) -> ProjectState:
        return self._project

    @workflow.update
    async def act(self, request: ActionRequest) -> ProjectState:
        try:
            # Checked again: two updates accepted in one task both passed the validator.
            data = apply(self._project, request, self._rules, workflow.now())
        except Refused as refused:
            raise refusal(refused) from None
        told = notices(self._project, request.action, data)  # before any await: another step may follow
        self._changes += 1
        self._publish()
        seq = await self._record(request.action, request.by, data)
        await self._tell(told, seq)
        if self._project.stage == ProjectStage.warranty and workflow.patched(WARRANTY_IN_HANDOVER_PATCH):
            # Read-your-writes: the handover's answer (and the project file) carry the warranty.
            await self._plan_warranty()
        return self._project

    @act.validator
    def _check_act(self, request: ActionRequest) -> None:
        # Checked here only: a validator does not run on replay, so histories from before this
        # rule (technicians acting on any project) still replay. First, so that a stranger
        # learns nothing of the project (not even its stage) from the refusal.
        if reason := not_assigned(self._project, request):
            raise refusal(Refused(reason, forbidden=True))
        try:
            check(self._project, request, self._rules, workflow.now())
        except Refused as refused:
            raise refusal(refused) from None

    # -- years of life ----------------------------------------------------------------------

    def _warranty_year(self) -> int:
        w = self._project.warranty
        if w is None:
            return -1
        return (workflow.now().astimezone(zone(self._rules)).date() - w.handover_on).days // _YEAR

    async def _plan_warranty(self) -> None:
        async with self._planning:
            if self._project.stage == ProjectStage.warranty and self._project.warranty is None and not self._unplannable:
                await self._start_warranty()

    async def _start_warranty(self) -> None:
        """Terms, revisits and greetings, planned once from the handover date."""
        project = self._project
        handover = project.handover.handover_on
        request = WarrantyCalendarRequest(
            working_time=self._rules.working_time,
            utc_offset_minutes=self._rules.utc_offset_minutes,
            handover_on=handover,
            until=handover + timedelta(days=366 * (self._rules.warranty.longest_months // 12 + 1)),
            greetings=self._rules.project.greetings.model_dump(mode="json"),
        )
        try:
            planned = WarrantyCalendar.model_validate(
                await workflow.execute_activity(WARRANTY_CALENDAR, request, **LOCAL_WRITE)
            )
        except ActivityError as err:
            if not workflow.patched(HARDENED_PATCH):
                raise
            # No calendar for these dates: the terms cannot be planned; the project stays in
            # warranty without its timers until a supervisor looks at it (NeedsAttention).
            self._unplannable = True
            self._needs_attention("the warranty calendar was not planned", err)
            return
        project.warranty = plan_warranty(
            project, self._rules, WorkingCalendar(planned.calendar), planned.greetings, workflow.now(),
            month_end=workflow.patched(WARRANTY_END_PATCH),
        )
        self._changes += 1
        self._publish()
        w = project.warranty
        await self._record("warranty_started", "system", {
            "handover_on": w.handover_on.isoformat(), "until": w.until.isoformat(),
            "revisits": {r.kind.value: r.due_at.date().isoformat() for r in w.revisits},
            "greetings": len(w.greetings),
        })
        if workflow.patched(WARRANTY_CARD_PATCH):
            try:
                await workflow.execute_activity(ISSUE_WARRANTY_CARD, project.project_id, **LOCAL_WRITE)
            except ActivityError as err:
                if not workflow.patched(HARDENED_PATCH):
                    raise
                self._needs_attention("the warranty card was not issued", err)
                return
            await self._record("warranty_card_issued", "system", {})

    async def _continue_as_new(self, start: ProjectStart) -> None:
        await workflow.wait_condition(workflow.all_handlers_finished)
        self._project.runs += 1
        resume = ProjectResume(state=self._project, seq=self._seq)
        workflow.continue_as_new(start.model_copy(update={"resume": resume}))

    # -- writing it down --------------------------------------------------------------------

    async def _record(self, type_: str, actor: str, data: dict) -> int:
        self._seq += 1
        event = ProjectEvent(
            project_id=self._project.project_id, seq=self._seq, type=type_, at=workflow.now(), actor=actor,
            data=data, state=self._project.model_copy(deep=True),
        )
        try:
            await workflow.execute_activity(RECORD_PROJECT_EVENT, event, **LOCAL_WRITE)
        except ActivityError as err:
            if not workflow.patched(HARDENED_PATCH):
                raise
            self._needs_attention(f"event #{event.seq} ({type_}) was not recorded", err)
        return event.seq

    def _needs_attention(self, what: str, err: ActivityError) -> None:
        """A write failed for good: the project goes on, and says so in its state and in the
        Temporal UI (``NeedsAttention``)."""
        record = attention(what, err)
        workflow.logger.error("project %s needs attention: %s (%s)", self._project.project_id, what, record.error)
        self._project.attention.append(record)
        self._publish()

    async def _tell(self, told: list[ProjectNotice], seq: int) -> None:
        """Queue each message of an event once (keyed by workflow, event, message, recipient)
        and start its delivery as a workflow of its own; never wait on a channel."""
        if not told or not workflow.patched(MESSAGES_PATCH):
            return
        wid = workflow.info().workflow_id
        for notice in told:
            request = ProjectNotificationRequest(
                project_id=self._project.project_id, key=message_key(wid, seq, notice), template=notice.template,
                recipient=notice.recipient, context=notice.context, at=workflow.now(),
            )
            try:
                plan = await workflow.execute_activity(QUEUE_PROJECT_NOTIFICATION, request, result_type=DeliveryPlan,
                                                       **LOCAL_WRITE)
            except ActivityError as err:
                # A write or template error no retry mends: the project goes on without it.
                workflow.logger.error("message %s to %s not queued: %s", notice.template, notice.recipient, err.cause)
                if workflow.patched(HARDENED_PATCH):
                    self._needs_attention(f"message {notice.template} to {notice.recipient} was not queued", err)
                continue
            delivery = await start_delivery(plan, id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE)
            if delivery is None:
                continue  # delivered already (a retried queue returns the same row), or a supervisor's retry
            self._deliveries += 1
            asyncio.create_task(self._delivered(delivery))

    async def _delivered(self, delivery) -> None:
        try:
            await delivery  # a dead letter is the delivery's own result; the project goes on
        except Exception as err:  # noqa: BLE001 - a failed delivery is in its own history
            workflow.logger.warning("delivery %s failed: %s", delivery.id, err)
        finally:
            self._deliveries -= 1
            self._changes += 1  # the main loop may continue as new now

    def _publish(self) -> None:
        workflow.upsert_search_attributes([
            sa.PROJECT_ID.value_set(self._project.project_id),
            sa.PROJECT_STAGE.value_set(self._project.stage.value),
        ] + ([sa.NEEDS_ATTENTION.value_set(True)] if self._project.attention else []))
        workflow.set_current_details(human_details(self._project))
