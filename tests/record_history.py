"""Record case histories for tests/test_replay.py: ``.venv/bin/python tests/record_history.py``.

Runs three cases on the time-skipping server against the test database: one that breaches,
escalates and is then worked to its close, one escalated by a supervisor, and a paid repair
whose resolution clock is paused and resumed and whose severity is raised. Writes their
histories to tests/histories/. No personal data is in a history: only case numbers, kinds,
severities and clocks cross into Temporal.
"""

import asyncio
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]


async def main() -> None:
    import conftest

    with conftest.fresh_database() as url:
        await record(url)


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
                history = await env.client.get_workflow_handle(workflow_id(case.case_no)).fetch_history()
                (HERE / "histories" / f"{name}.json").write_text(history.to_json(), encoding="utf-8")
    await env.shutdown()


if __name__ == "__main__":
    asyncio.run(main())
