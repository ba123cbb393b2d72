"""The field team through the API, with a real worker on the time-skipping server and
PostgreSQL: suggestions for a case's work order, dispatch that cannot double-book, the
technician's day, the complaint-rate suspension, cards and the quality-check queue."""

import asyncio
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from conftest import DEFAULT_POLICY, register_technician
from desk import ROLE_TOKENS, desk
from sqlalchemy import func, select
from test_scenarios import clocks, outbox

from adapters.storage.field_tables import BookingSlot

SHANGHAI = ZoneInfo("Asia/Shanghai")
AGENT, SUPERVISOR, MANAGER = ROLE_TOKENS["agent"], ROLE_TOKENS["supervisor"], ROLE_TOKENS["manager"]
TECH, TECH2 = ROLE_TOKENS["technician"], {"Authorization": "Bearer t-technician-2"}  # tech-017, tech-020


async def ready(d, **intake) -> str:
    """A free repair, surveyed by tech-017 and planned: ready to dispatch."""
    no = (await d.open(**intake))["case_no"]
    await d.do(no, "respond")
    await d.do(no, "book_survey", appointment=await d.later(60), technician="tech-017")
    await d.do(no, "record_survey", "technician", cause="seal aged", responsibility="in_warranty")
    await d.do(no, "propose_plan", cause="seal aged", method="reseal", materials=[], labour_hours=1, cost_estimate="0")
    return no


async def tomorrow(d, hour: int) -> datetime:
    local = (await d.now()).astimezone(SHANGHAI) + timedelta(days=1)
    return local.replace(hour=hour, minute=0, second=0, microsecond=0)


def dispatch_body(start: datetime, end: datetime, technician: str = "tech-017") -> dict:
    return {"task": "reseal the shower", "window_start": start.isoformat(), "window_end": end.isoformat(),
            "technician": technician}


async def test_a_technician_sees_their_day_and_acts_on_their_own_jobs_only(env, pg_url, executor, db):
    async with desk(env, pg_url, executor, DEFAULT_POLICY) as d:
        register_technician(d.ctx.db, "tech-020", name="李师傅", phone="13700002222")
        no = await ready(d)
        start = await tomorrow(d, 14)
        await d.do(no, "dispatch", **dispatch_body(start, start + timedelta(hours=2)))
        day = f"/me/jobs?day={start.date()}"
        (job,) = (await d.http.get(day, headers=TECH)).json()
        assert (job["work_order"], job["task"], job["customer_name"]) == (f"{no}/1", "reseal the shower", "王女士")
        assert job["address"] == "上海市浦东新区锦绣路100弄5号1201" and job["confirmed_at"] is None
        assert (await d.http.get(day, headers=TECH2)).json() == []  # tech-020 has no work that day
        assert (await d.http.get("/me/jobs", headers=AGENT)).status_code == 403
        other = await d.http.post(f"/cases/{no}/confirm-visit", json={}, headers=TECH2)
        assert other.status_code == 403 and "tech-020 is not assigned to case" in other.json()["detail"]
        case = await d.do(no, "confirm_visit", "technician", by="someone-else")
        assert clocks(case)["reconfirm"] == "met" and case["actions"][-1]["by"] == "tech-017"  # the token's staff id
        case = await d.do(no, "start_work", "technician", note="shoe covers on")
        assert case["work_orders"][0]["started_at"] is not None
        assert "already started" in await d.refused(no, "start_work", "technician")
        case = await d.do(no, "complete_work", "technician", self_check="no leak after 10 minutes")
        assert case["stage"] == "awaiting_acceptance"
        (job,) = (await d.http.get(day, headers=TECH)).json()
        assert job["confirmed_at"] and job["started_at"] and job["completed_at"] and job["case_stage"] == "awaiting_acceptance"


