"""``AfterSalesCase``: one after-sales case from intake to closing, with its SLA clocks.

The workflow records the case, acknowledges it to the customer, then races each clock
(response, plan, resolution) against the desk action that meets it. A clock that reaches
its warning point warns the assignee; one that runs out records the breach, tells the
escalation chain and keeps escalating level by level; the work goes on regardless.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta, timezone

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.contracts import QUEUE_NOTIFICATION, RECORD_CASE_EVENT
    from domain import search_attributes as sa
    from domain.case import (
        ACTIONS,
        ActionInput,
        ActionRecord,
        CaseEvent,
        CaseFacts,
        CaseStart,
        CaseState,
        EscalateInput,
        EscalationRecord,
        NotificationRequest,
        human_details,
        refusal,
        workflow_id,
    )
    from domain.clocks import ClockState, Milestone
    from domain.models import Stage
    from domain.policy import EscalationChain

# The case file and the outbox are local writes; a minute covers a slow database, and the
# retry policy keeps trying (with backoff) through an outage: nothing is dropped.
_ACTIVITY = dict(
    start_to_close_timeout=timedelta(seconds=60),
    retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30)),
)

ILLEGAL_ACTION = "IllegalAction"


@workflow.defn
class AfterSalesCase:
    @workflow.init
    def __init__(self, start: CaseStart) -> None:
        facts = start.model_dump(include=set(CaseFacts.model_fields))
        self._case = CaseState(**facts, clocks=start.clocks)
        self._chain: EscalationChain = start.escalation
        # A fixed offset: ZoneInfo reads files, which the sandbox forbids.
        self._zone = timezone(timedelta(minutes=start.utc_offset_minutes))
        self._seq = 0

    @workflow.run
    async def run(self, start: CaseStart) -> CaseState:
        await self._record("opened", "desk", {"channel": start.channel.value, "policy": start.policy})
        response = self._case.clock(ACTIONS["respond"].meets)
        await self._notify("customer", "acknowledgement", {"reply_by": response.deadline.isoformat()})
        self._publish()
        clocks = [asyncio.create_task(self._run_clock(clock)) for clock in self._case.clocks]
        await workflow.wait_condition(lambda: self._case.stage == Stage.closed and workflow.all_handlers_finished())
        for task in clocks:
            task.cancel()
        return self._case

    # -- the state ------------------------------------------------------------------------

    @workflow.query
    def state(self) -> CaseState:
        return self._case

    # -- desk actions: updates, refused with a reason when out of order ------------------

    @workflow.update
    async def respond(self, action: ActionInput) -> CaseState:
        return await self._act("respond", action)

    @respond.validator
    def _check_respond(self, action: ActionInput) -> None:
        self._check("respond")

    @workflow.update
    async def propose_plan(self, action: ActionInput) -> CaseState:
        return await self._act("propose_plan", action)

    @propose_plan.validator
    def _check_propose_plan(self, action: ActionInput) -> None:
        self._check("propose_plan")

    @workflow.update
    async def resolve(self, action: ActionInput) -> CaseState:
        return await self._act("resolve", action)

    @resolve.validator
    def _check_resolve(self, action: ActionInput) -> None:
        self._check("resolve")

    @workflow.update
    async def close(self, action: ActionInput) -> CaseState:
        return await self._act("close", action)

    @close.validator
    def _check_close(self, action: ActionInput) -> None:
        self._check("close")

    def _check(self, name: str) -> None:
        reason = refusal(name, self._case.stage)
        if reason:
            raise ApplicationError(reason, type=ILLEGAL_ACTION, non_retryable=True)

    async def _act(self, name: str, action: ActionInput) -> CaseState:
        # Checked again here: two updates accepted in one task both passed their validator.
        self._check(name)
        step = ACTIONS[name]
        now = workflow.now()
        # Mutate before the first await, so the next validator already sees the new stage.
        self._case.stage = step.target
        if step.meets is not None:
            self._case.clock(step.meets).met_at = now
        self._case.actions.append(ActionRecord(action=name, at=now, by=action.by, note=action.note))
        self._publish()
        await self._record(step.event, action.by, {"note": action.note} if action.note else {})
        return self._case

    # -- supervisors ------------------------------------------------------------------------

    @workflow.signal
    async def escalate(self, request: EscalateInput) -> None:
        """A supervisor escalates by hand (API, Temporal UI or ``temporal workflow signal``)."""
        if self._case.stage == Stage.closed:
            workflow.logger.warning("escalation of a closed case ignored")
            return
        record = EscalationRecord(
            level=request.level,
            at=workflow.now(),
            source="supervisor",
            reason=request.reason,
            by=request.by,
            notify=self._chain.recipients(request.level),
        )
        self._case.escalations.append(record)
        self._publish()
        await self._announce("escalated", record, "escalation")

    # -- the clocks -------------------------------------------------------------------------

    async def _run_clock(self, clock: ClockState) -> None:
        for milestone in clock.milestones:
            if milestone.kind == "warning" and clock.deadline <= workflow.now():
                continue  # received late: no point warning of a deadline already gone
            delay = (milestone.at - workflow.now()).total_seconds()
            if clock.met_at is None and delay > 0:
                try:
                    await workflow.wait_condition(
                        lambda: clock.met_at is not None,
                        timeout=delay,
                        timeout_summary=f"{clock.name.value} {milestone.kind} {milestone.level}",
                    )
                except asyncio.TimeoutError:
                    pass
            if clock.met_at is not None:
                return
            await self._reach(clock, milestone)

    async def _reach(self, clock: ClockState, milestone: Milestone) -> None:
        now = workflow.now()
        if milestone.kind == "warning":
            clock.warned_at = now
            self._publish()
            seq = await self._record("clock_warned", "system", {"clock": clock.name.value})
            for recipient in milestone.notify:
                await self._notify(recipient, "sla_warning", {"clock": clock.name.value, "deadline": clock.deadline.isoformat()}, seq)
            return
        if milestone.kind == "breach":
            clock.breached_at = now
        clock.level = milestone.level
        record = EscalationRecord(
            level=milestone.level,
            at=now,
            source="clock",
            clock=clock.name,
            reason=f"{clock.name.value} deadline {clock.deadline.isoformat()} passed",
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
        await workflow.execute_activity(RECORD_CASE_EVENT, event, **_ACTIVITY)
        return event.seq

    async def _notify(self, recipient: str, template: str, context: dict, seq: int | None = None) -> None:
        # One message per (event, recipient): the key makes a retried activity queue it once.
        key = f"{workflow_id(self._case.case_no)}:{seq or self._seq}:{template}:{recipient}"
        request = NotificationRequest(
            case_no=self._case.case_no, key=key, template=template, recipient=recipient, context=context
        )
        await workflow.execute_activity(QUEUE_NOTIFICATION, request, **_ACTIVITY)

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
