"""The technician registry, suggestions and bookings through the API, on PostgreSQL."""

import asyncio
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
from conftest import DEFAULT_POLICY, make_settings
from sqlalchemy import func, select

from adapters.storage.field_tables import BookingSlot
from api.app import create_app

MANAGER = {"Authorization": "Bearer t-manager"}
AGENT = {"Authorization": "Bearer t-agent"}
WANG = {"id": "tech-017", "name": "王师傅", "phone": "13700001111", "skills": ["plumbing", "tiling"], "areas": ["浦东新区"]}


async def api(pg_url):
    app = create_app(make_settings(pg_url, DEFAULT_POLICY))
    return app, httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://desk/api/v1")


async def test_managers_keep_the_registry_and_the_desk_reads_it(pg_url, db):
    app, http = await api(pg_url)
    async with http:
        assert (await http.post("/technicians", json=WANG, headers=AGENT)).status_code == 403
        created = await http.post("/technicians", json=WANG, headers=MANAGER)
        assert created.status_code == 201 and created.json()["status"] == "active"
        assert created.json()["days"] == ["mon", "tue", "wed", "thu", "fri", "sat"] and created.json()["start"] == "09:00"
        assert (await http.post("/technicians", json=WANG, headers=MANAGER)).status_code == 409
        bad = await http.post("/technicians", json={**WANG, "id": "t2", "phone": "12", "start": "18:00", "end": "09:00"},
                              headers=MANAGER)
        assert bad.status_code == 422 and {e["loc"][-1] for e in bad.json()["detail"]} >= {"phone"}
        changed = await http.put("/technicians/tech-017", json={**WANG, "areas": ["浦东新区", "徐汇区"]}, headers=MANAGER)
        assert changed.json()["areas"] == ["浦东新区", "徐汇区"]
        assert (await http.get("/technicians?area=徐汇区", headers=AGENT)).json()[0]["id"] == "tech-017"
        assert (await http.get("/technicians?skill=painting", headers=AGENT)).json() == []
        assert (await http.get("/technicians/nobody", headers=AGENT)).status_code == 404
        suspended = await http.post("/technicians/tech-017/status", json={"status": "suspended", "reason": "3 yellow cards"},
                                    headers=MANAGER)
        assert suspended.json()["status"] == "suspended"
        again = await http.post("/technicians/tech-017/status", json={"status": "suspended", "reason": "x"}, headers=MANAGER)
        assert again.status_code == 409
    app.state.ctx.db.dispose()


async def test_suggestions_say_who_and_why_and_skip_the_suspended(pg_url, db):
    app, http = await api(pg_url)
    window = {"window_start": "2026-11-25T14:00:00+08:00", "window_end": "2026-11-25T16:00:00+08:00"}
    async with http:
        for body in (WANG, {**WANG, "id": "tech-020", "name": "李师傅", "phone": "13700002222", "skills": ["plumbing"]},
                     {**WANG, "id": "tech-030", "name": "赵师傅", "phone": "13700003333", "skills": ["painting"]}):
            assert (await http.post("/technicians", json=body, headers=MANAGER)).status_code == 201
        job = {"skills": ["plumbing"], "area": "浦东新区", **window}
        ranked = (await http.post("/technicians/suggestions", json=job, headers=AGENT)).json()
        order = [(s["technician_id"], s["eligible"]) for s in ranked]
        assert order == [("tech-020", True), ("tech-017", True), ("tech-030", False)]
        assert "lacks skills: plumbing" in ranked[2]["reasons"]
        booked = await http.post("/technicians/tech-020/bookings", json={"work_order": "AS1/1", **window}, headers=AGENT)
        assert booked.status_code == 201
        ranked = (await http.post("/technicians/suggestions", json=job, headers=AGENT)).json()
        assert ranked[0]["technician_id"] == "tech-017"  # tech-020 is busy then now
        await http.post("/technicians/tech-017/status", json={"status": "suspended", "reason": "complaint rate"}, headers=MANAGER)
        ranked = (await http.post("/technicians/suggestions", json=job, headers=AGENT)).json()
        assert not any(s["eligible"] for s in ranked)  # right after the suspension, nobody is proposed
        bad = await http.post("/technicians/suggestions", json={**job, "window_end": job["window_start"]}, headers=AGENT)
        assert bad.status_code == 422
    app.state.ctx.db.dispose()


async def test_twenty_desks_booking_overlapping_slots_at_once_never_double_book(pg_url, db):
    app, http = await api(pg_url)
    async with http:
        await http.post("/technicians", json=WANG, headers=MANAGER)
        # 20 work orders, each 1–2 h, all overlapping 10:00–12:00 in some way.
        day = datetime(2026, 11, 25, 9, tzinfo=ZoneInfo("Asia/Shanghai"))
        starts = [day + timedelta(hours=i % 3, minutes=30 * (i % 2)) for i in range(20)]

        async def attempt(i: int, start: datetime):
            end = start + timedelta(hours=1 + i % 2)
            body = {"work_order": f"AS{i:04d}/1", "window_start": start.isoformat(), "window_end": end.isoformat()}
            return (await http.post("/technicians/tech-017/bookings", json=body, headers=AGENT)).status_code

        codes = await asyncio.gather(*(attempt(i, s) for i, s in enumerate(starts)))
    with app.state.ctx.db.session() as session:
        held = session.execute(select(BookingSlot.slot_start, func.count()).group_by(BookingSlot.slot_start)).all()
        orders = session.scalars(select(BookingSlot.work_order).distinct()).all()
    app.state.ctx.db.dispose()
    assert set(codes) <= {201, 409} and codes.count(201) >= 1 and codes.count(409) >= 1
    assert all(count == 1 for _, count in held)  # no slot held twice
    assert len(orders) == codes.count(201)  # every winner holds all its slots, every loser none
