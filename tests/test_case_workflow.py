"""The case workflow on the time-skipping server, with real activities on PostgreSQL.

Every clock: met just in time, warned, breached and escalated; an emergency's short
clock; a working-time deadline across a public holiday; desk actions out of order; a
supervisor's escalation; the whole path to a closed case.
"""

from datetime import timedelta

import pytest
from conftest import (
    DEFAULT_POLICY,
    DEMO_POLICY,
    act,
    eventually,
    finish,
    running_desk,
    sample_intake,
)
from sqlalchemy import select
from temporalio.client import WorkflowUpdateFailedError

from adapters.archive import service_file
from adapters.storage import cases as case_file
from adapters.storage.tables import Case, EscalationRow, Notification
from api import case_service
from domain.case import CaseState, EscalateInput, workflow_id
from domain.models import ClockName, Severity, Stage
from workflows.case import AfterSalesCase


async def open_case(ctx, **intake):
    client = await ctx.temporal.client()
    view, _ = await case_service.open_case(ctx, sample_intake(**intake), None)
    return view.case_no, client.get_workflow_handle_for(AfterSalesCase.run, workflow_id(view.case_no))


async def state(handle) -> CaseState:
    return await handle.query(AfterSalesCase.state)


def outbox(ctx, case_no, template=None):
    with ctx.db.session() as session:
        case = case_file.get_case(session, case_no)
        stmt = select(Notification).where(Notification.case_id == case.id).order_by(Notification.id)
        rows = session.scalars(stmt).all()
    return [(n.template, n.recipient) for n in rows if template is None or n.template == template]


def event_types(ctx, case_no):
    with ctx.db.session() as session:
        case = case_file.get_case(session, case_no)
        return [e.type for e in case_file.events(session, case.id)]


async def search_attributes(handle) -> dict:
    described = await handle.describe()
    return {pair.key.name: pair.value for pair in described.typed_search_attributes}


async def test_response_met_just_in_time_is_not_breached(env, pg_url, executor, db):
    # demo policy, repair/normal: response 6 s, warning at 50 % (3 s)
    async with running_desk(env, pg_url, executor, DEMO_POLICY) as ctx:
        case_no, handle = await open_case(ctx)
        await eventually(lambda: "opened" in event_types(ctx, case_no))
        await env.sleep(5.5)
        await act(handle, "respond")
        await env.sleep(2)
        response = (await state(handle)).clock(ClockName.response)
        assert response.status == "met"
        assert response.warned_at is not None and response.breached_at is None
        assert response.met_at <= response.deadline
        await eventually(lambda: event_types(ctx, case_no)[-1] != "opened")
        assert ("sla_breach", "supervisor") not in outbox(ctx, case_no)[:3]
        with ctx.db.session() as session:
            rows = session.scalars(select(EscalationRow)).all()
        assert all(r.clock != "response" for r in rows)


async def test_warning_goes_to_the_assignee_before_the_deadline(env, pg_url, executor, db):
    async with running_desk(env, pg_url, executor, DEMO_POLICY) as ctx:
        case_no, handle = await open_case(ctx)
        await env.sleep(3.5)
        response = (await state(handle)).clock(ClockName.response)
        assert response.status == "warned"
        assert response.warned_at >= response.warn_at
        await eventually(lambda: ("sla_warning", "assignee") in outbox(ctx, case_no))
        assert ("sla_breach", "supervisor") not in outbox(ctx, case_no)


async def test_a_breach_is_recorded_escalated_and_the_work_goes_on(env, pg_url, executor, db):
    async with running_desk(env, pg_url, executor, DEMO_POLICY) as ctx:
        case_no, handle = await open_case(ctx)
        await env.sleep(6.5)  # response deadline at 6 s; the plan clock (12 s) still runs
        live = await state(handle)
        response = live.clock(ClockName.response)
        assert response.status == "breached" and response.level == 1
        assert live.sla_breached and live.escalated
        assert live.clock(ClockName.plan).status == "warned"
        assert (await search_attributes(handle))["SlaBreached"] is True
        assert (await search_attributes(handle))["Escalated"] is True
        await eventually(lambda: ("sla_breach", "supervisor") in outbox(ctx, case_no))
        with ctx.db.session() as session:
            case = case_file.get_case(session, case_no)
            assert case.sla_breached and case.escalated
            breached = [c for c in case_file.clocks(session, case.id) if c.breached_at is not None]
            assert [c.name for c in breached] == ["response"]

        await env.sleep(3)  # half the limit again past the deadline: level 2, the manager
        assert (await state(handle)).clock(ClockName.response).level == 2
        await eventually(lambda: ("escalation", "manager") in outbox(ctx, case_no))

        late = await act(handle, "respond")
        assert late.clock(ClockName.response).status == "met_late"
        assert late.stage == Stage.diagnosing


