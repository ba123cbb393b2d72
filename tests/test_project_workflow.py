"""The renovation project on the time-skipping server, with real activities on PostgreSQL:
from the first consultation to the end of a five-year warranty in seconds, and a completion
acceptance with two defects, one rectified late."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import holidays
from conftest import eventually, finish, running_desk
from project_desk import build_everything, later, open_project, state, step, to_construction
from temporalio.client import WorkflowUpdateFailedError

from adapters.storage import projects as project_file
from domain.calendar import WorkingCalendar
from domain.policy import load_policy
from domain.project import ProjectStage

SHANGHAI = timezone(timedelta(hours=8))
FIRST_DAY = {"spring_festival": "Chinese New Year (Spring Festival)", "mid_autumn": "Mid-Autumn Festival",
             "national_day": "National Day"}


def events(ctx, project_id):
    with ctx.db.session() as session:
        p = project_file.get_project(session, project_id)
        return [(e.type, e.at, e.data) for e in project_file.events(session, p.id)]


def holiday_first_days(year: int) -> dict[str, str]:
    found: dict[str, str] = {}
    for day, name in sorted(holidays.China(years=year).items()):
        for key, label in FIRST_DAY.items():
            if label in name.split("; ") and key not in found:
                found[key] = day.isoformat()
    return found


async def test_a_project_from_consultation_to_the_end_of_a_five_year_warranty(env, pg_url, executor, db):
    async with running_desk(env, pg_url, executor) as ctx:
        project_id, handle = await open_project(ctx)
        now = await env.get_current_time()
        await to_construction(handle, now)
        await build_everything(handle)
        await step(handle, "report_progress", summary="all trades done")
        await env.sleep(timedelta(days=8).total_seconds())  # a week without a report: late
        live = await state(handle)
        assert live.late_progress_reports == 1 and live.breached
        await step(handle, "finish_construction", role="technician")
        await step(handle, "accept_completion", role="technician", signed_by="customer", signed_at=now.isoformat())
        handover = (await env.get_current_time()).astimezone(SHANGHAI).date()
        await step(handle, "hand_over", handover_on=handover.isoformat(), documents=["completion report"],
                   care_instructions=True)
        live = await eventually(lambda: _planned(handle))
        # Every stage ran in a run of its own, and the state came through each intact.
        assert live.stage == ProjectStage.warranty
        assert [r.status for r in live.design_rounds] == ["rejected", "confirmed"]
        assert live.late_progress_reports == 1 and live.needs.style == "modern"
        latest = await handle.fetch_history()  # the current run's: it began continued from another
        assert latest.events[0].workflow_execution_started_event_attributes.continued_execution_run_id

        policy = load_policy("policies/default.toml")
        calendar = WorkingCalendar.for_zone(policy.working_time, SHANGHAI, datetime.combine(handover, datetime.min.time(), SHANGHAI), years=3)
        for task in live.warranty.revisits:
            due = task.due_at.astimezone(SHANGHAI).date()
            assert calendar.is_working_day(due), task
            assert task.window_start <= due <= task.window_end, task
        assert [t.kind.value for t in live.warranty.revisits] == ["initial", "mid_term", "late"]

        # The desk records each revisit when it falls due; needs become leads.
        needs = {"initial": [], "mid_term": ["soft_furnishing"], "late": ["partial_renovation", "furniture_upgrade"]}
        for task in live.warranty.revisits:
            await env.sleep((task.due_at - await env.get_current_time()).total_seconds() + 3600)
            assert next(t for t in (await state(handle)).warranty.revisits if t.kind == task.kind).status == "due"
            await step(handle, "record_revisit", revisit=task.kind.value, method="phone", details_confirmed=True,
                       satisfaction="satisfied", look="as_expected", designer=5, project_manager=4, service_desk=5,
                       trades=[{"trade": "plumbing_electrical", "score": 5}], secondary_needs=needs[task.kind.value])

        closed = await asyncio.wait_for(finish(env, handle), timeout=60)
        assert closed.stage == ProjectStage.closed
        assert closed.warranty.ends_at <= closed.closed_at < closed.warranty.ends_at + timedelta(minutes=1)
        assert closed.warranty.until == handover.replace(year=handover.year + 5) - timedelta(days=1)
        assert all(t.status == "done" for t in closed.warranty.revisits)
        assert closed.runs >= 6 + 4  # and a fresh run for each warranty year

        log = await eventually(lambda: events(ctx, project_id)[-1][0] == "warranty_expired" and events(ctx, project_id))
        greetings = [(e[2]["holiday"], e[2]["on"], e[1].astimezone(SHANGHAI)) for e in log if e[0] == "greeting"]
        assert len(greetings) >= 14  # three holidays a year for five years
        for holiday, on, sent in greetings:
            assert holiday_first_days(int(on[:4]))[holiday] == on
            assert sent.date().isoformat() == on and sent.hour == 10
        with ctx.db.session() as session:
            leads, total = project_file.leads(session, None, 1, 10)
        assert total == 3 and {lead.need for lead in leads} == {"soft_furnishing", "partial_renovation", "furniture_upgrade"}


async def _planned(handle):
    live = await state(handle)
    # Planned in the delivery stage's run, then continued as new into the warranty's own.
    return live if live.warranty is not None and live.runs >= 6 else None


async def test_acceptance_waits_for_every_defect_and_a_late_one_is_a_breach(env, pg_url, executor, db):
    async with running_desk(env, pg_url, executor) as ctx:
        project_id, handle = await open_project(ctx)
        now = await env.get_current_time()
        await to_construction(handle, now)
        refused = await _refused(handle, "finish_construction", role="technician")
        assert "trades not finished" in refused
        await build_everything(handle)
        await step(handle, "finish_construction", role="technician")
        now = await env.get_current_time()
        await step(handle, "record_defect", role="technician", description="grout missing", category="tiling_masonry",
                   area="bathroom", owner="pm-05", rectify_by=later(now, days=2))
        await step(handle, "record_defect", role="technician", description="door rubs the frame", category="carpentry",
                   area="bedroom", owner="carp-01", rectify_by=later(now, days=5))
        await step(handle, "close_defect", role="technician", defect=1, note="regrouted")
        assert "defects still open: 2" in await _refused(handle, "accept_completion", role="technician",
                                                          signed_by="customer", signed_at=now.isoformat())
        await env.sleep(timedelta(days=6).total_seconds())  # the second is late
        live = await state(handle)
        assert live.defects[0].rectification.status == "met"
        assert live.defects[1].rectification.status == "breached" and live.breached
        await step(handle, "close_defect", role="technician", defect=2, note="planed and rehung")
        done = await step(handle, "accept_completion", role="technician", signed_by="customer", signed_at=now.isoformat())
        assert done.stage == ProjectStage.delivery
        assert done.defects[1].rectification.status == "met_late"
        log = await eventually(lambda: [e for e in events(ctx, project_id) if e[0] == "accept_completion"] and events(ctx, project_id))
        breaches = [e[2] for e in log if e[0] == "defect_breached"]
        assert breaches == [{"defect": 2, "owner": "carp-01", "due_at": done.defects[1].rectification.due_at.isoformat()}]
        with ctx.db.session() as session:
            assert project_file.get_project(session, project_id).breached


async def _refused(handle, action, **payload) -> str:
    try:
        await step(handle, action, **payload)
    except WorkflowUpdateFailedError as exc:
        return exc.cause.message
    raise AssertionError(f"{action} was not refused")
