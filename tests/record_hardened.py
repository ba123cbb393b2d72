"""Record the histories of hardened cases (``record_history.py hardened``): workflows started
after ``writes-never-hold-the-clocks``. One whose outbox refuses every message for good (its
clocks breach on time beside the failing writes; it needs attention), and one whose revisit
hears a problem and opens the linked case as a child workflow."""

from concurrent.futures import ThreadPoolExecutor


async def record_hardened(url: str) -> None:
    import conftest
    from record_history import save
    from temporalio.contrib.pydantic import pydantic_data_converter
    from temporalio.testing import WorkflowEnvironment
    from test_case_faults import refused_inserts

    from api import case_service
    from domain.case import workflow_id

    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter, test_server_existing_path=str(conftest.BIN / "temporal-test-server")
    )
    await conftest.register_search_attributes(env.client)
    act = conftest.act
    with ThreadPoolExecutor(max_workers=16) as executor:
        async with conftest.running_desk(env, url, executor, conftest.DEMO_POLICY) as ctx:
            handle = lambda case: env.client.get_workflow_handle(workflow_id(case.case_no))  # noqa: E731
            with refused_inserts(ctx.db, "notifications"):
                leak, _ = await case_service.open_case(ctx, conftest.sample_intake(description="卫生间漏水"), None)
                await env.sleep(30)  # every clock of the emergency breaches; no message can be queued
                await conftest.eventually(lambda: _needs_attention(handle(leak)), timeout=30)
            lock, _ = await case_service.open_case(ctx, conftest.sample_intake(description="智能锁没反应",
                                                                                phone="13900001111"), None)
            now = (await env.get_current_time()).isoformat()
            await act(handle(lock), "respond")
            await act(handle(lock), "solve_remotely", guidance="replace the batteries")
            await act(handle(lock), "accept_work", signed_by="customer", signed_at=now)
            await act(handle(lock), "record_revisit", method="phone", satisfaction="satisfied", attitude=5,
                      professionalism=5, timeliness=5, problem_found=True, problem="门把手松动")
            await act(handle(leak), "cancel", "supervisor", reason="recorded for the replay test")
            save("hardened-outbox-refused-needs-attention", await handle(leak).fetch_history())
            save("hardened-revisit-problem-opens-linked-case", await handle(lock).fetch_history())
    await env.shutdown()


async def _needs_attention(handle) -> bool:
    from workflows.case import AfterSalesCase

    return bool((await handle.query(AfterSalesCase.state)).attention)
