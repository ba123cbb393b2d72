"""Activities of the field team: bookings for dispatched work orders, and the complaint-rate
reviews (of one technician when a complaint is attributed to them, of everyone daily).
Plain ``def`` activities on the worker's thread pool; each is idempotent (a booking by its
work order, a review by its complaint or its day, a message by its key)."""

from __future__ import annotations

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.contracts import BOOK_TECHNICIAN, NOT_BOOKABLE, REVIEW_TEAM, REVIEW_TECHNICIAN, TRIM_BOOKING
from activities.failures import classified
from activities.notifications import NotificationActivities
from adapters.notify import outbox
from adapters.storage import field_team
from adapters.storage import technicians as registry
from domain.delivery import DeliveryPlan
from domain.discipline import ComplaintReview, ReviewVerdict, TeamReview
from domain.dispatch import BookingRequest, BookingTrim

REVIEW_MESSAGE = "technician_suspended_on_review"


class FieldTeamActivities:
    def __init__(self, notifications: NotificationActivities):
        self.notifications = notifications  # the database, the policy, the outbox's routes
        self.db = notifications.db
        self.policy = notifications.policy

    @activity.defn(name=BOOK_TECHNICIAN)
    def book_technician(self, request: BookingRequest) -> bool:
        now = activity.info().current_attempt_scheduled_time
        with classified(f"booking {request.work_order}"):
            try:
                with self.db.session() as session:
                    registry.book(session, request.technician, request.work_order, request.window_start,
                                  request.window_end, self.policy.dispatch.slot_minutes, now)
            except (registry.SlotTaken, registry.NotAssignable) as refused:
                # The desk picks another technician or time; no retry frees the slot.
                raise ApplicationError(str(refused), type=NOT_BOOKABLE, non_retryable=True) from None
        activity.logger.info("work order %s booked", request.work_order)
        return True

    @activity.defn(name=TRIM_BOOKING)
    def trim_booking(self, trim: BookingTrim) -> int:
        keep = (trim.window_start, trim.window_end) if trim.window_start and trim.window_end else None
        with classified(f"freeing the time of {trim.work_order}"), self.db.session() as session:
            freed = registry.trim(session, trim.technician, trim.work_order, keep, self.policy.dispatch.slot_minutes)
        activity.logger.info("work order %s: %d slots freed", trim.work_order, freed)
        return freed

    @activity.defn(name=REVIEW_TECHNICIAN)
    def review_technician(self, request: ComplaintReview) -> ReviewVerdict:
        with classified(f"reviewing {request.technician}"), self.db.session() as session:
            verdict = field_team.review(session, request, self.policy.discipline)
        activity.logger.info(
            "complaint %s reviewed: %d complaints / %d jobs%s", request.case_no, verdict.complaints,
            verdict.completed_jobs, ", suspended" if verdict.suspended else "",
        )
        return verdict

    @activity.defn(name=REVIEW_TEAM)
    def review_team(self, request: TeamReview) -> list[DeliveryPlan]:
        """Review every active technician as of when the review was due; suspend those over
        the limit and queue a message to the supervisor for each. Keyed by the local day, so
        a retried or repeated review that day suspends and tells nobody twice."""
        at = request.fired_at or activity.info().current_attempt_scheduled_time
        now = activity.info().current_attempt_scheduled_time
        renderer = self.notifications.renderer
        day = at.astimezone(renderer.zone).date().isoformat()
        locale = self.policy.notify.staff_locale
        box = self.notifications._outbox_at(now)
        plans = []
        with classified(f"the daily review of {day}"), self.db.session() as session:
            for technician, verdict in field_team.review_team(session, at, f"review:{day}", self.policy.discipline):
                text = renderer.render(REVIEW_MESSAGE, locale, {"technician": technician, "complaints": verdict.complaints,
                                                               "jobs": verdict.completed_jobs})
                key = f"review:{day}:{technician}:supervisor"
                queued = outbox.queue_staff_message(session, box, key=key, template=REVIEW_MESSAGE, role="supervisor",
                                                    text=text, at=now, now=now)
                plans.append(DeliveryPlan(notification_id=queued.id, not_before=queued.not_before, channels=queued.channels,
                                          retry=self.policy.notify.retry, summary=f"{REVIEW_MESSAGE} · {technician}"))
        activity.logger.info("daily review %s: %d suspended", day, len(plans))
        return plans

    def all(self) -> list:
        return [self.book_technician, self.trim_booking, self.review_technician, self.review_team]
