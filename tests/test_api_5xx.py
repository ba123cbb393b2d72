"""The fuzz run's 500s (reviews/2026-11-fault-and-fuzz-run.md §3, security review I3, I4): each
absurd input is a 422 naming its field, in the shape the OpenAPI documents (``detail`` a list
of ``{loc, msg, type}``), and nothing is written. PostgreSQL, the time-skipping server's client
(no worker: no case here needs its workflow to run)."""

from __future__ import annotations

from contextlib import asynccontextmanager
from datetime import UTC, datetime

import httpx
from conftest import DEFAULT_POLICY, make_settings
from sqlalchemy import func, select

from adapters.storage import projects as project_file
from adapters.storage.project_tables import Project
from adapters.storage.tables import Case, Customer
from api.app import create_app

AGENT = {"Authorization": "Bearer t-agent"}
SUPERVISOR = {"Authorization": "Bearer t-supervisor"}
MANAGER = {"Authorization": "Bearer t-manager"}
TECHNICIAN = {"Authorization": "Bearer t-technician"}
INTAKE = {"kind": "repair", "channel": "hotline", "customer_name": "王女士", "phone": "13812345678",
          "address": "上海市浦东新区锦绣路100弄5号", "description": "门把手松了"}
PROJECT = {"customer_name": "李先生", "phone": "13912345678", "address": "上海市徐汇区漕溪北路200号3号楼801",
           "package": "full", "channel": "store"}
WANG = {"id": "tech-017", "name": "王师傅", "phone": "13700001111", "skills": ["plumbing"], "areas": ["浦东新区"]}
HUGE = 10**20


@asynccontextmanager
async def api(pg_url, env=None):
    """The API; with ``env``, on the time-skipping server's client and clock (no worker)."""
    app = create_app(make_settings(pg_url, DEFAULT_POLICY), client=env.client if env else None)
    if env is not None:
        app.state.ctx.clock = env.get_current_time
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://desk/api/v1") as http:
        yield http, app.state.ctx
    app.state.ctx.db.dispose()


def refused(answer: httpx.Response, *loc: str) -> str:
    """A 422 in FastAPI's shape naming ``loc``; its messages."""
    assert answer.status_code == 422, (answer.status_code, answer.text)
    detail = answer.json()["detail"]
    assert isinstance(detail, list) and detail, detail
    assert all({"loc", "msg", "type"} <= set(d) for d in detail), detail
    assert any(tuple(d["loc"]) == loc for d in detail), (loc, detail)
    return " ".join(d["msg"] for d in detail)


def count(ctx, table) -> int:
    with ctx.db.session() as session:
        return session.scalar(select(func.count()).select_from(table))


async def test_I3_page_overflow_is_422(pg_url, db):
    async with api(pg_url) as (http, _):
        for path, who in (("/projects", AGENT), ("/leads", AGENT), ("/reports", SUPERVISOR)):
            refused(await http.get(path, params={"page": HUGE}, headers=who), "query", "page")
            refused(await http.get(path, params={"page": 100_001}, headers=who), "query", "page")
            answer = await http.get(path, params={"page": 100_000}, headers=who)
            assert answer.status_code == 200, (path, answer.text)


