"""The service-desk API through a real worker, the time-skipping server and PostgreSQL."""

import asyncio
from contextlib import asynccontextmanager
from datetime import timedelta

import httpx
from conftest import (
    DEMO_POLICY,
    eventually,
    make_settings,
    new_worker,
    task_queue,
)
from sqlalchemy import func, select

from adapters.storage import cases as case_file
from adapters.storage.tables import Case
from api.app import create_app

AGENT = {"Authorization": "Bearer t-agent"}
SUPERVISOR = {"Authorization": "Bearer t-supervisor"}
TECHNICIAN = {"Authorization": "Bearer t-technician"}

INTAKE = {
    "kind": "repair",
    "channel": "wechat",
    "customer_name": "李先生",
    "phone": "139 1234 5678",
    "address": "杭州市西湖区文三路1号",
    "description": "橱柜门合页松动，关不上",
}


@asynccontextmanager
async def desk_api(env, pg_url, executor, worker=True, queue=None):
    settings = make_settings(pg_url, DEMO_POLICY, temporal_task_queue=queue or task_queue())
    app = create_app(settings, client=env.client)
    ctx = app.state.ctx
    ctx.clock = env.get_current_time
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://desk/api/v1") as http:
        if worker:
            async with new_worker(env.client, settings, ctx.db, executor):
                yield http, ctx
        else:
            yield http, ctx
    ctx.db.dispose()


def count_cases(ctx) -> int:
    with ctx.db.session() as session:
        return session.scalar(select(func.count()).select_from(Case))


async def test_tokens_and_roles(env, pg_url, executor, db):
    async with desk_api(env, pg_url, executor) as (http, ctx):
        assert (await http.get("/cases")).status_code == 401
        assert (await http.get("/cases", headers={"Authorization": "Bearer nope"})).status_code == 401
        refused = await http.post("/cases", json=INTAKE, headers=TECHNICIAN)
        assert refused.status_code == 403 and "technician" in refused.json()["detail"]
        case_no = (await http.post("/cases", json=INTAKE, headers=AGENT)).json()["case_no"]
        escalation = {"level": 1, "reason": "customer called three times"}
        assert (await http.post(f"/cases/{case_no}/escalate", json=escalation, headers=AGENT)).status_code == 403
        assert (await http.post(f"/cases/{case_no}/escalate", json=escalation, headers=SUPERVISOR)).status_code == 202


async def test_bad_input_is_a_422_naming_the_field_and_writes_nothing(env, pg_url, executor, db):
    async with desk_api(env, pg_url, executor) as (http, ctx):
        bad = await http.post("/cases", json={**INTAKE, "phone": "12345", "channel": "fax"}, headers=AGENT)
        assert bad.status_code == 422
        fields = {tuple(e["loc"]) for e in bad.json()["detail"]}
        assert fields == {("body", "phone"), ("body", "channel")}
        assert "mainland China phone" in str(bad.json())
        missing = await http.post("/cases", json={k: v for k, v in INTAKE.items() if k != "address"}, headers=AGENT)
        assert missing.status_code == 422 and missing.json()["detail"][0]["loc"] == ["body", "address"]
        assert (await http.post("/cases/AS20261122-0001/escalate", json={"level": 12, "reason": "x"}, headers=SUPERVISOR)).status_code == 422
        assert count_cases(ctx) == 0


async def test_a_case_is_opened_read_and_listed(env, pg_url, executor, db):
    async with desk_api(env, pg_url, executor) as (http, ctx):
        created = await http.post("/cases", json=INTAKE, headers=AGENT)
        assert created.status_code == 201
        case = created.json()
        assert case["case_no"].startswith("AS") and case["workflow_id"] == f"case-{case['case_no']}"
        assert case["customer"]["phone"] == "13912345678"  # normalised
        assert [c["name"] for c in case["clocks"]] == ["response", "plan", "resolution"]
        assert case["temporal_ui"].endswith(f"/workflows/case-{case['case_no']}")
        live = await eventually(lambda: _live(http, case["case_no"]))
        assert live["stage"] == "new" and live["clocks"][0]["status"] == "running"
        listed = (await http.get("/cases", params={"kind": "repair", "text": "合页"}, headers=AGENT)).json()
        assert [c["case_no"] for c in listed["items"]] == [case["case_no"]] and listed["total"] == 1
        assert (await http.get("/cases", params={"kind": "complaint"}, headers=AGENT)).json()["total"] == 0
        assert (await http.get("/cases/AS20990101-0001", headers=AGENT)).status_code == 404


