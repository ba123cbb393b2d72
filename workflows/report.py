"""``WeeklyReport``: the weekly after-sales problem report, run by the ``weekly-report``
schedule every Monday morning (``adapters.report_schedule``).

It compiles and stores the report of the week before the Monday it was scheduled for, queues
it to the managers through the outbox and starts each message's delivery, never waiting on
a channel. Every step is keyed by the week: a retried activity, a repeated run or a manual
trigger in the same week finds the stored report and the queued messages, and the delivery
of a message that already has one is not started again.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy, WorkflowIDReusePolicy

from workflows.conventions import SCHEDULED_START
from workflows.delivery import start_delivery

with workflow.unsafe.imports_passed_through():
    from activities.contracts import COMPILE_WEEKLY_REPORT, QUEUE_WEEKLY_REPORT
    from domain.delivery import DeliveryPlan
    from domain.weekly_report import StoredReport, WeeklyReportRun

_ACTIVITY = dict(
    start_to_close_timeout=timedelta(seconds=120),  # a quarter's cases are read for the complaint rates
    retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=60)),
)


@workflow.defn
class WeeklyReport:
    @workflow.run
    async def run(self, request: WeeklyReportRun) -> StoredReport:
        fired_at = request.fired_at or workflow.info().typed_search_attributes.get(SCHEDULED_START) or workflow.now()
        stored = await workflow.execute_activity(
            COMPILE_WEEKLY_REPORT, fired_at, result_type=StoredReport, **_ACTIVITY
        )
        workflow.set_current_details(f"Report {stored.key} (#{stored.id})")
        plans = await workflow.execute_activity(
            QUEUE_WEEKLY_REPORT, stored.id, result_type=list[DeliveryPlan], **_ACTIVITY
        )
        for plan in plans:
            # A delivery that ran already (an earlier run this week) is not run again.
            await start_delivery(plan, id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE)
        return stored
