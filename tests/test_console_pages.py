"""The console's other pages over HTTP: the board's filters (posted, never in the URL), the
technician board with a card given, registration and status changes, suggestions above the
dispatch form, projects with a step taken and refused, KPIs of a fixture week with their
chart and CSV, and the stored weekly reports."""

from __future__ import annotations

from datetime import timedelta

from conftest import DEFAULT_POLICY, register_technician
from console_session import console
from kpi_fixtures import REPORT_TIME, SHANGHAI, write_week

from adapters.reports import source, weekly
from domain.discipline import DisciplinePolicy
from domain.targets import KpiTargets
from domain.weekly_report import compile_weekly, week_before

PROJECT = {"customer_name": "李先生", "phone": "13912345678", "address": "上海市徐汇区漕溪北路200号3号楼801",
           "house_type": "三室两厅", "package": "full", "channel": "store"}


async def test_the_board_filters_by_a_posted_search(env, pg_url, executor, db):
    async with console(env, pg_url, executor) as c:
        wang = (await c.desk.open())["case_no"]
        li = (await c.desk.open(customer_name="李先生", phone="13900001111", description="橱柜门铰链松动"))["case_no"]
        agent = await c.signed_in("t-agent")
        everyone = await agent.get("/console/cases")
        assert wang in everyone.text and li in everyone.text
        found = await agent.post("/console/cases", text="13900001111", sort="deadline", kind="repair")
        assert found.status_code == 200 and li in found.text and wang not in found.text
        assert found.url.query == b""  # the phone travelled in the body only
        rows = await agent.post("/console/cases/table", text="王女士", breached="nonsense")
        assert rows.text.startswith('<tbody id="board-rows"') and wang in rows.text and li not in rows.text
        assert (await agent.post("/console/cases/table", csrf="")).status_code == 403


async def test_technicians_and_a_card(env, pg_url, executor, db):
    async with console(env, pg_url, executor) as c:
        agent = await c.signed_in("t-agent")
        board = await agent.get("/console/technicians")
        assert 'data-technician="tech-017"' in board.text and "王师傅" in board.text
        assert "/console/technicians/tech-017/cards" not in board.text  # cards are for supervisors
        supervisor = await c.signed_in("t-supervisor")
        await supervisor.get("/console/technicians")
        empty = await supervisor.post("/console/technicians/tech-017/cards", color="yellow", reason="")
        assert empty.status_code == 422 and "必填" in empty.text.split('data-field="reason"')[1].split("</div>")[0]
        given = await supervisor.post("/console/technicians/tech-017/cards", color="yellow", reason="left dust behind")
        assert given.status_code == 303
        assert "left dust behind" in (await supervisor.get("/console/technicians")).text
        unknown = await supervisor.post("/console/technicians/tech-999/cards", color="red", reason="damaged a floor")
        assert unknown.status_code == 404 and "no technician tech-999" in unknown.text


def _section(html: str, action: str) -> str:
    """The part of a page from one form's ``data-action`` to the next form's."""
    return html.split(f'data-action="{action}"')[1].split('data-action="')[0]


async def test_suggestions_are_ranked_above_the_dispatch_form(env, pg_url, executor, db):
    async with console(env, pg_url, executor) as c:
        register_technician(c.ctx.db, "tech-020", name="李师傅", phone="13700002222", skills=["painting"])
        d = c.desk
        no = (await d.open())["case_no"]
        agent = await c.signed_in("t-agent")
        assert 'data-action="suggest"' not in (await agent.get(f"/console/cases/{no}")).text
        early = await agent.post(f"/console/cases/{no}/suggest", skills="plumbing", window_start="", window_end="")
        assert early.status_code == 409 and "只有在可派工时才提供推荐" in early.text
        await d.do(no, "respond")
        await d.do(no, "book_survey", appointment=await d.later(60), technician="tech-017")
        await d.do(no, "record_survey", "technician", cause="seal aged", responsibility="in_warranty")
        await d.do(no, "propose_plan", cause="seal aged", method="reseal", materials=[], labour_hours=1, cost_estimate="0")
        page = await agent.get(f"/console/cases/{no}")
        assert page.text.index('data-action="suggest"') < page.text.index('data-action="dispatch"')
        day = ((await d.now()).astimezone(SHANGHAI) + timedelta(days=1)).date()
        window = {"window_start": f"{day}T14:00", "window_end": f"{day}T16:00"}
        ranked = await agent.post(f"/console/cases/{no}/suggest", skills="plumbing， tiling", area="", **window)
        assert ranked.status_code == 200, ranked.text
        table = ranked.text.split('<table class="suggestions">')[1].split("</table>")[0]
        assert table.index('data-technician="tech-017"') < table.index('data-technician="tech-020"')
        assert 'class="suggestion eligible" data-technician="tech-017"' in table and "serves 浦东新区" in table
        assert 'class="suggestion ineligible" data-technician="tech-020"' in table and "lacks skills: plumbing" in table
        dispatch = _section(ranked.text, "dispatch")
        assert 'id="dispatch-technician" value="tech-017"' in dispatch and f'value="{day}T14:00"' in dispatch
        bad = await agent.post(f"/console/cases/{no}/suggest", skills="plumbing", window_start=f"{day}T16:00",
                               window_end=f"{day}T14:00")
        assert bad.status_code == 422 and "预约结束时间必须晚于开始时间" in _section(bad.text, "suggest")
        missing = await agent.post(f"/console/cases/{no}/suggest", skills="", **window)
        assert missing.status_code == 422 and "必填" in _section(missing.text, "suggest").split('data-field="skills"')[1]
        # The desk still dispatches with the dispatch form, to the technician it chose.
        done = await agent.post(f"/console/cases/{no}/act/dispatch", task="reseal the shower", technician="tech-017",
                                **window)
        assert done.status_code == 303


