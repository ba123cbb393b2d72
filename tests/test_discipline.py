"""The field team's discipline rules (domain.discipline) and their records on PostgreSQL: the
complaint rate over its window, cards, and the quality-check draw."""

from datetime import UTC, datetime, timedelta

from conftest import register_technician
from sqlalchemy import func, select
from test_storage import open_one

from adapters.storage import cases as case_file
from adapters.storage import field_team
from adapters.storage import technicians as registry
from adapters.storage.field_team import Sampling
from adapters.storage.field_tables import (
    BookingSlot,
    ComplaintAttribution,
    QualityCheck,
    TechnicianStatusChange,
    WorkOrderRow,
)
from domain.case import CaseEvent, CaseState
from domain.discipline import (
    ComplaintReview,
    DisciplinePolicy,
    drawn_for_quality_check,
    over_complaint_limit,
    status_after_cards,
)
from domain.kpi import attributed_complaint, completed_jobs
from domain.models import CaseKind, Channel, Severity, Stage
from domain.records import ComplaintRound, WorkOrder

POLICY = DisciplinePolicy()
NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def test_the_complaint_rate_must_exceed_three_percent():
    assert over_complaint_limit(3, 100, POLICY) is None  # exactly 3%: not above it
    assert over_complaint_limit(1, 34, POLICY) is None  # 2.94%
    reason = over_complaint_limit(1, 33, POLICY)  # 3.03%
    assert reason == "complaint rate 1/33 = 3.0% over 90 days exceeds 3.0%: suspended until retrained"
    assert over_complaint_limit(4, 100, POLICY).startswith("complaint rate 4/100 = 4.0%")
    assert over_complaint_limit(2, 0, POLICY) is None  # no jobs in the window: no rate
    assert over_complaint_limit(4, 100, DisciplinePolicy(complaint_rate_limit=0.05)) is None


def test_cards_three_yellow_suspend_one_red_removes():
    assert status_after_cards(2, 0, POLICY) is None
    assert status_after_cards(3, 0, POLICY) == ("suspended", "3 yellow cards: suspended for retraining")
    assert status_after_cards(0, 1, POLICY) == ("removed", "1 red card: removed")
    assert status_after_cards(5, 1, POLICY)[0] == "removed"  # red outweighs yellow
    assert status_after_cards(4, 0, DisciplinePolicy(yellow_cards_to_suspend=5)) is None


def test_about_a_tenth_of_a_thousand_orders_is_drawn_and_the_draw_never_changes():
    orders = [f"AS2026{m:02d}{d:02d}-{n:04d}/1" for m in (10, 11) for d in range(1, 26) for n in range(1, 21)][:1000]
    drawn = {o for o in orders if drawn_for_quality_check(o, "a-fixed-seed", 0.10)}
    assert 85 <= len(drawn) <= 115  # 10% ± 1.5 standard deviations of a binomial(1000, 0.1)
    assert drawn == {o for o in orders if drawn_for_quality_check(o, "a-fixed-seed", 0.10)}
    other = {o for o in orders if drawn_for_quality_check(o, "another-seed", 0.10)}
    assert other != drawn  # without the seed nobody can tell which are checked
    assert not any(drawn_for_quality_check(o, "s", 0.0) for o in orders)
    assert all(drawn_for_quality_check(o, "s", 1.0) for o in orders)


# -- on PostgreSQL -----------------------------------------------------------------------------


def state(case_no: str, kind=CaseKind.repair, stage=Stage.dispatched, orders=(), rounds=()) -> CaseState:
    return CaseState(case_no=case_no, kind=kind, severity=Severity.normal, channel=Channel.hotline, received_at=NOW,
                     policy="default", clocks=[], stage=stage, work_orders=list(orders), complaint_rounds=list(rounds))


def order(number=1, technician="tech-017", completed_at=None, start=NOW + timedelta(days=1)) -> WorkOrder:
    return WorkOrder(number=number, task="reseal", technician=technician, window_start=start,
                     window_end=start + timedelta(hours=2), dispatched_at=NOW, completed_at=completed_at)


def record(db, case_no: str, seq: int, case_state: CaseState, sampling=Sampling(1.0, "seed-for-tests")) -> bool:
    event = CaseEvent(case_no=case_no, seq=seq, type="test", at=NOW + timedelta(minutes=seq), actor="t", state=case_state)
    with db.session() as session:
        return case_file.record_event(session, event, lambda s, c, e: field_team.project(s, c, e, sampling))


