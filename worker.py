"""The worker: every workflow and activity of the product on one task queue.

Run it with ``python worker.py``; SIGTERM or Ctrl-C stops it gracefully (running
activities get ``GRACEFUL_SHUTDOWN`` to finish; workflows simply resume on the next worker).
"""

from __future__ import annotations

import asyncio
import logging
import signal
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from functools import partial

from temporalio.client import Client
from temporalio.worker import Worker

from activities.case_file import CaseFileActivities
from activities.field_team import FieldTeamActivities
from activities.notifications import NotificationActivities
from activities.project_file import ProjectFileActivities
from activities.project_notifications import ProjectNotificationActivities
from activities.reports import ReportActivities
from adapters.notify.delivery import configured_channels
from adapters.report_schedule import ensure_weekly_report_schedule
from adapters.schedules import ensure_daily_review_schedule
from adapters.notify.templates import Renderer
from adapters.storage import field_team
from adapters.storage.db import Database
from adapters.storage.field_team import Sampling
from domain.policy import load_policy
from settings import Settings, get_settings
from workflows.case import AfterSalesCase
from workflows.delivery import DeliverNotification
from workflows.discipline import DisciplineReview
from workflows.project import ProjectLifecycle
from workflows.report import WeeklyReport

WORKFLOWS = [AfterSalesCase, DeliverNotification, ProjectLifecycle, WeeklyReport, DisciplineReview]
GRACEFUL_SHUTDOWN = timedelta(seconds=10)
ACTIVITY_THREADS = 16  # activities block on the database; one thread each
log = logging.getLogger("aftersales.worker")


def notification_activities(settings: Settings, db: Database) -> NotificationActivities:
    renderer = Renderer(settings.zone, settings.company_name, settings.company_phone)
    channels = configured_channels(settings)
    return NotificationActivities(db, renderer, load_policy(settings.policy), channels, settings.staff_emails())


def build_worker(client: Client, settings: Settings, db: Database, executor: ThreadPoolExecutor) -> Worker:
    notifications = notification_activities(settings, db)
    policy = notifications.policy
    sampling = Sampling(policy.discipline.quality_sample_rate, settings.quality_sample_seed)
    case_file = CaseFileActivities(db, notifications.renderer, policy, settings.case_prefix,
                                   partial(field_team.project, sampling=sampling))
    field = FieldTeamActivities(notifications)
    return Worker(
        client,
        task_queue=settings.temporal_task_queue,
        workflows=WORKFLOWS,
        activities=case_file.all() + notifications.all() + field.all() + ProjectFileActivities(db, settings.company_name, settings.company_phone).all()
        + ReportActivities(notifications).all() + ProjectNotificationActivities(notifications).all(),
        activity_executor=executor,
        max_concurrent_activities=ACTIVITY_THREADS,
        graceful_shutdown_timeout=GRACEFUL_SHUTDOWN,
    )


async def _ensure_schedules(client: Client, settings: Settings) -> None:
    policy = load_policy(settings.policy)
    await ensure_weekly_report_schedule(client, policy.kpi.weekly_report, settings.timezone, settings.temporal_task_queue)
    await ensure_daily_review_schedule(client, policy.discipline, settings.timezone, settings.temporal_task_queue)


async def main() -> None:
    from adapters.temporal_client import connect

    settings = get_settings()
    client = await connect(settings.temporal_address, settings.temporal_namespace)
    db = Database(settings.database_url)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    with ThreadPoolExecutor(max_workers=ACTIVITY_THREADS) as executor:
        worker = build_worker(client, settings, db, executor)
        await _ensure_schedules(client, settings)
        async with worker:
            log.info("worker polling task queue %s on %s", settings.temporal_task_queue, settings.temporal_address)
            await stop.wait()
            log.info("worker stopping")
    db.dispose()


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    asyncio.run(main())