async def test_a_manager_registers_technicians_and_changes_their_status(env, pg_url, executor, db):
    async with console(env, pg_url, executor) as c:
        agent = await c.signed_in("t-agent")
        board = await agent.get("/console/technicians")
        assert "/console/technicians/register" not in board.text and "/status" not in board.text
        tech = {"id": "tech-031", "name": "赵师傅", "phone": "13700003333", "skills": "plumbing, tiling",
                "areas": "浦东新区、徐汇区", "days": "mon, tue, wed", "start": "08:30", "end": "17:30", "daily_capacity": "3"}
        assert (await agent.post("/console/technicians/register", **tech)).status_code == 403
        manager = await c.signed_in("t-manager")
        board = await manager.get("/console/technicians")
        assert 'action="/console/technicians/register"' in board.text
        assert 'action="/console/technicians/tech-017/status"' in board.text
        assert (await manager.post("/console/technicians/register", csrf="", **tech)).status_code == 403
        wrong = await manager.post("/console/technicians/register", **{**tech, "phone": "12345"})
        assert wrong.status_code == 422 and "不是有效的中国大陆电话号码" in _section(wrong.text, "register")
        assert (await manager.post("/console/technicians/register", **tech)).status_code == 303
        board = await manager.get("/console/technicians")
        row = board.text.split('data-technician="tech-031"')[1].split("</tr>")[0]
        assert "赵师傅" in row and "plumbing, tiling" in row and "浦东新区, 徐汇区" in row and "08:30–17:30" in row
        again = await manager.post("/console/technicians/register", **{**tech, "name": "赵二"})
        assert again.status_code == 409 and "technician tech-031 is already registered" in _section(again.text, "register")
        suspended = await manager.post("/console/technicians/tech-031/status", status="suspended", reason="complaints")
        assert suspended.status_code == 303
        back = await manager.post("/console/technicians/tech-031/status", status="active", reason="retrained")
        assert back.status_code == 422
        assert "恢复派工须填写复训情况" in _section(back.text, "tech-031/status")
        back = await manager.post("/console/technicians/tech-031/status", status="active", reason="retrained",
                                  retraining="tiling safety course, 2026-11-20")
        assert back.status_code == 303
        unknown = await manager.post("/console/technicians/tech-999/status", status="suspended", reason="x")
        assert unknown.status_code == 404 and "no technician tech-999" in unknown.text


async def test_a_project_is_listed_shown_and_worked_on(env, pg_url, executor, db):
    async with console(env, pg_url, executor, policy=DEFAULT_POLICY) as c:
        opened = await c.desk.http.post("/projects", json=PROJECT, headers={"Authorization": "Bearer t-agent"})
        project_id = opened.json()["project_id"]
        agent = await c.signed_in("t-agent")
        listed = await agent.post("/console/projects", text="李先生")
        assert project_id in listed.text
        page = await agent.get(f"/console/projects/{project_id}")
        assert page.status_code == 200 and "咨询" in page.text and 'data-action="record_needs"' in page.text
        early = await agent.post(f"/console/projects/{project_id}/act/start_design", note="")
        assert early.status_code == 409 and "needs are not recorded yet" in early.text
        done = await agent.post(f"/console/projects/{project_id}/act/record_needs", style="modern", budget="180000",
                                rooms="kitchen\nbathroom")
        assert done.status_code == 303
        assert "modern · 180000" in (await agent.get(f"/console/projects/{project_id}")).text
        assert (await agent.get("/console/projects/PJ999999")).status_code == 404


async def test_kpis_of_a_week_and_the_weekly_reports(env, pg_url, executor, db):
    write_week(db)
    async with console(env, pg_url, executor) as c:
        period = week_before(REPORT_TIME, SHANGHAI)
        with c.ctx.db.session() as session:
            report = compile_weekly(source.case_records(session, period), period, SHANGHAI, REPORT_TIME, KpiTargets(),
                                    DisciplinePolicy())
            pages = weekly.ReportPages(SHANGHAI, "安心家装")
            row, _ = weekly.store(session, report, pages.title(report, "zh-CN"),
                                  pages.html(report, "zh-CN", KpiTargets()), REPORT_TIME)
            report_id = row.id
        manager = await c.signed_in("t-manager")
        week = "?from=2026-11-16&to=2026-11-22"
        kpis = await manager.get(f"/console/kpis{week}")
        assert kpis.status_code == 200 and "响应及时率" in kpis.text and "71.4%" in kpis.text  # 5/7, as test_kpi
        assert f'/console/kpis.csv{week}' in kpis.text.replace("&amp;", "&")
        by_agent = await manager.get(f"/console/kpis.csv{week}&by=agent")
        assert by_agent.text.startswith("group,response_timeliness")
        assert (await manager.get("/console/kpis?from=yesterday")).status_code == 422
        listing = await manager.get("/console/reports")
        assert f"/console/reports/{report_id}" in listing.text
        one = await manager.get(f"/console/reports/{report_id}")
        assert "售后问题周报 2026-11-16 至 2026-11-22" in one.text
        assert (await manager.get("/console/reports/999")).status_code == 404
