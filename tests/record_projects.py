"""The ``projects`` set of ``record_history.py``: one project's whole life, one history per run.

``ProjectLifecycle`` continues as new at every stage boundary and every warranty year, so a
running project in production is one of these runs: each is saved as
``histories/project-<n>-<stage>.json`` and replayed by ``test_replay.py``. Those were
recorded before the warranty card was issued at the handover; ``projects-card`` records the
delivery run after that change; ``projects-messages`` the runs that send messages.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta


async def record_projects(url: str, prefix: str = "project", stages: set[str] | None = None) -> None:
    import conftest
    from project_desk import build_everything, later, open_project, state, step, to_construction
    from record_history import save
    from temporalio.contrib.pydantic import pydantic_data_converter
    from temporalio.testing import WorkflowEnvironment

    from domain.project import workflow_id

    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter, test_server_existing_path=str(conftest.BIN / "temporal-test-server")
    )
    await conftest.register_search_attributes(env.client)
    with ThreadPoolExecutor(max_workers=16) as executor:
        async with conftest.running_desk(env, url, executor) as ctx:
            project_id, handle = await open_project(ctx)
            now = await env.get_current_time()
            await step(handle, "add_note", note="first consultation in the store")
            await to_construction(handle, now)
            await build_everything(handle)
            await env.sleep(timedelta(days=8).total_seconds())  # the weekly report is late
            await step(handle, "report_progress", summary="all trades done")
            await step(handle, "finish_construction", role="technician")
            now = await env.get_current_time()
            await step(handle, "record_defect", role="technician", description="grout missing", category="tiling_masonry",
                       area="bathroom", owner="pm-05", rectify_by=later(now, days=2))
            await step(handle, "record_defect", role="technician", description="door rubs", category="carpentry",
                       owner="carp-01", rectify_by=later(now, days=3))
            await step(handle, "close_defect", role="technician", defect=1)
            await env.sleep(timedelta(days=4).total_seconds())  # the second is late
            await step(handle, "close_defect", role="technician", defect=2)
            await step(handle, "accept_completion", role="technician", signed_by="customer", signed_at=now.isoformat())
            handover = (await env.get_current_time()).date()
            await step(handle, "hand_over", handover_on=handover.isoformat(), documents=["completion report"],
                       care_instructions=True)
            # The handover answers once its warranty is planned (read-your-writes).
            initial = (await state(handle)).warranty.revisits[0]
            await env.sleep((initial.due_at - await env.get_current_time()).total_seconds() + 3600)
            await step(handle, "record_revisit", revisit="initial", method="phone", details_confirmed=True,
                       satisfaction="satisfied", look="as_expected", designer=5, project_manager=4, service_desk=5,
                       secondary_needs=["soft_furnishing"])
            async with env.time_skipping_unlocked():
                await asyncio.wait_for(handle.result(), timeout=120)
            # Walk the chain of runs back from the last one: each began continued from another.
            runs, run_id = [], (await handle.describe()).run_id
            while run_id:
                history = await env.client.get_workflow_handle(workflow_id(project_id), run_id=run_id).fetch_history()
                runs.insert(0, history)
                run_id = history.events[0].workflow_execution_started_event_attributes.continued_execution_run_id
            for n, history in enumerate(runs, start=1):
                if stages is None or _stage(history) in stages:
                    save(f"{prefix}-{n}-{_stage(history)}", history)
    await env.shutdown()


async def record_card_issued(url: str) -> None:
    """The delivery run once the warranty card is issued at the handover (the patch
    ``issue-warranty-card-at-handover``); the ``projects`` set holds the runs from before it."""
    await record_projects(url, prefix="project-card", stages={"delivery"})


async def record_messages(url: str) -> None:
    """The runs that send messages once projects send them (the patch ``project-messages``):
    construction (the progress report), acceptance (a defect and its breach), delivery (the
    terms' end dates by the month-end rule, ``warranty-end-month-end-rule``) and every
    warranty year (revisits, greetings); the sets above hold the runs from before them."""
    stages = {"construction", "acceptance", "delivery", "warranty"}
    await record_projects(url, prefix="project-messages", stages=stages)


def _stage(history) -> str:
    """The stage the run began in, from its input (a first run begins in consultation)."""
    import json

    started = history.events[0].workflow_execution_started_event_attributes
    payload = started.input.payloads[0]
    start = json.loads(payload.data)
    resume = start.get("resume")
    return resume["state"]["stage"] if resume else "consultation"
