"""The outbox as the desk and supervisors see it: a case's messages, dead letters, retries."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from fastapi import HTTPException, status
from starlette.concurrency import run_in_threadpool
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from adapters.notify import delivery, outbox
from adapters.notify.templates import Renderer
from adapters.storage import cases as case_file
from adapters.storage.tables import Case, Notification
from api.deps import AppContext
from api.schemas import NotificationOut, notification_out
from domain.delivery import DeliveryPlan, delivery_workflow_id
from workflows.delivery import DeliverNotification

log = logging.getLogger("aftersales.api")


def _outbox(ctx: AppContext) -> outbox.Outbox:
    return outbox.Outbox(
        renderer=Renderer(ctx.settings.zone, ctx.settings.company_name, ctx.settings.company_phone),
        policy=ctx.policy.notify,
        calendar=ctx.calendar,
        channels=frozenset(delivery.configured_channels(ctx.settings)),
        staff_email=ctx.settings.staff_emails(),
    )


async def for_case(ctx: AppContext, case_no: str) -> list[NotificationOut]:
    def read() -> list[NotificationOut] | None:
        with ctx.db.session() as session:
            case = case_file.get_case(session, case_no)
            if case is None:
                return None
            return [notification_out(row, case_no) for row in outbox.for_case(session, case.id)]

    found = await run_in_threadpool(read)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no case {case_no}")
    return found


async def dead_letters(ctx: AppContext, *, page: int, page_size: int) -> tuple[list[NotificationOut], int]:
    def read() -> tuple[list[NotificationOut], int]:
        with ctx.db.session() as session:
            rows, total = outbox.with_status(session, "dead", limit=page_size, offset=(page - 1) * page_size)
            return [notification_out(row, case_no) for row, case_no in rows], total

    return await run_in_threadpool(read)


async def deliver_stranded(ctx: AppContext, older_than: timedelta = timedelta(minutes=1)) -> int:
    """Start the delivery of every message that is due but has no delivery workflow (queued
    by a case that began before messages were delivered). One that has one is left alone."""
    now = await ctx.clock()

    def read() -> list[DeliveryPlan]:
        with ctx.db.session() as session:
            return [
                DeliveryPlan(
                    notification_id=row.id,
                    not_before=row.not_before or row.created_at,
                    channels=[step["channel"] for step in row.route],
                    retry=ctx.policy.notify.retry,
                    summary=f"{row.template} to {row.recipient} · case #{row.case_id}",
                )
                for row in outbox.stranded(session, now - older_than)
            ]

    plans = await run_in_threadpool(read)
    if not plans:
        return 0
    client = await ctx.temporal.client()
    for plan in plans:
        try:
            await client.start_workflow(
                DeliverNotification.run,
                plan,
                id=delivery_workflow_id(plan.notification_id),
                task_queue=ctx.settings.temporal_task_queue,
                static_summary=plan.summary,
                # A delivery that runs for it (between retries) is left alone, one that ended
                # is not started again: never a second delivery of one message.
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            )
        except WorkflowAlreadyStartedError:
            continue
        except RPCError as exc:  # this one waits for the next pass; the others go on
            log.warning("notification #%d: delivery not started: %s", plan.notification_id, exc.status.name)
    return len(plans)


async def retry(ctx: AppContext, notification_id: int, by: str) -> NotificationOut:
    """Send a dead letter again, now, over the channels configured today. It goes back to the
    queue first; if its delivery cannot be started it is a dead letter again."""

    def requeue() -> tuple[NotificationOut, list[str]]:
        with ctx.db.session() as session:
            row = session.get(Notification, notification_id)
            if row is None:
                raise HTTPException(status.HTTP_404_NOT_FOUND, f"no notification {notification_id}")
            if row.status != "dead":
                detail = f"notification {notification_id} is {row.status}, not a dead letter"
                raise HTTPException(status.HTTP_409_CONFLICT, detail)
            outbox.reroute(session, _outbox(ctx), row)
            delivery.reopen(session, notification_id, by)
            case_no = session.get(Case, row.case_id).case_no if row.case_id is not None else None
            return notification_out(row, case_no), [step["channel"] for step in row.route]

    out, channels = await run_in_threadpool(requeue)
    plan = DeliveryPlan(
        notification_id=notification_id,
        not_before=datetime.now(UTC),
        channels=channels,
        retry=ctx.policy.notify.retry,
        summary=f"{out.template} to {out.recipient} · {out.case_no or 'no case'} · retried by {by}",
    )
    try:
        client = await ctx.temporal.client()
        await client.start_workflow(
            DeliverNotification.run,
            plan,
            id=delivery_workflow_id(notification_id),
            task_queue=ctx.settings.temporal_task_queue,
            static_summary=plan.summary,
            # The earlier delivery ended in the dead letter; one still running means a retry is on.
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
        )
    except WorkflowAlreadyStartedError:
        raise HTTPException(status.HTTP_409_CONFLICT, f"notification {notification_id} is already being delivered") from None
    except (RPCError, HTTPException) as exc:
        await run_in_threadpool(delivery.dead_letter, ctx.db, notification_id, "retry could not start: Temporal unreachable")
        detail = exc.detail if isinstance(exc, HTTPException) else f"Temporal is not reachable: {exc.message}"
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail) from None
    log.info("notification #%d retried by %s", notification_id, by)
    return out
