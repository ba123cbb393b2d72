"""Working time: which moments count toward a clock measured in working hours.

A working day is a policy weekday that is not a mainland public holiday, or an official
make-up workday (调休) even when it falls on a weekend. Within a day only the policy's
intervals count (09:00–12:00 and 13:30–18:00: the lunch break does not count).

The calendar is built from plain data (``CalendarSpec``: the working time, a fixed UTC
offset and the holiday and make-up dates of the years it covers) so that a workflow can
carry it and do its own clock arithmetic deterministically, without reading zone files or
the holiday package inside the sandbox. ``CalendarSpec.build`` fills it in outside.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone, tzinfo
from functools import lru_cache

from pydantic import BaseModel

from domain.policy import WEEKDAYS, WorkingTime

# A clock longer than this many days of searching has no working time to land in.
_MAX_SEARCH_DAYS = 800
# How many years a case's calendar covers: its own and the next (a case lives weeks).
SPEC_YEARS = 2


@lru_cache(maxsize=64)
def _china(year: int):
    import holidays  # only outside workflows: CalendarSpec.build

    return holidays.China(years=year)


class CalendarSpec(BaseModel):
    """Everything a working calendar needs, as data that can cross into a workflow."""

    working_time: WorkingTime
    utc_offset_minutes: int
    days_off: list[date] = []  # public holidays on what would be working days
    make_up_days: list[date] = []  # official make-up workdays on weekends

    @classmethod
    def build(
        cls, working_time: WorkingTime, zone: tzinfo, start: datetime, years: int = SPEC_YEARS, years_before: int = 0
    ) -> CalendarSpec:
        offset = start.astimezone(zone).utcoffset() or timedelta(0)
        days_off, make_up = [], []
        if working_time.holidays == "CN":
            for year in range(start.year - years_before, start.year + years):
                cn = _china(year)
                day = date(year, 1, 1)
                while day.year == year:
                    if day in cn:
                        days_off.append(day)
                    elif day.weekday() >= 5 and cn.is_working_day(day):
                        make_up.append(day)
                    day += timedelta(days=1)
        return cls(
            working_time=working_time,
            utc_offset_minutes=int(offset.total_seconds() // 60),
            days_off=days_off,
            make_up_days=make_up,
        )


class WorkingCalendar:
    def __init__(self, spec: CalendarSpec):
        self.working_time = spec.working_time
        # A fixed offset: the company's zone has no daylight saving (mainland China).
        self.zone = timezone(timedelta(minutes=spec.utc_offset_minutes))
        self._days = {WEEKDAYS.index(d) for d in spec.working_time.days}
        self._off = set(spec.days_off)
        self._make_up = set(spec.make_up_days)
        self._intervals = sorted(spec.working_time.hours, key=lambda i: i.start)

    @classmethod
    def for_zone(
        cls, working_time: WorkingTime, zone: tzinfo, start: datetime, years: int = SPEC_YEARS, years_before: int = 0
    ) -> WorkingCalendar:
        return cls(CalendarSpec.build(working_time, zone, start, years, years_before))

    def is_working_day(self, day: date) -> bool:
        if day in self._off:
            return False
        if day in self._make_up:
            return True
        return day.weekday() in self._days

    def _spans(self, day: date):
        for interval in self._intervals:
            yield datetime.combine(day, interval.start, self.zone), datetime.combine(day, interval.end, self.zone)

    def add(self, start: datetime, seconds: float) -> datetime:
        """The moment ``seconds`` of working time after ``start`` (an aware datetime)."""
        remaining = timedelta(seconds=seconds)
        local = start.astimezone(self.zone)
        day = local.date()
        for _ in range(_MAX_SEARCH_DAYS):
            if self.is_working_day(day):
                for begin, end in self._spans(day):
                    begin = max(begin, local)
                    if begin >= end:
                        continue
                    if end - begin >= remaining:
                        return (begin + remaining).astimezone(start.tzinfo)
                    remaining -= end - begin
            day += timedelta(days=1)
        raise ValueError(f"no working time within {_MAX_SEARCH_DAYS} days of {start.isoformat()}")

    def working_seconds(self, start: datetime, end: datetime) -> float:
        """Working time between two moments (zero when ``end`` is not after ``start``)."""
        if end <= start:
            return 0.0
        a, b = start.astimezone(self.zone), end.astimezone(self.zone)
        total = timedelta(0)
        day = a.date()
        while day <= b.date():
            if self.is_working_day(day):
                for begin, finish in self._spans(day):
                    lo, hi = max(begin, a), min(finish, b)
                    if hi > lo:
                        total += hi - lo
            day += timedelta(days=1)
        return total.total_seconds()

    def working_day_on_or_after(self, day: date) -> date:
        for _ in range(_MAX_SEARCH_DAYS):
            if self.is_working_day(day):
                return day
            day += timedelta(days=1)
        raise ValueError(f"no working day within {_MAX_SEARCH_DAYS} days of {day}")

    def working_day_on_or_before(self, day: date) -> date:
        for _ in range(_MAX_SEARCH_DAYS):
            if self.is_working_day(day):
                return day
            day -= timedelta(days=1)
        raise ValueError(f"no working day within {_MAX_SEARCH_DAYS} days before {day}")

    def day_start(self, day: date) -> datetime:
        return datetime.combine(day, self._intervals[0].start, self.zone)

    def day_end(self, day: date) -> datetime:
        return datetime.combine(day, self._intervals[-1].end, self.zone)

    def local_date(self, moment: datetime) -> date:
        return moment.astimezone(self.zone).date()
