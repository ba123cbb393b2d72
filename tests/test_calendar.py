"""Working time: lunch breaks, weekends, Chinese public holidays and make-up workdays."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from conftest import DEFAULT_POLICY

from domain.calendar import WorkingCalendar
from domain.clocks import plan_clocks
from domain.models import CaseKind, ClockName, Severity
from domain.policy import load_policy

SHANGHAI = ZoneInfo("Asia/Shanghai")
POLICY = load_policy(DEFAULT_POLICY)
CAL = WorkingCalendar.for_zone(POLICY.working_time, SHANGHAI, datetime(2026, 1, 1, tzinfo=SHANGHAI))


def at(*args) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


def test_the_lunch_break_does_not_count():
    assert CAL.add(at(2026, 11, 23, 11, 30), 3600) == at(2026, 11, 23, 14, 0)


def test_outside_hours_the_clock_starts_at_the_next_working_moment():
    assert CAL.add(at(2026, 11, 23, 20, 0), 3600) == at(2026, 11, 24, 10, 0)  # Monday evening
    assert CAL.add(at(2026, 11, 21, 10, 0), 3600) == at(2026, 11, 23, 10, 0)  # Saturday


def test_national_day_holiday_is_skipped():
    # Wed 30 Sep 2026, 16:00: two working hours left that day, then 1–7 October are off
    # (10/4 is a Sunday anyway); one working day (7.5 h) lands on Thu 8 Oct at 16:00.
    assert CAL.add(at(2026, 9, 30, 16, 0), 7.5 * 3600) == at(2026, 10, 8, 16, 0)
    assert not CAL.is_working_day(at(2026, 10, 5, 9).date())  # a Monday, and a holiday


def test_a_make_up_workday_counts_even_on_a_saturday():
    # Sat 10 Oct 2026 is an official make-up workday (调休): Friday 17:00 + 4.5 working hours
    # = 1 h on Friday, then 09:00–12:00 and 13:30–14:00 on that Saturday.
    assert CAL.is_working_day(at(2026, 10, 10, 9).date())
    assert CAL.add(at(2026, 10, 9, 17, 0), 4.5 * 3600) == at(2026, 10, 10, 14, 0)
    # And the plain Saturday after it is not a working day.
    assert CAL.add(at(2026, 10, 16, 17, 0), 4.5 * 3600) == at(2026, 10, 19, 14, 0)


def test_spring_festival_2026_with_its_make_up_saturday():
    # Sat 14 Feb 2026 is worked; 15–23 Feb are off; Sat 28 Feb is worked again.
    assert CAL.is_working_day(at(2026, 2, 14, 9).date())
    assert not CAL.is_working_day(at(2026, 2, 23, 9).date())
    # Sat 14 Feb 17:30 + 1 working hour: 30 min that day, then the holiday, then Tue 24 Feb 09:30.
    assert CAL.add(at(2026, 2, 14, 17, 30), 3600) == at(2026, 2, 24, 9, 30)


def test_plan_of_a_working_clock_with_warning_and_escalation_points():
    start = at(2026, 9, 30, 17, 30)
    clocks = {c.name: c for c in plan_clocks(POLICY, CAL, CaseKind.repair, Severity.normal, start)}
    response = clocks[ClockName.response]
    # 1 working hour: 17:30–18:00 on 9/30, over the National Day holiday, 09:00–09:30 on 10/8
    assert response.deadline == at(2026, 10, 8, 9, 30)
    assert response.warn_at == at(2026, 10, 8, 9, 18)  # 80 % = 48 working minutes
    assert [m.at for m in response.milestones if m.level == 2] == [at(2026, 10, 8, 10, 0)]  # half again
    plan = clocks[ClockName.plan]  # calendar time: the holiday does not stop it
    assert plan.deadline == start + timedelta(hours=24)
    consultation = {c.name: c for c in plan_clocks(POLICY, CAL, CaseKind.consultation, Severity.normal, start)}
    # "within one working day" lands at the same hour on the next working day after the holiday
    assert consultation[ClockName.plan].deadline == at(2026, 10, 8, 17, 30)
