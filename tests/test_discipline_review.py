"""The daily review of complaint rates on the time-skipping server with a real worker: a
rate that went over the limit without a new complaint (the jobs that kept it low left the
window) suspends the technician and tells the supervisor, once however often it runs."""

import asyncio
from datetime import timedelta

from conftest import DEFAULT_POLICY, register_technician, running_desk
from sqlalchemy import select
from test_discipline import open_one, order, record, state

from adapters.storage import field_team
from adapters.storage import technicians as registry
from adapters.storage.field_tables import TechnicianStatusChange
from adapters.storage.tables import Notification
from domain.discipline import DisciplinePolicy, TeamReview, over_complaint_limit
from domain.models import CaseKind, Stage
from domain.records import ComplaintRound
from workflows.discipline import DisciplineReview


async def test_the_daily_review_suspends_a_rate_that_rose_without_a_new_complaint(env, pg_url, executor, db):
    async with running_desk(env, pg_url, executor, DEFAULT_POLICY) as ctx:
        now = await env.get_current_time()
        register_technician(ctx.db, "tech-017")
        register_technician(ctx.db, "tech-020", name="李师傅", phone="13700002222")
        # tech-017: one complaint 10 days ago, 40 jobs, all but one done 95 days ago: when the
        # complaint came they kept the rate at 1/40 = 2.5%; today only one is in the window,
        # 1/1. tech-020: 40 recent jobs, no complaint.
        jobs = open_one(db, now=now - timedelta(days=120), phone="13900000001")
        old = [order(n, completed_at=now - timedelta(days=95, hours=n)) for n in range(1, 40)]
        fresh = [order(40, completed_at=now - timedelta(days=20))]
        recent = [order(41 + n, "tech-020", completed_at=now - timedelta(days=5, hours=n)) for n in range(40)]
        record(db, jobs, 1, state(jobs, stage=Stage.awaiting_revisit, orders=old + fresh + recent))
        complaint = open_one(db, now=now - timedelta(days=11), kind="complaint", phone="13900000002")
        rnd = ComplaintRound(round=1, solution="s", attributed_to="tech-017", solution_at=now - timedelta(days=10))
        record(db, complaint, 1, state(complaint, CaseKind.complaint, Stage.solution_given, rounds=[rnd]))

        async def review(run: int) -> int:
            return await asyncio.wait_for(env.client.execute_workflow(
                DisciplineReview.run, TeamReview(fired_at=now), id=f"discipline-review-test-{run}",
                task_queue=ctx.settings.temporal_task_queue), timeout=60)

        assert await review(1) == 1
        assert await review(2) == 1  # the same day again: the same suspension, found, its message not repeated
        with ctx.db.session() as session:
            assert registry.get(session, "tech-017").status == "suspended"
            assert registry.get(session, "tech-020").status == "active"
            [change] = session.scalars(select(TechnicianStatusChange).where(TechnicianStatusChange.by == "system")).all()
            messages = session.scalars(select(Notification).where(Notification.template == "technician_suspended_on_review")).all()
        assert change.reason.startswith("complaint rate 1/1 = 100.0% over 90 days") and change.source.endswith(":tech-017")
        assert [(m.recipient, m.case_id) for m in messages] == [("supervisor", None)]
        assert "tech-017" in messages[0].subject
        # The review at the complaint let them be (1/40): the rate rose with time alone.
        with ctx.db.session() as session:
            then = field_team.complaint_counts(session, "tech-017", now - timedelta(days=100), now - timedelta(days=10))
        assert then == (1, 40) and over_complaint_limit(*then, DisciplinePolicy()) is None