async def test_twenty_work_orders_dispatched_at_once_for_overlapping_slots_book_them_once(env, pg_url, executor, db):
    async with desk(env, pg_url, executor, DEFAULT_POLICY) as d:
        cases = await asyncio.gather(*(ready(d, phone=f"1381234{i:04d}") for i in range(20)))
        start = await tomorrow(d, 14)
        # Every window overlaps the others between 15:35 and 16:00.
        bodies = [dispatch_body(start + timedelta(minutes=5 * i), start + timedelta(hours=2)) for i in range(20)]
        answers = await asyncio.gather(
            *(d.http.post(f"/cases/{no}/dispatch", json=body, headers=AGENT) for no, body in zip(cases, bodies, strict=True))
        )
        codes = [a.status_code for a in answers]
        assert sorted(codes) == [200] + [409] * 19, [a.text for a in answers]
        winner = cases[codes.index(200)]
        for answer in answers:
            if answer.status_code == 409:
                assert f"tech-017 is booked for {winner}/1" in answer.json()["detail"]
        with d.ctx.db.session() as session:
            holders = session.execute(select(BookingSlot.work_order, func.count()).group_by(BookingSlot.work_order)).all()
            assert session.scalar(select(func.count(BookingSlot.slot_start.distinct()))) == sum(n for _, n in holders)
        assert [w for w, _ in holders] == [f"{winner}/1"]
        losers = [no for no in cases if no != winner]
        assert {(await d.get(no))["stage"] for no in losers} == {"ready_to_dispatch"}  # nothing half-done
        # A cancelled case gives its technician's time back.
        await d.do(winner, "cancel", "supervisor", reason="the customer fixed it himself")
        case = await d.do(losers[0], "dispatch", **bodies[cases.index(losers[0])])
        assert case["stage"] == "dispatched"


async def test_the_same_instant_written_with_another_offset_is_the_same_time(env, pg_url, executor, db):
    async with desk(env, pg_url, executor, DEFAULT_POLICY) as d:
        first, second = [await ready(d, phone=f"1381234{i:04d}") for i in range(2)]
        start = await tomorrow(d, 14)
        await d.do(first, "dispatch", **dispatch_body(start, start + timedelta(hours=2)))
        kathmandu = timezone(timedelta(hours=5, minutes=45))
        detail = await d.refused(second, "dispatch", **dispatch_body(start.astimezone(kathmandu),
                                                                     (start + timedelta(hours=2)).astimezone(kathmandu)))
        assert f"tech-017 is booked for {first}/1" in detail
        too_long = await d.http.post(f"/cases/{second}/dispatch", headers=AGENT,
                                     json=dispatch_body(start, start + timedelta(days=365 * 36)))  # 2062 for 2026
        assert too_long.status_code == 422 and "at most 12 hours" in too_long.text


async def test_the_technician_who_surveyed_cannot_work_another_technicians_visit(env, pg_url, executor, db):
    async with desk(env, pg_url, executor, DEFAULT_POLICY) as d:
        register_technician(d.ctx.db, "tech-020", name="李师傅", phone="13700002222")
        no = await ready(d)  # surveyed by tech-017
        start = await tomorrow(d, 9)
        await d.do(no, "dispatch", **dispatch_body(start, start + timedelta(hours=2), "tech-020"))
        for action in ("confirm-visit", "start-work"):
            refused = await d.http.post(f"/cases/{no}/{action}", json={}, headers=TECH)
            assert refused.status_code == 403 and "tech-017 is not assigned" in refused.json()["detail"]
        assert (await d.http.post(f"/cases/{no}/add-note", json={"note": "the valve is behind the tiles"},
                                  headers=TECH)).status_code == 200  # a note on a case they surveyed
        done = await d.http.post(f"/cases/{no}/complete-work", json={"self_check": "no leak"}, headers=TECH2)
        assert done.status_code == 200 and done.json()["actions"][-1]["by"] == "tech-020"


async def test_days_and_pages_out_of_range_are_422(env, pg_url, executor, db):
    async with desk(env, pg_url, executor, DEFAULT_POLICY) as d:
        for day in ("9999-12-31", "0001-01-01"):
            answer = await d.http.get(f"/me/jobs?day={day}", headers=TECH)
            assert answer.status_code == 422 and "'day'" in answer.text
        assert (await d.http.get(f"/quality-checks?page={10**20}", headers=SUPERVISOR)).status_code == 422
        assert (await d.http.get(f"/cases?page={10**20}", headers=AGENT)).status_code == 422


