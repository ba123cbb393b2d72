"""The clocks of a case: planned as absolute instants, paused, resumed and recalculated.

A clock has a deadline and milestones: optionally the moment its task falls due (the revisit
task), the warning (at ``warning_at`` of the limit), the breach (the deadline itself,
escalation level 1), and each further escalation level (a share of the limit again after
the breach). All are absolute instants, computed in the clock's basis (calendar or working
time), so the workflow only has to wait for the next one.

Everything here is pure arithmetic on a ``WorkingCalendar`` built from data, so the
workflow runs it itself: when a supervisor pauses a clock or changes a case's severity, the
new instants are computed inside the workflow, to the second.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from pydantic import AwareDatetime, BaseModel, computed_field

from domain.calendar import WorkingCalendar
from domain.models import SLA_CLOCKS, CaseKind, ClockName, Severity
from domain.policy import Basis, EscalationChain, Policy

MilestoneKind = Literal["due", "warning", "breach", "escalation"]
ClockStatus = Literal["running", "paused", "warned", "breached", "met", "met_late"]


def clock_status(
    met_at: datetime | None, warned_at: datetime | None, breached_at: datetime | None, paused_at: datetime | None = None
) -> ClockStatus:
    """One rule for a clock's status, whether read from the workflow or the case file."""
    if met_at is not None:
        return "met_late" if breached_at is not None else "met"
    if breached_at is not None:
        return "breached"
    if paused_at is not None:
        return "paused"
    return "warned" if warned_at is not None else "running"


class Milestone(BaseModel):
    kind: MilestoneKind
    at: AwareDatetime
    level: int  # -1 for a task falling due, 0 the warning, 1 the breach, 2… each further level
    notify: list[str]
    reached: bool = False


class Pause(BaseModel):
    reason: str
    by: str
    note: str = ""
    paused_at: AwareDatetime
    resumed_at: AwareDatetime | None = None


class ClockState(BaseModel):
    """One clock as the desk sees it: planned, then met, warned, breached or paused."""

    name: ClockName
    limit: str
    basis: Basis
    started_at: AwareDatetime
    deadline: AwareDatetime
    milestones: list[Milestone]
    met_at: AwareDatetime | None = None
    warned_at: AwareDatetime | None = None
    breached_at: AwareDatetime | None = None
    level: int = 0  # highest escalation level this clock has reached
    pauses: list[Pause] = []

    @computed_field  # type: ignore[prop-decorator]
    @property
    def paused_at(self) -> AwareDatetime | None:
        return self.pauses[-1].paused_at if self.pauses and self.pauses[-1].resumed_at is None else None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def status(self) -> ClockStatus:
        return clock_status(self.met_at, self.warned_at, self.breached_at, self.paused_at)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def warn_at(self) -> AwareDatetime | None:
        return next((m.at for m in self.milestones if m.kind == "warning"), None)

    @property
    def open(self) -> bool:
        return self.met_at is None

    def next_milestone(self) -> Milestone | None:
        """The next milestone to wait for; none while the clock is met or paused."""
        if self.met_at is not None or self.paused_at is not None:
            return None
        return next((m for m in self.milestones if not m.reached), None)


def _milestones(
    chain: EscalationChain, after, warning_at: float | None, due_template: bool = False
) -> list[Milestone]:
    """Milestones at shares of the limit: ``after(share)`` is the instant of that share."""
    milestones = [Milestone(kind="due", at=after(0.0), level=-1, notify=["assignee"])] if due_template else []
    if warning_at is not None:
        milestones.append(Milestone(kind="warning", at=after(warning_at), level=0, notify=list(chain.warning)))
    milestones.append(Milestone(kind="breach", at=after(1.0), level=1, notify=list(chain.breach)))
    milestones += [
        Milestone(kind="escalation", at=after(1.0 + lvl.after), level=n, notify=list(lvl.notify))
        for n, lvl in enumerate(chain.levels, start=2)
    ]
    return milestones


def plan_clocks(
    policy: Policy,
    calendar: WorkingCalendar,
    kind: CaseKind,
    severity: Severity,
    start: datetime,
) -> list[ClockState]:
    """The response, plan and resolution clocks of a case received at ``start``."""
    chain = policy.chain(kind)
    clocks = []
    for name in SLA_CLOCKS:
        limit = policy.clock(kind, severity, name)
        seconds = limit.seconds(calendar.working_time.day_seconds)

        def after(share: float) -> datetime:
            if limit.basis == "working":
                return calendar.add(start, seconds * share)
            return start + timedelta(seconds=seconds * share)

        milestones = _milestones(chain, after, policy.warning_at)
        clocks.append(
            ClockState(
                name=name,
                limit=limit.limit,
                basis=limit.basis,
                started_at=start,
                deadline=next(m.at for m in milestones if m.kind == "breach"),
                milestones=milestones,
            )
        )
    return clocks


def timed_clock(
    name: ClockName,
    chain: EscalationChain,
    start: datetime,
    deadline: datetime,
    *,
    limit: str,
    warning_at: float | None = None,
    due_at: datetime | None = None,
) -> ClockState:
    """A clock in calendar time to an explicit deadline (a visit's re-confirmation, a reply
    promised for a given time, a follow-up). With ``due_at``, a task falls due at that
    moment (the revisit task), before the deadline."""
    span = (deadline - start).total_seconds()

    def after(share: float) -> datetime:
        if share == 0.0 and due_at is not None:
            return due_at
        return start + timedelta(seconds=span * share)

    milestones = _milestones(chain, after, warning_at, due_template=due_at is not None)
    return ClockState(
        name=name, limit=limit, basis="calendar", started_at=start, deadline=deadline, milestones=milestones
    )


def pause(clock: ClockState, pause_: Pause) -> None:
    clock.pauses.append(pause_)


def resume(clock: ClockState, at: datetime, calendar: WorkingCalendar) -> None:
    """End the open pause and move every milestone not yet reached by the time it took.

    In working time the clock keeps the working time that was left when it stopped: a
    working-hours clock paused on Friday at 17:00 and resumed on Monday at 09:00 loses no
    working time over the weekend, and its deadline moves by just the hours paused.
    """
    current = clock.pauses[-1]
    current.resumed_at = at
    _shift(clock, current.paused_at, at, calendar)


def _shift(clock: ClockState, paused_at: datetime, resumed_at: datetime, calendar: WorkingCalendar) -> None:
    for milestone in clock.milestones:
        if milestone.reached or milestone.at <= paused_at:
            continue
        if clock.basis == "working":
            milestone.at = calendar.add(resumed_at, calendar.working_seconds(paused_at, milestone.at))
        else:
            milestone.at = milestone.at + (resumed_at - paused_at)
    clock.deadline = next(m.at for m in clock.milestones if m.kind == "breach")


def carry_over(old: ClockState, new: ClockState, calendar: WorkingCalendar) -> ClockState:
    """``new`` (replanned, e.g. for another severity) keeps what already happened to ``old``:
    met, warned, breached and escalated stay recorded, and past pauses shift it again."""
    new.met_at, new.warned_at, new.breached_at, new.level = old.met_at, old.warned_at, old.breached_at, old.level
    for milestone in new.milestones:
        milestone.reached = any(m.reached and m.kind == milestone.kind and m.level == milestone.level for m in old.milestones)
    new.pauses = [p.model_copy() for p in old.pauses]
    for p in new.pauses:
        if p.resumed_at is not None:
            _shift(new, p.paused_at, p.resumed_at, calendar)
    return new
