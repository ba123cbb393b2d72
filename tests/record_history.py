"""Record case histories for tests/test_replay.py: ``.venv/bin/python tests/record_history.py``.

Runs two cases on the time-skipping server against the test database: one that breaches,
escalates and is then worked to the end, and one escalated by a supervisor. Writes their
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
    from api import case_service
    from domain.case import ActionInput, EscalateInput, workflow_id
    from temporalio.contrib.pydantic import pydantic_data_converter
    from temporalio.testing import WorkflowEnvironment
    from workflows.case import AfterSalesCase

    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter, test_server_existing_path=str(conftest.BIN / "temporal-test-server")
    )
    await conftest.register_search_attributes(env.client)
    with ThreadPoolExecutor(max_workers=16) as executor:
        async with conftest.running_desk(env, url, executor, conftest.DEMO_POLICY) as ctx:
            breached, _ = await case_service.open_case(ctx, conftest.sample_intake(), None)
            escalated, _ = await case_service.open_case(ctx, conftest.sample_intake(kind="complaint", phone="13900001111"), None)
            await env.sleep(10)
            for action in ("respond", "propose_plan", "resolve", "close"):
                await env.client.get_workflow_handle(workflow_id(breached.case_no)).execute_update(action, ActionInput(by="agent-1"))
            handle = env.client.get_workflow_handle(workflow_id(escalated.case_no))
            await handle.signal(AfterSalesCase.escalate, EscalateInput(level=2, reason="customer called again", by="sup-1"))
            await handle.execute_update("respond", ActionInput(by="agent-1"))
            await asyncio.sleep(2)
            for name, case in (("breached-then-closed", breached), ("escalated-by-supervisor", escalated)):
                history = await env.client.get_workflow_handle(workflow_id(case.case_no)).fetch_history()
                (HERE / "histories" / f"{name}.json").write_text(history.to_json(), encoding="utf-8")
    await env.shutdown()


if __name__ == "__main__":
    asyncio.run(main())
