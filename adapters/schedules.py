"""The worker's Temporal Schedules, kept in line at start-up: created when missing, brought
in line when what the worker wants of them changed (timing, time zone, what they start, the
task queue, the policy), left alone otherwise (a paused schedule stays paused). The weekly
report's is in ``adapters.report_schedule``; the daily review of complaint rates is here.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)

from domain.discipline import DisciplinePolicy, TeamReview
from workflows.discipline import DisciplineReview

REVIEW_SCHEDULE_ID = "discipline-review"
log = logging.getLogger("aftersales.worker")


def _shape(schedule: Schedule) -> tuple:
    """What the worker sets on a schedule. A schedule read back compares equal to the one
    wanted when they agree on all of it."""
    action = schedule.action
    assert isinstance(action, ScheduleActionStartWorkflow)
    workflow = action.workflow if isinstance(action.workflow, str) else None
    return (
        [(c.second, c.minute, c.hour, c.day_of_week) for c in schedule.spec.calendars],
        schedule.spec.time_zone_name,
        (workflow, action.id, action.task_queue, action.execution_timeout),
        (schedule.policy.overlap, schedule.policy.catchup_window),
    )


async def ensure_schedule(client: Client, schedule_id: str, wanted: Schedule) -> str:
    """Create the schedule, or bring an existing one in line; returns what it did."""
    try:
        await client.create_schedule(schedule_id, wanted)
        log.info("schedule %s created", schedule_id)
        return "created"
    except ScheduleAlreadyRunningError:
        pass
    handle = client.get_schedule_handle(schedule_id)
    if _shape((await handle.describe()).schedule) == _shape(wanted):
        return "unchanged"

    def bring_in_line(update: ScheduleUpdateInput) -> ScheduleUpdate:
        schedule = update.description.schedule
        schedule.spec, schedule.action, schedule.policy = wanted.spec, wanted.action, wanted.policy
        return ScheduleUpdate(schedule=schedule)

    await handle.update(bring_in_line)
    log.info("schedule %s updated", schedule_id)
    return "updated"


def daily_review_schedule(policy: DisciplinePolicy, zone: str, task_queue: str) -> Schedule:
    calendar = ScheduleCalendarSpec(
        second=(ScheduleRange(0),),
        minute=(ScheduleRange(0),),
        hour=(ScheduleRange(policy.review_hour),),
        comment="the daily review of the technicians' complaint rates",
    )
    return Schedule(
        action=ScheduleActionStartWorkflow(
            DisciplineReview.run,
            TeamReview(),
            id=REVIEW_SCHEDULE_ID,  # the schedule appends the time it was due
            task_queue=task_queue,
            execution_timeout=timedelta(hours=6),
            static_summary="daily review of complaint rates",
        ),
        spec=ScheduleSpec(calendars=[calendar], time_zone_name=zone),
        # A day missed while Temporal was down is reviewed when it is back, that day.
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=timedelta(hours=18)),
    )


async def ensure_daily_review_schedule(client: Client, policy: DisciplinePolicy, zone: str, task_queue: str) -> str:
    return await ensure_schedule(client, REVIEW_SCHEDULE_ID, daily_review_schedule(policy, zone, task_queue))