async def test_a_complaint_over_the_rate_suspends_the_technician_and_the_next_assignment_skips_them(
    env, pg_url, executor, db
):
    async with desk(env, pg_url, executor, DEFAULT_POLICY) as d:
        register_technician(d.ctx.db, "tech-020", name="李师傅", phone="13700002222")
        no = await ready(d)
        start = await tomorrow(d, 9)
        await d.do(no, "dispatch", **dispatch_body(start, start + timedelta(hours=2)))
        await d.do(no, "complete_work", "technician", self_check="done")  # tech-017's one job
        complaint = (await d.open(kind="complaint", description="师傅弄脏了地板，态度也不好", phone="13912340000"))["case_no"]
        await d.do(complaint, "apologise")
        await d.do(complaint, "propose_solution", solution="professional cleaning at our cost", attributed_to="tech-017")
        tech = (await d.http.get("/technicians/tech-017", headers=AGENT)).json()
        assert tech["status"] == "suspended"
        last = (await d.http.get("/technicians/tech-017/history", headers=AGENT)).json()[-1]
        assert (last["status"], last["by"]) == ("suspended", "system")
        assert last["reason"].startswith("complaint rate 1/1 = 100.0% over 90 days exceeds 3.0%")
        assert ("technician_suspended", "supervisor") in outbox(d.ctx, complaint)
        # The very next assignment passes them over, and dispatching to them is refused.
        following = await ready(d, phone="13912340001")
        window = {"window_start": (start + timedelta(hours=4)).isoformat(), "window_end": (start + timedelta(hours=6)).isoformat()}
        ranked = (await d.http.post(f"/work-orders/{following}/1/suggest", json={"skills": ["plumbing"], **window},
                                    headers=AGENT)).json()
        assert [(s["technician_id"], s["eligible"]) for s in ranked] == [("tech-020", True), ("tech-017", False)]
        assert "suspended: not assignable" in ranked[1]["reasons"] and "serves 浦东新区" in ranked[0]["reasons"]
        detail = await d.refused(following, "dispatch", **dispatch_body(start + timedelta(hours=4), start + timedelta(hours=6)))
        assert "tech-017 is suspended: not assignable" in detail
        await d.do(following, "dispatch", **dispatch_body(start + timedelta(hours=4), start + timedelta(hours=6), "tech-020"))


async def test_suggestions_need_a_district_and_a_real_work_order(env, pg_url, executor, db):
    async with desk(env, pg_url, executor, DEFAULT_POLICY) as d:
        no = await ready(d, address="阳光小区5号楼1201")  # no district in the address
        window = {"skills": ["plumbing"], "window_start": (await tomorrow(d, 9)).isoformat(),
                  "window_end": (await tomorrow(d, 11)).isoformat()}
        bad = await d.http.post(f"/work-orders/{no}/1/suggest", json=window, headers=AGENT)
        assert bad.status_code == 422 and "names no district" in bad.json()["detail"][0]["msg"]
        ranked = await d.http.post(f"/work-orders/{no}/1/suggest", json={**window, "area": "浦东新区"}, headers=AGENT)
        assert ranked.json()[0]["technician_id"] == "tech-017" and ranked.json()[0]["eligible"]
        assert (await d.http.post(f"/work-orders/{no}/3/suggest", json=window, headers=AGENT)).status_code == 404
        reversed_window = {**window, "area": "浦东新区", "window_end": window["window_start"]}
        backwards = await d.http.post(f"/work-orders/{no}/1/suggest", json=reversed_window, headers=AGENT)
        assert backwards.status_code == 422 and "must end after it starts" in backwards.text
        assert (await d.http.post("/work-orders/AS20200101-0001/1/suggest", json=window, headers=AGENT)).status_code == 404
        assert (await d.http.post(f"/work-orders/{no}/1/suggest", json=window, headers=TECH)).status_code == 403


