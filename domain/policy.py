"""The service-level policy: every clock's limit, the warning point, working time, escalation.

The policy is a TOML file (``policies/default.toml`` holds the numbers of DOMAIN.md). It is
parsed into the frozen models below; a malformed file fails at start-up with a
``PolicyError`` naming the bad key, e.g. ``clocks.repair.normal.response.limit``.
"""

from __future__ import annotations

import re
import tomllib
from datetime import time
from pathlib import Path
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from domain.delivery import NotifyPolicy
from domain.discipline import DisciplinePolicy
from domain.dispatch import DispatchPolicy
from domain.models import CaseKind, ClockName, Severity
from domain.project_policy import ProjectPolicy
from domain.targets import KpiPolicy
from domain.warranty import WarrantyPolicy

Basis = Literal["calendar", "working"]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Who can be told; the notification channels (later) resolve a role to people.
Recipient = Literal["assignee", "supervisor", "manager", "general_manager", "complaint_specialist", "customer"]

_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


class PolicyError(ValueError):
    """The policy file cannot be used; the message names the file and the bad key."""


def parse_duration(text: str, day_seconds: int = 86400) -> int:
    """``"1h30m"`` → 5400 seconds. Units: d, h, m, s, in that order.

    ``day_seconds`` is the length of a day: 24 h in calendar time, one working day's
    length in working time.
    """
    match = _DURATION.match(text.replace(" ", ""))
    if not text.strip() or not match:
        raise ValueError(f"invalid duration {text!r}: write it like 45s, 30m, 1h30m, 3d")
    days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
    total = days * day_seconds + (hours * 60 + minutes) * 60 + seconds
    if total <= 0:
        raise ValueError(f"duration {text!r} must be longer than zero")
    return total


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ClockLimit(_Strict):
    """One clock: how long the desk has, counted in calendar or working time.

    In working time a day (``1d``) is one working day's length (e.g. 7.5 h for 09:00–12:00 and
    13:30–18:00), so "within one working day" lands at the same hour the next working day.
    """

    limit: str
    basis: Basis = "calendar"

    @field_validator("limit")
    @classmethod
    def _valid(cls, value: str) -> str:
        parse_duration(value)
        return value

    def seconds(self, working_day_seconds: int) -> int:
        return parse_duration(self.limit, working_day_seconds if self.basis == "working" else 86400)


class ClockSet(_Strict):
    response: ClockLimit
    plan: ClockLimit
    resolution: ClockLimit

    def limit(self, name: ClockName) -> ClockLimit:
        return getattr(self, name.value)


class KindClocks(_Strict):
    emergency: ClockSet
    normal: ClockSet


class Clocks(_Strict):
    repair: KindClocks
    complaint: KindClocks
    consultation: KindClocks
    installation: KindClocks


class Interval(_Strict):
    start: time
    end: time

    @model_validator(mode="after")
    def _ordered(self) -> Interval:
        if self.end <= self.start:
            raise ValueError(f"working interval {self.start}–{self.end} ends before it starts")
        return self


class WorkingTime(_Strict):
    days: list[Weekday] = Field(min_length=1)
    hours: list[Interval] = Field(min_length=1)
    # "CN": mainland public holidays are days off and official make-up workdays (调休) are
    # working days, from the maintained `holidays` package; "none": weekdays only.
    holidays: Literal["CN", "none"] = "CN"

    @field_validator("hours", mode="before")
    @classmethod
    def _pairs(cls, value: object) -> object:
        # TOML writes intervals as [["09:00", "12:00"], ...]
        if isinstance(value, list):
            return [{"start": v[0], "end": v[1]} if isinstance(v, list) and len(v) == 2 else v for v in value]
        return value

    @model_validator(mode="after")
    def _no_overlap(self) -> WorkingTime:
        ordered = sorted(self.hours, key=lambda i: i.start)
        for a, b in zip(ordered, ordered[1:]):
            if b.start < a.end:
                raise ValueError(f"working intervals {a.start}–{a.end} and {b.start}–{b.end} overlap")
        return self

    @property
    def day_seconds(self) -> int:
        return sum(
            (i.end.hour * 3600 + i.end.minute * 60 + i.end.second)
            - (i.start.hour * 3600 + i.start.minute * 60 + i.start.second)
            for i in self.hours
        )


class EscalationLevel(_Strict):
    after: float = Field(gt=0, description="fraction of the clock's limit after the breach")
    notify: list[Recipient] = Field(min_length=1)


