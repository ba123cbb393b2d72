"""A renovation project's messages really leave: queued once in the outbox (tied to the
project), delivered by ``DeliverNotification`` to an SMS provider and a WeCom robot on
loopback, exactly once each, with no personal data in the project's history."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from conftest import eventually, outbox_for, running_desk
from peers import HttpPeer
from project_desk import build_everything, later, open_project, state, step
from sqlalchemy import select

from adapters.notify.project_outbox import queue_project_message
from adapters.notify.templates import TEMPLATES, Renderer
from adapters.storage import projects as project_file
from adapters.storage.tables import Notification
from domain.delivery import LOCALES
from domain.project_messages import PROJECT_MESSAGES, ProjectNotificationRequest

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # a Monday, 10:00 in Shanghai
DUE = (NOW + timedelta(days=2)).isoformat()

# What domain.project_messages.notices puts in each message's context.
CONTEXTS = {
    "project/progress_report": {"summary": "瓷砖铺贴完成 60%，下周一开始木工"},
    "project/problem": {"problem": "拆除时发现承重墙，需调整方案"},
    "project/materials": {"materials": ["地砖", "卫浴洁具"], "arrives_on": "2026-11-30"},
    "project/revisit": {"revisit": "mid_term", "agent": "小王"},
    "project/greeting": {"holiday": "spring_festival", "on": "2027-02-06"},
    "project/defect": {"defect": 2, "description": "柜门与门框摩擦", "category": "carpentry", "area": "bedroom",
                       "rectify_by": DUE},
    "project/defect_breach": {"defect": 2, "description": "柜门与门框摩擦", "due_at": DUE},
}


def _project(db, locale: str = "zh-CN") -> str:
    with db.session() as session:
        p = project_file.open_project(session, name="李先生", phone="13912345678", address="上海市徐汇区漕溪北路200号",
                                      house_type=None, package="full", channel="store", now=NOW)
        p.customer.locale = locale
        return p.project_id


def test_every_project_message_has_a_template_in_every_locale():
    for locale in LOCALES:
        found = {f"project/{p.stem}" for p in (TEMPLATES / locale / "project").glob("*.j2")}
        assert found == set(PROJECT_MESSAGES) == set(CONTEXTS), locale


@pytest.mark.parametrize("locale", LOCALES)
def test_every_project_message_renders_for_a_real_project_and_is_queued_once(db, locale):
    renderer = Renderer(SHANGHAI, "安居装饰", "400-820-8820")
    box = outbox_for(renderer)
    project_id = _project(db, locale)
    for template, context in CONTEXTS.items():
        recipient = "customer" if PROJECT_MESSAGES[template].audience == "customer" else "carp-01"
        request = ProjectNotificationRequest(project_id=project_id, key=f"project-{project_id}:7:{template}:{recipient}",
                                             template=template, recipient=recipient, context=context, at=NOW)
        with db.session() as session:
            first = queue_project_message(session, box, request, NOW)
        with db.session() as session:  # a retried activity: the same row, nothing new
            again = queue_project_message(session, box, request, NOW)
        assert first.new and not again.new and again.id == first.id
    with db.session() as session:
        rows = {r.template: r for r in session.scalars(select(Notification))}
    assert set(rows) == set(PROJECT_MESSAGES)
    assert all(r.project_pk is not None and r.case_id is None for r in rows.values())
    revisit = rows["project/revisit"]
    assert revisit.route[0] == {"channel": "sms", "address": "13912345678"}
    assert rows["project/defect"].recipient == "carp-01" and rows["project/defect"].route[0]["channel"] == "wecom"
    for text in (r.short_text + r.body for r in rows.values()):
        assert "None" not in text
    if locale == "zh-CN":
        # Seed 002's SMS: greeting by name, company, agent, purpose, company phone, thanks.
        assert revisit.short_text == (
            "尊敬的李先生，您好！我是安居装饰的客服小王。您家的装修工程已竣工一段时间，为了提升我们的服务质量，"
            "现对您进行回访。如果您对装修有任何意见或建议，欢迎随时联系我们，电话：400-820-8820。感谢您的支持与信任！")
        assert "春节" in rows["project/greeting"].short_text
        assert "木工" in rows["project/defect"].short_text and "卧室" in rows["project/defect"].short_text
    else:
        assert revisit.short_text.startswith("Dear 李先生, this is 小王 of 安居装饰.")


async def _ten_in_shanghai(env) -> None:
    """Skip to 10:00 in Shanghai tomorrow, so no customer message waits for quiet hours."""
    now = await env.get_current_time()
    ten = datetime.combine(now.astimezone(SHANGHAI).date() + timedelta(days=1), time(10), SHANGHAI)
    await env.sleep((ten - now).total_seconds())


def _rows(ctx, project_id):
    with ctx.db.session() as session:
        p = project_file.get_project(session, project_id)
        return list(session.scalars(select(Notification).where(Notification.project_pk == p.id).order_by(Notification.id)))


async def test_a_projects_messages_reach_the_customer_and_the_defects_owner_once(env, pg_url, executor, db):
    with HttpPeer() as peer:
        hooks = dict(sms_url=f"{peer.url}/sms", wecom_webhook_url=f"{peer.url}/wecom", company_phone="400-820-8820")
        async with running_desk(env, pg_url, executor, **hooks) as ctx:
            await _ten_in_shanghai(env)
            project_id, handle = await open_project(ctx)
            now = await env.get_current_time()
            await step(handle, "record_needs", style="modern", budget="180000", rooms=["kitchen"])
            await step(handle, "assign_team", role="supervisor", designer="des-02", project_manager="pm-05",
                       service_agent="小王", technicians=["tech-017"])
            await step(handle, "start_design")
            await step(handle, "propose_design", summary="open kitchen")
            await step(handle, "confirm_design", how="signature", confirmed_at=now.isoformat())
            await step(handle, "notify_materials", materials=["floor tiles"], arrives_on=(now + timedelta(days=6)).date().isoformat())
            await step(handle, "report_problem", problem="a load-bearing wall where the plan has none")
            await step(handle, "report_progress", summary="tiling 60 % done")
            await build_everything(handle)
            await step(handle, "finish_construction", role="technician")
            now = await env.get_current_time()
            await step(handle, "record_defect", role="technician", description="door rubs", category="carpentry",
                       area="bedroom", owner="carp-01", rectify_by=later(now, days=1))
            await env.sleep(timedelta(days=2).total_seconds())  # not rectified in time: a breach
            await step(handle, "close_defect", role="technician", defect=1)
            await step(handle, "accept_completion", role="technician", signed_by="customer", signed_at=now.isoformat())
            handover = (await env.get_current_time()).astimezone(SHANGHAI).date()
            await step(handle, "hand_over", handover_on=handover.isoformat(), documents=["completion report"],
                       care_instructions=True)
            planned = await eventually(lambda: _warranty(handle))
            initial, greeting = planned.warranty.revisits[0], planned.warranty.greetings[0]
            await env.sleep((initial.due_at - await env.get_current_time()).total_seconds() + 3600)
            await env.sleep((greeting.at - await env.get_current_time()).total_seconds() + 3600)

            expected = ["project/materials", "project/problem", "project/progress_report", "project/defect",
                        "project/defect_breach", "project/revisit", "project/greeting"]

            def all_sent():
                rows = _rows(ctx, project_id)
                return [r.template for r in rows] == expected and all(r.status == "sent" for r in rows) and rows

            rows = await eventually(all_sent, timeout=30)
            listed = await _listed(ctx, project_id)
            assert [(m["template"], m["status"]) for m in listed] == [(t, "sent") for t in expected]
            by_template = {r.template: r for r in rows}
            assert {r.recipient for r in rows if r.template.startswith("project/defect")} == {"carp-01"}
            assert by_template["project/defect_breach"].route[0]["channel"] == "wecom"
            for row in rows:  # one request per message: nothing sent twice
                assert [r.headers.get("idempotency-key") for r in peer.requests].count(row.key) == 1, row.template
                assert row.key.startswith(f"project-{project_id}:")
            sms = [r.json for r in peer.requests if r.path == "/sms"]
            assert {m["to"] for m in sms} == {"13912345678"} and len(sms) == 5
            revisit = next(m["content"] for m in sms if "回访" in m["content"])
            assert revisit.startswith("尊敬的李先生，您好！我是") and "客服小王" in revisit and "400-820-8820" in revisit

            # No personal data crosses into Temporal: not in the project's runs, not in any delivery's.
            history = _readable(await handle.fetch_history())
            delivery = _readable(await env.client.get_workflow_handle(
                f"notification-{by_template['project/revisit'].id}").fetch_history())
            assert "小王" in history and "tiling 60 % done" in history  # the payloads were read
            for text in (history, delivery):
                assert "13912345678" not in text and "李先生" not in text and "漕溪北路" not in text


async def _listed(ctx, project_id: str) -> list[dict]:
    """``GET /projects/{id}/notifications`` as the desk reads it."""
    import httpx

    from api.app import create_app

    app = create_app(ctx.settings, client=await ctx.temporal.client())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://desk/api/v1") as http:
        answer = await http.get(f"/projects/{project_id}/notifications", headers={"Authorization": "Bearer t-agent"})
        assert answer.status_code == 200, answer.text
        missing = await http.get("/projects/PJ999999/notifications", headers={"Authorization": "Bearer t-agent"})
        assert missing.status_code == 404
    app.state.ctx.db.dispose()
    return answer.json()


def _readable(history) -> str:
    """A history with every payload decoded (they are base64 in its JSON)."""
    texts: list[str] = [history.to_json()]

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "data" and isinstance(value, str):
                    texts.append(base64.b64decode(value).decode("utf-8", "replace"))
                else:
                    walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(history.to_json_dict())
    return "\n".join(texts)


async def _warranty(handle):
    live = await state(handle)
    return live if live.warranty is not None and live.stage == "warranty" else None


def test_R2_a_defect_owner_with_a_long_staff_id_gets_the_message(db):
    """A staff id may be 100 characters (domain.steps.StaffId); the outbox's recipient was 40,
    so a long owner's defect message failed to queue on PostgreSQL, for good."""
    box = outbox_for(Renderer(SHANGHAI, "安居装饰", "400-820-8820"))
    project_id = _project(db, "zh-CN")
    owner = "o-" + "x" * 98
    request = ProjectNotificationRequest(project_id=project_id, key=f"project-{project_id}:8:project/defect:{owner}",
                                         template="project/defect", recipient=owner,
                                         context=CONTEXTS["project/defect"], at=NOW)
    with db.session() as session:
        queued = queue_project_message(session, box, request, NOW)
    with db.session() as session:
        assert session.get(Notification, queued.id).recipient == owner
