"""The field team's discipline rules (DOMAIN.md §5, seed 003): the complaint rate, cards,
and quality sampling. Pure rules; the ``[discipline]`` policy section holds the numbers."""

from __future__ import annotations

import hashlib

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class DisciplinePolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # A technician whose complaint rate over the window exceeds this stops receiving work.
    complaint_rate_limit: float = Field(default=0.03, ge=0, le=1)
    complaint_window_days: int = Field(default=90, ge=1, le=730)
    yellow_cards_to_suspend: int = Field(default=3, ge=1, le=20)
    red_cards_to_remove: int = Field(default=1, ge=1, le=5)
    # The share of completed work orders drawn into the supervisors' quality-check queue.
    quality_sample_rate: float = Field(default=0.10, ge=0, le=1)
    # The daily review of every technician's complaint rate, at this hour, company time.
    review_hour: int = Field(default=6, ge=0, le=23)


def complaint_rate(complaints: int, completed_jobs: int) -> float | None:
    """Complaints attributed to a technician / jobs (work orders) they completed, over the
    same period; None when they completed none (a rate of nothing is not zero)."""
    if completed_jobs <= 0:
        return None
    return complaints / completed_jobs


def over_complaint_limit(complaints: int, completed_jobs: int, policy: DisciplinePolicy) -> str | None:
    """Why the technician must stop receiving work, or None while within the limit."""
    rate = complaint_rate(complaints, completed_jobs)
    if rate is None or rate <= policy.complaint_rate_limit:
        return None
    return (
        f"complaint rate {complaints}/{completed_jobs} = {rate:.1%} over {policy.complaint_window_days} days "
        f"exceeds {policy.complaint_rate_limit:.1%}: suspended until retrained"
    )


def status_after_cards(yellow: int, red: int, policy: DisciplinePolicy) -> tuple[str, str] | None:
    """The status the cards since the last reinstatement call for, with the reason; None
    while they call for nothing. A red card outweighs any number of yellow ones."""
    if red >= policy.red_cards_to_remove:
        return "removed", f"{red} red card{'s' if red > 1 else ''}: removed"
    if yellow >= policy.yellow_cards_to_suspend:
        return "suspended", f"{yellow} yellow cards: suspended for retraining"
    return None


def drawn_for_quality_check(work_order: str, seed: str, rate: float) -> bool:
    """Whether a completed work order goes to the supervisors' quality-check queue.

    A keyed hash, not a random call: the same order always gets the same answer (a retried
    write cannot draw it twice, or draw it once and then not), the orders drawn are a
    uniform ``rate`` share, and nobody can tell which without the installation's seed.
    """
    digest = hashlib.sha256(f"{seed}\n{work_order}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < rate


class ComplaintReview(BaseModel):
    """Review a technician's complaint rate when a complaint is attributed to them."""

    technician: str
    case_no: str  # the complaint,
    seq: int  # and its event that attributed it: what a suspension is recorded against
    at: AwareDatetime

    @property
    def source(self) -> str:
        return f"complaint:{self.case_no}#{self.seq}"


class TeamReview(BaseModel):
    """The daily review's input: when it was due (the schedule's time, or now by hand)."""

    fired_at: AwareDatetime | None = None


class ReviewVerdict(BaseModel):
    complaints: int
    completed_jobs: int
    suspended: bool  # suspended by this review (again when the same review is retried)
    reason: str | None = None
