"""A repair case's revisit records secondary needs as sales leads, as a project's does (one
revisit implementation, ``domain.revisit``): listed in ``GET /leads`` with the source case,
one per need however often the event is written."""

from __future__ import annotations

from datetime import UTC, datetime

from conftest import eventually
from desk import ROLE_TOKENS, desk
from test_project_api import INTAKE

from adapters.storage import leads
from adapters.storage.cases import get_case
from domain.revisit import REPAIR_LEAD_SOURCE, leads_heard

AGENT = ROLE_TOKENS["agent"]


def test_each_need_heard_is_one_lead_with_the_note():
    answers = {"secondary_needs": ["soft_furnishing", "furniture_upgrade", "soft_furnishing"], "needs_note": "窗帘"}
    assert leads_heard(answers) == [("soft_furnishing", "窗帘"), ("furniture_upgrade", "窗帘")]
    assert leads_heard({"satisfaction": "satisfied"}) == []


async def _fixed_and_revisited(d, phone: str, **intake) -> str:
    no = (await d.open(phone=phone, description="衣柜门合页松动", **intake))["case_no"]
    await d.do(no, "respond")
    await d.do(no, "solve_remotely", guidance="tighten the hinge screws")
    await d.do(no, "accept_work", signed_by="customer", signed_at=await d.later(0))
    case = await d.do(no, "record_revisit", method="phone", satisfaction="satisfied", attitude=5, professionalism=5,
                      timeliness=5, secondary_needs=["furniture_upgrade", "soft_furnishing"],
                      needs_note="a bigger wardrobe; bedroom curtains")
    assert case["stage"] == "closed" and case["revisit"]["secondary_needs"] == ["furniture_upgrade", "soft_furnishing"]
    return no


async def test_a_repairs_revisit_passes_its_secondary_needs_to_sales(env, pg_url, executor, db):
    async with desk(env, pg_url, executor) as d:
        no = await _fixed_and_revisited(d, "13700003333")
        project = (await d.http.post("/projects", json={**INTAKE, "phone": "13700004444"}, headers=AGENT)).json()
        for_project = await _fixed_and_revisited(d, "13700004444", project_id=project["project_id"])

        async def listed():
            answer = (await d.http.get("/leads", headers=AGENT)).json()
            return answer if answer["total"] == 4 else None

        answer = await eventually(listed)
        mine = sorted((i["case_no"], i["need"], i["project_id"], i["source"], i["phone"]) for i in answer["items"])
        assert mine == sorted([
            (no, "furniture_upgrade", None, REPAIR_LEAD_SOURCE, "13700003333"),
            (no, "soft_furnishing", None, REPAIR_LEAD_SOURCE, "13700003333"),
            (for_project, "furniture_upgrade", project["project_id"], REPAIR_LEAD_SOURCE, "13700004444"),
            (for_project, "soft_furnishing", project["project_id"], REPAIR_LEAD_SOURCE, "13700004444"),
        ])
        assert {i["note"] for i in answer["items"]} == {"a bigger wardrobe; bedroom curtains"}
        only = (await d.http.get("/leads", params={"need": "soft_furnishing"}, headers=AGENT)).json()
        assert only["total"] == 2

        # The revisit's event written again (a retried activity): no second lead.
        with d.ctx.db.session() as session:
            case = get_case(session, no)
            again = leads.record(session, source=REPAIR_LEAD_SOURCE, at=datetime.now(UTC), case_pk=case.id,
                                 answers={"secondary_needs": ["furniture_upgrade", "soft_furnishing"]})
        assert again == 0
        assert (await d.http.get("/leads", headers=AGENT)).json()["total"] == 4

        # A need sales does not know is the desk's 422, naming the field.
        other = (await d.open(phone="13700005555", description="抽屉滑轨卡住"))["case_no"]
        await d.do(other, "respond")
        await d.do(other, "solve_remotely", guidance="clean the rail")
        await d.do(other, "accept_work", signed_by="customer", signed_at=await d.later(0))
        wrong = await d.http.post(f"/cases/{other}/record-revisit", headers=AGENT, json={
            "method": "phone", "satisfaction": "satisfied", "attitude": 5, "professionalism": 5, "timeliness": 5,
            "secondary_needs": ["yacht"]})
        assert wrong.status_code == 422 and "secondary_needs" in wrong.text
