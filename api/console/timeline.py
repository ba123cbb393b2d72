"""A case's history as one list, oldest first: the intake, every step, every clock's
warning, breach and meeting, every escalation and every message. Read from the same case
view and notifications the API returns; nothing here decides anything."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from api.schemas import CaseView, NotificationOut


@dataclass(frozen=True)
class Entry:
    at: datetime
    kind: str  # intake, action, clock, escalation, message: the CSS class and the label's prefix
    label: str  # a locale key
    who: str = ""
    detail: str = ""  # a locale key for the intake and clocks, the recorded text otherwise
    alarm: bool = False  # shown in red: a breach, an escalation, a dead letter


def _detail(data: dict) -> str:
    parts = []
    for key, value in data.items():
        if value in (None, "", [], {}):
            continue
        parts.append(f"{key}: {value}")
    return " · ".join(parts)


def entries(case: CaseView, messages: list[NotificationOut]) -> list[Entry]:
    items = [Entry(case.received_at, "intake", "timeline.received", detail=f"opt.{case.channel}")]
    for a in case.actions:
        items.append(Entry(a.at, "action", f"action.{a.action}", f"{a.by} ({a.role})", _detail(a.data)))
    for c in case.clocks:
        items.append(Entry(c.started_at, "clock", "timeline.clock_started", detail=f"clock.{c.name}"))
        if c.warned_at:
            items.append(Entry(c.warned_at, "clock", "timeline.clock_warned", detail=f"clock.{c.name}"))
        if c.breached_at:
            items.append(Entry(c.breached_at, "clock", "timeline.clock_breached", detail=f"clock.{c.name}", alarm=True))
        if c.met_at:
            label = "timeline.clock_met_late" if c.breached_at else "timeline.clock_met"
            items.append(Entry(c.met_at, "clock", label, detail=f"clock.{c.name}"))
    for e in case.escalations:
        items.append(Entry(e.at, "escalation", "timeline.escalated", e.by, f"L{e.level} · {e.reason}", alarm=True))
    for m in messages:
        items.append(Entry(m.created_at, "message", "timeline.message", m.recipient, f"{m.subject} ({m.status})",
                           alarm=m.status == "dead"))
    # Stable: what happened at the same instant keeps the order above (intake, step, clock…).
    return sorted(items, key=lambda e: e.at)
