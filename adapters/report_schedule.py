"""The ``weekly-report`` Temporal Schedule: every Monday at the policy's hour (09:00), in
the company's time zone, it starts ``WeeklyReport``. The worker makes sure it exists at
start-up: created when missing, brought in line when the policy, the time zone, the task
queue or what it starts changed, and left alone otherwise (a paused schedule stays paused).
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

from domain.targets import WeeklyReportPolicy
from domain.weekly_report import WeeklyReportRun
from workflows.report import WeeklyReport

SCHEDULE_ID = "weekly-report"
MONDAY = 1  # Temporal counts the days of the week from Sunday = 0
log = logging.getLogger("aftersales.worker")


def weekly_spec(report: WeeklyReportPolicy, zone: str) -> ScheduleSpec:
    # Tuples, as a described schedule reads them back, so that the two compare equal.
    calendar = ScheduleCalendarSpec(
        second=(ScheduleRange(0),),
        minute=(ScheduleRange(report.minute),),
        hour=(ScheduleRange(report.hour),),
        day_of_week=(ScheduleRange(MONDAY),),
        comment="the weekly after-sales problem report",
    )
    return ScheduleSpec(calendars=[calendar], time_zone_name=zone)


def weekly_schedule(report: WeeklyReportPolicy, zone: str, task_queue: str) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            WeeklyReport.run,
            WeeklyReportRun(),
            id="weekly-report",  # the schedule appends the time it was due
            task_queue=task_queue,
            execution_timeout=timedelta(days=1),
            static_summary="weekly after-sales problem report",
        ),
        spec=weekly_spec(report, zone),
        # A Monday missed while Temporal was down still gets its report within the week;
        # never two runs at once.
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=timedelta(days=6)),
    )


def _shape(schedule: Schedule) -> tuple:
    """What the worker sets on the schedule: its timing, what it starts and on which task
    queue, and its policy. A schedule read back compares equal to the one wanted when they
    agree on all of it."""
    action = schedule.action
    assert isinstance(action, ScheduleActionStartWorkflow)
    workflow = action.workflow if isinstance(action.workflow, str) else None
    return (
        [(c.second, c.minute, c.hour, c.day_of_week) for c in schedule.spec.calendars],
        schedule.spec.time_zone_name,
        (workflow, action.id, action.task_queue, action.execution_timeout),
        (schedule.policy.overlap, schedule.policy.catchup_window),
    )


async def ensure_weekly_report_schedule(client: Client, report: WeeklyReportPolicy, zone: str, task_queue: str) -> str:
    """Create the schedule if it is missing; bring its timing, its action (the workflow, its
    id, the task queue the worker polls) and its policy in line if any differs, keeping its
    state (a paused schedule stays paused). Returns what it did."""
    wanted = weekly_schedule(report, zone, task_queue)
    try:
        await client.create_schedule(SCHEDULE_ID, wanted)
        log.info("schedule %s created: Mondays %02d:%02d %s", SCHEDULE_ID, report.hour, report.minute, zone)
        return "created"
    except ScheduleAlreadyRunningError:
        pass
    handle = client.get_schedule_handle(SCHEDULE_ID)
    if _shape((await handle.describe()).schedule) == _shape(wanted):
        return "unchanged"

    def bring_in_line(update: ScheduleUpdateInput) -> ScheduleUpdate:
        schedule = update.description.schedule
        schedule.spec, schedule.action, schedule.policy = wanted.spec, wanted.action, wanted.policy
        return ScheduleUpdate(schedule=schedule)

    await handle.update(bring_in_line)
    log.info("schedule %s updated: Mondays %02d:%02d %s, task queue %s", SCHEDULE_ID, report.hour, report.minute, zone,
             task_queue)
    return "updated"
