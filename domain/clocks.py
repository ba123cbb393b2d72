"""The service-level clocks of one case, planned once when the case is received.

A clock has a deadline and milestones: the warning (at ``warning_at`` of the limit), the
breach (the deadline itself, escalation level 1), and each further escalation level (a share
of the limit again after the breach). All are absolute instants, computed in the clock's
basis (calendar or working time), so the workflow only has to wait for them.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from pydantic import AwareDatetime, BaseModel, computed_field

from domain.calendar import WorkingCalendar
from domain.models import CaseKind, ClockName, Severity
from domain.policy import Basis, Policy

MilestoneKind = Literal["warning", "breach", "escalation"]


ClockStatus = Literal["running", "warned", "breached", "met", "met_late"]


def clock_status(met_at: datetime | None, warned_at: datetime | None, breached_at: datetime | None) -> ClockStatus:
    """One rule for a clock's status, whether read from the workflow or the case file."""
    if met_at is not None:
        return "met_late" if breached_at is not None else "met"
    if breached_at is not None:
        return "breached"
    return "warned" if warned_at is not None else "running"


class Milestone(BaseModel):
    kind: MilestoneKind
    at: AwareDatetime
    level: int  # 0 for the warning, 1 for the breach, 2… for each further level
    notify: list[str]


class ClockState(BaseModel):
    """One clock as the desk sees it: planned at intake, then met, warned or breached."""

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

    @computed_field  # type: ignore[prop-decorator]
    @property
    def status(self) -> ClockStatus:
        return clock_status(self.met_at, self.warned_at, self.breached_at)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def warn_at(self) -> AwareDatetime | None:
        return next((m.at for m in self.milestones if m.kind == "warning"), None)


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
    for name in ClockName:
        limit = policy.clock(kind, severity, name)
        seconds = limit.seconds(calendar.working_time.day_seconds)

        def after(share: float) -> datetime:
            if limit.basis == "working":
                return calendar.add(start, seconds * share)
            return start + timedelta(seconds=seconds * share)

        milestones = [
            Milestone(kind="warning", at=after(policy.warning_at), level=0, notify=list(chain.warning)),
            Milestone(kind="breach", at=after(1.0), level=1, notify=list(chain.breach)),
        ]
        milestones += [
            Milestone(kind="escalation", at=after(1.0 + lvl.after), level=n, notify=list(lvl.notify))
            for n, lvl in enumerate(chain.levels, start=2)
        ]
        clocks.append(
            ClockState(
                name=name,
                limit=limit.limit,
                basis=limit.basis,
                started_at=start,
                deadline=milestones[1].at,
                milestones=milestones,
            )
        )
    return clocks
