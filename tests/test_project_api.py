"""Projects through the API with a real worker: a project walked to its handover, its
warranty asked about a bathroom leak and a cracked cabinet door three years later (and a case
opened for each), the warranty card, revisits due, leads, and the desk's errors."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from conftest import DEFAULT_POLICY, eventually
from desk import ROLE_TOKENS, desk
from project_desk import do, to_delivery

from adapters.storage import projects as project_file
from domain.warranty import add_months

AGENT = ROLE_TOKENS["agent"]
INTAKE = {"customer_name": "李先生", "phone": "13912345678", "address": "上海市徐汇区漕溪北路200号3号楼801",
          "house_type": "三室两厅", "package": "full", "channel": "store"}


async def handed_over(d, handover_on: date, signed_at: datetime | None = None, **intake) -> str:
    """A project handed over on ``handover_on``, its acceptance signed at ``signed_at`` (by
    default now, or 09:00 on the handover day if that is earlier: an older project entered now)."""
    now = await d.now()
    signed_at = signed_at or min(now, datetime.combine(handover_on, time(9), d.ctx.settings.zone))
    pid = await to_delivery(d.http, signed_at.isoformat(), {**INTAKE, **intake})
    await do(d.http, pid, "hand-over", handover_on=handover_on.isoformat(), documents=["completion report"],
             care_instructions=True)

    # Read-your-writes: right after the handover's 200 the warranty is planned and on file.
    answer = await d.http.get(f"/projects/{pid}/warranty", headers=AGENT)
    assert answer.status_code == 200, answer.text
    return pid


async def test_a_leak_is_covered_three_years_on_and_a_cabinet_door_is_not(env, pg_url, executor, db):
    async with desk(env, pg_url, executor, DEFAULT_POLICY) as d:
        today = (await d.now()).astimezone(d.ctx.settings.zone).date()
        handover = add_months(today, -36)  # date-safe: run on 29 February too
        # An older project entered now: accepted the week before its handover, three years ago.
        signed = datetime.combine(handover - timedelta(days=7), time(10), d.ctx.settings.zone)
        pid = await handed_over(d, handover, signed)

        leak = (await d.http.get(f"/projects/{pid}/warranty", params={"defect": "leak", "area": "bathroom"}, headers=AGENT)).json()
        assert leak["handover_on"] == handover.isoformat()
        assert leak["defect"]["term"] == "waterproofing" and leak["defect"]["in_warranty"] is True
        assert leak["defect"]["ends_on"] == (add_months(handover, 60) - timedelta(days=1)).isoformat()
        assert leak["in_warranty"] == ["waterproofing"]
        door = (await d.http.get(f"/projects/{pid}/warranty", params={"defect": "furniture", "area": "kitchen"}, headers=AGENT)).json()
        assert door["defect"]["term"] == "works" and door["defect"]["in_warranty"] is False

        # A case opened for the project takes its warranty status from it, whatever the desk says.
        leak_case = await d.open(project_id=pid, problem_category="leak", area="bathroom", under_warranty="unknown",
                                 description="卫生间地面渗水到楼下")
        assert leak_case["under_warranty"] == "yes"
        door_case = await d.open(project_id=pid, problem_category="furniture", area="kitchen", under_warranty="yes",
                                 phone="13912345679", description="橱柜门开裂")
        assert door_case["under_warranty"] == "no"

        def card_issued():  # at the handover, kept as issued
            with d.ctx.db.session() as session:
                return project_file.get_project(session, pid).warranty_card_issued_at is not None

        await eventually(card_issued)
        card = await d.http.get(f"/projects/{pid}/warranty-card.html", headers=AGENT)
        assert card.status_code == 200 and card.headers["content-type"].startswith("text/html")
        assert leak["defect"]["ends_on"] in card.text and "李先生" in card.text and handover.isoformat() in card.text

        # Revisit windows that closed before the project was entered are recorded as missed.
        async def all_missed():
            live = (await d.http.get(f"/projects/{pid}", headers=AGENT)).json()
            return {r["status"] for r in live["state"]["warranty"]["revisits"]} == {"missed"} and live

        live = await eventually(all_missed)
        assert live["live"] and live["stage"] == "warranty"
        assert live["state"]["warranty"]["greetings"] and all(
            g["on"] > today.isoformat() for g in live["state"]["warranty"]["greetings"])


async def test_revisits_due_leads_lists_and_the_desks_errors(env, pg_url, executor, db):
    async with desk(env, pg_url, executor, DEFAULT_POLICY) as d:
        today = (await d.now()).astimezone(d.ctx.settings.zone).date()
        pid = await handed_over(d, today)
        project = (await d.http.get(f"/projects/{pid}", headers=AGENT)).json()
        initial = project["state"]["warranty"]["revisits"][0]
        due_on = initial["due_at"][:10]
        async def listed():  # once the project file has recorded the plan
            return (await d.http.get("/revisits", params={"due": due_on}, headers=AGENT)).json()

        due = await eventually(listed)
        assert [(r["project_id"], r["kind"], r["phone"]) for r in due] == [(pid, "initial", "13912345678")]
        assert (await d.http.get("/revisits", params={"due": "today"}, headers=AGENT)).json() == []

        answers = {"revisit": "initial", "method": "phone", "details_confirmed": True, "satisfaction": "very_satisfied",
                   "look": "above_expectations", "designer": 5, "project_manager": 5, "service_desk": 4,
                   "secondary_needs": ["furniture_upgrade"], "needs_note": "a bigger sofa"}
        early = await d.http.post(f"/projects/{pid}/record-revisit", json=answers, headers=AGENT)
        assert early.status_code == 409 and "not due before" in early.json()["detail"]
        await env.sleep((date.fromisoformat(due_on) - today).days * 86400 + 3600 * 12)
        await do(d.http, pid, "record-revisit", **answers)
        leads = await eventually(lambda: _leads(d))
        assert leads["total"] == 1 and leads["items"][0]["need"] == "furniture_upgrade"
        assert leads["items"][0]["source"] == "revisit:initial" and leads["items"][0]["project_id"] == pid
        again = await d.http.post(f"/projects/{pid}/record-revisit", json=answers, headers=AGENT)
        assert again.status_code == 409 and "already recorded" in again.json()["detail"]

        listed = (await d.http.get("/projects", params={"stage": "warranty", "staff": "pm-05"}, headers=AGENT)).json()
        assert [p["project_id"] for p in listed["items"]] == [pid]
        assert (await d.http.get("/projects", params={"stage": "design"}, headers=AGENT)).json()["total"] == 0

        # Errors are the desk's words, never a 500.
        assert (await d.http.get("/projects/PJ999999", headers=AGENT)).status_code == 404
        assert (await d.http.post("/projects", json={**INTAKE, "phone": "12"}, headers=AGENT)).status_code == 422
        assert (await d.http.post("/projects", json={**INTAKE, "package": "gold"}, headers=AGENT)).status_code == 422
        assert (await d.http.post(f"/projects/{pid}/cancel", json={"reason": "x"}, headers=AGENT)).status_code == 403
        out_of_order = await d.http.post(f"/projects/{pid}/start-design", json={}, headers=AGENT)
        assert out_of_order.status_code == 409 and "stage 'warranty'" in out_of_order.json()["detail"]
        assert (await d.http.get("/revisits", params={"due": "soon"}, headers=AGENT)).status_code == 422
        assert (await d.http.get("/leads", params={"need": "yacht"}, headers=AGENT)).status_code == 422
        unknown = await d.http.post("/cases", json={**INTAKE_CASE, "project_id": "PJ999999"}, headers=AGENT)
        assert unknown.status_code == 422 and "PJ999999" in unknown.json()["detail"][0]["msg"]

        # The same Idempotency-Key gives the same project.
        key = {"Idempotency-Key": "store-visit-0001", **AGENT}
        first = await d.http.post("/projects", json=INTAKE, headers=key)
        second = await d.http.post("/projects", json=INTAKE, headers=key)
        assert (first.status_code, second.status_code) == (201, 200)
        assert first.json()["project_id"] == second.json()["project_id"]


INTAKE_CASE = {"kind": "repair", "channel": "hotline", "customer_name": "李先生", "phone": "13912345678",
               "address": "上海市徐汇区漕溪北路200号3号楼801", "description": "卫生间漏水"}


async def _leads(d):
    leads = (await d.http.get("/leads", headers=AGENT)).json()
    return leads if leads["total"] else None
