"""Who may take a project's site steps (security review A1): a technician acts only on the
projects whose crew they are on (its project manager, its designer, one of its technicians, or
for closing a defect that defect's owner), through the API and the workflow alike, and a
technician's answer never carries the customer's name, phone or address."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from conftest import DEFAULT_POLICY, eventually
from desk import desk
from project_desk import TRADES, do, headers
from pydantic import ValidationError
from temporalio.client import WorkflowUpdateFailedError

from domain.case import ActionRequest
from domain.process import DESK, TECHNICIAN
from domain.project import Deadline, Defect, ProjectRules, ProjectState, workflow_id
from domain.project_process import STEPS, not_assigned, sees_customer
from domain.project_steps import AssignTeam
from domain.policy import load_policy
from domain.projectwork import apply
from workflows.conventions import FORBIDDEN
from workflows.project import ProjectLifecycle

INTAKE = {"customer_name": "李先生", "phone": "13912345678", "address": "上海市徐汇区漕溪北路200号3号楼801",
          "house_type": "三室两厅", "package": "full", "channel": "store"}
PII = ("李先生", "13912345678", "漕溪北路")
SITE_STEPS = ("record_milestone", "record_inspection", "record_site_visit", "report_problem", "finish_construction",
              "record_defect", "close_defect", "accept_completion", "add_note")
STRANGER = "technician"  # t-technician: tech-017
CREW = "technician-2"  # t-technician-2: tech-020, on the crew of the projects below


def example(action: str) -> dict:
    return dict(STEPS[action].payload.model_config["json_schema_extra"]["examples"][0])


async def in_construction(d, **team) -> str:
    """A project through the API, its design confirmed, its team ``team``."""
    created = await d.http.post("/projects", json=INTAKE, headers=headers())
    assert created.status_code == 201, created.text
    pid = created.json()["project_id"]
    await do(d.http, pid, "record-needs", style="modern", budget="180000", rooms=["kitchen"])
    await do(d.http, pid, "assign-team", "supervisor", **team)
    await do(d.http, pid, "start-design")
    await do(d.http, pid, "propose-design", summary="open kitchen")
    await do(d.http, pid, "confirm-design", how="signature", confirmed_at=(await d.now()).isoformat())
    return pid


async def notifications(d, pid: str) -> list[dict]:
    answer = await d.http.get(f"/projects/{pid}/notifications", headers=headers())
    assert answer.status_code == 200, answer.text
    return answer.json()


def nothing_of(detail: str) -> None:
    """A refusal that names nothing of the project: no stage, no customer."""
    assert "not assigned" in detail, detail
    assert "stage" not in detail and "construction" not in detail and not any(p in detail for p in PII), detail


# -- the rule ------------------------------------------------------------------------------

def _project() -> ProjectState:
    at = datetime.fromisoformat("2026-11-25T10:00:00+08:00")
    return ProjectState(
        project_id="PJ000001", package="full", opened_at=at, policy="default", designer="des-02",
        project_manager="pm-05", service_agent="小王", technicians=["tech-017"],
        defects=[Defect(number=1, description="door rubs", category="carpentry", owner="carp-01", recorded_at=at,
                        rectification=Deadline(started_at=at, due_at=at + timedelta(days=2)))],
    )


@pytest.mark.parametrize(("role", "by", "action", "payload", "allowed"), [
    (TECHNICIAN, "tech-017", "add_note", {"note": "x"}, True),  # on the crew
    (TECHNICIAN, "pm-05", "report_problem", {"problem": "x"}, True),  # the project manager
    (TECHNICIAN, "des-02", "record_site_visit", {}, True),  # the designer
    (TECHNICIAN, "tech-020", "add_note", {"note": "x"}, False),  # a stranger
    (TECHNICIAN, "tech-020", "report_problem", {"problem": "x"}, False),
    (TECHNICIAN, "小王", "add_note", {"note": "x"}, False),  # the service agent is the desk's, not the site's
    (TECHNICIAN, "carp-01", "close_defect", {"defect": 1}, True),  # the defect's owner closes it
    (TECHNICIAN, "carp-01", "close_defect", {"defect": 2}, False),  # …only that defect
    (TECHNICIAN, "carp-01", "record_defect", {}, False),  # and takes no other step
    (TECHNICIAN, "tech-017", "close_defect", {"defect": 1}, True),
    ("agent", "agent-007", "accept_completion", {}, True),  # the desk is not held to a crew
    ("supervisor", "sup-01", "finish_construction", {}, True),
])
def test_A1_who_may_take_a_project_site_step(role, by, action, payload, allowed):
    request = ActionRequest(action=action, by=by, role=role, payload=payload)
    reason = not_assigned(_project(), request)
    assert (reason is None) == allowed, reason
    if reason:
        nothing_of(reason)
        assert "PJ000001" not in reason


def test_A1_the_site_steps_are_the_nine_a_technician_may_take_and_only_the_desk_sees_the_customer():
    assert tuple(n for n, s in STEPS.items() if TECHNICIAN in s.roles) == SITE_STEPS
    assert all(sees_customer(role) for role in DESK) and not sees_customer(TECHNICIAN)
    # With nobody assigned, no technician may act.
    bare = ProjectState(project_id="PJ000002", package="half", opened_at=datetime.fromisoformat("2026-11-25T10:00:00+08:00"),
                        policy="default")
    assert all(not_assigned(bare, ActionRequest(action=n, by="tech-017", role=TECHNICIAN)) for n in SITE_STEPS)


def test_A1_assign_team_names_the_crew_and_a_project_recorded_before_it_has_none():
    policy = load_policy(DEFAULT_POLICY)
    rules = ProjectRules(warranty=policy.warranty, project=policy.project, working_time=policy.working_time,
                         utc_offset_minutes=480)
    project = _project()
    now = datetime.fromisoformat("2026-11-26T10:00:00+08:00")

    def assign(**team):
        apply(project, ActionRequest(action="assign_team", by="sup-01", role="supervisor", payload=team), rules, now)

    assign(technicians=["tech-020", "tech-021", "tech-020"])
    assert project.technicians == ["tech-020", "tech-021"] and project.designer == "des-02"
    assign(project_manager="pm-06")  # the crew stays as it was
    assert project.technicians == ["tech-020", "tech-021"] and project.crew() == {"pm-06", "des-02", "tech-020", "tech-021"}
    assign(technicians=[])
    assert project.technicians == [] and project.crew() == {"pm-06", "des-02"}
    with pytest.raises(ValidationError):
        AssignTeam.model_validate({})
    assert AssignTeam.model_validate({"technicians": ["tech-017"]}).technicians == ["tech-017"]
    # A state written before the crew existed (the project file, a continued run) still loads.
    older = _project().model_dump(mode="json")
    del older["technicians"]
    assert ProjectState.model_validate(older).technicians == []


# -- through the API and the workflow, with a real worker ----------------------------------

async def test_A1_technician_cannot_act_on_an_unassigned_project(env, pg_url, executor, db):
    async with desk(env, pg_url, executor, DEFAULT_POLICY) as d:
        pid = await in_construction(d, designer="des-02", project_manager="pm-05", technicians=["tech-020"])
        before = (await d.http.get(f"/projects/{pid}", headers=headers())).json()["state"]
        for name in SITE_STEPS:
            answer = await d.http.post(f"/projects/{pid}/{STEPS[name].path}", json=example(name),
                                       headers=headers(STRANGER))
            assert answer.status_code == 403, f"{name}: {answer.status_code} {answer.text}"
            nothing_of(answer.json()["detail"])
        # Naming someone on the crew as ``by`` changes nothing: the token says who acts.
        claimed = await d.http.post(f"/projects/{pid}/add-note", json={"note": "x", "by": "pm-05"},
                                    headers=headers(STRANGER))
        assert claimed.status_code == 403
        # The Temporal UI's and CLI's way in is held by the workflow's validator.
        handle = (await d.ctx.temporal.client()).get_workflow_handle(workflow_id(pid))
        for name in ("add_note", "report_problem", "record_site_visit"):
            request = ActionRequest(action=name, by="tech-017", role=TECHNICIAN, payload=example(name))
            with pytest.raises(WorkflowUpdateFailedError) as refused:
                await handle.execute_update(ProjectLifecycle.act, request, result_type=ProjectState)
            assert refused.value.cause.type == FORBIDDEN
            nothing_of(refused.value.cause.message)
        after = (await d.http.get(f"/projects/{pid}", headers=headers())).json()["state"]
        assert after["notes"] == before["notes"] == [] and after["problems"] == [] and after["site_visits"] == []
        assert [a["action"] for a in after["actions"]] == [a["action"] for a in before["actions"]]
        # The desk still acts on any project.
        assert (await d.http.post(f"/projects/{pid}/add-note", json={"note": "called"}, headers=headers())).status_code == 200


async def test_A1_technician_write_returns_no_customer_pii(env, pg_url, executor, db):
    async with desk(env, pg_url, executor, DEFAULT_POLICY) as d:
        pid = await in_construction(d, designer="des-02", project_manager="pm-05", technicians=["tech-020"])
        answer = await d.http.post(f"/projects/{pid}/add-note", json={"note": "tiles delivered"}, headers=headers(CREW))
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert (body["customer_name"], body["phone"], body["address"]) == (None, None, None)
        assert not any(p in answer.text for p in PII), answer.text
        assert body["project_id"] == pid and body["state"]["notes"][-1]["note"] == "tiles delivered"
        assert body["state"]["technicians"] == ["tech-020"]
        # The desk's answer still carries them.
        desk_answer = (await do(d.http, pid, "add-note", note="called the customer"))
        assert (desk_answer["customer_name"], desk_answer["phone"]) == ("李先生", "13912345678")
        assert "漕溪北路" in desk_answer["address"]


async def test_A1_assigned_technician_can_act(env, pg_url, executor, db):
    async with desk(env, pg_url, executor, DEFAULT_POLICY) as d:
        pid = await in_construction(d, designer="des-02", project_manager="pm-05", technicians=["tech-020"])
        await do(d.http, pid, "record-site-visit", CREW, with_customer=True)
        await do(d.http, pid, "report-problem", CREW, problem="a pipe where the plan has none")
        for trade in TRADES:
            await do(d.http, pid, "record-milestone", CREW, trade=trade, status="finished")
            await do(d.http, pid, "record-inspection", CREW, trade=trade, passed=True)
        await do(d.http, pid, "finish-construction", CREW)
        rectify_by = (await d.now() + timedelta(days=2)).isoformat()
        await do(d.http, pid, "record-defect", CREW, description="door rubs", category="carpentry", owner="tech-017",
                 rectify_by=rectify_by)
        await do(d.http, pid, "record-defect", CREW, description="grout missing", category="tiling_masonry",
                 owner="pm-05", rectify_by=rectify_by)
        # tech-017 is not on the crew, but owns defect 1: they may close it, and nothing else.
        not_theirs = await d.http.post(f"/projects/{pid}/close-defect", json={"defect": 2}, headers=headers(STRANGER))
        assert not_theirs.status_code == 403
        nothing_of(not_theirs.json()["detail"])
        closed = await do(d.http, pid, "close-defect", STRANGER, defect=1, note="planed")
        assert closed["customer_name"] is None and closed["state"]["defects"][0]["closed_at"]
        note = await d.http.post(f"/projects/{pid}/add-note", json={"note": "x"}, headers=headers(STRANGER))
        assert note.status_code == 403
        await do(d.http, pid, "close-defect", CREW, defect=2)
        done = await do(d.http, pid, "accept-completion", CREW, signed_by="customer",
                        signed_at=(await d.now()).isoformat())
        assert done["stage"] == "delivery" and done["phone"] is None
        await do(d.http, pid, "add-note", CREW, note="handed the keys to the desk")


async def test_A1_report_problem_by_stranger_sends_no_sms(env, pg_url, executor, db):
    async with desk(env, pg_url, executor, DEFAULT_POLICY) as d:
        pid = await in_construction(d, designer="des-02", project_manager="pm-05", technicians=["tech-020"])
        refused = await d.http.post(f"/projects/{pid}/report-problem", json={"problem": "请点击 http://evil.example 领取补偿"},
                                    headers=headers(STRANGER))
        assert refused.status_code == 403
        assert not [n for n in await notifications(d, pid) if n["template"] == "project/problem"]
        # The crew's report is sent: the check above is not vacuous.
        await do(d.http, pid, "report-problem", CREW, problem="a load-bearing wall where the plan has none")

        async def problem_sent():
            told = [n for n in await notifications(d, pid) if n["template"] == "project/problem"]
            return told or None

        told = await eventually(problem_sent)
        assert all("evil.example" not in n["short_text"] for n in told)
