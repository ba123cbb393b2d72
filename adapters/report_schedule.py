"""The ``weekly-report`` Temporal Schedule: every Monday at the policy's hour (09:00), in
the company's time zone, it starts ``WeeklyReport``. The worker makes sure it exists at
start-up: created when missing, its timing brought in line when the policy or the time
zone changed, and left alone otherwise (so a paused schedule stays paused).
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


async def ensure_weekly_report_schedule(client: Client, report: WeeklyReportPolicy, zone: str, task_queue: str) -> str:
    """Create the schedule if it is missing; fix its timing if it differs. Returns what it did."""
    wanted = weekly_schedule(report, zone, task_queue)
    try:
        await client.create_schedule(SCHEDULE_ID, wanted)
        log.info("schedule %s created: Mondays %02d:%02d %s", SCHEDULE_ID, report.hour, report.minute, zone)
        return "created"
    except ScheduleAlreadyRunningError:
        pass
    handle = client.get_schedule_handle(SCHEDULE_ID)
    current = (await handle.describe()).schedule
    same = [(c.hour, c.minute, c.day_of_week) for c in current.spec.calendars] == [
        (c.hour, c.minute, c.day_of_week) for c in wanted.spec.calendars
    ]
    if same and current.spec.time_zone_name == zone:
        return "unchanged"

    def retime(update: ScheduleUpdateInput) -> ScheduleUpdate:
        schedule = update.description.schedule
        schedule.spec = wanted.spec
        return ScheduleUpdate(schedule=schedule)

    await handle.update(retime)
    log.info("schedule %s retimed: Mondays %02d:%02d %s", SCHEDULE_ID, report.hour, report.minute, zone)
    return "updated"
