"""Messages really leave: through a real worker on the time-skipping server, to peers on
loopback, with quiet hours, fallback, retries, dead letters and a supervisor's retry."""

import asyncio
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from conftest import DEFAULT_POLICY, eventually
from desk import ROLE_TOKENS, desk
from peers import HttpPeer, SmtpPeer
from sqlalchemy import select

import worker
from adapters.notify.outbox import queue
from adapters.storage.tables import Case, Notification
from api import notification_service
from domain.case import NotificationRequest

SHANGHAI = ZoneInfo("Asia/Shanghai")
SUPERVISOR = ROLE_TOKENS["supervisor"]


def message(ctx, case_no: str, template: str, recipient: str = "customer") -> Notification | None:
    with ctx.db.session() as session:
        return session.scalars(
            select(Notification)
            .join(Case, Case.id == Notification.case_id)
            .where(Case.case_no == case_no, Notification.template == template, Notification.recipient == recipient)
        ).one_or_none()


def status_of(ctx, case_no, template, recipient="customer"):
    row = message(ctx, case_no, template, recipient)
    return row.status if row else None


async def skip_to(env, local_time: time) -> datetime:
    """Skip the server's clock to the next ``local_time`` in Shanghai."""
    now = await env.get_current_time()
    local = now.astimezone(SHANGHAI)
    target = datetime.combine(local.date(), local_time, SHANGHAI)
    if target <= local:
        target += timedelta(days=1)
    await env.sleep((target - now).total_seconds())
    return target


async def test_quiet_hours_hold_a_normal_sms_until_morning_and_let_an_emergency_through(env, pg_url, executor, db):
    with HttpPeer() as sms:
        async with desk(env, pg_url, executor, DEFAULT_POLICY, sms_url=f"{sms.url}/sms") as d:
            night = await skip_to(env, time(23, 0))
            calm = await d.open(description="柜门合页松动，关不上")
            leak = await d.open(phone="13912345678", description="卫生间漏水，楼下天花板在滴水")
            assert (calm["severity"], leak["severity"]) == ("normal", "emergency")
            await eventually(lambda: status_of(d.ctx, leak["case_no"], "acknowledgement") == "sent")
            held = message(d.ctx, calm["case_no"], "acknowledgement")
            assert held.status == "queued" and held.not_before.astimezone(SHANGHAI) == night.replace(hour=8) + timedelta(days=1)
            assert [r.json["to"] for r in sms.requests] == ["13912345678"]  # the emergency only, at once
            urgent = message(d.ctx, leak["case_no"], "acknowledgement")
            assert urgent.sent_at - night < timedelta(minutes=1)

            await env.sleep(timedelta(hours=9, minutes=5).total_seconds())
            await eventually(lambda: status_of(d.ctx, calm["case_no"], "acknowledgement") == "sent")
            sent = message(d.ctx, calm["case_no"], "acknowledgement")
    morning = night.replace(hour=8) + timedelta(days=1)
    assert morning <= sent.sent_at.astimezone(SHANGHAI) < morning + timedelta(minutes=1)
    assert (sent.channel, sent.attempts) == ("sms", 1) and sent.provider_id.startswith("m-")
    acknowledgements = [r for r in sms.requests if calm["case_no"] in r.json["content"]]
    assert len(acknowledgements) == 1 and acknowledgements[0].json["request_id"] == sent.key
    assert "王女士" in acknowledgements[0].json["content"]


async def test_a_refused_sms_falls_back_to_email(env, pg_url, executor, db):
    with HttpPeer() as sms, SmtpPeer() as smtp:
        sms.fail_next(400, times=100, body='{"code": "isv.MOBILE_NUMBER_ILLEGAL"}')
        settings = dict(sms_url=f"{sms.url}/sms", smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_security="none")
        async with desk(env, pg_url, executor, **settings) as d:
            await skip_to(env, time(10, 0))  # not in quiet hours, whenever the suite runs
            case = await d.open(description="漏水", email="wang@example.com", locale="en")
            await eventually(lambda: status_of(d.ctx, case["case_no"], "acknowledgement") == "sent")
            row = message(d.ctx, case["case_no"], "acknowledgement")
    assert (row.channel, row.address, row.attempts) == ("email", "wang@example.com", 2)  # one refusal, one email
    assert len(sms.requests) == 1  # a refusal is not retried on the same channel
    (mail,) = smtp.messages
    assert mail["To"] == "wang@example.com" and mail["Subject"].startswith("[")  # the English set
    assert case["case_no"] in mail.get_content()


