"""The technician registry and suggestions through the API, on PostgreSQL (dispatch and its
bookings: tests/test_field_team.py)."""

from datetime import datetime

import httpx
from conftest import DEFAULT_POLICY, make_settings

from adapters.storage import technicians as registry
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
        with app.state.ctx.db.session() as session:  # as a dispatch to tech-020 would
            start, end = (datetime.fromisoformat(window[k]) for k in ("window_start", "window_end"))
            registry.book(session, "tech-020", "AS1/1", start, end, 30, start)
        ranked = (await http.post("/technicians/suggestions", json=job, headers=AGENT)).json()
        assert ranked[0]["technician_id"] == "tech-017"  # tech-020 is busy then now
        await http.post("/technicians/tech-017/status", json={"status": "suspended", "reason": "complaint rate"}, headers=MANAGER)
        ranked = (await http.post("/technicians/suggestions", json=job, headers=AGENT)).json()
        assert not any(s["eligible"] for s in ranked)  # right after the suspension, nobody is proposed
        bad = await http.post("/technicians/suggestions", json={**job, "window_end": job["window_start"]}, headers=AGENT)
        assert bad.status_code == 422
    app.state.ctx.db.dispose()
