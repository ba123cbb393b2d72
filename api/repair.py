"""The repair pass: what the API recorded but could not hand to Temporal, handed over now.

A case or project is written to its file before its workflow starts; if Temporal was away
(or the API died in between) the row waits with ``last_seq = 0`` and this pass starts its
workflow. Messages queued before deliveries existed get theirs. Each item is repaired on its
own: one that fails (its number taken by a finished workflow, a broken row) is reported and
the pass goes on to the next. With several API replicas, one holds the pass's database lock
and the others skip the round.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from starlette.concurrency import run_in_threadpool

from adapters.storage import cases as case_file
from adapters.storage import projects as project_file
from adapters.storage.locks import exclusive
from api import case_service, notification_service, project_service
from api.deps import AppContext

log = logging.getLogger("aftersales.repair")
EVERY_SECONDS = 30
# A row this young may still be being started by the request that wrote it.
GRACE = timedelta(seconds=15)


@dataclass
class RepairReport:
    at: datetime
    started: list[str] = field(default_factory=list)
    messages: int = 0
    # what could not be repaired this round, by case number, project id or "messages": why
    failed: dict[str, str] = field(default_factory=dict)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, case_service.NumberTaken):
        return str(exc)
    # An RPC's or an HTTP error's own text; any other exception by its class alone (a database
    # error's text would carry the row's values).
    detail = getattr(exc, "detail", None) or getattr(exc, "message", None)
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__


async def repair_once(ctx: AppContext) -> RepairReport | None:
    """One pass; None when another replica holds it."""
    with exclusive(ctx.db, "repair-pass") as held:
        if not held:
            return None
        return await _repair(ctx)


async def _repair(ctx: AppContext) -> RepairReport:
    now = await ctx.clock()
    report = RepairReport(at=now)

    def read():
        with ctx.db.session() as session:
            return case_file.unstarted(session, now - GRACE), project_file.unstarted(session, now - GRACE)

    cases, projects = await run_in_threadpool(read)
    if cases or projects:
        client = await ctx.temporal.client()
    for case in cases:
        try:
            await case_service.start_workflow(ctx, client, case)
            report.started.append(case.case_no)
        except Exception as exc:  # noqa: BLE001 - reported, and the next case is repaired regardless
            report.failed[case.case_no] = _reason(exc)
    for p in projects:
        try:
            await project_service.start_workflow(ctx, p)
            report.started.append(p.project_id)
        except Exception as exc:  # noqa: BLE001
            report.failed[p.project_id] = _reason(exc)
    try:
        report.messages = await notification_service.deliver_stranded(ctx)
    except Exception as exc:  # noqa: BLE001
        report.failed["messages"] = _reason(exc)
    if report.started:
        log.info("repair pass: started %s", ", ".join(report.started))
    for item, reason in report.failed.items():
        log.warning("repair pass: %s could not be repaired: %s", item, reason)
    return report
