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
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

# What went wrong, in the desk's words (DOMAIN.md §3, seed 002's trades).
# The same words as the intake's ``problem_category`` (domain.models.ProblemCategory; tests/test_project_rules.py
# checks they agree).
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


def last_covered_day(handover: date, term: WarrantyTerm, *, month_end: bool = True) -> date:
    """The last day a term counted from the handover date covers.

    The handover day is the first day covered (保修期自竣工验收合格之日起计算), so the term
    ends the day before the same date N years (or months) later: a 2-year term from
    2026-03-10 covers up to 2028-03-09. When that date does not exist (a handover on 29 Feb,
    or on the 31st with a term in months), the Civil Code's rule for periods in years and
    months (民法典 第二百零二条: 没有对应日的，月末日为期间的最后一日) makes the month's last
    day the last day covered: from 2028-02-29, two years cover up to 2030-02-28, i.e. 1 March
    less one day. ``month_end=False`` is the arithmetic of projects handed over before this
    rule (clamp to the month's end, then a day less: 2030-02-27); their workflows replay it.
    """
    if not month_end:
        return add_months(handover, term.total_months) - timedelta(days=1)
    index = handover.year * 12 + handover.month - 1 + term.total_months
    year, month = divmod(index, 12)
    last = _months.monthrange(year, month + 1)[1]
    if handover.day > last:  # no such day that month: its last day is the last one covered
        return date(year, month + 1, last)
    return date(year, month + 1, handover.day) - timedelta(days=1)


class TermEnd(BaseModel):
    """A term as the warranty card states it, fixed at the handover."""

    term: str
    label: str
    years: int
    months: int
    defects: list[str]
    areas: list[str]
    starts_on: date
    ends_on: date  # the last day covered
    default: bool = False  # covers whatever no other term does (False on cards issued before the flag)

    def covers(self, defect: str, area: str | None) -> bool:
        if self.defects and defect not in self.defects:
            return False
        return not self.areas or area in self.areas


class WarrantyStatus(BaseModel):
    """Whether a defect found on ``on`` is covered, and by which term until when."""

    defect: str
    area: str | None
    on: date
    term: str
    label: str
    ends_on: date
    in_warranty: bool
    handover_on: date | None = None


def term_ends(policy: WarrantyPolicy, handover: date, *, month_end: bool = True) -> list[TermEnd]:
    """Every term with its end date, longest last (the warranty card's table)."""
    ends = [
        TermEnd(term=name, label=t.label, years=t.years, months=t.months, defects=list(t.defects),
                areas=list(t.areas), starts_on=handover, ends_on=last_covered_day(handover, t, month_end=month_end),
                default=name == policy.default_term)
        for name, t in policy.terms.items()
    ]
    return sorted(ends, key=lambda e: (e.ends_on, e.term))


def warranty_until(policy: WarrantyPolicy, handover: date, *, month_end: bool = True) -> date:
    """The last day any term covers: the project's warranty ends after it."""
    return max(e.ends_on for e in term_ends(policy, handover, month_end=month_end))


def _default_of(terms: list[TermEnd], fallback: str | None) -> TermEnd:
    """The card's catch-all term: flagged at the handover; on an older card, the only term
    naming no defect and no area, else the term named ``fallback`` (the policy's default)."""
    flagged = [t for t in terms if t.default]
    if flagged:
        return flagged[0]
    general = [t for t in terms if not t.defects and not t.areas]
    named = [t for t in terms if t.term == fallback]
    if len(general) == 1 or not named:
        return (general or terms)[0]
    return named[0]


def status_on_card(
    terms: list[TermEnd], defect: str, area: str | None, on: date, *, fallback_default: str | None = None
) -> WarrantyStatus:
    """Whether a defect found on ``on`` is covered by the terms as issued at the handover (not
    by today's policy): the most specific term covering it (one naming defects or areas, the
    longest of those), else the catch-all; covered from its first to its last day."""
    default = _default_of(terms, fallback_default)
    specific = [t for t in terms if t is not default and (t.defects or t.areas) and t.covers(defect, area)]
    term = max(specific, key=lambda t: (t.years * 12 + t.months, t.ends_on)) if specific else default
    return WarrantyStatus(defect=defect, area=area, on=on, term=term.term, label=term.label, ends_on=term.ends_on,
                          in_warranty=term.starts_on <= on <= term.ends_on, handover_on=term.starts_on)


def status(policy: WarrantyPolicy, handover: date, defect: DefectCategory, area: Area | None, on: date) -> WarrantyStatus:
    """As ``status_on_card`` for the terms ``policy`` gives a handover on ``handover``."""
    return status_on_card(term_ends(policy, handover), defect, area, on)


def plan_cost_default(under_warranty: str, responsibility: str | None) -> Decimal | None:
    """A repair plan proposed without a price: free (0) when the repair is the company's to
    make under warranty, otherwise no default (the desk states the price the customer then
    confirms). A price the desk states is always taken as given.

    - the survey found the user responsible (``user_damage``) or the defect out of warranty
      (``out_of_warranty``): no default;
    - the case is out of warranty (``under_warranty`` ``no``: for a project's case, its term
      on the card has ended): no default, whatever the survey assumed;
    - in warranty (``yes``), or not known at intake and found ``in_warranty`` by the survey:
      free;
    - otherwise (unknown, nothing found): no default.
    """
    if responsibility in ("user_damage", "out_of_warranty") or under_warranty == "no":
        return None
    if under_warranty == "yes" or responsibility == "in_warranty":
        return Decimal(0)
    return None
