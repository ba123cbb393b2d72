"""One test per path of the process, through the API with a real worker and time skipping
(demo-seconds policy: response 6 s, plan 12 s, resolution 18 s for a normal repair;
re-confirmation 12 s before a visit, revisit 20–40 s after acceptance, follow-up 5 s).
At every stage, every action the stage model forbids is refused with a 409 and its reason.
"""

import re

from conftest import eventually
from desk import desk
from sqlalchemy import select

from adapters.storage import cases as case_file
from adapters.storage.tables import Notification


def outbox(ctx, case_no):
    with ctx.db.session() as session:
        case = case_file.get_case(session, case_no)
        rows = session.scalars(select(Notification).where(Notification.case_id == case.id).order_by(Notification.id))
        return [(n.template, n.recipient) for n in rows]


def clocks(case: dict) -> dict:
    return {c["name"]: c["status"] for c in case["clocks"]}


async def test_an_emergency_leak_repaired_free_in_warranty(env, pg_url, executor, db):
    async with desk(env, pg_url, executor) as d:
        case = await d.open(description="卫生间水管爆裂漏水，已漫到客厅")
        no = case["case_no"]
        assert case["severity"] == "emergency"
        await d.only_allowed(case)
        case = await d.do(no, "respond", note="on the way; turn off the main valve")
        await d.only_allowed(case)
        case = await d.do(no, "book_survey", appointment=await d.later(1), technician="tech-017")
        await d.only_allowed(case)
        case = await d.do(no, "record_survey", "technician", cause="burst hose under the basin",
                          responsibility="in_warranty", media=["https://files.example.com/leak.jpg"], measurements="hose 40 cm")
        await d.only_allowed(case)
        case = await d.do(no, "propose_plan", cause="burst hose", method="replace the hose", materials=["hose"],
                          labour_hours=1, cost_estimate="0")
        assert case["stage"] == "ready_to_dispatch"  # free: no confirmation needed
        await d.only_allowed(case)
        case = await d.do(no, "dispatch", task="replace the hose", window_start=await d.later(1), window_end=await d.later(60),
                          technician="tech-017", requirements="shoe covers")
        assert case["work_orders"][0]["confirmed_at"]  # the visit is within 12 s: the dispatch confirms it
        await d.only_allowed(case)
        case = await d.do(no, "complete_work", "technician", self_check="no leak after 10 minutes")
        await d.only_allowed(case)
        case = await d.do(no, "accept_work", signed_by="customer", signed_at=await d.later(0))
        assert case["stage"] == "awaiting_revisit" and case["first_time_fix"] is True
        await d.only_allowed(case)
        await env.sleep(21)  # the revisit window opens 20 s after acceptance
        await eventually(lambda: ("revisit_due", "assignee") in outbox(d.ctx, no))
        assert ("revisit", "customer") in outbox(d.ctx, no)  # seed 002's revisit message
        case = await d.do(no, "record_revisit", method="phone", satisfaction="very_satisfied",
                          attitude=5, professionalism=5, timeliness=5)
        assert case["stage"] == "closed"
        await d.only_allowed(case)
        assert clocks(case) == {"response": "met", "plan": "met", "resolution": "met", "revisit": "met"}
        assert not case["sla_breached"]
        assert {("appointment", "customer"), ("work_completed", "customer")} <= set(outbox(d.ctx, no))