def test_a_completed_work_order_is_drawn_once_however_often_it_is_recorded(db):
    case_no = open_one(db)
    record(db, case_no, 1, state(case_no, orders=[order()]))
    done = state(case_no, stage=Stage.awaiting_acceptance, orders=[order(completed_at=NOW + timedelta(hours=3))])
    record(db, case_no, 2, done)
    assert not record(db, case_no, 2, done)  # a retried activity
    record(db, case_no, 3, done.model_copy(update={"stage": Stage.awaiting_revisit}))  # later events
    with db.session() as session:
        checks = session.scalars(select(QualityCheck)).all()
        row = session.scalars(select(WorkOrderRow)).one()
    assert [(c.work_order, c.technician_id, c.status) for c in checks] == [(f"{case_no}/1", "tech-017", "pending")]
    assert row.work_order == f"{case_no}/1" and row.completed_at == NOW + timedelta(hours=3)


def test_nothing_is_drawn_at_a_zero_rate_and_a_cancelled_case_frees_its_future_slots(db):
    register_technician(db)
    case_no = open_one(db)
    start = NOW + timedelta(days=1)
    with db.session() as session:
        registry.book(session, "tech-017", f"{case_no}/1", start, start + timedelta(hours=2), 30, NOW)
    record(db, case_no, 1, state(case_no, orders=[order(start=start)]), Sampling(0.0, "seed-for-tests"))
    record(db, case_no, 2, state(case_no, stage=Stage.cancelled, orders=[order(start=start)]))
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(BookingSlot)) == 0
        assert session.scalars(select(WorkOrderRow.cancelled)).one() is True
        assert session.scalar(select(func.count()).select_from(QualityCheck)) == 0


def seed_history(db, technician: str, completed: int, complaints: list[datetime]) -> None:
    """``completed`` work orders finished within the last 30 days, and complaint cases
    attributed to the technician at the given times."""
    jobs_case = open_one(db, phone="13900000001")
    orders = [order(n, technician, completed_at=NOW - timedelta(days=30) + timedelta(hours=n)) for n in range(1, completed + 1)]
    record(db, jobs_case, 1, state(jobs_case, stage=Stage.awaiting_revisit, orders=orders), Sampling(0.0, "seed-for-tests"))
    for i, at in enumerate(complaints):
        complaint = open_one(db, kind="complaint", phone=f"1390000{i + 100:04d}")
        rnd = ComplaintRound(round=1, solution="apology and a new door", attributed_to=technician, solution_at=at)
        record(db, complaint, 1, state(complaint, CaseKind.complaint, Stage.solution_given, rounds=[rnd]))


def test_a_complaint_that_takes_the_rate_over_three_percent_suspends_once(db):
    register_technician(db)
    # 40 jobs in the window; one complaint 100 days ago (outside it) and one recent.
    seed_history(db, "tech-017", 40, [NOW - timedelta(days=100), NOW - timedelta(days=2)])
    review = ComplaintReview(technician="tech-017", case_no="AS20261123-0099", seq=4, at=NOW)
    with db.session() as session:
        first = field_team.review(session, review, POLICY)
    assert (first.complaints, first.completed_jobs, first.suspended) == (1, 40, False)  # 2.5%
    seed_history(db, "tech-017", 0, [NOW - timedelta(days=1)])
    with db.session() as session:
        second = field_team.review(session, review, POLICY)
    assert (second.complaints, second.completed_jobs, second.suspended) == (2, 40, True)  # 5%
    assert second.reason.startswith("complaint rate 2/40 = 5.0% over 90 days")
    with db.session() as session:
        again = field_team.review(session, review, POLICY)  # a retried activity
        changes = session.scalars(select(TechnicianStatusChange).where(TechnicianStatusChange.by == "system")).all()
        tech = registry.get(session, "tech-017")
    assert again.suspended and again.reason == second.reason
    assert [(c.status, c.source) for c in changes] == [("suspended", "complaint:AS20261123-0099#4")]
    assert tech.status == "suspended"
    with db.session() as session:  # the complaint's next round: already suspended, nothing new
        later = field_team.review(session, review.model_copy(update={"seq": 9}), POLICY)
    assert not later.suspended and later.reason == second.reason


def test_work_done_early_frees_the_rest_of_its_window(db):
    register_technician(db)
    case_no = open_one(db)
    start = NOW + timedelta(days=1)  # a two-hour window: four 30-minute slots
    with db.session() as session:
        registry.book(session, "tech-017", f"{case_no}/1", start, start + timedelta(hours=2), 30, NOW)
    done = start + timedelta(minutes=40)
    record(db, case_no, 1, state(case_no, stage=Stage.awaiting_acceptance, orders=[order(start=start, completed_at=done)]))
    with db.session() as session:
        held = session.scalars(select(BookingSlot.slot_start).order_by(BookingSlot.slot_start)).all()
    assert held == [start, start + timedelta(minutes=30)]  # the slot in progress still counts for the day


