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
from datetime import timedelta, timezone

from temporalio import workflow
from temporalio.exceptions import ActivityError

from workflows.conventions import LOCAL_WRITE, refusal
from workflows.delivery import start_delivery
from workflows.field_team import FieldTeamWork

with workflow.unsafe.imports_passed_through():
    from activities.contracts import ARCHIVE_CASE, QUEUE_NOTIFICATION, RECORD_CASE_EVENT
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
        NotificationRequest,
        QueuedNotification,
        human_details,
        workflow_id,
    )
    from domain.casework import Refused, apply, check, opened
    from domain.guards import not_assigned
    from domain.delivery import DeliveryPlan
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

    @workflow.run
    async def run(self, start: CaseStart) -> CaseState:
        await self._record("opened", "desk", {"channel": start.channel.value, "policy": start.policy})
        response = self._case.clock(ClockName.response)
        await self._notify("customer", "acknowledgement", {"reply_by": response.deadline.isoformat()})
        notices = opened(self._case, self._rules, workflow.now())
        self._publish()
        if notices:
            seq = await self._record("marked_major", "desk", {})
            for notice in notices:
                await self._notify(notice.recipient, notice.template, notice.context, seq)
        window = timedelta(seconds=self._rules.seconds("reopen_within"))
        while True:
            await self._watch_clocks()  # until the case is closed or cancelled
            await workflow.wait_condition(workflow.all_handlers_finished)
            await workflow.execute_activity(ARCHIVE_CASE, self._case.case_no, **LOCAL_WRITE)
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
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._case

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
        return self._case

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
        if milestone.kind == "due":
            self._publish()
            seq = await self._record("task_due", "system", {"clock": clock.name.value})
            template = _DUE_TEMPLATES.get(clock.name)
            context = {"clock": clock.name.value, "deadline": clock.deadline.isoformat()}
            for recipient in milestone.notify if template else ():
                await self._notify(recipient, template, context, seq)
            if customer_template := _DUE_CUSTOMER.get(clock.name):
                await self._notify("customer", customer_template, context, seq)
            return
        if milestone.kind == "warning":
            clock.warned_at = now
            self._publish()
            seq = await self._record("clock_warned", "system", {"clock": clock.name.value})
            for recipient in milestone.notify:
                await self._notify(recipient, "sla_warning", {"clock": clock.name.value, "deadline": clock.deadline.isoformat()}, seq)
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
            await self._announce("clock_breached", record, "sla_breach")
        else:
            await self._announce("escalated", record, "escalation")

    # -- writing it down --------------------------------------------------------------------

    async def _announce(self, event: str, record: EscalationRecord, template: str) -> None:
        data = record.model_dump(mode="json")
        seq = await self._record(event, record.by, data)
        for recipient in record.notify:
            await self._notify(recipient, template, data, seq)

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
        await workflow.execute_activity(RECORD_CASE_EVENT, event, **LOCAL_WRITE)
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
            # Only a template bug gets here (the outbox's writes retry through outages): the
            # case goes on without this message, and the failure is in the history.
            workflow.logger.error("message %s to %s not queued: %s", template, recipient, err.cause)
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
        )
        workflow.set_current_details(human_details(case, self._zone))
