"""The KPI, report and live-count routes: JSON, CSV and SVG for a period, 4xx for bad input,
stored reports as JSON and HTML, and live counts that agree with the Temporal UI's queries."""

from contextlib import asynccontextmanager
import httpx
from conftest import BIN, DEFAULT_POLICY, DEMO_POLICY, eventually, make_settings, new_worker, sample_intake, task_queue
from kpi_fixtures import REPORT_TIME, SHANGHAI, write_week
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from adapters.reports import source, weekly
from api import case_service
from api.app import create_app
from domain import search_attributes as sa
from domain.discipline import DisciplinePolicy
from domain.targets import KpiTargets
from domain.weekly_report import compile_weekly, week_before

MANAGER = {"Authorization": "Bearer t-manager"}
AGENT = {"Authorization": "Bearer t-agent"}
WEEK = {"from": "2026-11-16", "to": "2026-11-22"}


@asynccontextmanager
async def api(pg_url, policy=DEFAULT_POLICY, client=None, **overrides):
    app = create_app(make_settings(pg_url, policy, **overrides), client=client)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://desk/api/v1") as http:
        yield http, app.state.ctx
    app.state.ctx.db.dispose()


async def test_kpis_as_json_csv_and_svg_for_a_period(pg_url, db):
    write_week(db)
    async with api(pg_url) as (http, _):
        company = (await http.get("/kpis", params=WEEK, headers=MANAGER)).json()
        assert company["from"] == "2026-11-16T00:00:00+08:00" and company["to"] == "2026-11-23T00:00:00+08:00"
        [row] = company["rows"]
        assert row["kpis"]["response_timeliness"] == {"value": 5 / 7, "hits": 5, "total": 7, "met": None}  # 5/7, no target
        csat = row["kpis"]["csat"]  # test_kpi: 2/4, below the 85% target
        assert (csat["value"], csat["met"]) == (0.5, False)
        assert row["kpis"]["complaint_rate"] == {"value": 0.4, "hits": 2, "total": 5}
        assert company["targets"] == {"complaint_timeliness": 0.9, "csat": 0.85, "on_time_installation": 0.95,
                                      "first_time_fix": 0.8}
        assert company["met_when"]["first_time_fix"] == ">" and company["met_when"]["csat"] == "≥"
        assert company["problems"][0]["model"] == "BF-1200" and company["problems"][0]["cases"] == 3
        agents = (await http.get("/kpis", params={**WEEK, "by": "agent"}, headers=MANAGER)).json()
        assert [r["group"] for r in agents["rows"]] == ["(unassigned)", "agent-a", "agent-b"]
        csv = await http.get("/kpis.csv", params={**WEEK, "by": "technician"}, headers=MANAGER)
        assert csv.headers["content-type"].startswith("text/csv")
        assert csv.text.splitlines()[1].startswith("tech-1,")
        svg = await http.get("/kpis.svg", params=WEEK, headers=MANAGER)
        assert svg.headers["content-type"] == "image/svg+xml" and svg.text.count('class="target"') == 4


async def test_bad_periods_and_roles_are_4xx(pg_url, db):
    async with api(pg_url) as (http, _):
        reversed_ = await http.get("/kpis", params={"from": "2026-11-22", "to": "2026-11-16"}, headers=MANAGER)
        assert reversed_.status_code == 422 and "before 'from'" in reversed_.json()["detail"][0]["msg"]
        assert (await http.get("/kpis", params={"from": "2025-01-01", "to": "2026-11-16"}, headers=MANAGER)).status_code == 422
        assert (await http.get("/kpis", params={"from": "next monday"}, headers=MANAGER)).status_code == 422
        assert (await http.get("/kpis.csv", params={"by": "region"}, headers=MANAGER)).status_code == 422
        assert (await http.get("/kpis", headers=AGENT)).status_code == 403
        assert (await http.get("/kpis")).status_code == 401
        assert (await http.get("/reports/999", headers=MANAGER)).status_code == 404
        assert (await http.get("/reports/abc", headers=MANAGER)).status_code == 422
        # no period given: the last seven days, answered
        assert (await http.get("/kpis.svg", headers=MANAGER)).status_code == 200
        # the intake's problem fields are checked like every other field
        intake = {"kind": "repair", "channel": "hotline", "customer_name": "王女士", "phone": "13812345678",
                  "address": "上海市浦东新区", "description": "床架螺丝松动"}
        bad = [({"problem_category": "wobbly"}, "problem_category"), ({"product": "床架", "product_model": "<BF>"}, "product_model")]
        for fields, name in bad:
            answer = await http.post("/cases", json={**intake, **fields}, headers=AGENT)
            assert answer.status_code == 422 and answer.json()["detail"][0]["loc"] == ["body", name]
        answer = await http.post("/cases", json={**intake, "product_model": "BF-1200"}, headers=AGENT)
        assert answer.status_code == 422 and "needs the product" in answer.text