async def test_a_paid_repair_rejected_revised_reworked_settled_and_followed_up_late(env, pg_url, executor, db):
    async with desk(env, pg_url, executor) as d:
        no = (await d.open(description="橱柜门变形，关不严"))["case_no"]
        await d.do(no, "respond")
        await d.do(no, "book_survey", appointment=await d.later(1), technician="tech-017")
        await d.do(no, "record_survey", "technician", cause="door warped by steam", responsibility="user_damage")
        case = await d.do(no, "propose_plan", cause="warped door", method="replace the door", materials=["door panel"],
                          labour_hours=2, cost_estimate="450")
        assert case["stage"] == "awaiting_confirmation"
        await d.only_allowed(case)
        # No dispatch of a paid plan without the customer's recorded confirmation.
        detail = await d.refused(no, "dispatch", task="x", window_start=await d.later(100), window_end=await d.later(200),
                                 technician="tech-017")
        assert "has not confirmed the paid plan" in detail
        case = await d.do(no, "reject_plan", reason="too expensive")
        assert case["stage"] == "planning"
        await d.only_allowed(case)
        await d.do(no, "propose_plan", cause="warped door", method="plane and re-hang the door", materials=[],
                   labour_hours=1.5, cost_estimate="300")
        case = await d.do(no, "confirm_plan", how="verbal_recorded", confirmed_at=await d.later(0), through="agent-007")
        assert [p["status"] for p in case["plans"]] == ["rejected", "confirmed"]
        await d.only_allowed(case)
        case = await d.do(no, "dispatch", task="re-hang the door", window_start=await d.later(100), window_end=await d.later(200),
                          technician="tech-017")
        assert clocks(case)["reconfirm"] == "running"
        await d.only_allowed(case)
        await d.do(no, "confirm_visit", "technician")
        assert "already confirmed" in await d.refused(no, "confirm_visit", "technician")
        await d.do(no, "amend_plan", "technician", change="the hinge is broken too", cost_delta="80")
        assert "not consented" in await d.refused(no, "complete_work", "technician", self_check="done")
        await d.do(no, "confirm_amendment", how="wechat", confirmed_at=await d.later(0), through="agent-007")
        case = await d.do(no, "complete_work", "technician", self_check="door closes flush")
        await d.only_allowed(case)
        case = await d.do(no, "reject_work", reasons="a gap remains at the top")
        assert case["stage"] == "ready_to_dispatch"
        # Another appointment: the first visit's window stays booked (30-minute slots).
        await d.do(no, "dispatch", task="rework: close the gap", window_start=await d.later(3600),
                   window_end=await d.later(3700), technician="tech-017")
        await d.do(no, "complete_work", "technician", self_check="gap closed")
        case = await d.do(no, "accept_work", signed_by="family_member", signed_at=await d.later(0))
        assert case["stage"] == "awaiting_settlement"
        assert (case["visits"], case["reworks"], case["first_time_fix"]) == (2, 1, False)
        await d.only_allowed(case)
        assert "must be the confirmed amount 380.00, not 300.00" in await d.refused(no, "settle", amount="300", invoice_no="INV-1")
        case = await d.do(no, "settle", amount="380", invoice_no="INV-2026-0042")
        assert case["stage"] == "awaiting_revisit"
        case = await d.do(no, "record_revisit", method="phone", satisfaction="dissatisfied", attitude=4,
                          professionalism=3, timeliness=2, comments="took two visits")
        assert case["stage"] == "follow_up" and case["revisit"]["low_score"] is True
        await d.only_allowed(case)
        await eventually(lambda: ("low_score", "supervisor") in outbox(d.ctx, no))
        await env.sleep(6)  # the supervisor's follow-up clock (5 s) runs out
        case = await d.get(no)
        assert clocks(case)["follow_up"] == "breached"
        assert any(e["clock"] == "follow_up" and e["level"] == 1 for e in case["escalations"])
        await eventually(lambda: ("sla_breach", "manager") in outbox(d.ctx, no))
        assert "may not follow up" in await d.refused(no, "follow_up", "agent", 403, outcome="x")
        case = await d.do(no, "follow_up", "supervisor", outcome="apologised; a voucher sent")
        assert case["stage"] == "closed" and clocks(case)["follow_up"] == "met_late"


