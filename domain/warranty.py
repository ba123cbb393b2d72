"""Warranty terms: how long each kind of defect is covered after the project's handover.

Chinese regulation sets the minimum for residential interior renovation at 2 years, and 5
years for leaks where waterproofing is required (kitchens, bathrooms, outer walls). The
``[warranty]`` policy section holds the terms; a case opened for a project reads its warranty
status from here (the defect's category and area, the project's handover date), and so do
the project's workflow (when it ends) and the warranty card.

Pure date arithmetic: no I/O, safe inside workflows.
"""

from __future__ import annotations

import calendar as _months
from datetime import date, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

# What went wrong, in the desk's words (DOMAIN.md §3, seed 002's trades).
# The same words as the intake's ``problem_category`` (domain.models.ProblemCategory).
DefectCategory = Literal[
    "leak", "plumbing_electrical", "carpentry", "tiling_masonry", "painting", "doors_windows", "furniture",
    "hardware", "appliance", "other",
]
# Where in the home.
Area = Literal["kitchen", "bathroom", "outer_wall", "balcony", "living_room", "bedroom", "whole_home", "other"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WarrantyTerm(_Strict):
    """One term: its length, what it covers (empty lists: everything), and its printed label."""

    years: int = Field(ge=0, le=50)
    months: int = Field(default=0, ge=0, le=11)
    label: str = Field(min_length=1, max_length=200)
    defects: list[DefectCategory] = Field(default_factory=list)
    areas: list[Area] = Field(default_factory=list)

    def covers(self, defect: DefectCategory, area: Area | None) -> bool:
        if self.defects and defect not in self.defects:
            return False
        return not self.areas or area in self.areas

    @property
    def total_months(self) -> int:
        return self.years * 12 + self.months


def _default_terms() -> dict[str, WarrantyTerm]:
    return {
        "works": WarrantyTerm(years=2, label="装修工程 · renovation works"),
        "waterproofing": WarrantyTerm(
            years=5,
            label="有防水要求的厨房、卫生间和外墙面的防渗漏 · leaks where waterproofing is required",
            defects=["leak"],
            areas=["kitchen", "bathroom", "outer_wall"],
        ),
    }


class WarrantyPolicy(_Strict):
    """The ``[warranty]`` section: the terms, and the one that covers whatever no other does."""

    default_term: str = "works"
    terms: dict[str, WarrantyTerm] = Field(default_factory=_default_terms)

    @model_validator(mode="after")
    def _has_default(self) -> WarrantyPolicy:
        if self.default_term not in self.terms:
            raise ValueError(f"default_term {self.default_term!r} is not one of the terms ({', '.join(self.terms)})")
        return self

    def term_for(self, defect: DefectCategory, area: Area | None) -> str:
        """The most specific term covering the defect: a term naming defects or areas wins
        over the catch-all default; among those, the longest."""
        specific = [
            name for name, t in self.terms.items()
            if name != self.default_term and (t.defects or t.areas) and t.covers(defect, area)
        ]
        if specific:
            return max(specific, key=lambda n: self.terms[n].total_months)
        return self.default_term

    @property
    def longest_months(self) -> int:
        return max(t.total_months for t in self.terms.values())


def add_months(day: date, months: int) -> date:
    """``day`` moved by whole months; the 31st becomes the month's last day (29 Feb → 28 Feb)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = _months.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def last_covered_day(handover: date, term: WarrantyTerm) -> date:
    """Counted from the handover date: a 2-year term from 2026-03-10 covers up to 2028-03-09."""
    return add_months(handover, term.total_months) - timedelta(days=1)


class TermEnd(BaseModel):
    term: str
    label: str
    years: int
    months: int
    defects: list[str]
    areas: list[str]
    starts_on: date
    ends_on: date  # the last day covered


class WarrantyStatus(BaseModel):
    """Whether a defect found on ``on`` is covered, and by which term until when."""

    defect: str
    area: str | None
    on: date
    term: str
    label: str
    ends_on: date
    in_warranty: bool


def term_ends(policy: WarrantyPolicy, handover: date) -> list[TermEnd]:
    """Every term with its end date, longest last (the warranty card's table)."""
    ends = [
        TermEnd(term=name, label=t.label, years=t.years, months=t.months, defects=list(t.defects),
                areas=list(t.areas), starts_on=handover, ends_on=last_covered_day(handover, t))
        for name, t in policy.terms.items()
    ]
    return sorted(ends, key=lambda e: (e.ends_on, e.term))


def warranty_until(policy: WarrantyPolicy, handover: date) -> date:
    """The last day any term covers: the project's warranty ends after it."""
    return max(e.ends_on for e in term_ends(policy, handover))


def status(policy: WarrantyPolicy, handover: date, defect: DefectCategory, area: Area | None, on: date) -> WarrantyStatus:
    name = policy.term_for(defect, area)
    term = policy.terms[name]
    ends = last_covered_day(handover, term)
    return WarrantyStatus(defect=defect, area=area, on=on, term=name, label=term.label, ends_on=ends,
                          in_warranty=handover <= on <= ends)
