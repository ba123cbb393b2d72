"""Activities of the field team: bookings for dispatched work orders, and the complaint-rate
review. Plain ``def`` activities on the worker's thread pool; each is idempotent (a booking
by its work order, a review by its complaint)."""

from __future__ import annotations

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.contracts import BOOK_TECHNICIAN, NOT_BOOKABLE, REVIEW_TECHNICIAN, TRIM_BOOKING
from adapters.storage import field_team
from adapters.storage import technicians as registry
from adapters.storage.db import Database
from domain.discipline import ComplaintReview, ReviewVerdict
from domain.dispatch import BookingRequest, BookingTrim
from domain.policy import Policy


class FieldTeamActivities:
    def __init__(self, db: Database, policy: Policy):
        self.db = db
        self.policy = policy

    @activity.defn(name=BOOK_TECHNICIAN)
    def book_technician(self, request: BookingRequest) -> bool:
        now = activity.info().current_attempt_scheduled_time
        try:
            with self.db.session() as session:
                registry.book(session, request.technician, request.work_order, request.window_start, request.window_end,
                              self.policy.dispatch.slot_minutes, now)
        except (registry.SlotTaken, registry.NotAssignable) as refused:
            # The desk picks another technician or time; no retry frees the slot.
            raise ApplicationError(str(refused), type=NOT_BOOKABLE, non_retryable=True) from None
        activity.logger.info("work order %s booked", request.work_order)
        return True

    @activity.defn(name=TRIM_BOOKING)
    def trim_booking(self, trim: BookingTrim) -> int:
        keep = (trim.window_start, trim.window_end) if trim.window_start and trim.window_end else None
        with self.db.session() as session:
            freed = registry.trim(session, trim.technician, trim.work_order, keep, self.policy.dispatch.slot_minutes)
        activity.logger.info("work order %s: %d slots freed", trim.work_order, freed)
        return freed

    @activity.defn(name=REVIEW_TECHNICIAN)
    def review_technician(self, request: ComplaintReview) -> ReviewVerdict:
        with self.db.session() as session:
            verdict = field_team.review(session, request, self.policy.discipline)
        activity.logger.info(
            "complaint %s reviewed: %d complaints / %d jobs%s", request.case_no, verdict.complaints,
            verdict.completed_jobs, ", suspended" if verdict.suspended else "",
        )
        return verdict

    def all(self) -> list:
        return [self.book_technician, self.trim_booking, self.review_technician]
