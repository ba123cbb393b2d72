"""Record the field team's histories (``record_history.py field``): a repair whose dispatch
holds the technician's time, is rescheduled (its old window freed) and worked by the
technician on site; and a complaint attributed to that technician whose review suspends
them and tells the supervisor."""

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta


async def record_field(url: str) -> None:
    import conftest
    from record_history import save
    from temporalio.contrib.pydantic import pydantic_data_converter
    from temporalio.testing import WorkflowEnvironment

    from api import case_service
    from domain.case import workflow_id

    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter, test_server_existing_path=str(conftest.BIN / "temporal-test-server")
    )
    await conftest.register_search_attributes(env.client)
    act = conftest.act
    with ThreadPoolExecutor(max_workers=16) as executor:
        async with conftest.running_desk(env, url, executor, conftest.DEFAULT_POLICY) as ctx:
            conftest.register_technician(ctx.db, "tech-1")
            repair, _ = await case_service.open_case(ctx, conftest.sample_intake(), None)
            complaint, _ = await case_service.open_case(ctx, conftest.sample_intake(kind="complaint", phone="13900001111"), None)
            handle = lambda case: env.client.get_workflow_handle(workflow_id(case.case_no))  # noqa: E731
            now = await env.get_current_time()
            at = lambda hours: (now + timedelta(hours=hours)).isoformat()  # noqa: E731
            await act(handle(repair), "respond")
            await act(handle(repair), "book_survey", appointment=at(1), technician="tech-1")
            await act(handle(repair), "record_survey", "technician", "tech-1", cause="seal aged", responsibility="in_warranty")
            await act(handle(repair), "propose_plan", cause="seal aged", method="reseal", labour_hours=1, cost_estimate="0")
            await act(handle(repair), "dispatch", task="reseal", window_start=at(26), window_end=at(28), technician="tech-1")
            await act(handle(repair), "reschedule", window_start=at(50), window_end=at(52), reason="the customer is away")
            await act(handle(repair), "confirm_visit", "technician", "tech-1")
            await act(handle(repair), "start_work", "technician", "tech-1")
            await act(handle(repair), "complete_work", "technician", "tech-1", self_check="no leak")
            await act(handle(complaint), "apologise")
            await act(handle(complaint), "propose_solution", solution="cleaning at our cost", attributed_to="tech-1")
            save("field-dispatch-booked-and-rescheduled", await handle(repair).fetch_history())
            save("field-complaint-suspends-the-technician", await handle(complaint).fetch_history())
    await env.shutdown()