async def test_a_channel_that_stays_down_ends_in_a_dead_letter_a_supervisor_retries(env, pg_url, executor, db):
    with HttpPeer() as sms:
        sms.fail_next(503, times=3)  # demo policy: 3 attempts per channel, a few seconds apart
        async with desk(env, pg_url, executor, sms_url=f"{sms.url}/sms") as d:
            await skip_to(env, time(10, 0))  # not in quiet hours, whenever the suite runs
            case = await d.open(description="柜门松动")
            # The case goes on while its message fails: the desk can act at once.
            await d.do(case["case_no"], "respond", note="called the customer")
            await env.sleep(20)
            await eventually(lambda: status_of(d.ctx, case["case_no"], "acknowledgement") == "dead", timeout=30)
            dead = (await d.http.get("/notifications/dead-letters", headers=SUPERVISOR)).json()
            letter = next(i for i in dead["items"] if i["template"] == "acknowledgement")
            assert (letter["case_no"], letter["attempts"], letter["status"]) == (case["case_no"], 3, "dead")
            assert "HTTP 503" in letter["last_error"]
            assert (await d.http.get("/notifications/dead-letters", headers=ROLE_TOKENS["agent"])).status_code == 403

            retried = await d.http.post(f"/notifications/{letter['id']}/retry", headers=SUPERVISOR)
            assert retried.status_code == 202 and retried.json()["status"] == "queued", retried.text
            await eventually(lambda: status_of(d.ctx, case["case_no"], "acknowledgement") == "sent")
            again = await d.http.post(f"/notifications/{letter['id']}/retry", headers=SUPERVISOR)
            assert again.status_code == 409 and "sent, not a dead letter" in again.json()["detail"]
            assert (await d.http.post("/notifications/999999/retry", headers=SUPERVISOR)).status_code == 404

            listed = (await d.http.get(f"/cases/{case['case_no']}/notifications", headers=ROLE_TOKENS["agent"])).json()
            key = message(d.ctx, case["case_no"], "acknowledgement").key
    ack = next(n for n in listed if n["template"] == "acknowledgement")
    assert (ack["status"], ack["attempts"], ack["retried_by"], ack["route"]) == ("sent", 4, "supervisor", ["sms"])
    assert [r.headers["idempotency-key"] for r in sms.requests].count(key) == 4  # 3 failed, 1 accepted
    assert key in sms.delivered


async def test_with_no_channel_configured_a_message_is_a_dead_letter_that_says_why(env, pg_url, executor, db):
    async with desk(env, pg_url, executor) as d:  # no channel configured at all
        case = await d.open(description="漏水")
        await eventually(lambda: status_of(d.ctx, case["case_no"], "acknowledgement") == "dead")
        row = message(d.ctx, case["case_no"], "acknowledgement")
    assert row.route == [] and row.attempts == 0
    assert "no channel" in row.last_error


async def test_a_message_queued_without_a_delivery_is_picked_up_once(env, pg_url, executor, db):
    """A case that began before messages were delivered only queued them; the API's pass
    starts their delivery, and running it again never sends twice."""
    with HttpPeer() as sms:
        async with desk(env, pg_url, executor, sms_url=f"{sms.url}/sms") as d:
            now = await skip_to(env, time(10, 0))
            case = await d.open(description="柜门松动")
            request = NotificationRequest(case_no=case["case_no"], key="legacy:plan_to_confirm", template="plan_to_confirm",
                                          recipient="customer", context={"round": 1, "cost": "380.00"},
                                          at=now - timedelta(minutes=5))
            worker_outbox = worker.notification_activities(d.ctx.settings, d.ctx.db)._outbox_at(now)
            with d.ctx.db.session() as session:
                queue(session, worker_outbox, request, now - timedelta(minutes=5))
            assert await notification_service.deliver_stranded(d.ctx) == 1
            await eventually(lambda: status_of(d.ctx, case["case_no"], "plan_to_confirm") == "sent")
            await notification_service.deliver_stranded(d.ctx)
            await asyncio.sleep(1)
    assert [r.headers["idempotency-key"] for r in sms.requests].count("legacy:plan_to_confirm") == 1
