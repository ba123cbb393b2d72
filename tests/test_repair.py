"""The repair pass (api/repair.py): what the API recorded but could not start is started,
each item on its own, by one replica at a time; a late replay never restarts a closed case
(review findings R3, R4, R8)."""

from __future__ import annotations

from conftest import DEMO_POLICY, eventually, running_desk, sample_intake
from sqlalchemy import update
from temporalio.service import RPCError, RPCStatusCode

from adapters.storage import cases as case_file
from adapters.storage import projects as project_file
from adapters.storage.locks import exclusive
from adapters.storage.tables import Case
from api import case_service, repair
from api.project_schemas import ProjectIntake
from domain.case import workflow_id
from domain.models import Severity
from domain.project import workflow_id as project_workflow_id
from workflows.case import AfterSalesCase

GRACE = repair.GRACE.total_seconds() + 1


def recorded_case(ctx, now, **intake) -> str:
    """A case the API wrote and then died before starting its workflow."""
    with ctx.db.session() as session:
        return case_file.open_case(session, intake=sample_intake(**intake), severity=Severity.normal, received_at=now,
                                   now=now, prefix="AS", zone=ctx.settings.zone).case_no


def last_seq(ctx, case_no) -> int:
    with ctx.db.session() as session:
        return case_file.get_case(session, case_no).last_seq


async def test_R3_one_bad_case_does_not_stop_the_repair_pass(env, pg_url, executor, db):
    async with running_desk(env, pg_url, executor, DEMO_POLICY) as ctx:
        client = await ctx.temporal.client()
        now = await env.get_current_time()
        taken = recorded_case(ctx, now)
        # Its number belongs to an earlier workflow that ended without recording it (a case
        # file restored without Temporal's store).
        start = case_service._case_start(ctx, case_file_row(ctx, taken))
        earlier = await client.start_workflow(AfterSalesCase.run, start, id=workflow_id(taken), task_queue="nobody")
        await earlier.terminate("test")
        orphan = recorded_case(ctx, now, phone="13900001111")
        await env.sleep(GRACE)
        report = await repair.repair_once(ctx)
        assert taken in report.failed and "earlier finished workflow" in report.failed[taken]
        assert orphan in report.started
        await eventually(lambda: last_seq(ctx, orphan) >= 1, timeout=30)


def case_file_row(ctx, case_no):
    with ctx.db.session() as session:
        return case_file.get_case(session, case_no)


async def test_R4_a_project_recorded_while_temporal_was_away_is_started(env, pg_url, executor, db):
    async with running_desk(env, pg_url, executor, DEMO_POLICY) as ctx:
        client = await ctx.temporal.client()
        intake = ProjectIntake(customer_name="李先生", phone="13912345678", address="上海市徐汇区漕溪北路200号",
                               package="full", channel="store")
        now = await env.get_current_time()
        with ctx.db.session() as session:  # written, then Temporal was not there
            pid = project_file.open_project(session, name=intake.customer_name, phone=intake.phone,
                                            address=intake.address, house_type=None, package=intake.package,
                                            channel=intake.channel.value, now=now).project_id
        assert await repair.repair_once(ctx) is not None  # too young: its request may still be starting it
        with ctx.db.session() as session:
            assert project_file.get_project(session, pid).last_seq == 0
        await env.sleep(GRACE)
        report = await repair.repair_once(ctx)
        assert report.started == [pid] and not report.failed

        def started():
            with ctx.db.session() as session:
                return project_file.get_project(session, pid).last_seq >= 1

        await eventually(started, timeout=30)
        assert (await client.get_workflow_handle(project_workflow_id(pid)).describe()).status is not None


async def test_the_repair_pass_runs_on_one_replica_at_a_time(env, pg_url, executor, db):
    async with running_desk(env, pg_url, executor, DEMO_POLICY) as ctx:
        with exclusive(ctx.db, "repair-pass") as held:  # another replica's pass
            assert held
            assert await repair.repair_once(ctx) is None
        assert await repair.repair_once(ctx) is not None


async def test_R8_a_late_replay_never_restarts_a_closed_case(env, pg_url, executor, db):
    """A closed case whose workflow the namespace's retention removed: a replay of its intake
    answers from the case file and starts nothing."""
    async with running_desk(env, pg_url, executor, DEMO_POLICY) as ctx:
        client = await ctx.temporal.client()
        intake = sample_intake(kind="consultation", description="保修期多久")
        now = await env.get_current_time()
        with ctx.db.session() as session:  # recorded by its workflow long ago, then closed
            case = case_file.open_case(session, intake=intake, severity=Severity.normal, received_at=now, now=now, prefix="AS",
                                       zone=ctx.settings.zone, idempotency_key="replay-1",
                                       fingerprint=case_service._fingerprint(intake))
            session.execute(update(Case).where(Case.id == case.id).values(last_seq=3, stage="closed"))
        view, replayed = await case_service.open_case(ctx, intake, "replay-1")
        assert replayed and view.case_no == case.case_no and view.live is False
        try:
            await client.get_workflow_handle(workflow_id(case.case_no)).describe()
            raise AssertionError("a replay started the closed case's workflow again")
        except RPCError as exc:
            assert exc.status == RPCStatusCode.NOT_FOUND


PROJECT = {"customer_name": "李先生", "phone": "13912345678", "address": "上海市徐汇区漕溪北路200号3号楼801",
           "package": "full", "channel": "store"}


async def test_R4_a_project_opened_while_temporal_is_away_is_accepted_and_a_replay_of_an_ended_one_is_200(
        env, pg_url, executor, db):
    from api.deps import TemporalGateway
    from desk import ROLE_TOKENS, desk

    async with desk(env, pg_url, executor) as d:
        working = d.ctx.temporal
        d.ctx.temporal = TemporalGateway(d.ctx.settings.model_copy(update={"temporal_address": "127.0.0.1:1"}))
        away = await d.http.post("/projects", json=PROJECT, headers=ROLE_TOKENS["agent"])
        assert away.status_code == 202 and away.json()["pending"] is True, away.text
        d.ctx.temporal = working
        key = {**ROLE_TOKENS["agent"], "Idempotency-Key": "pj-cancel-replay-1"}
        pid = (await d.http.post("/projects", json=PROJECT, headers=key)).json()["project_id"]
        cancelled = await d.http.post(f"/projects/{pid}/cancel", json={"reason": "test"}, headers=ROLE_TOKENS["supervisor"])
        assert cancelled.status_code == 200, cancelled.text
        await d.env.client.get_workflow_handle(project_workflow_id(pid)).result()  # its workflow has ended
        again = await d.http.post("/projects", json=PROJECT, headers=key)
        assert again.status_code == 200 and again.json()["project_id"] == pid, again.text
        assert again.json()["stage"] == "cancelled"
