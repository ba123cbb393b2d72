"""The ``[project]`` policy section: the renovation project's own clocks, revisits and greetings."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from domain.greetings import GreetingPolicy
from domain.revisit import RevisitSchedule


class ProjectPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # The customer gets a progress report at least this often during construction (a clock).
    progress_report_days: int = Field(default=7, ge=1, le=31)
    revisits: RevisitSchedule = RevisitSchedule()
    greetings: GreetingPolicy = GreetingPolicy()
