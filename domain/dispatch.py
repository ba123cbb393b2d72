"""Who should do a work order: the technicians who can, ranked, each with the reasons.

Pure rules over plain data (DOMAIN.md §5, seed 003): a technician is eligible when active,
skilled in everything the job needs, serving its district, working on that day and at
those hours, free for the whole window and under their daily capacity. The eligible are
ranked by load that day (fewest jobs first), then by how closely their skills fit the job
(a specialist before a generalist), then by id, so the same question always gets the same
answer. The ``[dispatch]`` policy section holds the numbers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from domain.bounds import Instant, LocalTime
from domain.models import CleanText, Phone

TechnicianStatus = Literal["active", "suspended", "removed"]


class DispatchPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # Bookings are made in slots of this length: a window is rounded out to whole slots, and
    # two work orders can never hold one technician's slot (a unique row per slot).
    slot_minutes: int = Field(default=30, ge=5, le=240)


@dataclass(frozen=True)
class Technician:
    id: str
    skills: frozenset[str]
    areas: frozenset[str]
    days: frozenset[int]  # 0 = Monday
    start: time
    end: time
    daily_capacity: int
    status: TechnicianStatus = "active"


@dataclass(frozen=True)
class Job:
    skills: frozenset[str]
    area: str
    window_start: datetime
    window_end: datetime


@dataclass(frozen=True)
class Booking:
    technician_id: str
    start: datetime
    end: datetime
    work_order: str


@dataclass
class Candidate:
    technician_id: str
    eligible: bool
    reasons: list[str] = field(default_factory=list)
    jobs_that_day: int = 0
    extra_skills: int = 0


def work_order_id(case_no: str, number: int) -> str:
    """A work order's id: the case number and the visit number, ``AS20261125-0001/2``."""
    return f"{case_no}/{number}"


# A district ends in 区 or 县, but a residential compound (小区), a community (社区), a park
# (园区) or a campus (校区) is no district.
_DISTRICT = re.compile(r"^(?:[^省]{2,7}省)?(?:[^市]{2,7}市)?(?P<district>[^省市区县]{1,8}?(?:(?<![小社园校厂景])区|县))")


def district(address: str) -> str | None:
    """The district (区/县) of a mainland address, which technicians' service areas name:
    上海市浦东新区锦绣路100弄 → 浦东新区; 广东省深圳市南山区… → 南山区. None if it names none."""
    match = _DISTRICT.match(address.replace(" ", ""))
    return match.group("district") if match else None


class BookingRequest(BaseModel):
    """Hold a technician's time for a work order (the dispatch and reschedule activities)."""

    technician: str
    work_order: str
    window_start: AwareDatetime
    window_end: AwareDatetime


class BookingTrim(BaseModel):
    """Keep only the work order's slots inside the window (none when it is None): what a
    rescheduled visit no longer needs, or a refused dispatch's whole booking."""

    technician: str
    work_order: str
    window_start: AwareDatetime | None = None
    window_end: AwareDatetime | None = None


# The longest appointment window a work order may hold (a working day's visit): a longer
# one is a typo that would hold a technician for days and write thousands of slots.
MAX_VISIT = timedelta(hours=12)


def window_refusal(start: datetime, end: datetime) -> str | None:
    """Why an appointment window cannot be booked, or None."""
    if end <= start:
        return "the appointment window must end after it starts"
    if end - start > MAX_VISIT:
        return f"an appointment window is at most {MAX_VISIT.total_seconds() / 3600:.0f} hours"
    return None