async def test_days_out_of_range_are_422_on_every_kpi_route(pg_url, db):
    # 9999-12-31 has no next day, 0001-01-01 no UTC midnight east of Greenwich: once 500s
    cases = [({"from": "9999-12-31", "to": "9999-12-31"}, "'from' (9999-12-31)"), ({"from": "0001-01-01"}, "'from' (0001-01-01)"),
             ({"from": "2026-11-16", "to": "2101-01-01"}, "'to' (2101-01-01)"), ({"to": "1999-12-31"}, "'to' (1999-12-31)")]
    async with api(pg_url) as (http, _):
        for route in ("/kpis", "/kpis.csv", "/kpis.svg"):
            for params, named in cases:
                answer = await http.get(route, params=params, headers=MANAGER)
                assert answer.status_code == 422, (route, params, answer.status_code)
                assert answer.json()["detail"][0]["msg"] == f"{named} must be a day from 2000-01-01 to 2100-12-31", (route, params)
        # the bounds themselves are days like any other
        edges = await http.get("/kpis", params={"from": "2000-01-01", "to": "2000-01-07"}, headers=MANAGER)
        assert edges.status_code == 200
        assert (await http.get("/kpis.csv", params={"from": "2100-12-25", "to": "2100-12-31"}, headers=MANAGER)).status_code == 200


async def test_the_default_period_is_the_week_before_today_on_the_apps_clock(pg_url, db):
    write_week(db)
    async with api(pg_url) as (http, ctx):
        async def monday_after_the_week():
            return REPORT_TIME

        ctx.clock = monday_after_the_week  # as the tests' time-skipping server would be
        answer = (await http.get("/kpis", headers=MANAGER)).json()
        assert (answer["from"], answer["to"]) == ("2026-11-16T00:00:00+08:00", "2026-11-23T00:00:00+08:00")
        assert answer["as_of"] == REPORT_TIME.isoformat()
        assert answer["rows"][0]["kpis"]["response_timeliness"]["total"] == 7  # the fixture's week


async def test_stored_reports_read_back_as_json_and_html(pg_url, db):
    write_week(db)
    async with api(pg_url) as (http, ctx):
        period = week_before(REPORT_TIME, SHANGHAI)
        with ctx.db.session() as session:
            records = source.case_records(session, period)
            report = compile_weekly(records, period, SHANGHAI, REPORT_TIME, KpiTargets(), DisciplinePolicy())
            pages = weekly.ReportPages(SHANGHAI, "安心家装")
            row, new = weekly.store(session, report, pages.title(report, "zh-CN"), pages.html(report, "zh-CN", KpiTargets()), REPORT_TIME)
            report_id = row.id
        listing = (await http.get("/reports", headers=MANAGER)).json()
        assert [(r["id"], r["key"]) for r in listing] == [(report_id, "weekly:2026-11-16")]
        one = (await http.get(f"/reports/{report_id}", headers=MANAGER)).json()
        assert one["report"]["breaches"] == {"resolution": 1, "response": 3}
        page = await http.get(f"/reports/{report_id}.html", headers=MANAGER)
        assert page.headers["content-type"].startswith("text/html") and "售后问题周报 2026-11-16 至 2026-11-22" in page.text


async def test_live_counts_agree_with_the_temporal_ui_queries(pg_url, db, executor):
    env = await WorkflowEnvironment.start_local(
        data_converter=pydantic_data_converter, dev_server_existing_path=str(BIN / "temporal"),
        search_attributes=list(sa.ALL), ui=False,
    )
    queue = task_queue()
    try:
        async with api(pg_url, DEMO_POLICY, client=env.client, temporal_task_queue=queue) as (http, ctx):
            async with new_worker(env.client, ctx.settings, ctx.db, executor):
                await case_service.open_case(ctx, sample_intake(description="卫生间漏水"), None)
                await case_service.open_case(ctx, sample_intake(phone="13900001111"), None)
                cancelled, _ = await case_service.open_case(ctx, sample_intake(phone="13900002222", description="水管漏水"), None)
                cancel = {"reason": "duplicate of an open case"}
                assert (await http.post(f"/cases/{cancelled.case_no}/cancel", json=cancel, headers=MANAGER)).status_code == 200

                async def agreed():
                    counts = {c["name"]: c for c in (await http.get("/live-counts", headers=MANAGER)).json()}
                    same = all(c["case_file"] == c["temporal"] for c in counts.values())
                    # the leak is an open emergency nobody answered, breached (3 s) and escalated
                    settled = counts["emergency_not_responded"]["case_file"] == 1 and counts["escalated_open"]["case_file"] >= 1
                    return counts if same and settled else None

                counts = await eventually(agreed, timeout=60, interval=0.5)
                assert counts["breached_open"]["temporal_query"].startswith("SlaBreached = true AND CaseStage != 'closed'")
                # the cancelled emergency counts nowhere, though it is an emergency
                assert counts["emergency_not_responded"]["case_file"] == 1
    finally:
        await env.shutdown()