async def test_three_yellow_cards_suspend_a_manager_reinstates_after_retraining_and_a_red_card_removes(
    env, pg_url, executor, db
):
    async with desk(env, pg_url, executor, DEFAULT_POLICY) as d:
        card = {"color": "yellow", "reason": "no shoe covers"}
        assert (await d.http.post("/technicians/tech-017/cards", json=card, headers=AGENT)).status_code == 403
        for expected in ("active", "active", "suspended"):
            given = await d.http.post("/technicians/tech-017/cards", json=card, headers=SUPERVISOR)
            assert given.status_code == 201 and given.json()["status_after"] == expected
        assert given.json()["status_reason"] == "3 yellow cards: suspended for retraining"
        back = {"status": "active", "reason": "retrained"}
        assert (await d.http.post("/technicians/tech-017/status", json=back, headers=SUPERVISOR)).status_code == 403
        missing = await d.http.post("/technicians/tech-017/status", json=back, headers=MANAGER)
        assert missing.status_code == 422 and "retraining" in missing.json()["detail"][0]["msg"]
        back["retraining"] = "site-conduct course, 2026-11-30"
        assert (await d.http.post("/technicians/tech-017/status", json=back, headers=MANAGER)).json()["status"] == "active"
        again = await d.http.post("/technicians/tech-017/cards", json=card, headers=SUPERVISOR)
        assert again.json()["status_after"] == "active"  # yellow cards count again from the reinstatement
        red = {"color": "red", "reason": "scratched the customer's new floor", "work_order": "AS20261125-0001/1"}
        removed = await d.http.post("/technicians/tech-017/cards", json=red, headers=SUPERVISOR)
        assert (removed.json()["status_after"], removed.json()["status_reason"]) == ("removed", "1 red card: removed")
        assert (await d.http.post("/technicians/tech-017/status", json=back, headers=MANAGER)).status_code == 409
        assert (await d.http.post("/technicians/tech-017/cards", json=card, headers=SUPERVISOR)).status_code == 409
        cards = (await d.http.get("/technicians/tech-017/cards", headers=AGENT)).json()
        assert [c["color"] for c in cards] == ["yellow"] * 4 + ["red"] and cards[-1]["work_order"] == "AS20261125-0001/1"
        assert (await d.http.post("/technicians/nobody/cards", json=card, headers=SUPERVISOR)).status_code == 404


async def test_a_drawn_work_order_is_checked_once_and_a_failed_check_gives_a_card(env, pg_url, executor, db, tmp_path):
    every_order = tmp_path / "sample-everything.toml"
    every_order.write_text(DEFAULT_POLICY.read_text().replace("quality_sample_rate = 0.10", "quality_sample_rate = 1.0"))
    async with desk(env, pg_url, executor, every_order) as d:
        no = await ready(d)
        start = await tomorrow(d, 9)
        await d.do(no, "dispatch", **dispatch_body(start, start + timedelta(hours=2)))
        await d.do(no, "complete_work", "technician", self_check="done")
        await d.do(no, "accept_work", "technician", signed_by="customer", signed_at=await d.later(0))
        assert (await d.http.get("/quality-checks", headers=AGENT)).status_code == 403
        queue = (await d.http.get("/quality-checks", headers=SUPERVISOR)).json()
        assert queue["total"] == 1 and queue["items"][0]["work_order"] == f"{no}/1"
        wrong = await d.http.post(f"/quality-checks/{no}/1", json={"method": "phone", "result": "passed", "card": "yellow"},
                                  headers=SUPERVISOR)
        assert wrong.status_code == 422
        result = {"method": "on_site", "result": "failed", "notes": "debris left behind", "card": "yellow"}
        checked = await d.http.post(f"/quality-checks/{no}/1", json=result, headers=SUPERVISOR)
        assert checked.status_code == 200 and checked.json()["status"] == "failed" and checked.json()["card_id"]
        assert (await d.http.post(f"/quality-checks/{no}/1", json=result, headers=SUPERVISOR)).status_code == 409
        assert (await d.http.post(f"/quality-checks/{no}/2", json=result, headers=SUPERVISOR)).status_code == 404
        (card,) = (await d.http.get("/technicians/tech-017/cards", headers=AGENT)).json()
        assert (card["color"], card["work_order"]) == ("yellow", f"{no}/1")
        assert (await d.http.get("/quality-checks", headers=SUPERVISOR)).json()["total"] == 0  # nothing pending