async def test_a_remote_fix_and_a_problem_found_at_the_revisit_opens_a_linked_case(env, pg_url, executor, db):
    async with desk(env, pg_url, executor) as d:
        no = (await d.open(description="智能锁没反应"))["case_no"]
        await d.do(no, "respond")
        case = await d.do(no, "solve_remotely", guidance="replace the batteries, hold reset for 5 s")
        assert case["stage"] == "awaiting_acceptance"
        await d.only_allowed(case)
        case = await d.do(no, "accept_work", signed_by="customer", signed_at=await d.later(0))
        assert case["acceptance"]["remote"] is True and case["visits"] == 0 and case["first_time_fix"] is True
        case = await d.do(no, "record_revisit", method="sms", satisfaction="satisfied", attitude=5, professionalism=4,
                          timeliness=5, problem_found=True, problem="the door handle is loose")
        assert case["stage"] == "closed"
        [child] = case["linked_cases"]
        linked = await d.get(child)
        assert linked["related_case_no"] == no and "the door handle is loose" in linked["description"]
        assert linked["customer"]["phone"] == "13812345678"
        again = await d.get(no)  # a retried revisit never opens a second case
        assert again["linked_cases"] == [child]


async def test_a_regular_complaint_handled_twice_until_satisfied(env, pg_url, executor, db):
    async with desk(env, pg_url, executor) as d:
        case = await d.open(kind="complaint", description="安装师傅迟到两小时，态度差")
        no = case["case_no"]
        await d.only_allowed(case)
        case = await d.do(no, "apologise", note="apologised by phone")
        await d.only_allowed(case)
        await d.do(no, "assign_department", department="after_sales", owner="spec-03")
        case = await d.do(no, "propose_solution", solution="a 100 yuan voucher", compensation="100 yuan")
        await d.only_allowed(case)
        case = await d.do(no, "report_result", result="voucher sent")
        await d.only_allowed(case)
        case = await d.do(no, "record_verdict", satisfied=False, comments="wants the technician replaced")
        assert case["stage"] == "investigating" and len(case["complaint_rounds"]) == 2
        assert case["complaint_rounds"][1]["department"] == "after_sales"
        await d.do(no, "propose_solution", solution="another technician for future visits")
        await d.do(no, "report_result", result="technician replaced")
        case = await d.do(no, "record_verdict", satisfied=True)
        assert case["stage"] == "closed" and case["owner"] == "spec-03"
        assert [r["satisfied"] for r in case["complaint_rounds"]] == [False, True]
        assert clocks(case) == {"response": "met", "plan": "met", "resolution": "met"}


async def test_a_major_complaint_with_its_task_group_and_the_general_managers_revisit(env, pg_url, executor, db):
    async with desk(env, pg_url, executor) as d:
        case = await d.open(kind="complaint", major=True, description="衣柜甲醛超标，孩子过敏住院")
        no = case["case_no"]
        await d.do(no, "apologise")
        await eventually(lambda: ("major_complaint", "general_manager") in outbox(d.ctx, no))
        assert "task group first" in await d.refused(no, "propose_solution", solution="refund")
        assert "may not form a task group" in await d.refused(
            no, "form_task_group", "agent", 403, members=[{"staff": "a", "department": "sales"}, {"staff": "b", "department": "product"}])
        await d.do(no, "form_task_group", "supervisor", members=[
            {"staff": "sup-01", "department": "after_sales"}, {"staff": "sales-02", "department": "sales"},
            {"staff": "prod-05", "department": "product"}])
        assert "written solution" in await d.refused(no, "propose_solution", solution="refund")
        await d.do(no, "propose_solution", solution="full refund and air test", written=True)
        await d.do(no, "report_result", result="refunded; air tested")
        assert "general manager's personal revisit" in await d.refused(no, "record_verdict", satisfied=True)
        assert "may not record the general manager" in await d.refused(no, "gm_revisit", "supervisor", 403, method="on_site", note="x")
        case = await d.do(no, "gm_revisit", "manager", method="on_site", note="visited with a gift, apologised")
        assert clocks(case)["gm_revisit"] == "met"
        case = await d.do(no, "record_verdict", satisfied=True)
        assert case["stage"] == "closed" and case["major"] is True and len(case["task_group"]) == 3


