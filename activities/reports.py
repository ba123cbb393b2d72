"""Activities of the weekly report: compile and store the week's report, queue it to the
managers. Plain ``def`` activities on the worker's thread pool; both are idempotent by the
report's key (one report per week, one message per week and role)."""

from __future__ import annotations

from datetime import datetime

from temporalio import activity

from activities.contracts import COMPILE_WEEKLY_REPORT, QUEUE_WEEKLY_REPORT
from activities.failures import classified
from activities.notifications import NotificationActivities
from adapters.notify import outbox
from adapters.reports import source, weekly
from adapters.storage.tables import ReportRow
from domain.delivery import DeliveryPlan
from domain.kpi import Period
from domain.weekly_report import StoredReport, WeeklyReport, compile_weekly, week_before, window

REPORT_MESSAGE = "weekly_report"  # the outbox row's template name


class ReportActivities:
    def __init__(self, notifications: NotificationActivities):
        self.notifications = notifications  # the database, the policy, the outbox's routes
        self.db = notifications.db
        self.policy = notifications.policy
        self.zone = notifications.renderer.zone
        self.pages = weekly.ReportPages(self.zone, notifications.renderer.company)

    @activity.defn(name=COMPILE_WEEKLY_REPORT)
    def compile_weekly_report(self, fired_at: datetime) -> StoredReport:
        # The server's clock (skipped in tests), as for deliveries: "now" for overdue clocks.
        now = activity.info().current_attempt_scheduled_time
        period = week_before(fired_at, self.zone)
        discipline = self.policy.discipline
        settings = self.policy.kpi
        span = Period(min(period.start, window(period, discipline).start), period.end)
        with classified(f"compiling the report of {period.start:%Y-%m-%d}"):
            with self.db.session() as session:
                records = source.case_records(session, span)
            report = compile_weekly(records, period, self.zone, now, settings.targets, discipline,
                                    settings.weekly_report.top_problems)
            locale = self.policy.notify.staff_locale
            html = self.pages.html(report, locale, settings.targets)
            with self.db.session() as session:
                row, new = weekly.store(session, report, self.pages.title(report, locale), html, now)
                stored = StoredReport(id=row.id, key=row.key, new=new)
        activity.logger.info("weekly report %s %s (#%d)", stored.key, "stored" if new else "already stored", stored.id)
        return stored

    @activity.defn(name=QUEUE_WEEKLY_REPORT)
    def queue_weekly_report(self, report_id: int) -> list[DeliveryPlan]:
        """One message per recipient role, keyed by the report's key and the role."""
        now = activity.info().current_attempt_scheduled_time
        box = self.notifications._outbox_at(now)
        plans = []
        with classified(f"queuing report #{report_id}"), self.db.session() as session:
            row = session.get(ReportRow, report_id)
            report = WeeklyReport.model_validate(row.document)
            text = self.pages.message(report, self.policy.notify.staff_locale)
            for role in self.policy.kpi.weekly_report.recipients:
                queued = outbox.queue_staff_message(
                    session, box, key=f"{row.key}:{role}", template=REPORT_MESSAGE, role=role, text=text, at=now, now=now
                )
                plans.append(
                    DeliveryPlan(
                        notification_id=queued.id, not_before=queued.not_before, channels=queued.channels,
                        retry=self.policy.notify.retry, summary=f"{REPORT_MESSAGE} to {role} · {row.key}",
                    )
                )
        return plans

    def all(self) -> list:
        return [self.compile_weekly_report, self.queue_weekly_report]
