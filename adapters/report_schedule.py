"""The ``weekly-report`` Temporal Schedule: every Monday at the policy's hour (09:00), in
the company's time zone, it starts ``WeeklyReport``. The worker makes sure it exists at
start-up: created when missing, brought in line when the policy, the time zone, the task
queue or what it starts changed, and left alone otherwise (a paused schedule stays paused).
"""

from __future__ import annotations

from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleCalendarSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
)

from adapters.schedules import ensure_schedule

from domain.targets import WeeklyReportPolicy
from domain.weekly_report import WeeklyReportRun
from workflows.report import WeeklyReport

SCHEDULE_ID = "weekly-report"
MONDAY = 1  # Temporal counts the days of the week from Sunday = 0


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
    """Create the schedule if it is missing; bring its timing, its action (the workflow, its
    id, the task queue the worker polls) and its policy in line if any differs, keeping its
    state (a paused schedule stays paused). Returns what it did."""
    return await ensure_schedule(client, SCHEDULE_ID, weekly_schedule(report, zone, task_queue))
