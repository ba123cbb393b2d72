"""The project's timers: what the workflow waits for next, and what happens when it comes.

During construction the weekly progress report is a clock; at the completion acceptance each
defect's rectification deadline is one; under warranty the revisits fall due and their
windows close, greetings go out, and the warranty ends. All instants are planned in the state,
so ``next_timer`` only picks the earliest, and ``fire`` records what its moment means.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from typing import Any

from domain.calendar import WorkingCalendar
from domain.greetings import GreetingDay
from domain.project import ProjectRules, ProjectStage, ProjectState, Warranty
from domain.revisit import project_revisits
from domain.warranty import term_ends, warranty_until

P = ProjectStage
GREETING_AT = time(10, 0)  # inside the day, never in the customers' quiet hours


@dataclass(frozen=True)
class Timer:
    at: datetime
    kind: str  # progress_late | defect_late | revisit_due | revisit_missed | greeting | expiry
    ref: str = ""  # which defect, revisit or greeting

    @property
    def summary(self) -> str:
        return f"{self.kind} {self.ref}".strip()


def zone(rules: ProjectRules) -> timezone:
    return timezone(timedelta(minutes=rules.utc_offset_minutes))


def plan_warranty(
    project: ProjectState, rules: ProjectRules, calendar: WorkingCalendar, greetings: list[GreetingDay], now: datetime,
    *, month_end: bool = True,
) -> Warranty:
    """Terms, revisits and greetings from the handover date (the ``hand_over`` step). A
    handover recorded late (an older project entered now) greets no holiday already past;
    its revisit windows already closed are marked missed at once. ``month_end``: the end
    date rule of ``domain.warranty.last_covered_day`` (False for projects handed over before it)."""
    handover = project.handover.handover_on
    until = warranty_until(rules.warranty, handover, month_end=month_end)
    local = zone(rules)
    return Warranty(
        handover_on=handover,
        until=until,
        ends_at=datetime.combine(until + timedelta(days=1), time(0), local),
        terms=term_ends(rules.warranty, handover, month_end=month_end),
        revisits=project_revisits(rules.project.revisits, calendar, handover),
        greetings=[
            GreetingDay(holiday=g.holiday, on=g.on, at=datetime.combine(g.on, GREETING_AT, local))
            for g in greetings if handover < g.on <= until and datetime.combine(g.on, GREETING_AT, local) > now
        ],
    )


def next_timer(project: ProjectState) -> Timer | None:
    pending: list[Timer] = []
    if project.stage == P.construction and (clock := project.progress) and clock.met_at is None:
        pending.append(Timer(clock.due_at, "progress_late"))
    if project.stage == P.acceptance:
        pending += [
            Timer(d.rectification.due_at, "defect_late", str(d.number))
            for d in project.defects if d.open and d.rectification.breached_at is None
        ]
    if project.stage == P.warranty and (w := project.warranty):
        for task in w.revisits:
            if task.status == "scheduled":
                pending.append(Timer(task.due_at, "revisit_due", task.kind.value))
            elif task.status == "due":
                pending.append(Timer(task.closes_at, "revisit_missed", task.kind.value))
        pending += [Timer(g.at, "greeting", f"{g.holiday}:{g.on}") for g in w.greetings if g.sent_at is None]
        pending.append(Timer(w.ends_at, "expiry"))
    return min(pending, key=lambda t: t.at, default=None)


def fire(project: ProjectState, timer: Timer, rules: ProjectRules, now: datetime) -> tuple[str, dict[str, Any]]:
    """Carry out ``timer`` on the state; returns the event type and data to record."""
    if timer.kind == "progress_late":
        late = project.progress
        late.breached_at = now
        project.late_progress_reports += 1
        # The week's report is late (recorded); the next week counts from the missed one.
        project.progress_reports.append({"at": now.isoformat(), "by": "system", "summary": "", "missed_due": late.due_at.isoformat()})
        project.progress = late.model_copy(update={
            "started_at": late.due_at, "due_at": late.due_at + timedelta(days=rules.project.progress_report_days),
            "breached_at": None, "met_at": None,
        })
        return "progress_report_late", {"due_at": late.due_at.isoformat()}
    if timer.kind == "defect_late":
        defect = project.defect(int(timer.ref))
        defect.rectification.breached_at = now
        return "defect_breached", {"defect": defect.number, "owner": defect.owner,
                                   "due_at": defect.rectification.due_at.isoformat()}
    w = project.warranty
    if timer.kind in ("revisit_due", "revisit_missed"):
        task = next(t for t in w.revisits if t.kind.value == timer.ref)
        if timer.kind == "revisit_due":
            task.status = "due"
            return "revisit_due", {"revisit": task.kind.value, "due_on": task.due_at.date().isoformat(),
                                   "window_end": task.window_end.isoformat()}
        task.status, task.missed_at = "missed", now
        return "revisit_missed", {"revisit": task.kind.value, "window_end": task.window_end.isoformat()}
    if timer.kind == "greeting":
        holiday, on = timer.ref.split(":")
        greeting = next(g for g in w.greetings if g.holiday == holiday and g.on.isoformat() == on)
        greeting.sent_at = now
        return "greeting", {"holiday": holiday, "on": on}
    if timer.kind == "expiry":
        project.stage = P.closed
        project.closed_at = now
        return "warranty_expired", {"until": w.until.isoformat()}
    raise ValueError(f"unknown timer {timer.kind}")