async def _live(http, case_no):
    body = (await http.get(f"/cases/{case_no}", headers=AGENT)).json()
    return body if body.get("live") else None


async def test_the_same_idempotency_key_opens_one_case(env, pg_url, executor, db):
    async with desk_api(env, pg_url, executor) as (http, ctx):
        headers = {**AGENT, "Idempotency-Key": "wechat-msg-8842"}
        first = await http.post("/cases", json=INTAKE, headers=headers)
        again = await http.post("/cases", json=INTAKE, headers=headers)
        assert (first.status_code, again.status_code) == (201, 200)
        assert first.json()["case_no"] == again.json()["case_no"]
        raced = await asyncio.gather(*[
            http.post("/cases", json=INTAKE, headers={**AGENT, "Idempotency-Key": "hotline-call-17"}) for _ in range(5)
        ])
        assert len({r.json()["case_no"] for r in raced}) == 1
        assert sorted(r.status_code for r in raced) == [200, 200, 200, 200, 201]
        other = await http.post("/cases", json={**INTAKE, "description": "另一件事"}, headers=headers)
        assert other.status_code == 409 and "different request" in other.json()["detail"]
        assert count_cases(ctx) == 2


async def test_actions_in_order_and_a_409_with_the_reason_out_of_order(env, pg_url, executor, db):
    async with desk_api(env, pg_url, executor) as (http, ctx):
        case_no = (await http.post("/cases", json=INTAKE, headers=AGENT)).json()["case_no"]
        early = await http.post(f"/cases/{case_no}/solve-remotely", json={"guidance": "reset it"}, headers=AGENT)
        assert early.status_code == 409
        assert early.json()["detail"] == (
            "cannot solve remotely a case in stage 'new': nobody has contacted the customer yet: "
            "respond first (apologise, for a complaint)"
        )
        now = (await env.get_current_time()).isoformat()
        for path, body in (
            ("respond", {"note": "called back"}),
            ("solve-remotely", {"guidance": "reset the hinge screw"}),
            ("accept-work", {"signed_by": "customer", "signed_at": now}),
            ("record-revisit", {"method": "phone", "satisfaction": "satisfied", "attitude": 5, "professionalism": 5, "timeliness": 4}),
        ):
            done = await http.post(f"/cases/{case_no}/{path}", json={**body, "by": "agent-zhang"}, headers=AGENT)
            assert done.status_code == 200, done.text
        assert done.json()["stage"] == "closed"
        assert [a["by"] for a in done.json()["actions"]] == ["agent-zhang"] * 4
        await eventually(lambda: _stage(ctx, case_no) == "closed")
        after = await http.post(f"/cases/{case_no}/respond", json={}, headers=AGENT)
        assert after.status_code == 409 and "closed" in after.json()["detail"]
        assert (await http.post(f"/cases/{case_no}/escalate", json={"reason": "x"}, headers=SUPERVISOR)).status_code == 409
        assert (await http.post(f"/cases/{case_no}/respond", json={"notes": "typo"}, headers=AGENT)).status_code == 422


def _stage(ctx, case_no):
    with ctx.db.session() as session:
        return case_file.get_case(session, case_no).stage


async def test_a_breach_shows_in_the_api_the_list_and_the_case_file(env, pg_url, executor, db):
    async with desk_api(env, pg_url, executor) as (http, ctx):
        case_no = (await http.post("/cases", json={**INTAKE, "description": "卫生间漏水"}, headers=AGENT)).json()["case_no"]
        await env.sleep(3.5)  # demo emergency response clock: 3 s
        case = (await http.get(f"/cases/{case_no}", headers=AGENT)).json()
        assert case["severity"] == "emergency" and case["sla_breached"] and case["escalated"]
        assert case["clocks"][0]["status"] == "breached"
        assert case["escalations"][0]["level"] == 1 and case["escalations"][0]["source"] == "clock"
        await eventually(lambda: _breached(ctx, case_no))
        listed = (await http.get("/cases", params={"breached": "true", "sort": "deadline"}, headers=AGENT)).json()
        assert [c["case_no"] for c in listed["items"]] == [case_no]


def _breached(ctx, case_no):
    with ctx.db.session() as session:
        return case_file.get_case(session, case_no).sla_breached


def _recorded(ctx, case_no):
    with ctx.db.session() as session:
        return case_file.get_case(session, case_no).last_seq >= 1