async def test_an_emergency_runs_on_the_short_clock(env, pg_url, executor, db):
    async with running_desk(env, pg_url, executor, DEMO_POLICY) as ctx:
        urgent_no, urgent = await open_case(ctx, description="厨房水管爆裂，正在漏水")
        normal_no, normal = await open_case(ctx, phone="13900001111")
        assert (await state(urgent)).severity == Severity.emergency  # detected from the description
        assert (await search_attributes(urgent))["CaseSeverity"] == "emergency"
        await env.sleep(3.5)  # emergency response: 3 s; normal: 6 s
        assert (await state(urgent)).clock(ClockName.response).status == "breached"
        assert (await state(normal)).clock(ClockName.response).status != "breached"


async def test_working_time_deadline_across_a_public_holiday(env, pg_url, executor, db):
    """Skip the server to 17:30 on the last working day before the next public holiday; a
    1-working-hour response clock then lands at 09:30 on the first working day after it."""
    async with running_desk(env, pg_url, executor, DEFAULT_POLICY) as ctx:
        zone = ctx.settings.zone
        now = (await env.get_current_time()).astimezone(zone)
        day = now.date() + timedelta(days=2)
        # the eve of a holiday: a working day followed by a weekday that is not worked
        while not (
            ctx.calendar.is_working_day(day)
            and (day + timedelta(days=1)).weekday() < 5
            and not ctx.calendar.is_working_day(day + timedelta(days=1))
        ):
            day += timedelta(days=1)
        eve = now.replace(year=day.year, month=day.month, day=day.day, hour=17, minute=30, second=0, microsecond=0)
        await env.sleep((eve - now).total_seconds())
        case_no, handle = await open_case(ctx)
        response = (await state(handle)).clock(ClockName.response)
        assert response.basis == "working"
        after = day + timedelta(days=1)
        while not ctx.calendar.is_working_day(after):
            after += timedelta(days=1)
        assert after - day > timedelta(days=1)  # the holiday lies between
        # to the minute (the server's clock has moved a few real milliseconds past 17:30:00)
        landed = response.deadline.astimezone(zone).replace(second=0, microsecond=0)
        assert landed == eve.replace(year=after.year, month=after.month, day=after.day, hour=9, minute=30)
        await env.sleep((response.deadline - await env.get_current_time()).total_seconds() - 1)
        assert (await state(handle)).clock(ClockName.response).breached_at is None
        await env.sleep(2)
        breached = (await state(handle)).clock(ClockName.response)
        assert breached.breached_at is not None
        assert timedelta(0) <= breached.breached_at - response.deadline < timedelta(seconds=2)


async def test_actions_out_of_order_are_refused_with_a_reason(env, pg_url, executor, db):
    async with running_desk(env, pg_url, executor, DEMO_POLICY) as ctx:
        _, handle = await open_case(ctx)
        with pytest.raises(WorkflowUpdateFailedError) as err:
            await act(handle, "propose_plan", cause="x", method="y", labour_hours=1, cost_estimate=0)
        assert "respond first" in str(err.value.cause)
        await act(handle, "respond")
        with pytest.raises(WorkflowUpdateFailedError) as err:
            await act(handle, "respond")
        assert "diagnose first" in str(err.value.cause)
        assert (await state(handle)).stage == Stage.diagnosing


async def test_a_supervisor_escalates_by_signal(env, pg_url, executor, db):
    async with running_desk(env, pg_url, executor, DEMO_POLICY) as ctx:
        case_no, handle = await open_case(ctx, kind="complaint")
        await handle.signal(AfterSalesCase.escalate, EscalateInput(level=3, reason="customer threatens media", by="sup-li"))
        await eventually(lambda: ("escalation", "general_manager") in outbox(ctx, case_no))
        live = await state(handle)
        assert live.escalated and not live.sla_breached
        assert [(e.level, e.source, e.by) for e in live.escalations] == [(3, "supervisor", "sup-li")]
        with ctx.db.session() as session:
            assert session.scalar(select(Case.escalated).where(Case.case_no == case_no)) is True


async def test_a_remote_fix_runs_to_its_archived_end(env, pg_url, executor, db):
    async with running_desk(env, pg_url, executor, DEFAULT_POLICY) as ctx:
        case_no, handle = await open_case(ctx)
        await act(handle, "respond")
        await act(handle, "solve_remotely", guidance="reset the breaker")
        signed = (await env.get_current_time()).isoformat()
        await act(handle, "accept_work", signed_by="customer", signed_at=signed)
        await act(handle, "record_revisit", method="phone", satisfaction="satisfied", attitude=5, professionalism=4, timeliness=5)
        final = await finish(env, handle)  # the reopening window (7 days) skips by
        assert final.stage == Stage.closed and final.first_time_fix is True
        assert {c.name: c.status for c in final.clocks} == {
            "response": "met", "plan": "met", "resolution": "met", "revisit": "met"
        }
        assert not final.sla_breached
        assert event_types(ctx, case_no) == ["opened", "respond", "solve_remotely", "accept_work", "record_revisit"]
        with ctx.db.session() as session:
            case = case_file.get_case(session, case_no)
            assert case.stage == "closed" and case.next_deadline is None
            assert service_file.stored(session, case) is not None
        assert outbox(ctx, case_no) == [("acknowledgement", "customer")]
