"""The dates the desk enters for a project's steps (``domain.project_dates``): a handover date
far in the future or long past, or before the acceptance's signing, is refused with its reason
(409 through the API), and so are confirmations and signatures in the future or from long
ago, far rectification deadlines and materials' arrivals; dates at the bounds run the
workflow without overflowing."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone

import pytest
from conftest import DEFAULT_POLICY, eventually
from desk import desk
from project_desk import headers, to_delivery

from domain.casework import Refused
from domain.case import ActionRequest
from domain.policy import load_policy
from domain.project import Acceptance, ProjectRules, ProjectStage, ProjectState
from domain.projectwork import apply
from domain.warranty import add_months, warranty_until

SHANGHAI = timezone(timedelta(hours=8))
POLICY = load_policy("policies/default.toml")
RULES = ProjectRules(warranty=POLICY.warranty, project=POLICY.project, working_time=POLICY.working_time,
                     utc_offset_minutes=480)
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=SHANGHAI)
TODAY = NOW.date()
SIGNED = datetime(2026, 11, 20, 15, 0, tzinfo=SHANGHAI)
INTAKE = {"customer_name": "李先生", "phone": "13912345678", "address": "上海市徐汇区漕溪北路200号3号楼801",
          "package": "full", "channel": "store"}


def _project(stage: ProjectStage, signed_at: datetime = SIGNED) -> ProjectState:
    return ProjectState(project_id="PJ000001", package="full", opened_at=datetime(2026, 1, 1, tzinfo=UTC),
                        policy="default", stage=stage,
                        acceptance=Acceptance(signed_by="customer", signed_at=signed_at, recorded_at=signed_at))


def _apply(stage: ProjectStage, action: str, role: str = "admin", **payload) -> ProjectState:
    project = _project(stage)
    apply(project, ActionRequest(action=action, by="a", role=role, payload=payload), RULES, NOW)
    return project


def _hand_over(day: date | str) -> ProjectState:
    return _apply(ProjectStage.delivery, "hand_over", handover_on=str(day), documents=["report"], care_instructions=True)


@pytest.mark.parametrize(("day", "reason"), [
    ("2099-12-01", "is after 2026-11-28"),  # year 9999 is no Day at all (tests/test_bounds.py)
    (TODAY + timedelta(days=4), "is after 2026-11-28"),
    ("2016-01-01", "its warranty ended on 2020-12-31"),
    (SIGNED.date() - timedelta(days=1), "before the completion acceptance was signed (2026-11-20)"),
])
def test_a_handover_date_out_of_bounds_is_refused_with_the_reason(day, reason):
    with pytest.raises(Refused, match="cannot hand over project PJ000001: the handover date") as refused:
        _hand_over(day)
    assert reason in refused.value.reason and not refused.value.forbidden


def test_handover_dates_at_the_bounds_are_taken():
    assert _hand_over(TODAY + timedelta(days=3)).stage == ProjectStage.warranty
    assert _hand_over(SIGNED.date()).handover.handover_on == SIGNED.date()
    # The oldest handover whose longest term still covers today (signed the day before it).
    oldest = add_months(TODAY, -60) + timedelta(days=1)
    assert warranty_until(RULES.warranty, oldest) == TODAY
    signed = datetime.combine(oldest - timedelta(days=1), time(9), SHANGHAI)
    for day, taken in ((oldest, True), (oldest - timedelta(days=1), False)):
        project = _project(ProjectStage.delivery, signed_at=signed)
        request = ActionRequest(action="hand_over", by="a", role="admin", payload={
            "handover_on": day.isoformat(), "documents": ["report"], "care_instructions": True})
        if taken:
            apply(project, request, RULES, NOW)
            assert project.handover.handover_on == oldest
        else:
            with pytest.raises(Refused, match=f"its warranty ended on {TODAY - timedelta(days=1)}"):
                apply(project, request, RULES, NOW)


@pytest.mark.parametrize(("stage", "action", "payload", "reason"), [
    (ProjectStage.design, "confirm_design", {"how": "signature", "confirmed_at": "2099-12-31T23:00:00-08:00"},
     "the design's confirmation (confirmed_at) 2099-12-31T23:00:00-08:00 is in the future"),
    (ProjectStage.design, "confirm_design", {"how": "signature", "confirmed_at": "2016-01-01T10:00:00+08:00"},
     "is before 2019-11-25: longer ago than the longest warranty term"),
    (ProjectStage.acceptance, "accept_completion", {"signed_by": "customer", "signed_at": "2026-11-27T10:00:00+08:00"},
     "the acceptance's signature (signed_at) 2026-11-27T10:00:00+08:00 is in the future"),
    (ProjectStage.acceptance, "accept_completion", {"signed_by": "customer", "signed_at": "2001-01-01T00:00:00+08:00"},
     "is before 2019-11-25"),
    (ProjectStage.acceptance, "record_defect", {"description": "gap", "category": "carpentry", "owner": "pm-05",
                                                "rectify_by": "2099-12-31T23:00:00-08:00"}, "more than 366 days ahead"),
    (ProjectStage.acceptance, "record_defect", {"description": "gap", "category": "carpentry", "owner": "pm-05",
                                                "rectify_by": "2026-11-25T09:00:00+08:00"}, "has passed already"),
    (ProjectStage.construction, "notify_materials", {"materials": ["tiles"], "arrives_on": "2099-12-01"},
     "the materials' arrival 2099-12-01 is not between 2026-10-26 and 2027-11-26"),
])
def test_the_other_free_dates_are_bounded(stage, action, payload, reason):
    project = _project(stage)
    project.designer, project.project_manager = "des-02", "pm-05"
    if action == "confirm_design":
        _apply_to(project, "propose_design", summary="open kitchen")
    with pytest.raises(Refused) as refused:
        _apply_to(project, action, **payload)
    assert reason in refused.value.reason


def test_free_dates_inside_their_bounds_are_taken():
    project = _project(ProjectStage.construction)
    _apply_to(project, "notify_materials", materials=["tiles"], arrives_on=str(TODAY + timedelta(days=300)))
    project.stage = ProjectStage.acceptance
    _apply_to(project, "record_defect", description="gap", category="carpentry", owner="pm-05",
              rectify_by=(NOW + timedelta(days=365)).isoformat())
    _apply_to(project, "close_defect", defect=1)
    _apply_to(project, "accept_completion", signed_by="customer", signed_at=(NOW + timedelta(hours=20)).isoformat())
    assert project.stage == ProjectStage.delivery


def _apply_to(project: ProjectState, action: str, **payload) -> None:
    apply(project, ActionRequest(action=action, by="a", role="admin", payload=payload), RULES, NOW)


async def test_the_desk_hears_409_for_a_far_handover_date_and_the_project_goes_on(env, pg_url, executor, db):
    async with desk(env, pg_url, executor, DEFAULT_POLICY) as d:
        now = await d.now()
        today = now.astimezone(d.ctx.settings.zone).date()
        pid = await to_delivery(d.http, now.isoformat(), INTAKE)
        body = {"documents": ["completion report"], "care_instructions": True}
        for day, reason in (("2099-12-01", "is after"), ("2016-01-01", "its warranty ended on 2020-12-31")):
            answer = await d.http.post(f"/projects/{pid}/hand-over", json={**body, "handover_on": day},
                                       headers=headers())
            assert answer.status_code == 409, answer.text
            assert reason in answer.json()["detail"], answer.text
        beyond = await d.http.post(f"/projects/{pid}/hand-over", json={**body, "handover_on": "9999-12-01"},
                                   headers=headers())
        assert beyond.status_code == 422 and beyond.json()["detail"][0]["loc"] == ["body", "handover_on"]
        # Still in delivery, and the latest date allowed starts a warranty the workflow can plan.
        latest = today + timedelta(days=3)
        done = await d.http.post(f"/projects/{pid}/hand-over", json={**body, "handover_on": latest.isoformat()},
                                 headers=headers())
        assert done.status_code == 200, done.text

        async def planned():
            live = (await d.http.get(f"/projects/{pid}", headers=headers())).json()
            return live["state"]["warranty"] and live

        live = await eventually(planned)
        assert live["stage"] == "warranty" and live["state"]["warranty"]["handover_on"] == latest.isoformat()
