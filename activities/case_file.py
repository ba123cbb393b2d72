"""Activities that write the case file and archive the service file.

Plain ``def`` activities (SQLAlchemy and psycopg2 block), run on the worker's thread pool.
Each is idempotent: the event by (case, seq), the service file by its case.
"""

from __future__ import annotations

from datetime import UTC, datetime

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.contracts import ARCHIVE_CASE, RECORD_CASE_EVENT
from adapters.archive import service_file
from adapters.notify.templates import Renderer
from adapters.storage import cases
from adapters.storage.db import Database
from domain.case import CaseEvent


class CaseFileActivities:
    def __init__(self, db: Database, renderer: Renderer, also_project: cases.Projection | None = None):
        self.db = db
        self.renderer = renderer
        self.also_project = also_project  # the field team's work orders, in the same transaction

    @activity.defn(name=RECORD_CASE_EVENT)
    def record_case_event(self, event: CaseEvent) -> bool:
        try:
            with self.db.session() as session:
                written = cases.record_event(session, event, self.also_project)
        except LookupError as exc:
            # The API writes the case before it starts the workflow; a missing case is a bug
            # that no retry will fix.
            raise ApplicationError(str(exc), type="CaseNotFound", non_retryable=True) from None
        activity.logger.info("case event %s #%d %s", event.case_no, event.seq, "written" if written else "already there")
        return written

    @activity.defn(name=ARCHIVE_CASE)
    def archive_case(self, case_no: str) -> bool:
        try:
            with self.db.session() as session:
                service_file.archive(
                    session, case_no, company=self.renderer.company, zone=self.renderer.zone, now=datetime.now(UTC)
                )
        except LookupError as exc:
            raise ApplicationError(str(exc), type="CaseNotFound", non_retryable=True) from None
        activity.logger.info("case %s archived", case_no)
        return True

    def all(self) -> list:
        return [self.record_case_event, self.archive_case]
