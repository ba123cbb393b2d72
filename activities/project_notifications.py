"""The renovation project's messages: queue one in the outbox, once by its key, and hand the
workflow the plan for its delivery (``DeliverNotification``). A plain ``def`` activity on the
worker's thread pool; a retry finds the row already there and returns the same plan."""

from __future__ import annotations

from datetime import UTC, datetime

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.notifications import NotificationActivities
from activities.failures import classified
from activities.project_contracts import QUEUE_PROJECT_NOTIFICATION
from adapters.notify import project_outbox
from domain.delivery import DeliveryPlan
from domain.project_messages import ProjectNotificationRequest


class ProjectNotificationActivities:
    def __init__(self, notifications: NotificationActivities):
        self.notifications = notifications  # the database, the policy, the outbox's routes
        self.db = notifications.db

    @activity.defn(name=QUEUE_PROJECT_NOTIFICATION)
    def queue_project_notification(self, request: ProjectNotificationRequest) -> DeliveryPlan:
        now = datetime.now(UTC)
        box = self.notifications._outbox_at(request.at)
        try:
            with classified(f"queuing {request.template} of {request.project_id}"), self.db.session() as session:
                queued = project_outbox.queue_project_message(session, box, request, now)
        except LookupError as exc:
            raise ApplicationError(str(exc), type="ProjectNotFound", non_retryable=True) from None
        done = "queued" if queued.new else "already queued"
        activity.logger.info("project message %s to %s %s (#%d)", request.template, request.recipient, done, queued.id)
        return DeliveryPlan(
            notification_id=queued.id, not_before=queued.not_before, channels=queued.channels,
            retry=self.notifications.policy.notify.retry,
            summary=f"{request.template} to {request.recipient} · {request.project_id}",
        )

    def all(self) -> list:
        return [self.queue_project_notification]
