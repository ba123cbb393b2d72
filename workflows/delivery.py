"""``DeliverNotification``: one queued message, from the outbox to the person it is for.

Started by the workflow that queued the message (``start_delivery``: ``notification-<id>``,
abandoned when its parent ends) or by a supervisor retrying a dead letter. It waits until the message may go
out (quiet hours), then tries each channel of its route in turn, each with retries and
backoff; when the last one gives up, the message becomes a dead letter. A channel that is
down holds only this workflow, never the case.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ActivityError, ApplicationError, WorkflowAlreadyStartedError
from temporalio.workflow import ChildWorkflowHandle, ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from activities.contracts import DEAD_LETTER_NOTIFICATION, DELIVER_NOTIFICATION, NOT_IN_OUTBOX, REFUSED
    from domain.delivery import HEARTBEAT_TIMEOUT, DeadLetter, DeliveryAttempt, DeliveryPlan, Retry, delivery_workflow_id

_BOOKKEEPING = dict(
    start_to_close_timeout=timedelta(seconds=60),
    retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30)),
)

# Deliveries started before this mark gave an attempt the policy's attempt_timeout (3 s in the
# demo policy, less than the channel's own 10 s) and no heartbeat: Temporal tried again while
# the first request was still out. From it on, an attempt heartbeats and is given at least
# MIN_ATTEMPT_TIMEOUT (domain.delivery), more than a channel ever waits for its peer.
HEARTBEAT_PATCH = "delivery-attempts-heartbeat"


def _attempt_timeouts(retry: Retry, heartbeat: bool) -> dict:
    if not heartbeat:
        return dict(start_to_close_timeout=timedelta(seconds=retry.attempt_timeout))
    return dict(start_to_close_timeout=timedelta(seconds=retry.attempt_limit),
                heartbeat_timeout=timedelta(seconds=HEARTBEAT_TIMEOUT))


@workflow.defn
class DeliverNotification:
    @workflow.run
    async def run(self, plan: DeliveryPlan) -> str:
        wait = plan.not_before - workflow.now()
        if wait > timedelta(0):
            workflow.set_current_details(f"Held until {plan.not_before.isoformat()} (quiet hours)")
            await workflow.sleep(wait)
        retry = plan.retry
        timeouts = _attempt_timeouts(retry, workflow.patched(HEARTBEAT_PATCH))
        failures: list[str] = []
        for channel in plan.channels:
            workflow.set_current_details(f"Sending by {channel}")
            try:
                result = await workflow.execute_activity(
                    DELIVER_NOTIFICATION,
                    DeliveryAttempt(notification_id=plan.notification_id, channel=channel),
                    result_type=str,
                    **timeouts,
                    retry_policy=RetryPolicy(
                        initial_interval=timedelta(seconds=retry.first_interval),
                        backoff_coefficient=retry.backoff,
                        maximum_interval=timedelta(seconds=retry.max_interval),
                        maximum_attempts=retry.attempts,
                        non_retryable_error_types=[REFUSED, NOT_IN_OUTBOX],
                    ),
                )
            except ActivityError as err:
                cause = err.cause
                failures.append(cause.message if isinstance(cause, ApplicationError) else f"{channel}: {cause}")
                continue
            workflow.set_current_details(f"{result} by {channel}")
            return f"{result} by {channel}"
        reason = "; ".join(failures) or "no channel reaches this recipient (none configured, or no address)"
        await workflow.execute_activity(
            DEAD_LETTER_NOTIFICATION, DeadLetter(notification_id=plan.notification_id, reason=reason), **_BOOKKEEPING
        )
        workflow.set_current_details(f"Dead letter: {reason}")
        return "dead"


async def start_delivery(
    plan: DeliveryPlan, *, id_reuse_policy: WorkflowIDReusePolicy = WorkflowIDReusePolicy.ALLOW_DUPLICATE
) -> ChildWorkflowHandle | None:
    """Start the delivery of a queued message as a child its parent abandons when it ends
    (never waiting on a channel); None when the message's delivery is already running (a
    supervisor's retry, a retried queue) or, with ``REJECT_DUPLICATE``, has run before.
    Every workflow that sends messages starts them here: the command is the same for all."""
    try:
        return await workflow.start_child_workflow(
            DeliverNotification.run,
            plan,
            id=delivery_workflow_id(plan.notification_id),
            static_summary=plan.summary,
            parent_close_policy=ParentClosePolicy.ABANDON,
            id_reuse_policy=id_reuse_policy,
        )
    except WorkflowAlreadyStartedError:
        return None