async def test_health(env, pg_url, executor, db):
    async with desk_api(env, pg_url, executor) as (http, ctx):
        health = await http.get("/healthz")
        assert health.status_code == 200 and health.json() == {"status": "ok", "database": "ok", "temporal": "ok"}


async def test_without_a_worker_the_case_is_read_from_the_case_file(env, pg_url, executor, db):
    queue = task_queue()
    async with desk_api(env, pg_url, executor, queue=queue) as (http, ctx):
        case_no = (await http.post("/cases", json=INTAKE, headers=AGENT)).json()["case_no"]
        await eventually(lambda: _recorded(ctx, case_no))
    # the worker is gone; the workflow runs on, but nobody can answer its query
    async with desk_api(env, pg_url, executor, worker=False, queue=queue) as (http, ctx):
        ctx_case = (await http.get(f"/cases/{case_no}", headers=AGENT)).json()
        assert ctx_case["live"] is False and ctx_case["stage"] == "new"
        assert [c["name"] for c in ctx_case["clocks"]] == ["response", "plan", "resolution"]


async def test_R9_temporal_down_accepts_the_case_and_starts_it_when_back(env, pg_url, executor, db):
    """Temporal away: the case is recorded and the answer is 202 with its number (not a 503
    that invites a retry, which without an Idempotency-Key would open it twice)."""
    from api.deps import TemporalGateway

    async with desk_api(env, pg_url, executor) as (http, ctx):
        working = ctx.temporal
        ctx.temporal = TemporalGateway(ctx.settings.model_copy(update={"temporal_address": "127.0.0.1:1"}))
        down = await http.post("/cases", json=INTAKE, headers={**AGENT, "Idempotency-Key": "call-42"})
        assert down.status_code == 202, down.text
        assert down.json()["pending"] is True and down.json()["case_no"].startswith("AS")
        assert [c["name"] for c in down.json()["clocks"]] == ["response", "plan", "resolution"]
        assert count_cases(ctx) == 1
        ctx.temporal = working  # Temporal is back: the retry returns the same case, now started
        again = await http.post("/cases", json=INTAKE, headers={**AGENT, "Idempotency-Key": "call-42"})
        assert again.status_code == 200
        await eventually(lambda: _recorded(ctx, again.json()["case_no"]))
        assert count_cases(ctx) == 1


async def test_database_down_is_a_503_not_a_500(env, pg_url, executor, db):
    from adapters.storage.db import Database

    async with desk_api(env, pg_url, executor) as (http, ctx):
        working, ctx.db = ctx.db, Database("postgresql+psycopg2://postgres@127.0.0.1:1/nowhere")
        refused = await http.post("/cases", json=INTAKE, headers=AGENT)
        assert refused.status_code == 503 and "nothing was recorded" in refused.json()["detail"]
        assert (await http.get("/cases", headers=AGENT)).status_code == 503
        health = await http.get("/healthz")
        assert health.status_code == 503 and health.json()["database"].startswith("unreachable")
        ctx.db = working


async def test_an_action_while_the_database_is_down_is_accepted_and_recorded_later(env, pg_url, executor, db, monkeypatch):
    from adapters.storage.db import Database
    from api import case_service as service

    monkeypatch.setattr(service, "ACTION_RECORD_TIMEOUT", timedelta(seconds=2))
    settings = make_settings(pg_url, DEMO_POLICY, temporal_task_queue=task_queue())
    app = create_app(settings, client=env.client)
    ctx = app.state.ctx
    ctx.clock = env.get_current_time
    worker_db = Database(pg_url)  # the worker's own connection pool, which we cut below
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://desk/api/v1") as http:
        async with new_worker(env.client, settings, worker_db, executor):
            case_no = (await http.post("/cases", json=INTAKE, headers=AGENT)).json()["case_no"]
            await eventually(lambda: _recorded(ctx, case_no))
            healthy = (worker_db.engine, worker_db._sessions)
            cut = Database("postgresql+psycopg2://postgres@127.0.0.1:1/nowhere")
            worker_db.engine, worker_db._sessions = cut.engine, cut._sessions
            pending = await http.post(f"/cases/{case_no}/respond", json={"note": "called back"}, headers=AGENT)
            assert pending.status_code == 202 and pending.json()["accepted"] is True
            assert (await http.post(f"/cases/{case_no}/respond", json={}, headers=AGENT)).status_code == 409
            worker_db.engine, worker_db._sessions = healthy  # the database is back
            await eventually(lambda: _stage(ctx, case_no) == "diagnosing", timeout=30)
    worker_db.dispose()
    ctx.db.dispose()
