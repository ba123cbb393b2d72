"""The dates the desk enters for a project's steps, and how far from today each may lie.

The handover date starts the warranty, and the workflow plans years of timers from it, so it
is bounded on every side: not before the customer signed the completion acceptance, not more
than ``HANDOVER_AHEAD`` after today (a handover recorded a few days early), and not so long
ago that the warranty has ended already (the project would close at once, with nothing left
to look after). The other free dates are bounded likewise: the design's confirmation and the
acceptance's signature are past events (a day's slack for clocks and time zones), at most
``WORKS_BEFORE_WARRANTY`` older than the longest warranty term (a project older than that
has no warranty left to enter it for); a defect's rectification deadline lies ahead, within
``RECTIFY_WITHIN``; materials arrive within ``MATERIALS_BACK`` .. ``MATERIALS_AHEAD`` of today.

``domain.projectwork.check`` reads ``refusal`` in the workflow's validator and again in its
handler: no date beyond these bounds reaches the workflow's arithmetic (a year-9999 handover
would overflow it and fail its task for good).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from pydantic import BaseModel

from domain import project_steps as ps
from domain.project import ProjectRules, ProjectState
from domain.project_timers import zone
from domain.warranty import add_months, warranty_until

HANDOVER_AHEAD = timedelta(days=3)
SIGNED_AHEAD = timedelta(days=1)  # a confirmation or signature is never later than now; zones slip
WORKS_BEFORE_WARRANTY = 24  # months: design and acceptance before the handover, generously
RECTIFY_WITHIN = timedelta(days=366)
MATERIALS_BACK, MATERIALS_AHEAD = timedelta(days=30), timedelta(days=366)


def _local_day(at: datetime, rules: ProjectRules) -> date:
    try:
        return at.astimezone(zone(rules)).date()
    except OverflowError:  # a date entered before these bounds: as written
        return at.date()


def _earliest(rules: ProjectRules, today: date) -> datetime:
    months = rules.warranty.longest_months + WORKS_BEFORE_WARRANTY
    return datetime.combine(add_months(today, -months), time(0), zone(rules))


def _past_instant(what: str, at: datetime, rules: ProjectRules, now: datetime, today: date) -> str | None:
    if at > now + SIGNED_AHEAD:
        return f"{what} {at.isoformat()} is in the future (now: {now.astimezone(zone(rules)).isoformat()})"
    earliest = _earliest(rules, today)
    if at < earliest:
        return (f"{what} {at.isoformat()} is before {earliest.date()}: longer ago than the longest warranty term "
                f"and {WORKS_BEFORE_WARRANTY} months more")
    return None


def _handover(project: ProjectState, day: date, rules: ProjectRules, today: date) -> str | None:
    latest = today + HANDOVER_AHEAD
    if day > latest:
        return f"the handover date {day} is after {latest} (today {today} and {HANDOVER_AHEAD.days} days)"
    until = warranty_until(rules.warranty, day)
    if until < today:
        return (f"the handover date {day} is too long ago: its warranty ended on {until}, "
                "so there is nothing left to look after")
    if project.acceptance is not None and day < (signed := _local_day(project.acceptance.signed_at, rules)):
        return f"the handover date {day} is before the completion acceptance was signed ({signed})"
    return None


def refusal(project: ProjectState, payload: BaseModel, rules: ProjectRules, now: datetime) -> str | None:
    """Why a date of this step is out of bounds, or None."""
    today = now.astimezone(zone(rules)).date()
    if isinstance(payload, ps.HandOverProject):
        return _handover(project, payload.handover_on, rules, today)
    if isinstance(payload, ps.ConfirmDesign):
        return _past_instant("the design's confirmation (confirmed_at)", payload.confirmed_at, rules, now, today)
    if isinstance(payload, ps.AcceptCompletion):
        return _past_instant("the acceptance's signature (signed_at)", payload.signed_at, rules, now, today)
    if isinstance(payload, ps.RecordDefect):
        if payload.rectify_by <= now:
            return "the rectification deadline has passed already"
        if payload.rectify_by > now + RECTIFY_WITHIN:
            return f"the rectification deadline {payload.rectify_by.isoformat()} is more than {RECTIFY_WITHIN.days} days ahead"
    if isinstance(payload, ps.NotifyMaterials):
        first, last = today - MATERIALS_BACK, today + MATERIALS_AHEAD
        if not first <= payload.arrives_on <= last:
            return f"the materials' arrival {payload.arrives_on} is not between {first} and {last}"
    return None
