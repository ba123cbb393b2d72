"""Activities that write the case file and archive the service file.

Plain ``def`` activities (SQLAlchemy and psycopg2 block), run on the worker's thread pool.
Each is idempotent: the event by (case, seq), the service file by its case.
"""

from __future__ import annotations

from datetime import UTC, datetime

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.contracts import ARCHIVE_CASE, OPEN_LINKED_CASE, RECORD_CASE_EVENT
from activities.failures import classified
from adapters.archive import service_file
from adapters.notify.templates import Renderer
from adapters.storage import cases
from adapters.storage.db import Database
from domain.case import CaseEvent, CaseStart, LinkedCase, case_start
from domain.policy import Policy


class CaseFileActivities:
    def __init__(self, db: Database, renderer: Renderer, policy: Policy, prefix: str,
                 also_project: cases.Projection | None = None):
        self.db = db
        self.renderer = renderer
        self.policy = policy  # for a linked case's clocks, as the API plans an intake's
        self.prefix = prefix  # of case numbers
        self.also_project = also_project  # the field team's work orders, in the same transaction

    @activity.defn(name=RECORD_CASE_EVENT)
    def record_case_event(self, event: CaseEvent) -> bool:
        try:
            with classified(f"recording event #{event.seq} of {event.case_no}"), self.db.session() as session:
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
            with classified(f"archiving {case_no}"), self.db.session() as session:
                service_file.archive(
                    session, case_no, company=self.renderer.company, zone=self.renderer.zone, now=datetime.now(UTC)
                )
        except LookupError as exc:
            raise ApplicationError(str(exc), type="CaseNotFound", non_retryable=True) from None
        activity.logger.info("case %s archived", case_no)
        return True

    @activity.defn(name=OPEN_LINKED_CASE)
    def open_linked_case(self, request: LinkedCase) -> CaseStart:
        """Write the case a revisit's problem opens (once by its key) and return its
        workflow's input; the parent's workflow starts it."""
        try:
            with classified(f"opening the case of {request.case_no}'s revisit"), self.db.session() as session:
                child = cases.open_linked_case(
                    session, parent_no=request.case_no, problem=request.problem, key=request.key,
                    received_at=request.at, now=datetime.now(UTC), prefix=self.prefix, zone=self.renderer.zone,
                    severity_of=self.policy.detect_severity,
                )
                start = case_start(self.policy, self.renderer.zone, child)
        except LookupError as exc:
            raise ApplicationError(str(exc), type="CaseNotFound", non_retryable=True) from None
        activity.logger.info("case %s: revisit problem opened case %s", request.case_no, start.case_no)
        return start

    def all(self) -> list:
        return [self.record_case_event, self.archive_case, self.open_linked_case]
