"""The weekly report: the workflow on the time-skipping server, and the schedule on the dev
server (the Java time-skipping server does not implement schedules: CreateSchedule answers
"unimplemented"), where ``python worker.py`` creates it at start-up."""

import asyncio
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta

from conftest import BIN, DEFAULT_POLICY, ROOT, eventually, make_settings, new_worker, task_queue
from kpi_fixtures import REPORT_TIME, SHANGHAI, write_week
from sqlalchemy import select
from temporalio.client import ScheduleBackfill, ScheduleOverlapPolicy
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from adapters.report_schedule import SCHEDULE_ID, ensure_weekly_report_schedule, weekly_schedule
from adapters.schedules import REVIEW_SCHEDULE_ID
from adapters.storage.tables import Notification, ReportRow
from domain import search_attributes as sa
from domain.targets import WeeklyReportPolicy
from domain.weekly_report import WeeklyReportRun, report_key, week_before
from workflows.report import WeeklyReport


def reports(db) -> list[ReportRow]:
    with db.session() as session:
        return list(session.scalars(select(ReportRow).order_by(ReportRow.id)))


def report_messages(db) -> list[Notification]:
    with db.session() as session:
        return list(session.scalars(select(Notification).where(Notification.template == "weekly_report")))


async def test_the_report_of_the_week_lands_in_the_outbox_once(env, pg_url, db, executor):
    numbers = write_week(db)
    settings = make_settings(pg_url, DEFAULT_POLICY, temporal_task_queue=task_queue())
    async with new_worker(env.client, settings, db, executor):
        stored = await asyncio.wait_for(
            env.client.execute_workflow(WeeklyReport.run, WeeklyReportRun(fired_at=REPORT_TIME), id="weekly-report-test",
                                        task_queue=settings.temporal_task_queue), 60)
        # run again later that week (a manual trigger): the same report, no second message
        again = await asyncio.wait_for(
            env.client.execute_workflow(WeeklyReport.run, WeeklyReportRun(fired_at=REPORT_TIME + timedelta(days=2)),
                                        id="weekly-report-test-2", task_queue=settings.temporal_task_queue), 60)
    assert (stored.key, stored.new) == ("weekly:2026-11-16", True)
    assert (again.id, again.new) == (stored.id, False)
    [row] = reports(db)
    assert row.document["breached_cases"] == sorted([numbers["R2"], numbers["C2"], numbers["X1"]])
    assert "售后问题周报 2026-11-16 至 2026-11-22" in row.html and "<svg" in row.html
    [message] = report_messages(db)
    assert (message.case_id, message.recipient, message.key) == (None, "manager", "weekly:2026-11-16:manager")
    assert message.subject == "【周报】售后问题周报 2026-11-16 至 2026-11-22"
    # KPIs against targets, the top problem, breaches, technicians above the limit
    assert "投诉处理及时率：50.0%（1/2），目标 90.0%，未达标" in message.body
    assert "家具 · 实木床架 · BF-1200：3 单" in message.body
    assert "响应超时 3 次" in message.body
    assert "tech-2：50.0%（1 单投诉 / 2 单完工）" in message.body


def shanghai_monday_nine(moment: datetime) -> bool:
    local = moment.astimezone(SHANGHAI)
    return (local.weekday(), local.hour, local.minute, local.second) == (0, 9, 0, 0)


def start_worker(env: WorkflowEnvironment, pg_url: str, queue: str, log) -> subprocess.Popen:
    variables = {
        **os.environ,
        "AFTERSALES_DATABASE_URL": pg_url,
        "AFTERSALES_TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
        "AFTERSALES_TEMPORAL_TASK_QUEUE": queue,
        "AFTERSALES_POLICY": str(DEFAULT_POLICY),
        "AFTERSALES_TIMEZONE": "Asia/Shanghai",
    }
    return subprocess.Popen([sys.executable, "worker.py"], cwd=ROOT, env=variables, stdout=log, stderr=subprocess.STDOUT)


