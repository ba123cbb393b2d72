"""The project's pure rules: warranty terms and end dates, the revisit schedule on working days,
greeting days, and the stage model refusing every step out of its stages."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import get_args

import pytest

from domain.calendar import WorkingCalendar
from domain.case import ActionRequest
from domain.casework import Refused
from domain.greetings import GreetingPolicy, greeting_days
from domain.policy import PolicyError, load_policy, parse_policy
from domain.project import ProjectRules, ProjectStage, ProjectState
from domain.project_process import STEPS
from domain.projectwork import check
from domain.revisit import RevisitSchedule, project_revisits
from domain.models import ProblemCategory
from domain.warranty import DefectCategory, WarrantyPolicy, add_months, status, term_ends, warranty_until

SHANGHAI = timezone(timedelta(hours=8))
POLICY = load_policy("policies/default.toml")
RULES = ProjectRules(warranty=POLICY.warranty, project=POLICY.project, working_time=POLICY.working_time,
                     utc_offset_minutes=480)


def test_leaks_where_waterproofing_is_required_have_five_years_and_the_rest_two():
    w, handover = POLICY.warranty, date(2026, 3, 10)
    assert status(w, handover, "leak", "bathroom", date(2029, 3, 10)).in_warranty
    assert status(w, handover, "leak", "outer_wall", date(2031, 3, 9)).in_warranty
    assert not status(w, handover, "leak", "outer_wall", date(2031, 3, 10)).in_warranty
    assert status(w, handover, "leak", "living_room", date(2029, 3, 10)).term == "works"  # no waterproofing there
    assert not status(w, handover, "furniture", "kitchen", date(2029, 3, 10)).in_warranty
    assert status(w, handover, "furniture", "kitchen", date(2028, 3, 9)).in_warranty
    assert not status(w, handover, "painting", None, date(2026, 3, 9)).in_warranty  # before the handover
    assert [e.ends_on for e in term_ends(w, handover)] == [date(2028, 3, 9), date(2031, 3, 9)]
    assert warranty_until(w, handover) == date(2031, 3, 9)


def test_month_arithmetic_keeps_to_the_month_end():
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2024, 2, 29), 12) == date(2025, 2, 28)
    assert add_months(date(2026, 11, 30), 3) == date(2027, 2, 28)


def test_a_malformed_warranty_policy_names_the_key():
    data = {**POLICY.model_dump(mode="json"), "warranty": {"default_term": "gold", "terms": {"works": {"years": 2, "label": "x"}}}}
    with pytest.raises(PolicyError, match="warranty"):
        parse_policy(data)
    with pytest.raises(ValueError):
        WarrantyPolicy.model_validate({"terms": {"works": {"years": -1, "label": "x"}}})
    with pytest.raises(ValueError, match="late window"):
        RevisitSchedule(mid_term_months=(3, 13), late_months=(12, 24))


@pytest.mark.parametrize("handover", [date(2026, 9, 30), date(2027, 1, 29), date(2026, 12, 31), date(2026, 4, 30)])
def test_every_revisit_falls_on_a_working_day_inside_its_window(handover):
    calendar = WorkingCalendar.for_zone(POLICY.working_time, SHANGHAI, datetime(2026, 1, 1, tzinfo=SHANGHAI), years=4)
    tasks = project_revisits(POLICY.project.revisits, calendar, handover)
    assert [t.kind.value for t in tasks] == ["initial", "mid_term", "late"]
    for task in tasks:
        due = task.due_at.astimezone(SHANGHAI)
        assert calendar.is_working_day(due.date()) and due.hour == 9
        assert task.window_start <= due.date() <= task.closes_at.astimezone(SHANGHAI).date() <= task.window_end
        assert calendar.is_working_day(task.closes_at.astimezone(SHANGHAI).date())
    initial = tasks[0]
    assert initial.window_start > handover
    # "within 3 working days": the window holds exactly three working days
    days = [initial.window_start + timedelta(days=n) for n in range((initial.window_end - initial.window_start).days + 1)]
    assert sum(calendar.is_working_day(d) for d in days) == 3
    assert tasks[1].window_start == add_months(handover, 3) and tasks[2].window_end == add_months(handover, 24)


def test_national_day_handover_waits_for_the_holiday_to_end():
    calendar = WorkingCalendar.for_zone(POLICY.working_time, SHANGHAI, datetime(2026, 1, 1, tzinfo=SHANGHAI), years=2)
    initial = project_revisits(POLICY.project.revisits, calendar, date(2026, 9, 30))[0]
    assert initial.due_at.date() > date(2026, 10, 7)  # 1–7 October 2026 are days off


def test_greetings_on_the_first_day_of_each_chosen_holiday():
    days = greeting_days(GreetingPolicy(), date(2026, 1, 1), date(2026, 12, 31))
    assert [(g.holiday, g.on) for g in days] == [
        ("spring_festival", date(2026, 2, 17)), ("mid_autumn", date(2026, 9, 25)), ("national_day", date(2026, 10, 1))]
    assert greeting_days(GreetingPolicy(enabled=False), date(2026, 1, 1), date(2030, 1, 1)) == []


def _project(stage: ProjectStage) -> ProjectState:
    return ProjectState(project_id="PJ000001", package="full", opened_at=datetime(2026, 1, 1, tzinfo=UTC),
                        policy="default", stage=stage)


@pytest.mark.parametrize("stage", list(ProjectStage))
def test_every_step_out_of_its_stages_is_refused_with_the_stage_and_what_comes_next(stage):
    project = _project(stage)
    for name, step in STEPS.items():
        if stage in step.sources:
            continue
        example = step.payload.model_config["json_schema_extra"]["examples"][0]
        request = ActionRequest(action=name, by="admin-1", role="admin", payload=example)
        with pytest.raises(Refused, match=f"stage '{stage.value}'"):
            check(project, request, RULES, datetime(2026, 1, 1, tzinfo=UTC))


def test_roles_and_guards_refuse_with_reasons():
    project = _project(ProjectStage.consultation)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    with pytest.raises(Refused) as refused:
        check(project, ActionRequest(action="cancel", by="a", role="agent", payload={"reason": "x"}), RULES, now)
    assert refused.value.forbidden
    with pytest.raises(Refused, match="needs are not recorded"):
        check(project, ActionRequest(action="start_design", by="a", role="agent", payload={}), RULES, now)
    with pytest.raises(Refused, match="invalid assign_team"):
        check(project, ActionRequest(action="assign_team", by="a", role="supervisor", payload={}), RULES, now)


def test_a_defects_categories_are_the_intakes_problem_categories():
    """One vocabulary: a defect recorded at the acceptance and a case's problem are judged by
    the same warranty terms (``domain.warranty.DefectCategory`` repeats the intake's enum)."""
    assert list(get_args(DefectCategory)) == [c.value for c in ProblemCategory]
