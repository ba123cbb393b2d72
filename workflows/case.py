"""``AfterSalesCase``: one after-sales case from intake to its archived service file.

The workflow records the case, acknowledges it to the customer and then does two things at
once: it takes the desk's, the technician's and the supervisor's actions (one validated
update, ``act``, checked against the stage model of ``domain.process``), and it watches the
clocks (response, plan, resolution, and those the process starts: re-confirmation,
revisit, follow-up, the general manager's revisit, a consultation's reply). A clock that
reaches its warning point warns; one that runs out records the breach, tells the escalation
chain and keeps escalating; the work goes on regardless. A closed case is archived and kept
open for reopening for the policy's window, then the workflow ends.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import timedelta, timezone

from temporalio import workflow
from temporalio.exceptions import ActivityError, WorkflowAlreadyStartedError
from temporalio.workflow import ParentClosePolicy

from workflows.conventions import HARDENED_PATCH, LOCAL_WRITE, attention, refusal
from workflows.delivery import start_delivery
from workflows.field_team import FieldTeamWork

with workflow.unsafe.imports_passed_through():
    from activities.contracts import ARCHIVE_CASE, OPEN_LINKED_CASE, QUEUE_NOTIFICATION, RECORD_CASE_EVENT
    from domain import search_attributes as sa
    from domain.calendar import WorkingCalendar
    from domain.case import (
        ActionRequest,
        CaseEvent,
        CaseFacts,
        CaseStart,
        CaseState,
        EscalateInput,
        EscalationRecord,
        LinkedCase,
        NotificationRequest,
        QueuedNotification,
        human_details,
        human_summary,
        workflow_id,
    )
    from domain.casework import Refused, apply, check, opened
    from domain.guards import not_assigned
    from domain.delivery import DeliveryPlan
    from domain.effects import Notice
    from domain.clocks import ClockState, Milestone
    from domain.models import ClockName
    from domain.process import FINAL
    from domain.rules import Rules


# Cases started before this mark queue their messages without starting their delivery.
DELIVERY_PATCH = "deliver-notifications"


# What staff are told when a task falls due on a clock, and what the customer is told then.
_DUE_TEMPLATES = {ClockName.revisit: "revisit_due"}
_DUE_CUSTOMER = {ClockName.revisit: "revisit"}
# Messages added after cases were already running: those cases replay without them.
MESSAGES_PATCH = "customer-completion-and-revisit-messages"
_ADDED_MESSAGES = {"work_completed", "revisit"}
# Cases that dispatched before the field team's bookings replay without holding the time.
BOOKING_PATCH = "book-technicians"
_BOOKED = frozenset({"dispatch", "reschedule"})
# A complaint attributed to a technician reviews their complaint rate.
DISCIPLINE_PATCH = "review-attributed-complaints"


@workflow.defn
class AfterSalesCase(FieldTeamWork):
    @workflow.init
    def __init__(self, start: CaseStart) -> None:
        facts = start.model_dump(include=set(CaseFacts.model_fields))
        self._case = CaseState(**facts, clocks=start.clocks, major=start.major)
        self._rules = Rules(start.rules, WorkingCalendar(start.calendar))
        # A fixed offset: ZoneInfo reads files, which the sandbox forbids.
        self._zone = timezone(timedelta(minutes=start.calendar.utc_offset_minutes))
        self._seq = 0
        self._changes = 0  # bumped by every action, so the clock watch re-reads the clocks
        self._booking = asyncio.Lock()  # one dispatch or reschedule at a time: check, book, act
        self._writes = 0  # writes and messages handed to tasks of their own, not yet done
        self._alerting = False  # a supervisor is being told that the case needs attention

    @workflow.run
    async def run(self, start: CaseStart) -> CaseState:
        if self._hardened():
            # The intake's event and acknowledgement are written beside the clocks: a slow or
            # failing write never delays the first warning.
            self._beside(self._record_intake(start))
        else:
            await self._record_intake(start)
        notices = opened(self._case, self._rules, workflow.now())
        self._publish()
        if notices:
            await self._write(self._announce_notices("marked_major", "desk", {}, notices))
        window = timedelta(seconds=self._rules.seconds("reopen_within"))
        while True:
            await self._watch_clocks()  # until the case is closed or cancelled
            await workflow.wait_condition(lambda: workflow.all_handlers_finished() and not self._writes)
            await self._archive()
            archived = self._changes
            if self._case.stage not in FINAL:
                continue  # reopened while the file was being archived
            remaining = (self._case.closed_at + window - workflow.now()).total_seconds()
            if remaining <= 0:
                break
            try:
                # Kept open for a supervisor's reopening within the policy's window; a note
                # added meanwhile is archived again.
                await workflow.wait_condition(
                    lambda: self._case.stage not in FINAL or self._changes != archived,
                    timeout=remaining,
                    timeout_summary="reopening window",
                )
            except TimeoutError:
                break
        await workflow.wait_condition(lambda: workflow.all_handlers_finished() and not self._writes)
        return self._case

    async def _record_intake(self, start: CaseStart) -> None:
        seq = await self._record("opened", "desk", {"channel": start.channel.value, "policy": start.policy})
        response = self._case.clock(ClockName.response)
        await self._notify("customer", "acknowledgement", {"reply_by": response.deadline.isoformat()}, seq)

    async def _archive(self) -> None:
        try:
            await workflow.execute_activity(ARCHIVE_CASE, self._case.case_no, **LOCAL_WRITE)
        except ActivityError as err:
            if not self._hardened():
                raise
            self._needs_attention("the service file was not archived", err)

    # -- the state ------------------------------------------------------------------------

    @workflow.query
    def state(self) -> CaseState:
        return self._case

    # -- every action: one update, refused with a reason when the stage model says no -----

    @workflow.update
    async def act(self, request: ActionRequest) -> CaseState:
        if request.action in _BOOKED and workflow.patched(BOOKING_PATCH):
            async with self._booking:
                return await self._act_booked(request)
        return await self._act(request)

    async def _act(self, request: ActionRequest) -> CaseState:
        try:
            # Checked again inside: two updates accepted in one task both passed the validator.
            notices = apply(self._case, request, self._rules, workflow.now())
        except Refused as refused:
            raise refusal(refused) from None
        # Everything changed before the first await, so the next validator sees it.
        self._changes += 1
        self._publish()
        seq = await self._record(request.action, request.by, self._case.actions[-1].data)
        for notice in notices:
            await self._notify(notice.recipient, notice.template, notice.context, seq)
        technician = self._case.attributed_technician
        if request.action == "propose_solution" and technician and workflow.patched(DISCIPLINE_PATCH):
            await self._review(technician, seq)
        revisit = self._case.revisit
        if request.action == "record_revisit" and revisit and revisit.problem_found and self._hardened():
            await self._open_linked(revisit.problem, seq)
        return self._case

    async def _open_linked(self, problem: str, seq: int) -> None:
        """A problem heard at the revisit opens a new case for the same customer, linked to
        this one: written by an activity (once per revisit event), started as a workflow of
        its own that outlives this one. Before the answer, so the desk sees the link."""
        request = LinkedCase(case_no=self._case.case_no, problem=problem, at=workflow.now(),
                             key=f"revisit-problem:{workflow_id(self._case.case_no)}:{seq}")
        try:
            start = await workflow.execute_activity(OPEN_LINKED_CASE, request, result_type=CaseStart, **LOCAL_WRITE)
        except ActivityError as err:
            self._needs_attention(f"the case for the revisit's problem (event #{seq}) was not opened", err)
            return
        try:
            await workflow.start_child_workflow(
                "AfterSalesCase", start, id=workflow_id(start.case_no), static_summary=human_summary(start),
                parent_close_policy=ParentClosePolicy.ABANDON,
            )
        except WorkflowAlreadyStartedError:
            pass  # started already (a repair pass got there first): it is that case's own workflow

    @act.validator
    def _check_act(self, request: ActionRequest) -> None:
        try:
            check(self._case, request, self._rules, workflow.now())
        except Refused as refused:
            raise refusal(refused) from None
        # Checked here only: a validator does not run on replay, so histories from before
        # this rule (technicians acting under any name) still replay.
        if reason := not_assigned(self._case, request):
            raise refusal(Refused(reason, forbidden=True))

    # -- supervisors ------------------------------------------------------------------------

    @workflow.signal
    async def escalate(self, request: EscalateInput) -> None:
        """A supervisor escalates by hand (API, Temporal UI or ``temporal workflow signal``)."""
        if self._case.stage in FINAL:
            workflow.logger.warning("escalation of a finished case ignored")
            return
        record = EscalationRecord(
            level=request.level,
            at=workflow.now(),
            source="supervisor",
            reason=request.reason,
            by=request.by,
            notify=self._rules.policy.chain(self._case.kind).recipients(request.level),
        )
        self._case.escalations.append(record)
        self._publish()
        await self._announce("escalated", record, "escalation")

    # -- the clocks -------------------------------------------------------------------------

    def _next(self) -> tuple[ClockState, Milestone] | None:
        pending = [(m.at, i, c, m) for i, c in enumerate(self._case.clocks) if (m := c.next_milestone())]
        if not pending:
            return None
        _, _, clock, milestone = min(pending, key=lambda p: (p[0], p[1]))
        return clock, milestone

    async def _watch_clocks(self) -> None:
        """Wait for the next milestone of any clock; an action (which may meet, start, pause
        or replan a clock) interrupts the wait and the next milestone is chosen again."""
        while self._case.stage not in FINAL:
            upcoming = self._next()
            changes = self._changes
            if upcoming is not None and upcoming[1].at <= workflow.now():
                clock, milestone = upcoming
                if milestone.kind == "warning" and clock.deadline <= workflow.now():
                    # Planned (or replanned) with its deadline already gone: no point warning.
                    milestone.reached = True
                    continue
                await self._reach(clock, milestone)
                continue
            timeout = (upcoming[1].at - workflow.now()).total_seconds() if upcoming else None
            summary = f"{upcoming[0].name.value} {upcoming[1].kind}" if upcoming else "waiting for the desk"
            try:
                await workflow.wait_condition(
                    lambda: self._changes != changes or self._case.stage in FINAL,
                    timeout=timeout,
                    timeout_summary=summary,
                )
            except TimeoutError:
                # Its time came (even if the worker only sees it later): reach it now.
                await self._reach(*upcoming)

    async def _reach(self, clock: ClockState, milestone: Milestone) -> None:
        milestone.reached = True
        now = workflow.now()
        context = {"clock": clock.name.value, "deadline": clock.deadline.isoformat()}
        if milestone.kind == "due":
            self._publish()
            template = _DUE_TEMPLATES.get(clock.name)
            told = [Notice(r, template, context) for r in (milestone.notify if template else ())]
            if customer_template := _DUE_CUSTOMER.get(clock.name):
                told.append(Notice("customer", customer_template, context))
            await self._write(self._announce_notices("task_due", "system", {"clock": clock.name.value}, told))
            return
        if milestone.kind == "warning":
            clock.warned_at = now
            self._publish()
            told = [Notice(r, "sla_warning", context) for r in milestone.notify]
            await self._write(self._announce_notices("clock_warned", "system", {"clock": clock.name.value}, told))
            return
        if milestone.kind == "breach":
            clock.breached_at = now
        clock.level = max(clock.level, milestone.level)
        record = EscalationRecord(
            level=milestone.level,
            at=now,
            source="clock",
            clock=clock.name,
            reason=f"{clock.name.value} deadline {clock.deadline.astimezone(self._zone):%Y-%m-%d %H:%M:%S} passed",
            by="system",
            notify=milestone.notify,
        )
        self._case.escalations.append(record)
        self._publish()
        if milestone.kind == "breach":
            await self._write(self._announce("clock_breached", record, "sla_breach"))
        else:
            await self._write(self._announce("escalated", record, "escalation"))

    # -- writing it down --------------------------------------------------------------------

    def _hardened(self) -> bool:
        return workflow.patched(HARDENED_PATCH)

    async def _write(self, work: Awaitable[None]) -> None:
        """What a clock's milestone writes and sends: beside the clock watch (which goes on to
        the next milestone at once) in hardened runs, in line in older ones."""
        if self._hardened():
            self._beside(work)
        else:
            await work

    def _beside(self, work: Awaitable[None]) -> None:
        self._writes += 1

        async def done() -> None:
            try:
                await work
            finally:
                self._writes -= 1

        asyncio.create_task(done())

    async def _announce(self, event: str, record: EscalationRecord, template: str) -> None:
        data = record.model_dump(mode="json")
        seq = await self._record(event, record.by, data)
        for recipient in record.notify:
            await self._notify(recipient, template, data, seq)

    async def _announce_notices(self, event: str, actor: str, data: dict, told: list[Notice]) -> None:
        seq = await self._record(event, actor, data)
        for notice in told:
            await self._notify(notice.recipient, notice.template, notice.context, seq)

    def _needs_attention(self, what: str, err: ActivityError) -> None:
        """A write failed for good: the case goes on (its clocks too), says so in its state
        and in the Temporal UI (``NeedsAttention``), and the supervisors are told once."""
        record = attention(what, err)
        workflow.logger.error("case %s needs attention: %s (%s)", self._case.case_no, what, record.error)
        self._case.attention.append(record)
        self._publish()
        if self._alerting:
            return  # the alert itself failed: it is in the state and the history already
        self._alerting = True

        async def alert() -> None:
            try:
                await self._announce_notices("needs_attention", "system", record.model_dump(mode="json"),
                                             [Notice("supervisor", "needs_attention", {"what": what, "error": record.error})])
            finally:
                self._alerting = False

        self._beside(alert())

    async def _record(self, type_: str, actor: str, data: dict) -> int:
        self._seq += 1
        event = CaseEvent(
            case_no=self._case.case_no,
            seq=self._seq,
            type=type_,
            at=workflow.now(),
            actor=actor,
            data=data,
            state=self._case.model_copy(deep=True),
        )
        try:
            await workflow.execute_activity(RECORD_CASE_EVENT, event, **LOCAL_WRITE)
        except ActivityError as err:
            if not self._hardened():
                raise
            self._needs_attention(f"event #{event.seq} ({type_}) was not recorded", err)
        return event.seq

    async def _notify(self, recipient: str, template: str, context: dict, seq: int | None = None) -> None:
        if template in _ADDED_MESSAGES and not workflow.patched(MESSAGES_PATCH):
            return
        # One message per (event, recipient): the key makes a retried activity queue it once.
        key = f"{workflow_id(self._case.case_no)}:{seq or self._seq}:{template}:{recipient}"
        request = NotificationRequest(
            case_no=self._case.case_no, key=key, template=template, recipient=recipient, context=context, at=workflow.now()
        )
        try:
            queued = await workflow.execute_activity(QUEUE_NOTIFICATION, request, **LOCAL_WRITE)
        except ActivityError as err:
            # A write or template error no retry mends (the outbox's writes retry through
            # outages): the case goes on without this message.
            workflow.logger.error("message %s to %s not queued: %s", template, recipient, err.cause)
            if self._hardened() and not self._alerting:
                self._needs_attention(f"message {template} to {recipient} was not queued", err)
            return
        # Cases started before delivery existed only queued (their histories replay as such).
        if not workflow.patched(DELIVERY_PATCH):
            return
        # Queue, never wait on a channel: the delivery runs as a workflow of its own.
        queued = QueuedNotification.model_validate(queued)
        plan = DeliveryPlan(
            notification_id=queued.id,
            not_before=queued.not_before,
            channels=queued.channels,
            retry=self._rules.policy.notify.retry,
            summary=f"{template} to {recipient} · {self._case.case_no}",
        )
        await start_delivery(plan)  # None: a supervisor's retry got there first

    def _publish(self) -> None:
        """Search attributes and the human details follow every change of the case."""
        case = self._case
        deadline = case.next_deadline
        workflow.upsert_search_attributes(
            [
                sa.CASE_KIND.value_set(case.kind.value),
                sa.CASE_SEVERITY.value_set(case.severity.value),
                sa.CASE_STAGE.value_set(case.stage.value),
                sa.SLA_BREACHED.value_set(case.sla_breached),
                sa.ESCALATED.value_set(case.escalated),
                sa.NEXT_DEADLINE.value_set(deadline) if deadline else sa.NEXT_DEADLINE.value_unset(),
            ]
            # Only once something failed: older histories replay without the attribute.
            + ([sa.NEEDS_ATTENTION.value_set(True)] if case.attention else [])
        )
        workflow.set_current_details(human_details(case, self._zone))