_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def slots(start: datetime, end: datetime, minutes: int) -> list[datetime]:
    """The slot starts (in UTC) a window covers, rounded out to whole slots on a UTC grid:
    the same instant gives the same slots whatever offset it was written with."""
    step = timedelta(minutes=minutes)
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    first = _EPOCH + ((start - _EPOCH) // step) * step
    out, moment = [], first
    while moment < end:
        out.append(moment)
        moment += step
    return out


def assess(tech: Technician, job: Job, bookings: list[Booking], zone: tzinfo, slot_minutes: int) -> Candidate:
    """Whether ``tech`` can take ``job``, with every reason for or against. A booking clashes
    when it holds one of the job's slots, exactly as booking it would find."""
    c = Candidate(tech.id, eligible=True)
    local_start, local_end = job.window_start.astimezone(zone), job.window_end.astimezone(zone)
    day: date = local_start.date()
    mine = [b for b in bookings if b.technician_id == tech.id]
    c.jobs_that_day = len({b.work_order for b in mine if b.start.astimezone(zone).date() == day})
    c.extra_skills = len(tech.skills - job.skills)

    def no(reason: str) -> None:
        c.eligible = False
        c.reasons.append(reason)

    if tech.status != "active":
        no(f"{tech.status}: not assignable")
    missing = sorted(job.skills - tech.skills)
    if missing:
        no(f"lacks skills: {', '.join(missing)}")
    else:
        c.reasons.append(f"has the skills: {', '.join(sorted(job.skills))}")
    if job.area not in tech.areas:
        no(f"does not serve {job.area}")
    else:
        c.reasons.append(f"serves {job.area}")
    if local_start.weekday() not in tech.days or local_end.date() != day:
        no(f"does not work on {day.isoformat()}")
    elif local_start.time() < tech.start or local_end.time() > tech.end:
        no(f"works {tech.start:%H:%M}–{tech.end:%H:%M}, not {local_start:%H:%M}–{local_end:%H:%M}")
    wanted = set(slots(job.window_start, job.window_end, slot_minutes))
    clash = next((b for b in mine if wanted.intersection(slots(b.start, b.end, slot_minutes))), None)
    if clash:
        no(f"booked for {clash.work_order} at {clash.start.astimezone(zone):%H:%M}–{clash.end.astimezone(zone):%H:%M}")
    if c.jobs_that_day >= tech.daily_capacity:
        no(f"full: {c.jobs_that_day} of {tech.daily_capacity} jobs that day")
    elif c.eligible:
        c.reasons.append(f"free; {c.jobs_that_day} of {tech.daily_capacity} jobs that day")
    return c


def rank(
    technicians: list[Technician], job: Job, bookings: list[Booking], zone: tzinfo, slot_minutes: int
) -> list[Candidate]:
    """Every technician assessed: the eligible first, best first; then the others, by id."""
    assessed = [assess(t, job, bookings, zone, slot_minutes) for t in technicians]
    eligible = sorted((c for c in assessed if c.eligible), key=lambda c: (c.jobs_that_day, c.extra_skills, c.technician_id))
    others = sorted((c for c in assessed if not c.eligible), key=lambda c: c.technician_id)
    return eligible + others


# -- what the registry takes ------------------------------------------------------------------

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
Tag = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[\w\- ]+$", description="e.g. plumbing, custom-cabinets")]


class TechnicianIn(BaseModel):
    """A technician as a manager registers them."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$", description="staff id, e.g. tech-017")
    name: CleanText = Field(min_length=1, max_length=100)
    phone: Phone
    skills: list[Tag] = Field(min_length=1, max_length=30)
    areas: list[Tag] = Field(min_length=1, max_length=50, description="districts served, e.g. 浦东新区")
    days: list[Weekday] = Field(default=["mon", "tue", "wed", "thu", "fri", "sat"], min_length=1)
    # The company's local times of day, without an offset ("18:00:00+08:00" compared with the
    # naive default was a TypeError: a 500).
    start: LocalTime = time(9, 0)
    end: LocalTime = time(18, 0)
    daily_capacity: int = Field(default=4, ge=1, le=20)

    @model_validator(mode="after")
    def _hours(self) -> TechnicianIn:
        if self.end <= self.start:
            raise ValueError(f"working hours {self.start:%H:%M}–{self.end:%H:%M} end before they start")
        return self


class JobIn(BaseModel):
    """What a work order needs: the skills, the district, the appointment window."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    skills: list[Tag] = Field(min_length=1, max_length=10)
    area: Tag
    window_start: Instant  # within the days a request may name: its day's end never overflows
    window_end: Instant

    @model_validator(mode="after")
    def _window(self) -> JobIn:
        if reason := window_refusal(self.window_start, self.window_end):
            raise ValueError(reason)
        return self

    def job(self) -> Job:
        return Job(frozenset(self.skills), self.area, self.window_start, self.window_end)
