"""Holiday greetings to customers under warranty (DOMAIN.md §3: "revisits, holiday greetings").

Which holidays is policy (``[project.greetings]``). The lunar holidays move every year, so
their dates come from the maintained ``holidays`` package, outside workflows: an activity
computes them once when the warranty starts, and the workflow carries the list.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

Holiday = Literal["new_year", "spring_festival", "labor_day", "dragon_boat", "mid_autumn", "national_day"]

# The names the ``holidays`` package gives the first day of each (mainland China).
_NAMES: dict[str, str] = {
    "new_year": "New Year's Day",
    "spring_festival": "Chinese New Year (Spring Festival)",
    "labor_day": "Labor Day",
    "dragon_boat": "Dragon Boat Festival",
    "mid_autumn": "Mid-Autumn Festival",
    "national_day": "National Day",
}


class GreetingPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    holidays: list[Holiday] = Field(default_factory=lambda: ["spring_festival", "mid_autumn", "national_day"])


class GreetingDay(BaseModel):
    holiday: str
    on: date
    at: AwareDatetime | None = None  # 10:00 local that day: when it goes out
    sent_at: AwareDatetime | None = None


def greeting_days(policy: GreetingPolicy, start: date, end: date) -> list[GreetingDay]:
    """The first day of each chosen holiday strictly after ``start`` and up to ``end``."""
    if not policy.enabled:
        return []
    import holidays  # outside workflows only (the activity that starts the warranty)

    wanted = {_NAMES[h]: h for h in policy.holidays}
    days: list[GreetingDay] = []
    for year in range(start.year, end.year + 1):
        first: dict[str, date] = {}
        for day, name in sorted(holidays.China(years=year).items()):
            for label in name.split("; "):
                if label in wanted and label not in first:
                    first[label] = day
        days += [GreetingDay(holiday=wanted[label], on=day) for label, day in first.items() if start < day <= end]
    return sorted(days, key=lambda g: g.on)