async def test_a_consultation_handed_over_and_answered_late(env, pg_url, executor, db):
    async with desk(env, pg_url, executor) as d:
        case = await d.open(kind="consultation", description="想了解全屋定制的保修年限")
        no = case["case_no"]
        await d.only_allowed(case)
        assert "in the future" in await d.refused(no, "hand_over", to="design", reply_by=await d.later(-5))
        case = await d.do(no, "hand_over", to="design", reply_by=await d.later(4))
        assert case["stage"] == "handed_over" and clocks(case)["reply"] == "running"
        await d.only_allowed(case)
        await env.sleep(5)
        assert clocks(await d.get(no))["reply"] == "breached"
        # Past the reply's last escalation too: an answer sent in the very instant a clock's
        # timer fires races the time-skipping test server, which then fails the workflow task
        # ("invalid history builder state for action") and the answer times out.
        await env.sleep(10)
        case = await d.do(no, "answer", answer="cabinets: 5 years; hardware: 2 years")
        assert case["stage"] == "closed" and clocks(case)["reply"] == "met_late"
        assert ("handed_over", "customer") in outbox(d.ctx, no)


async def test_a_paused_clock_still_warns_and_breaches_at_the_shifted_times(env, pg_url, executor, db):
    async with desk(env, pg_url, executor) as d:
        no = (await d.open())["case_no"]
        start = await d.now()
        planned = {c["name"]: c for c in (await d.get(no))["clocks"]}["resolution"]  # 18 s, warning at 9 s
        await env.sleep(5)
        assert "may not pause" in await d.refused(no, "pause_clock", "agent", 403, clock="resolution", reason="parts")
        assert "does not allow pausing the response clock" in await d.refused(
            no, "pause_clock", "supervisor", clock="response", reason="parts")
        paused = await d.do(no, "pause_clock", "supervisor", clock="resolution", reason="parts", note="valve on order")
        assert {c["name"]: c for c in paused["clocks"]}["resolution"]["status"] == "paused"
        await env.sleep(10)  # across the planned warning (9 s)
        assert {c["name"]: c for c in (await d.get(no))["clocks"]}["resolution"]["warned_at"] is None
        resumed = await d.do(no, "resume_clock", "supervisor", clock="resolution")
        clock = {c["name"]: c for c in resumed["clocks"]}["resolution"]
        shift = _seconds(clock["deadline"]) - _seconds(planned["deadline"])
        assert 9.5 < shift < 11  # moved by the time it was paused, no more
        assert _seconds(clock["warn_at"]) - _seconds(planned["warn_at"]) == shift
        await env.sleep(_seconds(clock["warn_at"]) - (await d.now()).timestamp() + 0.5)
        warned = {c["name"]: c for c in (await d.get(no))["clocks"]}["resolution"]
        assert warned["warned_at"] is not None and warned["breached_at"] is None
        await env.sleep(_seconds(clock["deadline"]) - (await d.now()).timestamp() + 0.5)
        breached = {c["name"]: c for c in (await d.get(no))["clocks"]}["resolution"]
        assert _seconds(breached["breached_at"]) >= _seconds(clock["deadline"])
        assert _seconds(breached["breached_at"]) - start.timestamp() > 18 + 9  # later than planned