async def test_the_worker_creates_the_monday_schedule_whose_runs_report_their_week(pg_url, db, tmp_path):
    env = await WorkflowEnvironment.start_local(
        data_converter=pydantic_data_converter, dev_server_existing_path=str(BIN / "temporal"),
        search_attributes=list(sa.ALL), ui=False,
    )
    queue = task_queue()
    log = open(tmp_path / "worker.log", "w")
    worker = start_worker(env, pg_url, queue, log)
    try:
        handle = env.client.get_schedule_handle(SCHEDULE_ID)

        async def described():
            try:
                return await handle.describe()
            except Exception:
                return None

        description = await eventually(described, timeout=60)
        # Mondays at 09:00 in Shanghai: the next ten runs, each 01:00 UTC on a Monday
        upcoming = description.info.next_action_times
        assert len(upcoming) == 10 and all(shanghai_monday_nine(t) for t in upcoming), upcoming
        assert [b - a for a, b in zip(upcoming, upcoming[1:])] == [timedelta(days=7)] * 9
        assert description.schedule.spec.time_zone_name == "Asia/Shanghai"
        # The worker keeps the daily review of complaint rates too: every day at 06:00 there
        daily = (await env.client.get_schedule_handle(REVIEW_SCHEDULE_ID).describe()).info.next_action_times
        assert all((t.astimezone(SHANGHAI).hour, t.astimezone(SHANGHAI).minute) == (6, 0) for t in daily), daily
        assert [b - a for a, b in zip(daily, daily[1:])] == [timedelta(days=1)] * (len(daily) - 1)

        # At start-up again: nothing changes; a new hour in the policy retimes it
        policy = WeeklyReportPolicy()
        assert await ensure_weekly_report_schedule(env.client, policy, "Asia/Shanghai", queue) == "unchanged"
        assert await ensure_weekly_report_schedule(env.client, policy.model_copy(update={"hour": 8}), "Asia/Shanghai", queue) == "updated"
        assert all((t.astimezone(SHANGHAI).hour == 8) for t in (await handle.describe()).info.next_action_times)
        assert await ensure_weekly_report_schedule(env.client, policy, "Asia/Shanghai", queue) == "updated"

        # A Monday 09:00 three weeks back, replayed by a backfill of the two days around it:
        # exactly one run, and it reports the week before *that* Monday (the time it was
        # scheduled for, not the time it ran)
        now = datetime.now(UTC)
        monday = week_before(now, SHANGHAI).end + timedelta(hours=9) - timedelta(days=14)
        await handle.backfill(ScheduleBackfill(start_at=monday - timedelta(days=1), end_at=monday + timedelta(days=1),
                                               overlap=ScheduleOverlapPolicy.ALLOW_ALL))
        await eventually(lambda: reports(db), timeout=60)
        [row] = reports(db)
        assert row.key == report_key(week_before(monday, SHANGHAI), SHANGHAI)
        assert shanghai_monday_nine(row.period_end + timedelta(hours=9))
        await eventually(lambda: report_messages(db), timeout=30)

        # Triggered by hand now: the report of the week before today; the same week is never
        # reported or sent twice
        await handle.trigger()
        keys = {row.key, report_key(week_before(now, SHANGHAI), SHANGHAI)}
        await eventually(lambda: len(reports(db)) == len(keys) and len(report_messages(db)) == len(keys), timeout=60)
        assert {r.key for r in reports(db)} == keys
        assert all(m.case_id is None and m.recipient == "manager" for m in report_messages(db))
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
        log.close()
        await env.shutdown()


async def test_a_schedule_on_another_task_queue_or_starting_another_run_is_brought_in_line():
    env = await WorkflowEnvironment.start_local(
        data_converter=pydantic_data_converter, dev_server_existing_path=str(BIN / "temporal"),
        search_attributes=list(sa.ALL), ui=False,
    )
    policy, old, new = WeeklyReportPolicy(), task_queue(), task_queue()
    try:
        handle = env.client.get_schedule_handle(SCHEDULE_ID)
        assert await ensure_weekly_report_schedule(env.client, policy, "Asia/Shanghai", old) == "created"
        await handle.pause(note="paused by a manager")
        assert await ensure_weekly_report_schedule(env.client, policy, "Asia/Shanghai", old) == "unchanged"
        # AFTERSALES_TEMPORAL_TASK_QUEUE changed: the runs must start where the worker polls now
        assert await ensure_weekly_report_schedule(env.client, policy, "Asia/Shanghai", new) == "updated"
        description = await handle.describe()
        assert description.schedule.action.task_queue == new
        assert description.schedule.state.paused and description.schedule.state.note == "paused by a manager"
        assert await ensure_weekly_report_schedule(env.client, policy, "Asia/Shanghai", new) == "unchanged"
        # a schedule left by an older worker: another workflow id, timeout and overlap policy
        await handle.delete()
        stale = weekly_schedule(policy, "Asia/Shanghai", new)
        stale.action.id, stale.action.execution_timeout = "weekly-report-v0", timedelta(hours=2)
        stale.policy.overlap = ScheduleOverlapPolicy.ALLOW_ALL
        await env.client.create_schedule(SCHEDULE_ID, stale)
        assert await ensure_weekly_report_schedule(env.client, policy, "Asia/Shanghai", new) == "updated"
        action = (await handle.describe()).schedule.action
        assert (action.workflow, action.id, action.task_queue, action.execution_timeout) == (
            "WeeklyReport", "weekly-report", new, timedelta(days=1))
        assert (await handle.describe()).schedule.policy.overlap == ScheduleOverlapPolicy.SKIP
    finally:
        await env.shutdown()