async def test_I3_naive_breached_since_is_422(pg_url, db):
    async with api(pg_url) as (http, _):
        for name in ("breached_since", "breached_until"):
            assert "timezone" in refused(await http.get("/cases", params={name: "2026-01-01T00:00:00"}, headers=AGENT),
                                         "query", name)
            for absurd in ("0001-01-01T00:00:00+14:00", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59-12:00"):
                refused(await http.get("/cases", params={name: absurd}, headers=AGENT), "query", name)
            fine = await http.get("/cases", params={name: "2026-01-01T00:00:00+08:00"}, headers=AGENT)
            assert fine.status_code == 200 and fine.json()["total"] == 0
        # The other days a list filters by are bounded too.
        refused(await http.get("/projects", params={"under_warranty_on": "9999-12-31"}, headers=AGENT),
                "query", "under_warranty_on")
        for due in ("9999-12-31", "0001-01-01"):
            refused(await http.get("/revisits", params={"due": due}, headers=AGENT), "query", "due")
        assert (await http.get("/revisits", params={"due": "2026-12-01"}, headers=AGENT)).status_code == 200


async def test_I3_suggestion_window_9999_is_422(pg_url, db):
    async with api(pg_url) as (http, _):
        assert (await http.post("/technicians", json=WANG, headers=MANAGER)).status_code == 201
        job = {"skills": ["plumbing"], "area": "浦东新区",
               "window_start": "9999-12-31T10:00:00+08:00", "window_end": "9999-12-31T12:00:00+08:00"}
        msg = refused(await http.post("/technicians/suggestions", json=job, headers=AGENT), "body", "window_start")
        assert "2100-12-31" in msg
        # A case's work order: the same window is refused before the case is looked up.
        needs = {k: v for k, v in job.items() if k != "area"}
        refused(await http.post("/work-orders/AS20261201-0001/1/suggest", json=needs, headers=AGENT),
                "body", "window_start")
        fine = {**job, "window_start": "2026-12-01T10:00:00+08:00", "window_end": "2026-12-01T12:00:00+08:00"}
        answer = await http.post("/technicians/suggestions", json=fine, headers=AGENT)
        assert answer.status_code == 200 and answer.json()[0]["technician_id"] == "tech-017"


async def test_I4_project_text_search_escapes_wildcards(pg_url, db):
    now = datetime.now(UTC)
    with db.session() as session:
        for name, phone, address in (("李先生", "13912345678", "上海市徐汇区漕溪北路200号"),
                                     ("赵女士", "13812340000", "上海市浦东新区100%_路1号")):
            project_file.open_project(session, name=name, phone=phone, address=address, house_type=None,
                                      package="full", channel="store", now=now)
    async with api(pg_url) as (http, _):
        def total(text: str):
            return http.get("/projects", params={"text": text}, headers=AGENT)

        assert (await total("上海市")).json()["total"] == 2
        for wildcard in ("%", "_", "%_", "___________", "\\"):
            assert (await total(wildcard)).json()["total"] == (1 if wildcard in ("%", "_", "%_") else 0), wildcard
        assert [p["customer_name"] for p in (await total("100%_路")).json()["items"]] == ["赵女士"]
        assert (await total("1391234567_")).json()["total"] == 0  # "_" matched any digit
        assert (await total("1391234567")).json()["total"] == 1


async def test_empty_idempotency_key_is_422_not_500(env, pg_url, db):
    async with api(pg_url, env) as (http, ctx):
        for path, body in (("/cases", INTAKE), ("/projects", PROJECT)):
            for key in ("", " ", "ключ".encode(), "a\tb"):
                answer = await http.post(path, json=body, headers={**AGENT, "Idempotency-Key": key})
                msg = refused(answer, "header", "Idempotency-Key")
                assert ("is empty" in msg) if not key.strip() else ("printable ASCII" in msg), (key, msg)
            refused(await http.post(path, json=body, headers={**AGENT, "Idempotency-Key": "k" * 201}),
                    "header", "Idempotency-Key")
        assert count(ctx, Case) == 0 and count(ctx, Project) == 0 and count(ctx, Customer) == 0
        # A key of printable ASCII is taken, and returns the same record the second time.
        for path, body, id_ in (("/cases", INTAKE, "case_no"), ("/projects", PROJECT, "project_id")):
            key = {**AGENT, "Idempotency-Key": f"retry {path[1:]} 1"}
            first = await http.post(path, json=body, headers=key)
            again = await http.post(path, json=body, headers=key)
            assert first.status_code == 201 and again.status_code == 200, (first.text, again.text)
            assert first.json()[id_] == again.json()[id_]


async def test_working_hours_with_offset_is_422(pg_url, db):
    async with api(pg_url) as (http, _):
        for field in ("start", "end"):
            answer = await http.post("/technicians", json={**WANG, field: "18:00:00+08:00"}, headers=MANAGER)
            assert "offset" in refused(answer, "body", field)
        assert (await http.post("/technicians", json={**WANG, "end": "18:00:00"}, headers=MANAGER)).status_code == 201
        refused(await http.put("/technicians/tech-017", json={**WANG, "end": "18:00+08:00"}, headers=MANAGER),
                "body", "end")
        changed = await http.put("/technicians/tech-017", json={**WANG, "end": "17:30"}, headers=MANAGER)
        assert changed.status_code == 200 and changed.json()["end"] == "17:30"


async def test_nul_in_text_is_422(env, pg_url, db):
    async with api(pg_url, env) as (http, ctx):
        for field in ("customer_name", "description", "address", "house_type"):
            answer = await http.post("/cases", json={**INTAKE, field: "门把手\x00松了"}, headers=AGENT)
            assert "NUL" in refused(answer, "body", field)
        for path, who in (("/cases", AGENT), ("/projects", AGENT)):
            refused(await http.get(path, params={"text": "a\x00b"}, headers=who), "query", "text")
        refused(await http.get("/projects", params={"staff": "pm\x00"}, headers=AGENT), "query", "staff")
        assert count(ctx, Case) == 0 and count(ctx, Customer) == 0
        # A step's text (the note on a case), at the API's edge: the workflow never sees it.
        case_no = (await http.post("/cases", json=INTAKE, headers=AGENT)).json()["case_no"]
        refused(await http.post(f"/cases/{case_no}/add-note", json={"note": "x\x00"}, headers=AGENT), "body", "note")
        refused(await http.post(f"/cases/{case_no}/escalate", json={"reason": "x\x00"}, headers=SUPERVISOR),
                "body", "reason")
        refused(await http.post("/technicians/tech-017/cards", json={"color": "yellow", "reason": "late\x00"},
                                headers=SUPERVISOR), "body", "reason")


async def test_invisible_only_name_is_422(pg_url, db):
    async with api(pg_url) as (http, ctx):
        for field, text in (("customer_name", "\u200b\u200b"), ("customer_name", "\ufeff\u200d"),
                            ("description", "\u200b"), ("address", "\u2060\u3000")):
            msg = refused(await http.post("/cases", json={**INTAKE, field: text}, headers=AGENT), "body", field)
            assert "invisible" in msg
        refused(await http.get("/cases", params={"text": "\u200b"}, headers=AGENT), "query", "text")
        assert count(ctx, Case) == 0 and count(ctx, Customer) == 0


async def test_each_hand_raised_422_has_a_list_detail(pg_url, db):
    """The 422s the API raises by hand match the documented HTTPValidationError (schemathesis
    flagged each as a schema mismatch while its detail was a string)."""
    async with api(pg_url) as (http, _):
        for route in ("/kpis", "/kpis.csv", "/kpis.svg"):
            refused(await http.get(route, params={"to": "0"}, headers=SUPERVISOR), "query", "to")
            refused(await http.get(route, params={"from": "2026-11-10", "to": "2026-11-01"}, headers=SUPERVISOR),
                    "query", "to")
            refused(await http.get(route, params={"from": "2024-01-01", "to": "2026-11-01"}, headers=SUPERVISOR),
                    "query", "from")
        refused(await http.get("/revisits", params={"due": "soon"}, headers=AGENT), "query", "due")
        refused(await http.get("/me/jobs", params={"day": "9999-12-31"}, headers=TECHNICIAN), "query", "day")
        assert (await http.post("/technicians", json=WANG, headers=MANAGER)).status_code == 201
        refused(await http.put("/technicians/tech-017", json={**WANG, "id": "tech-018"}, headers=MANAGER), "body", "id")
        await http.post("/technicians/tech-017/status", json={"status": "suspended", "reason": "x"}, headers=MANAGER)
        refused(await http.post("/technicians/tech-017/status", json={"status": "active", "reason": "back"},
                                headers=MANAGER), "body", "retraining")


async def test_nul_in_a_path_or_a_project_intake_is_422_and_an_absurd_row_number_too(env, pg_url, executor, db):
    """Path ids and numbers, and a project's intake text, are bounded like every other input."""
    from desk import ROLE_TOKENS, desk

    async with desk(env, pg_url, executor) as d:
        agent, supervisor = ROLE_TOKENS["agent"], ROLE_TOKENS["supervisor"]
        for url in ("/cases/AS%00", "/projects/PJ%00", "/technicians/t%00"):
            answer = await d.http.get(url, headers=agent)
            assert answer.status_code == 422, (url, answer.status_code, answer.text)
            assert isinstance(answer.json()["detail"], list)
        answer = await d.http.post("/notifications/99999999999999999999/retry", headers=supervisor)
        assert answer.status_code == 422, answer.text
        body = {"customer_name": "李\x00先生", "phone": "13912345678", "address": "上海市徐汇区1号", "package": "full",
                "channel": "store"}
        answer = await d.http.post("/projects", json=body, headers=agent)
        assert answer.status_code == 422 and answer.json()["detail"][0]["loc"][-1] == "customer_name", answer.text
        answer = await d.http.post("/cases", json={"kind": "repair", "channel": "hotline", "customer_name": "王女士",
                                                   "phone": "13812345678", "address": "上海市浦东新区1号",
                                                   "description": "漏水", "project_id": "PJ999999"}, headers=agent)
        assert answer.status_code == 422 and isinstance(answer.json()["detail"], list), answer.text
