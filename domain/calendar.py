"""Working time: which moments count toward a clock measured in working hours.

A working day is a policy weekday that is not a mainland public holiday, or an official
make-up workday (调休) even when it falls on a weekend. Within a day only the policy's
intervals count (09:00–12:00 and 13:30–18:00: the lunch break does not count).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

from domain.policy import WEEKDAYS, WorkingTime

# A clock longer than this many days of searching has no working time to land in.
_MAX_SEARCH_DAYS = 800


@lru_cache(maxsize=64)
def _china(year: int) -> holidays.HolidayBase:
    return holidays.China(years=year)


class WorkingCalendar:
    def __init__(self, working_time: WorkingTime, zone: ZoneInfo):
        self.working_time = working_time
        self.zone = zone
        self._days = {WEEKDAYS.index(d) for d in working_time.days}
        self._intervals = sorted(working_time.hours, key=lambda i: i.start)

    def is_working_day(self, day: date) -> bool:
        if self.working_time.holidays == "CN":
            cn = _china(day.year)
            if day in cn:
                return False
            if day.weekday() >= 5 and cn.is_working_day(day):
                return True  # official make-up workday
        return day.weekday() in self._days

    def add(self, start: datetime, seconds: float) -> datetime:
        """The moment ``seconds`` of working time after ``start`` (an aware datetime)."""
        remaining = timedelta(seconds=seconds)
        local = start.astimezone(self.zone)
        day = local.date()
        for _ in range(_MAX_SEARCH_DAYS):
            if self.is_working_day(day):
                for interval in self._intervals:
                    begin = datetime.combine(day, interval.start, self.zone)
                    end = datetime.combine(day, interval.end, self.zone)
                    begin = max(begin, local)
                    if begin >= end:
                        continue
                    if end - begin >= remaining:
                        return (begin + remaining).astimezone(start.tzinfo)
                    remaining -= end - begin
            day += timedelta(days=1)
        raise ValueError(f"no working time within {_MAX_SEARCH_DAYS} days of {start.isoformat()}")