async def test_a_case_upgraded_to_emergency_breaches_at_the_emergency_limit(env, pg_url, executor, db):
    async with desk(env, pg_url, executor) as d:
        case = await d.open()
        no, received = case["case_no"], _seconds(case["received_at"])
        await env.sleep(2)
        assert "may not change the severity" in await d.refused(no, "change_severity", "agent", 403, severity="emergency", reason="x")
        case = await d.do(no, "change_severity", "supervisor", severity="emergency", reason="water reaches the flat below")
        response = {c["name"]: c for c in case["clocks"]}["response"]
        assert _seconds(response["deadline"]) - received == 3  # the emergency limit, from the intake time
        assert case["severity"] == "emergency"
        await env.sleep(1.5)
        response = {c["name"]: c for c in (await d.get(no))["clocks"]}["response"]
        assert response["status"] == "breached"
        assert _seconds(response["breached_at"]) - received < 3.6


def _seconds(iso: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso).timestamp()


async def test_the_archived_service_file_holds_every_step(env, pg_url, executor, db):
    async with desk(env, pg_url, executor) as d:
        no = (await d.open())["case_no"]
        await d.do(no, "respond")
        await d.do(no, "book_survey", appointment=await d.later(1), technician="tech-017")
        await d.do(no, "record_survey", "technician", cause="seal aged", responsibility="out_of_warranty",
                   media=["https://files.example.com/seal.jpg"])
        await d.do(no, "propose_plan", cause="seal aged", method="reseal", materials=["silicone"], labour_hours=1, cost_estimate="120")
        await d.do(no, "reject_plan", reason="wants a mould-proof silicone")
        await d.do(no, "propose_plan", cause="seal aged", method="reseal, mould-proof", materials=["mould-proof silicone"],
                   labour_hours=1, cost_estimate="150")
        await d.do(no, "confirm_plan", how="signature", confirmed_at=await d.later(0), through="agent-007")
        await d.do(no, "dispatch", task="reseal the shower", window_start=await d.later(100), window_end=await d.later(200), technician="tech-017")
        await d.do(no, "add_note", "technician", note="customer asks to call 13812345678 before coming")
        await d.do(no, "complete_work", "technician", self_check="sealed; cured 24 h advised")
        await d.do(no, "accept_work", signed_by="customer", signed_at=await d.later(0))
        await d.do(no, "settle", amount="150", invoice_no="INV-2026-0777")
        await d.do(no, "record_revisit", method="phone", satisfaction="satisfied", attitude=5, professionalism=5, timeliness=4)
        await eventually(lambda: _archived(d.ctx, no))
        html = (await d.http.get(f"/cases/{no}/service-file.html", headers={"Authorization": "Bearer t-agent"})).text
        assert "Draft" not in html
        for text in ("王女士", "13812345678", "seal aged", "out_of_warranty", "https://files.example.com/seal.jpg",
                     "wants a mould-proof silicone", "signature", "reseal the shower", "sealed; cured 24 h advised",
                     "INV-2026-0777", "150", "satisfied", "[电话]"):
            assert text in html, text
        assert len(re.findall(r'class="plan"', html)) == 2
        assert len(re.findall(r'class="work-order"', html)) == 1
        assert {"response", "plan", "resolution", "revisit"} <= set(re.findall(r'<tr class="clock"><td>(\w+)</td>', html))
        events = re.findall(r'<tr class="event"><td>\d+</td><td>[^<]*</td><td>(\w+)</td>', html)
        assert events[0] == "opened" and events[-1] == "record_revisit" and "reject_plan" in events
        doc = (await d.http.get(f"/cases/{no}/service-file", headers={"Authorization": "Bearer t-agent"})).json()
        assert doc["process"]["settlement"]["invoice_no"] == "INV-2026-0777"
        assert [p["status"] for p in doc["process"]["plans"]] == ["rejected", "confirmed"]


def _archived(ctx, case_no):
    from adapters.archive import service_file

    with ctx.db.session() as session:
        return service_file.stored(session, case_file.get_case(session, case_no)) is not None


