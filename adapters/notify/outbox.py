"""The outbox: every message is rendered and written once, by its key, with its route and the
moment it may go out; its delivery workflow then sends it (``adapters.notify.delivery``).

Personal data (the customer's name, phone, email) is read here and written to the row; the
workflows only ever see the row's id and the channel names.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from adapters.notify.templates import Rendered, Renderer
from adapters.storage.db import insert
from adapters.storage.project_tables import Project
from adapters.storage.tables import Case, Notification, SlaClock
from domain.calendar import WorkingCalendar
from domain.case import NotificationRequest, QueuedNotification
from domain.delivery import NotifyPolicy, Recipient, release_at, route
from domain.messages import message_type


@dataclass(frozen=True)
class Outbox:
    """What queuing needs: the templates, the ``[notify]`` rules, the working calendar (for
    staff hours) and the configured channels with the staff's addresses."""

    renderer: Renderer
    policy: NotifyPolicy
    calendar: WorkingCalendar
    channels: frozenset[str]
    staff_email: dict[str, str]

    def addresses(self, case: Case | None, recipient: str) -> dict[str, str | None]:
        """Each configured channel → the address it would use for this recipient."""
        if recipient == "customer":
            mine = {"sms": case.customer.phone, "email": case.customer.email}
        else:
            mine = {"sms": None, "email": self.staff_email.get(recipient)}
        return {c: mine.get(c, recipient) for c in self.channels}


def _context(outbox: Outbox, session: Session, case: Case, request: NotificationRequest, locale: str) -> dict:
    label = outbox.renderer.label
    context = {
        "case_no": case.case_no,
        "kind_label": label(locale, "kind", case.kind),
        "severity_label": label(locale, "severity", case.severity),
        "received_at": case.received_at,
        **request.context,
    }
    if "satisfaction" in context:
        context["satisfaction"] = label(locale, "satisfaction", context["satisfaction"])
    if clock := request.context.get("clock"):
        context["clock_label"] = label(locale, "clock", clock)
        if "deadline" not in context:
            context["deadline"] = session.scalar(
                select(SlaClock.deadline).where(SlaClock.case_id == case.id, SlaClock.name == clock)
            )
    if request.recipient == "customer":
        context["customer_name"] = case.customer.name
    return context


def queue(session: Session, outbox: Outbox, request: NotificationRequest, now: datetime) -> QueuedNotification:
    """Queue the message once; a retried activity gets the row that is already there."""
    existing = session.scalars(select(Notification).where(Notification.key == request.key)).one_or_none()
    if existing is not None:
        return _queued(existing, new=False)
    case = session.scalars(select(Case).where(Case.case_no == request.case_no)).one_or_none()
    if case is None:
        raise LookupError(f"case {request.case_no} is not in the case file")
    kind = message_type(request.template)
    customer = request.recipient == "customer"
    recipient = Recipient(request.recipient, case.customer.preferred_channel if customer else None)
    locale = case.customer.locale if customer else outbox.policy.staff_locale
    text = outbox.renderer.render(request.template, locale, _context(outbox, session, case, request, locale))
    addresses = outbox.addresses(case, request.recipient)
    channels = route(outbox.policy, recipient, addresses)
    at = request.at or now
    emergency = case.severity == "emergency"
    not_before = release_at(outbox.policy, outbox.calendar, recipient, at, emergency=emergency, breach=kind.breach)
    values = dict(case_id=case.id, template=request.template, recipient=request.recipient, locale=locale, urgent=emergency)
    return _insert(session, request.key, values, text, channels, addresses, now, not_before)


def queue_staff_message(
    session: Session, outbox: Outbox, *, key: str, template: str, role: str, text: Rendered, at: datetime, now: datetime
) -> QueuedNotification:
    """Queue a message about no single case (the weekly report), rendered by the caller, to a
    staff role: routed, held to working hours and keyed like every other message."""
    existing = session.scalars(select(Notification).where(Notification.key == key)).one_or_none()
    if existing is not None:
        return _queued(existing, new=False)
    recipient = Recipient(role, None)
    addresses = outbox.addresses(None, role)
    channels = route(outbox.policy, recipient, addresses)
    not_before = release_at(outbox.policy, outbox.calendar, recipient, at, emergency=False, breach=False)
    values = dict(case_id=None, template=template, recipient=role, locale=outbox.policy.staff_locale, urgent=False)
    return _insert(session, key, values, text, channels, addresses, now, not_before)


def _insert(session, key, values, text: Rendered, channels, addresses, now, not_before) -> QueuedNotification:
    stmt = insert(session, Notification).values(
        key=key,
        **values,
        route=[{"channel": c, "address": addresses[c] or ""} for c in channels],
        channel=channels[0] if channels else "none",
        address=(addresses[channels[0]] or "") if channels else "",
        subject=text.subject,
        short_text=text.short,
        body=text.long,
        status="queued",
        created_at=now,
        not_before=not_before,
    )
    new = session.execute(stmt.on_conflict_do_nothing(index_elements=["key"])).rowcount == 1
    row = session.scalars(select(Notification).where(Notification.key == key)).one()
    return _queued(row, new=new)


def _queued(row: Notification, *, new: bool) -> QueuedNotification:
    return QueuedNotification(
        id=row.id,
        new=new,
        not_before=row.not_before or row.created_at,
        channels=[step["channel"] for step in row.route],
    )


def for_case(session: Session, case_id: int) -> list[Notification]:
    return list(session.scalars(select(Notification).where(Notification.case_id == case_id).order_by(Notification.id)))


def with_status(session: Session, status: str, *, limit: int, offset: int) -> tuple[list[tuple[Notification, str]], int]:
    """Messages in one status, newest first, each with its case number (None for a message
    about no case, e.g. the weekly report); and how many in all."""
    total = session.scalar(select(func.count()).select_from(Notification).where(Notification.status == status))
    rows = session.execute(
        select(Notification, Case.case_no)
        .outerjoin(Case, Case.id == Notification.case_id)
        .where(Notification.status == status)
        .order_by(Notification.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return [(row, case_no) for row, case_no in rows], total or 0


def stranded(session: Session, due_before: datetime, limit: int = 100) -> list[Notification]:
    """Queued messages due a while ago: queued by a case from before delivery existed, or
    still waiting for a retry (whose delivery is running; starting it again is a no-op)."""
    return list(
        session.scalars(
            select(Notification)
            .where(Notification.status == "queued", Notification.not_before < due_before)
            .order_by(Notification.id)
            .limit(limit)
        )
    )


def reroute(session: Session, outbox: Outbox, row: Notification) -> None:
    """Recompute a message's route with today's channels and addresses (a retried dead letter
    may have failed for want of a channel that is configured now)."""
    case = session.get(Case, row.case_id) if row.case_id is not None else None
    if case is None and row.project_pk is not None:  # a project's message: its customer is the project's
        case = session.get(Project, row.project_pk)
    recipient = Recipient(row.recipient, case.customer.preferred_channel if row.recipient == "customer" else None)
    addresses = outbox.addresses(case, row.recipient)
    channels = route(outbox.policy, recipient, addresses)
    row.route = [{"channel": c, "address": addresses[c] or ""} for c in channels]
