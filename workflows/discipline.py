"""``DisciplineReview``: the daily review of every technician's complaint rate, run by the
``discipline-review`` schedule (``adapters.schedules``). A rate rises without a new complaint
too (jobs leave the window, a cancelled case's jobs stop counting): those over the limit are
suspended and the supervisor is told, each message delivered by a workflow of its own. Keyed
by the day, so a rerun that day suspends and tells nobody twice.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.common import WorkflowIDReusePolicy

from workflows.conventions import LOCAL_WRITE, SCHEDULED_START
from workflows.delivery import start_delivery

with workflow.unsafe.imports_passed_through():
    from activities.contracts import REVIEW_TEAM
    from domain.delivery import DeliveryPlan
    from domain.discipline import TeamReview


@workflow.defn
class DisciplineReview:
    @workflow.run
    async def run(self, request: TeamReview) -> int:
        fired_at = request.fired_at or workflow.info().typed_search_attributes.get(SCHEDULED_START) or workflow.now()
        plans = await workflow.execute_activity(
            REVIEW_TEAM, TeamReview(fired_at=fired_at), result_type=list[DeliveryPlan], **LOCAL_WRITE
        )
        workflow.set_current_details(f"{len(plans)} technician(s) suspended")
        for plan in plans:
            await start_delivery(plan, id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE)
        return len(plans)
