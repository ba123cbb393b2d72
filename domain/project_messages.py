"""Every message a renovation project sends, whom it is for, and which event sends it.

DOMAIN.md §3: the customer is told of progress every week, of problems at once, of
materials arriving, is greeted on holidays and, when a revisit falls due, gets seed 002's
revisit SMS (greeting by name, company, agent, purpose, company phone, thanks); a defect's
owner is told of its rectification deadline and of its breach.

``notices`` is the one rule: the workflow calls it after recording each event and queues
what it returns through the outbox (``adapters.notify.project_outbox``), which adds the
customer's name and address from the project file. Only ids, staff ids and the desk's own
words pass here. Templates: ``adapters/notify/templates/<locale>/project/<name>.j2``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import AwareDatetime, BaseModel, Field

from domain.messages import MessageType
from domain.project import ProjectState

PROJECT_MESSAGES: dict[str, MessageType] = {
    # the customer
    "project/progress_report": MessageType("customer", "the week's progress report"),
    "project/problem": MessageType("customer", "a problem found on site, told at once"),
    "project/materials": MessageType("customer", "materials arriving on a day"),
    "project/revisit": MessageType("customer", "the revisit by SMS (seed 002's text), when a revisit falls due"),
    "project/greeting": MessageType("customer", "a holiday greeting during the warranty"),
    # the defect's owner (a staff id)
    "project/defect": MessageType("staff", "a defect to rectify, with its deadline"),
    "project/defect_breach": MessageType("staff", "a defect not rectified by its deadline", breach=True),
}


@dataclass(frozen=True)
class ProjectNotice:
    recipient: str  # "customer" or a staff id
    template: str  # a name in PROJECT_MESSAGES
    context: dict[str, Any] = field(default_factory=dict)


def notices(project: ProjectState, event: str, data: dict[str, Any]) -> list[ProjectNotice]:
    """The messages an event of the project sends (``event`` and ``data`` as recorded)."""
    if event == "report_progress":
        return [ProjectNotice("customer", "project/progress_report", {"summary": data["summary"]})]
    if event == "report_problem":
        return [ProjectNotice("customer", "project/problem", {"problem": data["problem"]})]
    if event == "notify_materials":
        return [ProjectNotice("customer", "project/materials",
                              {"materials": list(data["materials"]), "arrives_on": data["arrives_on"]})]
    if event == "record_defect":
        d = project.defects[-1]
        context = {"defect": d.number, "description": d.description, "category": d.category, "area": d.area or "",
                   "rectify_by": d.rectification.due_at.isoformat()}
        return [ProjectNotice(d.owner, "project/defect", context)]
    if event == "defect_breached":
        d = project.defect(data["defect"])
        context = {"defect": d.number, "description": d.description, "due_at": data["due_at"]}
        return [ProjectNotice(d.owner, "project/defect_breach", context)]
    if event == "revisit_due":
        return [ProjectNotice("customer", "project/revisit",
                              {"revisit": data["revisit"], "agent": project.service_agent or ""})]
    if event == "greeting":
        return [ProjectNotice("customer", "project/greeting", {"holiday": data["holiday"], "on": data["on"]})]
    return []


class ProjectNotificationRequest(BaseModel):
    """Queue one message of a project. ``key`` (workflow id, event sequence, message,
    recipient) makes a retried activity queue it once."""

    project_id: str
    key: str = Field(max_length=200)
    template: str
    recipient: str
    context: dict[str, Any] = Field(default_factory=dict)
    at: AwareDatetime


def message_key(workflow_id: str, seq: int, notice: ProjectNotice) -> str:
    return f"{workflow_id}:{seq}:{notice.template}:{notice.recipient}"
