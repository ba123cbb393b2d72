"""Render a message from its template and put it in the outbox, once per key.

Templates live beside this file, one per message type (``acknowledgement.j2`` …): the first
line is the subject, the rest the body, in zh-CN. They render in a sandboxed Jinja2
environment. Delivering the outbox over real channels is a later piece of work.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from jinja2 import FileSystemLoader, StrictUndefined
from jinja2.sandbox import SandboxedEnvironment
from sqlalchemy import select
from sqlalchemy.orm import Session

from adapters.storage.db import insert
from adapters.storage.tables import Case, Notification, SlaClock
from domain.case import NotificationRequest

TEMPLATES = Path(__file__).parent / "templates"

KIND_LABELS = {"repair": "报修", "complaint": "投诉", "consultation": "咨询", "installation": "安装"}
SEVERITY_LABELS = {"emergency": "紧急", "normal": "一般"}
CLOCK_LABELS = {
    "response": "响应",
    "plan": "方案",
    "resolution": "解决",
    "reconfirm": "上门前确认",
    "revisit": "回访",
    "follow_up": "低分跟进",
    "gm_revisit": "总经理回访",
    "reply": "咨询答复",
}


class Renderer:
    def __init__(self, zone: ZoneInfo, company: str):
        self.zone = zone
        self.company = company
        self.env = SandboxedEnvironment(
            loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined, keep_trailing_newline=False
        )
        self.env.filters["local"] = self._local

    def _local(self, value: datetime | str) -> str:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else value
        return moment.astimezone(self.zone).strftime("%Y-%m-%d %H:%M")

    def render(self, template: str, context: dict) -> tuple[str, str]:
        text = self.env.get_template(f"{template}.j2").render(company=self.company, **context)
        subject, _, body = text.partition("\n")
        return subject.strip(), body.strip()


def queue(session: Session, renderer: Renderer, request: NotificationRequest, now: datetime) -> bool:
    """Queue the message; False when a retried activity finds it already queued."""
    if session.scalar(select(Notification.id).where(Notification.key == request.key)) is not None:
        return False
    case = session.scalars(select(Case).where(Case.case_no == request.case_no)).one_or_none()
    if case is None:
        raise LookupError(f"case {request.case_no} is not in the case file")
    context = {
        "case_no": case.case_no,
        "kind_label": KIND_LABELS[case.kind],
        "severity_label": SEVERITY_LABELS[case.severity],
        "received_at": case.received_at,
        **request.context,
    }
    if clock := request.context.get("clock"):
        context["clock_label"] = CLOCK_LABELS[clock]
        if "deadline" not in context:
            context["deadline"] = session.scalar(
                select(SlaClock.deadline).where(SlaClock.case_id == case.id, SlaClock.name == clock)
            )
    if request.recipient == "customer":
        context["customer_name"] = case.customer.name
        channel, address = "sms", case.customer.phone
    else:
        channel, address = "internal", request.recipient
    subject, body = renderer.render(request.template, context)
    stmt = insert(session, Notification).values(
        key=request.key,
        case_id=case.id,
        template=request.template,
        recipient=request.recipient,
        channel=channel,
        address=address,
        subject=subject,
        body=body,
        status="queued",
        created_at=now,
    )
    return session.execute(stmt.on_conflict_do_nothing(index_elements=["key"])).rowcount == 1


def for_case(session: Session, case_id: int) -> list[Notification]:
    return list(session.scalars(select(Notification).where(Notification.case_id == case_id).order_by(Notification.id)))