class EscalationChain(_Strict):
    """Who is told at the warning, at the breach (level 1), and at each later level (2, 3, …)."""

    warning: list[Recipient] = Field(min_length=1)
    breach: list[Recipient] = Field(min_length=1)
    levels: list[EscalationLevel] = Field(default_factory=list)

    @field_validator("levels")
    @classmethod
    def _increasing(cls, value: list[EscalationLevel]) -> list[EscalationLevel]:
        afters = [lvl.after for lvl in value]
        if afters != sorted(set(afters)):
            raise ValueError("escalation levels must come in increasing 'after' order")
        return value

    def recipients(self, level: int) -> list[str]:
        """Recipients of escalation ``level``: 1 is the breach, 2 the first further level."""
        if level <= 1:
            return list(self.breach)
        return list(self.levels[min(level - 2, len(self.levels) - 1)].notify) if self.levels else list(self.breach)

    @property
    def top_level(self) -> int:
        return 1 + len(self.levels)


class Escalation(_Strict):
    default: EscalationChain
    repair: EscalationChain | None = None
    complaint: EscalationChain | None = None
    consultation: EscalationChain | None = None
    installation: EscalationChain | None = None


class Emergency(_Strict):
    # A case whose description mentions one of these is an emergency unless the agent says otherwise.
    keywords: list[str] = Field(default_factory=list)


class Process(_Strict):
    """The process's own time limits and rules beyond the three SLA clocks (DOMAIN.md §1–2, §4)."""

    # The technician re-confirms a visit this long before its appointment (003: 12 hours).
    reconfirm_before: str = "12h"
    # The revisit lands on a working day in this window after acceptance (001: 3–7 days).
    revisit_after: str = "3d"
    revisit_within: str = "7d"
    # A revisit is a low score when the overall answer is one of these or a core question
    # (attitude, professionalism, timeliness; 1–5) is at most ``low_core_at_most``.
    low_overall: list[Literal["very_satisfied", "satisfied", "neutral", "dissatisfied", "very_dissatisfied"]] = [
        "neutral",
        "dissatisfied",
        "very_dissatisfied",
    ]
    low_core_at_most: int = Field(default=2, ge=1, le=5)
    # A supervisor follows up a low score within this (003: 1 hour).
    follow_up: str = "1h"
    # The general manager's personal revisit after a major complaint (003 names no limit).
    gm_revisit: str = "3d"
    # A closed or cancelled case can be reopened within this.
    reopen_within: str = "7d"
    # Which clocks a supervisor may pause, and for what (waiting for the customer, for parts).
    pausable_clocks: list[Literal["response", "plan", "resolution", "reconfirm", "revisit", "follow_up", "gm_revisit", "reply"]] = [
        "plan",
        "resolution",
    ]
    pause_reasons: list[Literal["customer", "parts"]] = ["customer", "parts"]

    @field_validator("reconfirm_before", "revisit_after", "revisit_within", "follow_up", "gm_revisit", "reopen_within")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration(value)
        return value

    @model_validator(mode="after")
    def _window(self) -> Process:
        if parse_duration(self.revisit_within) <= parse_duration(self.revisit_after):
            raise ValueError("revisit_within must be longer than revisit_after")
        return self

    def seconds(self, name: str) -> int:
        return parse_duration(getattr(self, name))


class Policy(_Strict):
    name: str = "default"
    warning_at: float = Field(default=0.8, gt=0, lt=1, description="warn at this share of the limit")
    working_time: WorkingTime
    clocks: Clocks
    escalation: Escalation
    emergency: Emergency = Emergency()
    process: Process = Process()
    notify: NotifyPolicy = NotifyPolicy()
    dispatch: DispatchPolicy = DispatchPolicy()
    discipline: DisciplinePolicy = DisciplinePolicy()  # the field team's rules (domain.discipline)
    warranty: WarrantyPolicy = WarrantyPolicy()
    project: ProjectPolicy = ProjectPolicy()
    kpi: KpiPolicy = KpiPolicy()  # the KPI targets and the weekly report (domain.targets)

    def clock(self, kind: CaseKind, severity: Severity, name: ClockName) -> ClockLimit:
        return getattr(getattr(self.clocks, CaseKind(kind).value), Severity(severity).value).limit(ClockName(name))

    def chain(self, kind: CaseKind) -> EscalationChain:
        return getattr(self.escalation, CaseKind(kind).value) or self.escalation.default

    def detect_severity(self, description: str) -> Severity:
        text = description.lower()
        hit = any(word.lower() in text for word in self.emergency.keywords)
        return Severity.emergency if hit else Severity.normal


def parse_policy(data: dict, source: str = "policy") -> Policy:
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            key = ".".join(str(p) for p in err["loc"]) or "(top level)"
            problems.append(f"{key}: {err['msg']}")
        raise PolicyError(f"{source}: " + "; ".join(problems)) from None


def load_policy(path: str | Path) -> Policy:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PolicyError(f"{path}: policy file not found (set AFTERSALES_POLICY)") from None
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{path}: not valid TOML: {exc}") from None
    return parse_policy(data, str(path))