async def test_an_unconfirmed_visit_alerts_the_desk_and_a_reschedule_asks_again(env, pg_url, executor, db):
    async with desk(env, pg_url, executor) as d:
        no = (await d.open())["case_no"]
        await d.do(no, "respond")
        await d.do(no, "book_survey", appointment=await d.later(1), technician="tech-017")
        await d.do(no, "record_survey", "technician", cause="loose hinge", responsibility="in_warranty")
        await d.do(no, "propose_plan", cause="loose hinge", method="tighten", labour_hours=0.5, cost_estimate="0")
        case = await d.do(no, "dispatch", task="tighten the hinge", window_start=await d.later(30), window_end=await d.later(60),
                          technician="tech-017")
        reconfirm = {c["name"]: c for c in case["clocks"]}["reconfirm"]
        assert _seconds(case["work_orders"][0]["window_start"]) - _seconds(reconfirm["deadline"]) == 12
        await env.sleep(19)  # 12 s before a visit 30 s away: due at 18 s, not confirmed
        assert {c["name"]: c for c in (await d.get(no))["clocks"]}["reconfirm"]["status"] == "breached"
        await eventually(lambda: ("sla_breach", "assignee") in outbox(d.ctx, no))
        case = await d.do(no, "reschedule", window_start=await d.later(100), window_end=await d.later(160), reason="technician sick")
        order = case["work_orders"][0]
        assert order["confirmed_at"] is None and order["reschedules"][0]["reason"] == "technician sick"
        assert {c["name"]: c for c in case["clocks"]}["reconfirm"]["status"] == "running"  # a fresh clock
        case = await d.do(no, "confirm_visit", "technician")
        assert {c["name"]: c for c in case["clocks"]}["reconfirm"]["status"] == "met"


async def test_supervisor_actions_reassign_recast_cancel_and_reopen(env, pg_url, executor, db):
    async with desk(env, pg_url, executor) as d:
        no = (await d.open(kind="consultation", description="门锁质量问题"))["case_no"]
        assert "may not reassign" in await d.refused(no, "reassign", "agent", 403, owner="agent-9")
        case = await d.do(no, "reassign", "supervisor", owner="agent-9", reason="on leave")
        assert case["owner"] == "agent-9"
        case = await d.do(no, "change_kind", "supervisor", kind="complaint", reason="it is a complaint about the lock")
        assert case["kind"] == "complaint" and case["stage"] == "new"
        assert {c["name"]: c["limit"] for c in case["clocks"]}["response"] == "6s"  # the complaint's limits
        case = await d.do(no, "apologise")
        assert "already a complaint" in await d.refused(no, "change_kind", "supervisor", kind="complaint", reason="x")
        assert "responded to cannot become a consultation" in await d.refused(
            no, "change_kind", "supervisor", kind="consultation", reason="x")
        case = await d.do(no, "cancel", "supervisor", reason="duplicate of another case")
        assert case["stage"] == "cancelled" and case["next_deadline"] is None
        escalated = await d.http.post(f"/cases/{no}/escalate", json={"reason": "x"}, headers={"Authorization": "Bearer t-supervisor"})
        assert escalated.status_code == 409 and "cancelled" in escalated.json()["detail"]
        case = await d.do(no, "reopen", "supervisor", reason="not a duplicate after all")
        assert case["stage"] == "investigating" and case["reopened"] == 1
        assert {c["name"]: c for c in case["clocks"]}["resolution"]["status"] == "running"
        await d.do(no, "cancel", "supervisor", reason="the customer withdrew it")
        await env.sleep(61)  # past the 60 s reopening window: the workflow ends
        late = await d.refused(no, "reopen", "supervisor", reason="again")
        assert "reopening window has passed" in late


async def test_a_consultation_answered_on_the_spot(env, pg_url, executor, db):
    async with desk(env, pg_url, executor) as d:
        no = (await d.open(kind="consultation", description="瓷砖怎么清洁"))["case_no"]
        case = await d.do(no, "answer", answer="neutral cleaner, no acid")
        assert case["stage"] == "closed" and case["answer"] == "neutral cleaner, no acid"
        assert all(c["status"] == "met" for c in case["clocks"])
