"""Activities of the outbox: queue a message once, send it over one channel, give it up.

Plain ``def`` activities on the worker's thread pool. Failures that reach Temporal carry only
a short code (``HTTP 503``, ``SMTP 550``): the peer's full answer, which may quote an address,
stays in the outbox row.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.contracts import (
    DEAD_LETTER_NOTIFICATION,
    DELIVER_NOTIFICATION,
    NOT_IN_OUTBOX,
    QUEUE_NOTIFICATION,
    REFUSED,
)
from adapters.notify import delivery, outbox
from adapters.notify.channels import Channel, PermanentFailure, TemporaryFailure
from adapters.notify.templates import Renderer, TemplateError
from adapters.storage.db import Database
from domain.calendar import WorkingCalendar
from domain.case import NotificationRequest, QueuedNotification
from domain.delivery import DeadLetter, DeliveryAttempt
from domain.policy import Policy


class NotificationActivities:
    def __init__(
        self,
        db: Database,
        renderer: Renderer,
        policy: Policy,
        channels: dict[str, Channel],
        staff_email: dict[str, str] | None = None,
    ):
        self.db = db
        self.renderer = renderer
        self.policy = policy
        self.channels = channels
        self.staff_email = staff_email or {}

    @lru_cache(maxsize=4)  # noqa: B019 - one per year; the instance lives as long as the worker
    def _calendar(self, year: int) -> WorkingCalendar:
        start = datetime(year, 1, 1, tzinfo=self.renderer.zone)
        return WorkingCalendar.for_zone(self.policy.working_time, self.renderer.zone, start, years=2)

    def _outbox_at(self, now: datetime) -> outbox.Outbox:
        return outbox.Outbox(
            renderer=self.renderer,
            policy=self.policy.notify,
            calendar=self._calendar(now.astimezone(self.renderer.zone).year),
            channels=frozenset(self.channels),
            staff_email=self.staff_email,
        )

    @activity.defn(name=QUEUE_NOTIFICATION)
    def queue_notification(self, request: NotificationRequest) -> QueuedNotification:
        now = datetime.now(UTC)
        try:
            with self.db.session() as session:
                queued = outbox.queue(session, self._outbox_at(request.at or now), request, now)
        except LookupError as exc:
            raise ApplicationError(str(exc), type="CaseNotFound", non_retryable=True) from None
        except (TemplateError, ValueError) as exc:
            # A template bug: no retry renders it; the workflow goes on without this message.
            raise ApplicationError(str(exc), type="TemplateError", non_retryable=True) from None
        done = "queued" if queued.new else "already queued"
        activity.logger.info("notification %s to %s %s (#%d)", request.template, request.recipient, done, queued.id)
        return queued

    @activity.defn(name=DELIVER_NOTIFICATION)
    def deliver_notification(self, attempt: DeliveryAttempt) -> str:
        # The attempt's scheduled time is the server's clock (skipped in tests), not this host's.
        now = activity.info().current_attempt_scheduled_time
        try:
            result = delivery.send(self.db, self.channels, attempt.notification_id, attempt.channel, now)
        except LookupError as exc:
            raise ApplicationError(str(exc), type=NOT_IN_OUTBOX, non_retryable=True) from None
        except PermanentFailure as exc:
            raise ApplicationError(f"{attempt.channel}: {exc.code}", type=REFUSED, non_retryable=True) from None
        except TemporaryFailure as exc:
            raise ApplicationError(f"{attempt.channel}: {exc.code}", type="TemporaryFailure") from None
        activity.logger.info("notification #%d by %s: %s", attempt.notification_id, attempt.channel, result)
        return result

    @activity.defn(name=DEAD_LETTER_NOTIFICATION)
    def dead_letter_notification(self, letter: DeadLetter) -> bool:
        dead = delivery.dead_letter(self.db, letter.notification_id, letter.reason)
        activity.logger.warning("notification #%d is a dead letter: %s", letter.notification_id, letter.reason)
        return dead

    def all(self) -> list:
        return [self.queue_notification, self.deliver_notification, self.dead_letter_notification]
