"""Revisits (回访), one implementation for the repair case and the renovation project.

When: a repair is revisited 3–7 days after acceptance (seed 001); a project at handover +
``initial_within_working_days``, then in a mid-term and a late window (seed 002, windows in
months from handover). Every task falls due on a working day at the start of the working
day, inside its window. What is asked: seed 002's questionnaire (``ProjectRevisitAnswers``);
the repair case asks its core subset (overall satisfaction and three scores). Secondary
needs become sales leads.

Pure: the calendar is passed in (``domain.calendar.WorkingCalendar``).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from domain.steps import Note, Satisfaction, Score, SecondaryNeed  # the case's words: one scale for both
from domain.warranty import add_months

if TYPE_CHECKING:
    from domain.calendar import WorkingCalendar

Method = Literal["phone", "sms", "on_site"]  # on site: important customers, by appointment
Trade = Literal["plumbing_electrical", "carpentry", "tiling_masonry", "painting"]
TRADES: tuple[str, ...] = ("plumbing_electrical", "tiling_masonry", "carpentry", "painting")
TradeIssue = Literal["leak", "uneven_wall_or_floor", "poor_door_window_seal", "cracks", "other"]


class RevisitKind(StrEnum):
    initial = "initial"
    mid_term = "mid_term"
    late = "late"


class RevisitSchedule(BaseModel):
    """The project revisit windows (``[project.revisits]``); seed 002 leaves the numbers open."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    initial_within_working_days: int = Field(default=3, ge=1, le=30)
    mid_term_months: tuple[int, int] = (3, 6)
    late_months: tuple[int, int] = (12, 24)

    @model_validator(mode="after")
    def _ordered(self) -> RevisitSchedule:
        for name in ("mid_term_months", "late_months"):
            lo, hi = getattr(self, name)
            if not 0 < lo < hi:
                raise ValueError(f"{name} must be [from, to] months with 0 < from < to")
        if self.late_months[0] < self.mid_term_months[1]:
            raise ValueError("the late window must start after the mid-term window ends")
        return self


class RevisitTask(BaseModel):
    """One revisit the desk owes: due on a working day inside its window."""

    kind: RevisitKind
    window_start: date
    window_end: date
    due_at: AwareDatetime  # the start of the working day it falls due
    closes_at: AwareDatetime  # the end of the window's last working day
    status: Literal["scheduled", "due", "done", "missed"] = "scheduled"
    recorded_at: AwareDatetime | None = None
    missed_at: AwareDatetime | None = None
    answers: ProjectRevisitAnswers | None = None


def _task(kind: RevisitKind, start: date, end: date, calendar: WorkingCalendar) -> RevisitTask:
    due = calendar.working_day_on_or_after(start)
    last = calendar.working_day_on_or_before(end)
    if due > last:
        raise ValueError(f"the {kind.value} revisit window {start}–{end} has no working day")
    return RevisitTask(kind=kind, window_start=start, window_end=end, due_at=calendar.day_start(due),
                       closes_at=calendar.day_end(last))


def project_revisits(schedule: RevisitSchedule, calendar: WorkingCalendar, handover: date) -> list[RevisitTask]:
    """The three project revisits, counted from the handover date."""
    first = calendar.working_day_on_or_after(handover + timedelta(days=1))
    last = first
    for _ in range(schedule.initial_within_working_days - 1):
        last = calendar.working_day_on_or_after(last + timedelta(days=1))
    mid, late = schedule.mid_term_months, schedule.late_months
    return [
        _task(RevisitKind.initial, first, last, calendar),
        _task(RevisitKind.mid_term, add_months(handover, mid[0]), add_months(handover, mid[1]), calendar),
        _task(RevisitKind.late, add_months(handover, late[0]), add_months(handover, late[1]), calendar),
    ]


def repair_revisit_due(calendar: WorkingCalendar, accepted_at: datetime, after_s: float, within_s: float) -> tuple[datetime, datetime]:
    """A repair's revisit: due at the first working moment ``after_s`` past acceptance (at
    the latest at the window's end), the window closing ``within_s`` after acceptance."""
    window_end = accepted_at + timedelta(seconds=within_s)
    due = calendar.add(accepted_at + timedelta(seconds=after_s), 0)
    return min(due, window_end), window_end


REPAIR_LEAD_SOURCE = "revisit:repair"  # a repair case's revisit (a project's: revisit:<kind>)


def lead_source(project_revisit: str | None) -> str:
    """Where a lead was heard: ``revisit:initial|mid_term|late`` for a project's revisit,
    ``revisit:repair`` for a repair or installation case's."""
    return f"revisit:{project_revisit}" if project_revisit else REPAIR_LEAD_SOURCE


def leads_heard(answers: dict) -> list[tuple[str, str]]:
    """The secondary needs heard at a revisit (a project's or a repair's, as recorded), each a
    sales lead with the desk's note: one per need, however often the answers are written."""
    note = answers.get("needs_note", "")
    return [(need, note) for need in dict.fromkeys(answers.get("secondary_needs", []))]


def low_score(satisfaction: str, core_scores: list[int], low_overall: list[str], low_core_at_most: int) -> bool:
    """A low score needs a supervisor's follow-up: the overall answer is one of the policy's
    low levels, or any core score is at most the policy's threshold."""
    return satisfaction in low_overall or min(core_scores, default=5) <= low_core_at_most


class TradeQuality(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    trade: Trade
    score: Score
    issues: list[TradeIssue] = Field(default_factory=list, max_length=5)
    note: Note = ""


class ProjectRevisitAnswers(BaseModel):
    """Seed 002's questionnaire. No name, phone or address: "details confirmed" says the desk
    checked them against the case file, where they live."""

    model_config = ConfigDict(
        extra="forbid", str_strip_whitespace=True,
        json_schema_extra={"examples": [{
            "revisit": "initial", "method": "phone", "details_confirmed": True, "satisfaction": "satisfied",
            "trades": [{"trade": t, "score": 5} for t in TRADES], "look": "as_expected",
            "designer": 5, "project_manager": 4, "service_desk": 5,
            "materials": "tiles fine, latex paint has no smell", "furniture": "", "suggestions": "",
            "secondary_needs": ["soft_furnishing"], "needs_note": "curtains for the bedroom",
        }]},
    )

    revisit: RevisitKind
    method: Method
    details_confirmed: bool
    satisfaction: Satisfaction
    trades: list[TradeQuality] = Field(default_factory=list, max_length=4)
    look: Literal["above_expectations", "as_expected", "below_expectations"]
    designer: Score
    project_manager: Score
    service_desk: Score
    materials: Note = Field(default="", description="boards, tiles, latex paint, doors and windows")
    furniture: Note = Field(default="", description="furniture and soft furnishing")
    suggestions: Note = ""
    secondary_needs: list[SecondaryNeed] = Field(default_factory=list, max_length=3)
    needs_note: Note = ""
    by: str | None = Field(default=None, min_length=1, max_length=100)

    @model_validator(mode="after")
    def _one_answer_per_trade(self) -> ProjectRevisitAnswers:
        trades = [t.trade for t in self.trades]
        if len(trades) != len(set(trades)):
            raise ValueError("each trade is rated once")
        return self

    def core_scores(self) -> list[int]:
        return [self.designer, self.project_manager, self.service_desk, *(t.score for t in self.trades)]


RevisitTask.model_rebuild()