def test_the_suspension_counts_what_the_kpis_count(db):
    """The complaint rate that suspends and the one the KPI report shows are one definition
    (domain.kpi's attributed_complaint and completed_jobs), whatever the states hold."""
    jobs_case, cancelled_case, complaint, withdrawn = (open_one(db, phone=f"1390000{i:04d}") for i in range(4))
    done = NOW - timedelta(days=3)
    states = [
        state(jobs_case, stage=Stage.awaiting_revisit, orders=[order(1, completed_at=done), order(2, completed_at=done)]),
        state(cancelled_case, stage=Stage.cancelled, orders=[order(1, completed_at=done)]),  # no job of anyone's
        state(complaint, CaseKind.complaint, Stage.solution_given,
              rounds=[ComplaintRound(round=1, solution="s", attributed_to="tech-017", solution_at=done)]),
        state(withdrawn, CaseKind.complaint, Stage.cancelled,
              rounds=[ComplaintRound(round=1, solution="s", attributed_to="tech-017", solution_at=done)]),
    ]
    for case_no, case_state in zip((jobs_case, cancelled_case, complaint, withdrawn), states, strict=True):
        record(db, case_no, 1, case_state, Sampling(0.0, "seed-for-tests"))
    expected_complaints = sum(1 for s in states if attributed_complaint(s))
    expected_jobs = sum(1 for s in states for _ in completed_jobs(s))
    with db.session() as session:
        counted = field_team.complaint_counts(session, "tech-017", NOW - timedelta(days=90), NOW)
    assert counted == (expected_complaints, expected_jobs) == (1, 2)


def test_a_later_round_naming_nobody_withdraws_the_attribution(db):
    complaint = open_one(db, kind="complaint")
    rnd = ComplaintRound(round=1, solution="s", attributed_to="tech-017", solution_at=NOW)
    record(db, complaint, 1, state(complaint, CaseKind.complaint, Stage.solution_given, rounds=[rnd]))
    with db.session() as session:
        assert session.scalars(select(ComplaintAttribution.technician_id)).all() == ["tech-017"]
    second = ComplaintRound(round=2, solution="the supplier's fault after all", solution_at=NOW + timedelta(days=1))
    record(db, complaint, 2, state(complaint, CaseKind.complaint, Stage.solution_given, rounds=[rnd, second]))
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(ComplaintAttribution)) == 0


def test_two_cards_given_at_once_both_count(db):
    """The third yellow card suspends even when the second and third are given at the same
    moment (two supervisors, or a failed check and a supervisor): the row lock orders them."""
    import threading

    register_technician(db)
    with db.session() as session:
        field_team.give_card(session, registry.get(session, "tech-017", for_update=True), color="yellow", reason="1",
                             work_order=None, by="sup-1", now=NOW, policy=POLICY)
    first_in, second_waiting = threading.Event(), threading.Event()

    def first():
        with db.session() as session:
            field_team.give_card(session, registry.get(session, "tech-017", for_update=True), color="yellow",
                                 reason="2", work_order=None, by="sup-1", now=NOW, policy=POLICY)
            first_in.set()
            second_waiting.wait(10)
            threading.Event().wait(0.3)  # the second is at its lock (or, without one, past it)

    def second():
        first_in.wait(10)
        second_waiting.set()
        with db.session() as session:
            field_team.give_card(session, registry.get(session, "tech-017", for_update=True), color="yellow",
                                 reason="3", work_order=None, by="sup-2", now=NOW, policy=POLICY)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    with db.session() as session:
        assert registry.get(session, "tech-017").status == "suspended"


def test_after_a_reinstatement_complaints_count_afresh(db):
    register_technician(db)
    seed_history(db, "tech-017", 40, [NOW - timedelta(days=40), NOW - timedelta(days=35)])  # 2/40 = 5%
    review = ComplaintReview(technician="tech-017", case_no="AS20261123-0098", seq=3, at=NOW)
    with db.session() as session:
        assert field_team.review(session, review, POLICY).suspended
        registry.set_status(session, registry.get(session, "tech-017"), "active", "retrained", "mgr-1",
                            NOW + timedelta(days=1))
    later_jobs = open_one(db, phone="13900009999")
    orders = [order(n, completed_at=NOW + timedelta(days=2, hours=n)) for n in range(1, 41)]
    record(db, later_jobs, 1, state(later_jobs, stage=Stage.awaiting_revisit, orders=orders), Sampling(0.0, "seed-for-tests"))
    seed_history(db, "tech-017", 0, [NOW + timedelta(days=5)])
    with db.session() as session:
        verdict = field_team.review(session, review.model_copy(update={"at": NOW + timedelta(days=6), "seq": 7}), POLICY)
    # 1 complaint in 40 jobs since the reinstatement (2.5%), not 3 in 80 over the window (3.75%)
    assert (verdict.complaints, verdict.completed_jobs, verdict.suspended) == (1, 40, False)
