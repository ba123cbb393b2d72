"""The outbox for renovation projects: a project's message rendered and written once, by its
key, tied to the project (``notifications.project_pk``), and then delivered like every other
message (``DeliverNotification``).

The customer's name, phone, email, channel and locale come from the project file here; the
workflow passes the project id, staff ids and the desk's words only.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from adapters.notify.outbox import Outbox, _insert, _queued
from adapters.storage.project_tables import Project
from adapters.storage.tables import Notification
from domain.case import QueuedNotification
from domain.delivery import Recipient, release_at, route
from domain.models import PROBLEM_CATEGORY_LABELS
from domain.project_messages import PROJECT_MESSAGES, ProjectNotificationRequest

LABELS: dict[str, dict[str, dict[str, str]]] = {
    "zh-CN": {
        "holiday": {"new_year": "元旦", "spring_festival": "春节", "labor_day": "劳动节", "dragon_boat": "端午节",
                    "mid_autumn": "中秋节", "national_day": "国庆节"},
        "revisit": {"initial": "初期回访", "mid_term": "中期回访", "late": "后期回访"},
        "category": PROBLEM_CATEGORY_LABELS["zh-CN"],
        "area": {"kitchen": "厨房", "bathroom": "卫生间", "outer_wall": "外墙", "balcony": "阳台", "living_room": "客厅",
                 "bedroom": "卧室", "whole_home": "全屋", "other": "其他"},
    },
    "en": {
        "holiday": {"new_year": "New Year", "spring_festival": "Spring Festival", "labor_day": "Labour Day",
                    "dragon_boat": "Dragon Boat Festival", "mid_autumn": "Mid-Autumn Festival",
                    "national_day": "National Day"},
        "revisit": {"initial": "first revisit", "mid_term": "mid-term revisit", "late": "late revisit"},
        "category": PROBLEM_CATEGORY_LABELS["en"],
        "area": {"outer_wall": "outer wall", "living_room": "living room", "whole_home": "whole home"},
    },
}


def label(locale: str, group: str, value: str) -> str:
    return LABELS.get(locale, {}).get(group, {}).get(value, value.replace("_", " "))


def _context(project: Project, request: ProjectNotificationRequest, locale: str) -> dict:
    context = {"project_id": project.project_id, **request.context}
    for key, group in (("holiday", "holiday"), ("revisit", "revisit"), ("category", "category"), ("area", "area")):
        if key in context:
            context[f"{group}_label"] = label(locale, group, context[key] or "")
    if request.recipient == "customer":
        context["customer_name"] = project.customer.name
    return context


def queue_project_message(
    session: Session, outbox: Outbox, request: ProjectNotificationRequest, now: datetime
) -> QueuedNotification:
    """Queue the message once; a retried activity gets the row that is already there."""
    existing = session.scalars(select(Notification).where(Notification.key == request.key)).one_or_none()
    if existing is not None:
        return _queued(existing, new=False)
    project = session.scalars(select(Project).where(Project.project_id == request.project_id)).one_or_none()
    if project is None:
        raise LookupError(f"project {request.project_id} is not in the project file")
    kind = PROJECT_MESSAGES.get(request.template)
    if kind is None:
        raise ValueError(f"unknown project message {request.template!r}")
    customer = request.recipient == "customer"
    recipient = Recipient(request.recipient, project.customer.preferred_channel if customer else None)
    locale = project.customer.locale if customer else outbox.policy.staff_locale
    text = outbox.renderer.render(request.template, locale, _context(project, request, locale))
    addresses = outbox.addresses(project, request.recipient)  # a project has a customer, as a case does
    channels = route(outbox.policy, recipient, addresses)
    not_before = release_at(outbox.policy, outbox.calendar, recipient, request.at, emergency=False, breach=kind.breach)
    values = dict(case_id=None, project_pk=project.id, template=request.template, recipient=request.recipient,
                  locale=locale, urgent=False)
    return _insert(session, request.key, values, text, channels, addresses, now, not_before)


def for_project(session: Session, project_pk: int) -> list[Notification]:
    return list(session.scalars(select(Notification).where(Notification.project_pk == project_pk).order_by(Notification.id)))
