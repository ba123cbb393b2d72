"""The field team's discipline rules (DOMAIN.md §5, seed 003): the complaint rate, cards,
and quality sampling. Pure rules; the ``[discipline]`` policy section holds the numbers."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class DisciplinePolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # A technician whose complaint rate over the window exceeds this stops receiving work.
    complaint_rate_limit: float = Field(default=0.03, ge=0, le=1)
    complaint_window_days: int = Field(default=90, ge=1, le=730)
    yellow_cards_to_suspend: int = Field(default=3, ge=1, le=20)
    red_cards_to_remove: int = Field(default=1, ge=1, le=5)
    # The share of completed work orders drawn into the supervisors' quality-check queue.
    quality_sample_rate: float = Field(default=0.10, ge=0, le=1)


def complaint_rate(complaints: int, completed_jobs: int) -> float | None:
    """Complaints attributed to a technician / jobs (work orders) they completed, over the
    same period; None when they completed none (a rate of nothing is not zero)."""
    if completed_jobs <= 0:
        return None
    return complaints / completed_jobs
