"""Record histories for tests/test_replay.py: ``.venv/bin/python tests/record_history.py SET``.

Sets, each run on the time-skipping server against a fresh test database:

- ``cases``: one case that breaches, escalates and is then worked to its close, one escalated
  by a supervisor, and a paid repair whose resolution clock is paused and resumed and whose
  severity is raised (recorded before messages were delivered: they guard that patch).
- ``projects``: one renovation project, a history per workflow run (each stage, each
  warranty year: it continues as new at every boundary), through a late progress report, two
  defects (one rectified late), the handover, revisits, greetings and the warranty's end
  (``tests/record_projects.py``). ``projects-card`` and ``projects-messages`` record the runs
  changed since (the card issued at the handover; the project's messages queued and delivered).
- ``field``: a repair whose dispatch books the technician, is rescheduled and worked on site
  by the technician, and a complaint attributed to them that suspends them
  (``tests/record_field.py``).
- ``deliveries``: an on-site repair worked to its revisit with its messages delivered (the
  case, one message sent by SMS to a provider on loopback, one that ends a dead letter).
- ``hardened``: cases after ``writes-never-hold-the-clocks``: one whose outbox refuses every
  message (it breaches on time and needs attention), one whose revisit opens a linked case
  (``tests/record_hardened.py``).

Record a set again only when a change is meant to break it; keep the others, they are what
running workflows look like. No personal data is in a history: only case numbers, kinds,
severities, clocks and outbox ids cross into Temporal.
"""

import asyncio
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]


async def main(sets: list[str]) -> None:
    import conftest

    from record_field import record_field
    from record_hardened import record_hardened
    from record_projects import record_card_issued, record_messages, record_projects

    recorders = {"cases": record, "deliveries": record_deliveries, "projects": record_projects,
                 "projects-card": record_card_issued, "projects-messages": record_messages, "field": record_field,
                 "hardened": record_hardened}
    unknown = set(sets) - set(recorders)
    if not sets or unknown:
        given = ", ".join(sorted(unknown)) or "none given"
        sys.exit(f"usage: record_history.py {{{','.join(recorders)}}} ... (unknown: {given})")
    for name in sets:
        with conftest.fresh_database() as url:
            await recorders[name](url)


def save(name: str, history) -> None:
    (HERE / "histories" / f"{name}.json").write_text(history.to_json(), encoding="utf-8")


async def record_deliveries(url: str) -> None:
    from datetime import datetime, time, timedelta
    from zoneinfo import ZoneInfo

    import conftest
    from peers import HttpPeer
    from sqlalchemy import select
    from temporalio.contrib.pydantic import pydantic_data_converter
    from temporalio.testing import WorkflowEnvironment

    from adapters.storage.tables import Notification
    from api import case_service
    from domain.case import workflow_id
    from domain.delivery import delivery_workflow_id

    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter, test_server_existing_path=str(conftest.BIN / "temporal-test-server")
    )
    await conftest.register_search_attributes(env.client)
    act = conftest.act
    # 10:00 in Shanghai, so no message is held by quiet hours whenever this runs.
    now = await env.get_current_time()
    shanghai = ZoneInfo("Asia/Shanghai")
    ten = datetime.combine(now.astimezone(shanghai).date() + timedelta(days=1), time(10), shanghai)
    await env.sleep((ten - now).total_seconds())
    with ThreadPoolExecutor(max_workers=16) as executor, HttpPeer() as sms:
        async with conftest.running_desk(env, url, executor, conftest.DEMO_POLICY, sms_url=f"{sms.url}/sms") as ctx:
            case, _ = await case_service.open_case(ctx, conftest.sample_intake(), None)
            handle = env.client.get_workflow_handle(workflow_id(case.case_no))
            later = lambda seconds: (ten + timedelta(seconds=seconds)).isoformat()  # noqa: E731
            await act(handle, "respond")
            await act(handle, "book_survey", appointment=later(60), technician="tech-1")
            await act(handle, "record_survey", role="technician", cause="hose burst", responsibility="in_warranty")
            await act(handle, "propose_plan", cause="hose burst", method="replace the hose", labour_hours=1, cost_estimate="0")
            await act(handle, "dispatch", task="replace the hose", window_start=later(1), window_end=later(60),
                      technician="tech-1")
            await act(handle, "complete_work", role="technician", self_check="no leak")
            await act(handle, "accept_work", signed_by="customer", signed_at=later(0))
            await env.sleep(25)  # the revisit falls due: the customer's revisit message
            await act(handle, "record_revisit", method="phone", satisfaction="satisfied", attitude=5, professionalism=5,
                      timeliness=5)

            def settled():  # the acknowledgement sent, a staff message dead-lettered (no staff channel)
                with ctx.db.session() as session:
                    rows = session.scalars(select(Notification).order_by(Notification.id)).all()
                sent = [r.id for r in rows if r.template == "acknowledgement" and r.status == "sent"]
                dead = [r.id for r in rows if r.recipient != "customer" and r.status == "dead"]
                return sent and dead and (sent[0], dead[0])

            sent, dead = await conftest.eventually(settled, timeout=60)
            save("repair-with-messages", await handle.fetch_history())
            save("message-sent-by-sms", await env.client.get_workflow_handle(delivery_workflow_id(sent)).fetch_history())
            save("message-dead-letter", await env.client.get_workflow_handle(delivery_workflow_id(dead)).fetch_history())
    await env.shutdown()


