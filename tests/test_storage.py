"""The case file on real PostgreSQL: numbers, idempotent events, outbox, breach queries."""

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from conftest import outbox_for, sample_intake
from sqlalchemy import func, select

from adapters.notify.outbox import queue
from adapters.notify.templates import Renderer
from adapters.storage import cases as case_file
from adapters.storage.tables import CaseEventRow, Customer, EscalationRow, Notification
from domain.calendar import WorkingCalendar
from domain.case import CaseEvent, CaseState, EscalationRecord, NotificationRequest
from domain.clocks import plan_clocks
from domain.models import CaseKind, Channel, ClockName, Severity, Stage

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


def open_one(db, now=NOW, **intake):
    with db.session() as session:
        case = case_file.open_case(
            session, intake=sample_intake(**intake), severity=Severity.normal, received_at=now, now=now,
            prefix="AS", zone=SHANGHAI,
        )
        return case.case_no


def live_state(case_no, policy, now=NOW) -> CaseState:
    calendar = WorkingCalendar.for_zone(policy.working_time, SHANGHAI, now)
    return CaseState(
        case_no=case_no, kind=CaseKind.repair, severity=Severity.normal, channel=Channel.hotline,
        received_at=now, policy=policy.name,
        clocks=plan_clocks(policy, calendar, CaseKind.repair, Severity.normal, now),
    )


def test_case_numbers_are_daily_sortable_and_never_repeat_under_concurrency(db):
    with ThreadPoolExecutor(max_workers=8) as pool:
        numbers = list(pool.map(lambda i: open_one(db, phone=f"1390000{i:04d}"), range(24)))
    assert len(set(numbers)) == 24
    assert sorted(numbers) == [f"AS20261123-{i:04d}" for i in range(1, 25)]
    # the local date decides the day: 23:30 UTC is already the next day in Shanghai
    assert open_one(db, now=datetime(2026, 11, 23, 16, 30, tzinfo=UTC)) == "AS20261124-0001"


def test_one_customer_per_phone(db):
    open_one(db)
    open_one(db, description="又一次报修")
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Customer)) == 1


def test_a_retried_event_is_written_once_and_old_events_never_roll_back(db, default_policy):
    case_no = open_one(db)
    state = live_state(case_no, default_policy)
    opened = CaseEvent(case_no=case_no, seq=1, type="opened", at=NOW, actor="desk", state=state)
    responded_state = state.model_copy(deep=True)
    responded_state.stage = Stage.diagnosing
    responded_state.clock(ClockName.response).met_at = NOW + timedelta(minutes=20)
    responded = CaseEvent(case_no=case_no, seq=2, type="respond", at=NOW + timedelta(minutes=20), actor="a1", state=responded_state)
    with db.session() as session:
        assert case_file.record_event(session, responded) is True
    with db.session() as session:  # the slower activity for seq 1 lands afterwards, twice
        assert case_file.record_event(session, opened) is True
    with db.session() as session:
        assert case_file.record_event(session, opened) is False
        case = case_file.get_case(session, case_no)
        assert [e.seq for e in case_file.events(session, case.id)] == [1, 2]
        assert case.stage == "diagnosing" and case.last_seq == 2
        response = next(c for c in case_file.clocks(session, case.id) if c.name == "response")
        assert response.met_at == NOW + timedelta(minutes=20)


def test_a_breach_is_one_escalation_row_and_answers_breached_this_week(db, default_policy):
    breached_no, calm_no = open_one(db), open_one(db, phone="13900002222")
    state = live_state(breached_no, default_policy)
    clock = state.clock(ClockName.response)
    clock.breached_at, clock.level = clock.deadline, 1
    record = EscalationRecord(level=1, at=clock.deadline, source="clock", clock=ClockName.response,
                              reason="response deadline passed", by="system", notify=["supervisor"])
    state.escalations.append(record)
    event = CaseEvent(case_no=breached_no, seq=2, type="clock_breached", at=clock.deadline, actor="system",
                      data=record.model_dump(mode="json"), state=state)
    for _ in range(2):  # the activity retried after a lost connection
        with db.session() as session:
            case_file.record_event(session, event)
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(EscalationRow)) == 1
        monday = datetime(2026, 11, 23, tzinfo=SHANGHAI)
        week = case_file.CaseFilter(breached_since=monday, breached_until=monday + timedelta(days=7))
        rows, total = case_file.list_cases(session, week, page=1, page_size=10)
        assert [r.case_no for r in rows] == [breached_no] and total == 1
        last_week = case_file.CaseFilter(breached_since=monday - timedelta(days=7), breached_until=monday)
        assert case_file.list_cases(session, last_week, page=1, page_size=10)[1] == 0
        rows, _ = case_file.list_cases(session, case_file.CaseFilter(breached=False), page=1, page_size=10)
        assert [r.case_no for r in rows] == [calm_no]


def test_a_notification_is_queued_once_per_key_with_the_customer_data_from_the_file(db):
    case_no = open_one(db)
    box = outbox_for(Renderer(SHANGHAI, "安心家装"), channels={"sms", "wecom"})
    request = NotificationRequest(case_no=case_no, key=f"case-{case_no}:1:acknowledgement:customer",
                                  template="acknowledgement", recipient="customer",
                                  context={"reply_by": (NOW + timedelta(hours=1)).isoformat()})
    with db.session() as session:
        first = queue(session, box, request, NOW)
    with db.session() as session:
        again = queue(session, box, request, NOW)
        (message,) = session.scalars(select(Notification)).all()
    assert (first.new, again.new, first.id) == (True, False, again.id)
    assert (message.channel, message.address, message.status) == ("sms", "13812345678", "queued")
    assert message.route == [{"channel": "sms", "address": "13812345678"}]  # no email address: SMS only
    assert "王女士" in message.body and "2026-11-23 11:00" in message.body  # Shanghai time
    assert message.subject.startswith("【安心家装】") and "王女士" in message.short_text


def test_text_search_finds_by_phone_and_address_but_treats_wildcards_literally(db):
    case_no = open_one(db)
    with db.session() as session:
        for text, expected in (("1381234", [case_no]), ("锦绣路", [case_no]), ("%", []), ("_", [])):
            rows, _ = case_file.list_cases(session, case_file.CaseFilter(text=text), page=1, page_size=5)
            assert [r.case_no for r in rows] == expected, text
        assert session.scalar(select(func.count()).select_from(CaseEventRow)) == 0
