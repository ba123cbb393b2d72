"""Activities of the outbox: queue a message once, send it over one channel, give it up.

Plain ``def`` activities on the worker's thread pool. Failures that reach Temporal carry only
a short code (``HTTP 503``, ``SMTP 550``, an exception's class and SQLSTATE): the peer's full
answer, which may quote an address, stays in the outbox row, and a database error's text
(its statement and bind values: names, phones, bodies) goes nowhere (``activities.failures``).

A delivery attempt runs its send in a thread of its own and heartbeats while it waits: a dead
worker is noticed within the heartbeat timeout, a live one is never cut off in the middle of a
request (its start-to-close timeout outlasts the channel's own). The outbox writes around the
request wait for a database that is away instead of failing the attempt: an outage is not a
channel's failed attempt, and a message the peer accepted is recorded ``sent`` once the
database is back, never sent again or dead-lettered for it.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import wait as wait_for
from datetime import UTC, datetime
from functools import lru_cache
from typing import TypeVar

from sqlalchemy.exc import SQLAlchemyError
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.contracts import (
    DEAD_LETTER_NOTIFICATION,
    DELIVER_NOTIFICATION,
    NOT_IN_OUTBOX,
    QUEUE_NOTIFICATION,
    REFUSED,
)
from activities.failures import PERMANENT, TRANSIENT, classified, describe, is_transient
from adapters.notify import delivery, outbox
from adapters.notify.channels import Channel, PermanentFailure, TemporaryFailure
from adapters.notify.templates import Renderer, TemplateError
from adapters.storage.db import Database
from domain.calendar import WorkingCalendar
from domain.case import NotificationRequest, QueuedNotification
from domain.delivery import DeadLetter, DeliveryAttempt
from domain.policy import Policy

# The failure type of an attempt on a message that was given up on (a delivery run again
# after its dead letter): not retried, and no channel is tried; a supervisor's retry sends it.
GIVEN_UP = "DeadLetter"
PULSE = 2.0  # seconds between heartbeats (the SDK sends at most one per 80 % of the heartbeat timeout)
IMPATIENCE = 10.0  # seconds a record that may be lost (a failure's) waits for the database
T = TypeVar("T")


def _heard_out(run: Callable[[], T]) -> T:
    """Run ``run`` in a thread of its own and heartbeat until it returns. A cancellation (the
    attempt timed out, the worker is stopping) does not cut it off: a request in flight is
    heard out and its answer recorded; only waits for the database stop (``_bookkeeping``)."""
    done: Future = Future()
    context = contextvars.copy_context()  # the activity's: its logger, its cancellation

    def attempt() -> None:
        try:
            done.set_result(context.run(run))
        except BaseException as exc:  # noqa: BLE001 - handed over to the activity's thread
            done.set_exception(exc)

    threading.Thread(target=attempt, name=f"{threading.current_thread().name}-send", daemon=True).start()
    with activity.shield_thread_cancel_exception():
        while not wait_for([done], timeout=PULSE).done:
            activity.heartbeat()
    return done.result()


def _bookkeeping(notification_id: int, channel: str) -> delivery.Bookkeeping:
    """The outbox's writes around a send: a transient database error (unreachable, a dropped
    connection, a deadlock) is retried with backoff, for as long as the attempt lasts when the
    delivery cannot go on without the write; a permanent one is raised non-retryable. Neither
    carries more than the error's class and SQLSTATE."""

    def bookkeep(step: str, write: Callable[[], T], *, patient: bool) -> T:
        pause, waited = 0.5, 0.0
        while True:
            try:
                return write()
            except SQLAlchemyError as exc:
                what = f"notification #{notification_id} by {channel}: {step}"
                if not is_transient(exc):
                    raise ApplicationError(f"{what} failed: {describe(exc)}", type=PERMANENT, non_retryable=True) from None
                if activity.is_cancelled() or (not patient and waited >= IMPATIENCE):
                    raise ApplicationError(f"{what} failed: {describe(exc)}", type=TRANSIENT) from None
                activity.logger.warning("%s: the database is unavailable (%s); trying again in %.1f s", what, describe(exc), pause)
                activity.wait_for_cancelled_sync(pause)
                waited += pause
                pause = min(pause * 2, 10.0)

    return bookkeep


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
        """Raises ``CaseNotFound`` and ``TemplateError`` (a template bug: no retry renders it),
        and, through ``classified``, ``PermanentWriteError`` (a constraint, a value the column
        cannot hold) non-retryable, ``TransientWriteError`` (the database away) retryable."""
        now = datetime.now(UTC)
        with classified(f"queuing {request.template} to {request.recipient} of {request.case_no}"):
            try:
                with self.db.session() as session:
                    queued = outbox.queue(session, self._outbox_at(request.at or now), request, now)
            except LookupError as exc:
                raise ApplicationError(str(exc), type="CaseNotFound", non_retryable=True) from None
            except TemplateError as exc:
                # Our own: the template and the variable, never a value. The workflow goes on without it.
                raise ApplicationError(str(exc), type="TemplateError", non_retryable=True) from None
        done = "queued" if queued.new else "already queued"
        activity.logger.info("notification %s to %s %s (#%d)", request.template, request.recipient, done, queued.id)
        return queued

    @activity.defn(name=DELIVER_NOTIFICATION)
    def deliver_notification(self, attempt: DeliveryAttempt) -> str:
        """One attempt over one channel: "sent" or "already sent". Raises ``TemporaryFailure``
        (retried), ``PermanentFailure`` (refused: the next channel), ``NotFound`` and
        ``DeadLetter`` (non-retryable), ``PermanentWriteError`` (the outbox cannot be written,
        non-retryable) or, when the attempt ends while the database is still away,
        ``TransientWriteError``."""
        # The attempt's scheduled time is the server's clock (skipped in tests), not this host's.
        now = activity.info().current_attempt_scheduled_time
        number, channel = attempt.notification_id, attempt.channel
        bookkeep = _bookkeeping(number, channel)
        with classified(f"delivering notification #{number} by {channel}"):
            try:
                result = _heard_out(lambda: delivery.send(self.db, self.channels, number, channel, now, bookkeep=bookkeep))
            except LookupError as exc:
                raise ApplicationError(str(exc), type=NOT_IN_OUTBOX, non_retryable=True) from None
            except delivery.GivenUp as exc:
                raise ApplicationError(str(exc), type=GIVEN_UP, non_retryable=True) from None
            except PermanentFailure as exc:
                raise ApplicationError(f"{channel}: {exc.code}", type=REFUSED, non_retryable=True) from None
            except TemporaryFailure as exc:
                raise ApplicationError(f"{channel}: {exc.code}", type="TemporaryFailure") from None
        activity.logger.info("notification #%d by %s: %s", number, channel, result)
        return result

    @activity.defn(name=DEAD_LETTER_NOTIFICATION)
    def dead_letter_notification(self, letter: DeadLetter) -> bool:
        with classified(f"dead-lettering notification #{letter.notification_id}"):
            dead = delivery.dead_letter(self.db, letter.notification_id, letter.reason)
        if dead:
            activity.logger.warning("notification #%d is a dead letter: %s", letter.notification_id, letter.reason)
        else:
            activity.logger.info("notification #%d was sent after all: not a dead letter", letter.notification_id)
        return dead

    def all(self) -> list:
        return [self.queue_notification, self.deliver_notification, self.dead_letter_notification]