async def record(url: str) -> None:
    import conftest
    from temporalio.contrib.pydantic import pydantic_data_converter
    from temporalio.testing import WorkflowEnvironment

    from api import case_service
    from domain.case import EscalateInput, workflow_id
    from workflows.case import AfterSalesCase

    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter, test_server_existing_path=str(conftest.BIN / "temporal-test-server")
    )
    await conftest.register_search_attributes(env.client)
    act = conftest.act
    with ThreadPoolExecutor(max_workers=16) as executor:
        async with conftest.running_desk(env, url, executor, conftest.DEMO_POLICY) as ctx:
            breached, _ = await case_service.open_case(ctx, conftest.sample_intake(), None)
            escalated, _ = await case_service.open_case(ctx, conftest.sample_intake(kind="complaint", phone="13900001111"), None)
            paid, _ = await case_service.open_case(ctx, conftest.sample_intake(phone="13900002222"), None)
            handle = lambda case: env.client.get_workflow_handle(workflow_id(case.case_no))  # noqa: E731
            await env.sleep(10)
            now = (await env.get_current_time()).isoformat()
            await act(handle(breached), "respond")
            await act(handle(breached), "solve_remotely", guidance="reset the breaker")
            await act(handle(breached), "accept_work", signed_by="customer", signed_at=now)
            await act(handle(breached), "record_revisit", method="phone", satisfaction="satisfied", attitude=5, professionalism=5, timeliness=5)
            await handle(escalated).signal(AfterSalesCase.escalate, EscalateInput(level=2, reason="customer called again", by="sup-1"))
            await act(handle(escalated), "apologise")
            # a paid repair: survey, a plan, the resolution clock paused and resumed, severity up
            await act(handle(paid), "respond")
            await act(handle(paid), "book_survey", appointment=now, technician="tech-1")
            await act(handle(paid), "record_survey", cause="seal aged", responsibility="out_of_warranty")
            await act(handle(paid), "propose_plan", cause="seal aged", method="reseal", labour_hours=2, cost_estimate="380")
            await act(handle(paid), "pause_clock", role="supervisor", clock="resolution", reason="customer")
            await env.sleep(3)
            await act(handle(paid), "resume_clock", role="supervisor", clock="resolution")
            await act(handle(paid), "change_severity", role="supervisor", severity="emergency", reason="leak got worse")
            await act(handle(paid), "confirm_plan", how="sms", confirmed_at=now, through="agent-1")
            await asyncio.sleep(2)
            for name, case in (("remote-fix-after-breach", breached), ("escalated-by-supervisor", escalated), ("paid-plan-paused-and-upgraded", paid)):
                save(name, await env.client.get_workflow_handle(workflow_id(case.case_no)).fetch_history())
    await env.shutdown()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
