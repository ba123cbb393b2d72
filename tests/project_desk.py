"""Driving a renovation project in tests: open one, take its steps, walk it to the handover,
on its workflow or through the API."""

from __future__ import annotations

from datetime import timedelta

from domain.case import ActionRequest
from domain.project import ProjectState, workflow_id
from workflows.project import ProjectLifecycle

TRADES = ("plumbing_electrical", "tiling_masonry", "carpentry", "painting")
CREW = "tech-017"  # the site crew's technician: the helpers assign them, and act as them (t-technician)


def intake(**overrides):
    from api.project_schemas import ProjectIntake

    data = dict(customer_name="李先生", phone="13912345678", address="上海市徐汇区漕溪北路200号3号楼801",
                house_type="三室两厅", package="full", channel="store")
    return ProjectIntake.model_validate({**data, **overrides})


async def open_project(ctx, **overrides):
    from api import project_service

    view, _ = await project_service.open_project(ctx, intake(**overrides), None)
    client = await ctx.temporal.client()
    return view.project_id, client.get_workflow_handle_for(ProjectLifecycle.run, workflow_id(view.project_id))


async def step(handle, action: str, role: str = "agent", by: str | None = None, **payload) -> ProjectState:
    by = by or (CREW if role == "technician" else "agent-007")
    request = ActionRequest(action=action, by=by, role=role, payload=payload)
    return await handle.execute_update(ProjectLifecycle.act, request, result_type=ProjectState)


async def state(handle) -> ProjectState:
    return await handle.query(ProjectLifecycle.state, result_type=ProjectState)


async def to_construction(handle, now) -> None:
    await step(handle, "record_needs", style="modern", budget="180000", rooms=["kitchen", "bathroom"])
    await step(handle, "assign_team", role="supervisor", designer="des-02", project_manager="pm-05", technicians=[CREW])
    await step(handle, "start_design")
    await step(handle, "propose_design", summary="open kitchen, walk-in shower")
    await step(handle, "reject_design", reason="wants a bathtub")
    await step(handle, "propose_design", summary="open kitchen, bathtub")
    await step(handle, "confirm_design", how="signature", confirmed_at=now.isoformat())


async def build_everything(handle) -> None:
    for trade in TRADES:
        await step(handle, "record_milestone", role="technician", trade=trade, status="started")
        await step(handle, "record_milestone", role="technician", trade=trade, status="finished")
        await step(handle, "record_inspection", role="technician", trade=trade, passed=True)


def headers(role: str = "agent") -> dict[str, str]:
    return {"Authorization": f"Bearer t-{role}"}


async def do(http, project_id: str, step_path: str, role: str = "agent", **body) -> dict:
    """One step through the API; it must succeed."""
    answer = await http.post(f"/projects/{project_id}/{step_path}", json=body, headers=headers(role))
    assert answer.status_code == 200, f"{step_path}: {answer.status_code} {answer.text}"
    return answer.json()


async def to_delivery(http, signed_at: str, intake_body: dict) -> str:
    """A project opened through the API and walked to ``delivery``, its acceptance signed at
    ``signed_at`` (the design confirmed then too); returns its id."""
    created = await http.post("/projects", json=intake_body, headers=headers())
    assert created.status_code == 201, created.text
    pid = created.json()["project_id"]
    await do(http, pid, "record-needs", style="modern", budget="180000", rooms=["kitchen", "bathroom"])
    await do(http, pid, "assign-team", "supervisor", designer="des-02", project_manager="pm-05", technicians=[CREW])
    await do(http, pid, "start-design")
    await do(http, pid, "propose-design", summary="open kitchen")
    await do(http, pid, "confirm-design", how="signature", confirmed_at=signed_at)
    for trade in TRADES:
        await do(http, pid, "record-milestone", "technician", trade=trade, status="finished")
        await do(http, pid, "record-inspection", "technician", trade=trade, passed=True)
    await do(http, pid, "finish-construction", "technician")
    await do(http, pid, "accept-completion", "technician", signed_by="customer", signed_at=signed_at)
    return pid


def later(now, **delta) -> str:
    return (now + timedelta(**delta)).isoformat()
