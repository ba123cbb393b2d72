"""The KPI targets and the weekly report's settings: the ``[kpi]`` section of the policy.

The targets are seed 003's improvement goals (DOMAIN.md §6): complaint-handling timeliness
90 % and CSAT 85 % within 1–3 months, on-time installation 95 % and first-time fix above 80 %
within 3–6 months. Charts draw them as lines and the weekly report marks each KPI against
them, met as ``MET_WHEN`` says. Pure data; the formulas are in ``domain.kpi``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# A role the weekly report is sent to (the outbox routes it like any staff message).
ReportRecipient = Literal["supervisor", "manager", "general_manager", "complaint_specialist"]


# How each target is met, in seed 003's own words: complaint timeliness "90%以上" (90 % or
# more), CSAT "提升至85%" and on-time installation "达95%" (reach it): at least the target;
# first-time fix "超80%" (exceed it): strictly above, so exactly 80 % is not met.
MET_WHEN: dict[str, Literal["≥", ">"]] = {
    "complaint_timeliness": "≥", "csat": "≥", "on_time_installation": "≥", "first_time_fix": ">",
}


class KpiTargets(BaseModel):
    """Target rates (0–1) per KPI; a KPI without a target has none drawn."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    complaint_timeliness: float = Field(default=0.90, ge=0, le=1)
    csat: float = Field(default=0.85, ge=0, le=1)
    on_time_installation: float = Field(default=0.95, ge=0, le=1)
    first_time_fix: float = Field(default=0.80, ge=0, le=1)

    def of(self, kpi: str) -> float | None:
        return getattr(self, kpi, None)

    def met(self, kpi: str, value: float | None) -> bool | None:
        """Whether ``value`` meets the KPI's target (``MET_WHEN``); None without either."""
        target = self.of(kpi)
        if target is None or value is None:
            return None
        return value > target if MET_WHEN[kpi] == ">" else value >= target


class WeeklyReportPolicy(BaseModel):
    """The weekly after-sales problem report (seed 003: 《售后问题周报》)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Who receives it; each role by the staff channels of ``[notify]``.
    recipients: list[ReportRecipient] = Field(default=["manager"], min_length=1)
    # How many of the most frequent problems it names.
    top_problems: int = Field(default=10, ge=1, le=100)
    # When it runs: every Monday at this local hour and minute, in the company's time zone,
    # about the seven days before that Monday.
    hour: int = Field(default=9, ge=0, le=23)
    minute: int = Field(default=0, ge=0, le=59)


class KpiPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    targets: KpiTargets = KpiTargets()
    weekly_report: WeeklyReportPolicy = WeeklyReportPolicy()
