"""The service file (服务档案): everything about one case, for the customer's file.

``document`` gathers it from the case file (the intake with the customer's details, the
workflow's last state with every step, the events, the escalations and the messages sent);
``render_html`` prints it with Jinja2 (autoescaped: the text came from people). ``archive``
stores both when a case closes; the API serves the stored copy, or a draft of a live case.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy.orm import Session

from adapters.notify.outbox import for_case
from adapters.storage import cases as case_file
from adapters.storage.db import insert
from adapters.storage.tables import Case, ServiceFile

_ENV = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html", "j2"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def document(session: Session, case: Case) -> dict[str, Any]:
    """The whole file as JSON-ready data."""
    state = case.state or {}
    return {
        "case_no": case.case_no,
        "kind": case.kind,
        "severity": case.severity,
        "channel": case.channel,
        "stage": case.stage,
        "major": state.get("major", case.major),
        "owner": case.owner,
        "related_case_no": case.related_case_no,
        "linked_cases": [c.case_no for c in case_file.linked(session, case.case_no)],
        "intake": {
            "customer_name": case.customer.name,
            "phone": case.customer.phone,
            "address": case.address,
            "house_type": case.house_type,
            "description": case.description,
            "attachments": list(case.attachments or []),
            "under_warranty": case.under_warranty,
            "repaired_before": case.repaired_before,
            "project_id": case.project_id,
            "received_at": case.received_at.isoformat(),
        },
        "process": {
            key: state.get(key)
            for key in (
                "remote_guidance", "survey", "plans", "work_orders", "amendments", "acceptance", "settlement",
                "revisit", "complaint_rounds", "task_group", "gm_revisit", "handover", "answer", "notes",
                "visits", "reworks", "first_time_fix", "amount_due", "closed_at", "reopened",
            )
        },
        "clocks": state.get("clocks", []),
        "escalations": state.get("escalations", []),
        "timeline": [
            {"seq": e.seq, "type": e.type, "at": e.at.isoformat(), "actor": e.actor, "data": e.data}
            for e in case_file.events(session, case.id)
        ],
        "notifications": [
            {"template": n.template, "recipient": n.recipient, "channel": n.channel, "subject": n.subject,
             "status": n.status, "at": n.created_at.isoformat()}
            for n in for_case(session, case.id)
        ],
    }


def render_html(doc: dict[str, Any], *, company: str, zone: ZoneInfo, draft: bool) -> str:
    def local(value: str | None) -> str:
        if not value:
            return "—"
        return datetime.fromisoformat(value).astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")

    env = _ENV.overlay()
    env.filters["local"] = local
    return env.get_template("service_file.html.j2").render(doc=doc, p=doc["process"], company=company, draft=draft)


def archive(session: Session, case_no: str, *, company: str, zone: ZoneInfo, now: datetime) -> bool:
    """Store the file of a closed case; idempotent (a retry rewrites the same document)."""
    case = case_file.get_case(session, case_no)
    if case is None:
        raise LookupError(f"case {case_no} is not in the case file")
    doc = document(session, case)
    html = render_html(doc, company=company, zone=zone, draft=False)
    values = dict(archived_at=now, last_seq=case.last_seq, document=doc, html=html)
    stmt = insert(session, ServiceFile).values(case_id=case.id, **values)
    session.execute(stmt.on_conflict_do_update(index_elements=["case_id"], set_=values))
    return True


def stored(session: Session, case: Case) -> ServiceFile | None:
    """The archived file, if it is as new as the case (a reopened case has a newer draft)."""
    row = session.get(ServiceFile, case.id)
    return row if row is not None and row.last_seq >= case.last_seq else None
