"""Activities of the renovation project: write its file, plan its warranty calendar.

Plain ``def`` activities on the worker's thread pool. ``record_project_event`` is idempotent
by (project, seq); ``warranty_calendar`` only computes (the holidays package stays out of the
workflow sandbox), so a retry returns the same answer.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta, timezone

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.project_contracts import ISSUE_WARRANTY_CARD, RECORD_PROJECT_EVENT, WARRANTY_CALENDAR
from activities.failures import classified
from adapters.archive import warranty_card
from adapters.storage import projects
from adapters.storage.db import Database
from domain.calendar import CalendarSpec
from domain.greetings import GreetingPolicy, greeting_days
from domain.project import ProjectEvent, ProjectState, WarrantyCalendar, WarrantyCalendarRequest


class ProjectFileActivities:
    def __init__(self, db: Database, company: str = "", company_phone: str | None = None):
        self.db = db
        self.company, self.company_phone = company, company_phone

    @activity.defn(name=RECORD_PROJECT_EVENT)
    def record_project_event(self, event: ProjectEvent) -> bool:
        try:
            with classified(f"recording event #{event.seq} of {event.project_id}"), self.db.session() as session:
                written = projects.record_event(session, event)
        except LookupError as exc:
            # The API writes the project before it starts the workflow: no retry mends this.
            raise ApplicationError(str(exc), type="ProjectNotFound", non_retryable=True) from None
        activity.logger.info("project event %s #%d %s", event.project_id, event.seq, "written" if written else "already there")
        return written

    @activity.defn(name=WARRANTY_CALENDAR)
    def warranty_calendar(self, request: WarrantyCalendarRequest) -> WarrantyCalendar:
        zone = timezone(timedelta(minutes=request.utc_offset_minutes))
        start = datetime.combine(request.handover_on, time(12), zone)
        years = request.until.year - request.handover_on.year + 1
        with classified(f"planning the warranty calendar from {request.handover_on}"):
            spec = CalendarSpec.build(request.working_time, zone, start, years=years)
            policy = GreetingPolicy.model_validate(request.greetings)
            return WarrantyCalendar(calendar=spec, greetings=greeting_days(policy, request.handover_on, request.until))

    @activity.defn(name=ISSUE_WARRANTY_CARD)
    def issue_warranty_card(self, project_id: str) -> bool:
        """Render the card from the project file (the handover's terms are there by now) and
        keep it: printed again later, it is the card the customer was given."""
        now = datetime.now(UTC)

        def render(project) -> str:
            state = ProjectState.model_validate(project.state)
            today = state.warranty.handover_on
            return warranty_card.render(warranty_card.card_data(project, state), company=self.company,
                                        company_phone=self.company_phone, today=today)

        try:
            with classified(f"issuing the warranty card of {project_id}"), self.db.session() as session:
                issued = projects.issue_warranty_card(session, project_id, render, now)
        except LookupError as exc:
            raise ApplicationError(str(exc), type="ProjectNotFound", non_retryable=True) from None
        activity.logger.info("warranty card of %s %s", project_id, "issued" if issued else "already issued")
        return issued

    def all(self) -> list:
        return [self.record_project_event, self.warranty_calendar, self.issue_warranty_card]
