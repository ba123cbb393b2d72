"""The outbox's writes on real PostgreSQL: a late attempt never moves a message's status
backwards (R6), and a write that fails for good reaches Temporal non-retryable and naming
nobody (P1).

Attempts here are ``adapters.notify.delivery.send`` run in threads of their own, as the worker
runs them, over a channel whose answer the test gives: the late one is the thread of an
attempt Temporal gave up on while its request was still out.
"""

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg2
import pytest
from conftest import DEMO_POLICY, make_settings, sample_intake
from peers import HttpPeer, free_port
from sqlalchemy.exc import OperationalError
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

import worker
from activities.failures import PERMANENT, TRANSIENT
from adapters.notify import delivery
from adapters.notify.channels import HttpSmsProvider, Message, Receipt, TemporaryFailure
from adapters.storage import cases as case_file
from adapters.storage.db import Database
from adapters.storage.tables import Notification
from domain.case import NotificationRequest
from domain.delivery import DeliveryAttempt
from domain.models import Severity

NOW = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
PHONE = "13812345678"


class Gate:
    """A channel whose answer the test gives: ``send`` says it was called, then waits until
    ``answer`` gives it a receipt (accepted) or a failure."""

    name = "sms"

    def __init__(self, answer: Receipt | Exception | None = None):
        self.called = threading.Event()
        self._answered = threading.Event()
        self._answer = answer
        if answer is not None:
            self._answered.set()

    def answer(self, answer: Receipt | Exception) -> None:
        self._answer = answer
        self._answered.set()

    def send(self, message: Message) -> Receipt:
        self.called.set()
        assert self._answered.wait(30), "the test never answered"
        if isinstance(self._answer, Exception):
            raise self._answer
        return self._answer


def busy() -> TemporaryFailure:
    return TemporaryFailure("HTTP 503: busy", "HTTP 503")


def timed_out() -> TemporaryFailure:
    return TemporaryFailure("ReadTimeout: timed out", "ReadTimeout")


def accepted(provider_id: str) -> Receipt:
    return Receipt(provider_id=provider_id, response=f'{{"message_id": "{provider_id}"}}')


def queued_message(db: Database, n: int) -> int:
    with db.session() as session:
        row = Notification(
            key=f"test:{n}:acknowledgement:customer", case_id=None, template="acknowledgement", recipient="customer",
            route=[{"channel": "sms", "address": PHONE}], channel="sms", address=PHONE, subject="您的报修已受理",
            short_text="王女士您好", body="王女士您好", status="queued", created_at=NOW, not_before=NOW,
        )
        session.add(row)
        session.flush()
        return row.id


def outbox_row(db: Database, notification_id: int) -> Notification:
    with db.session() as session:
        return session.get(Notification, notification_id)


def attempt_out(pool: ThreadPoolExecutor, db: Database, notification_id: int) -> tuple[Gate, Future]:
    """An attempt whose request is out: it has claimed the row and waits for its channel."""
    gate = Gate()
    future = pool.submit(delivery.send, db, {"sms": gate}, notification_id, "sms", NOW)
    assert gate.called.wait(10), "the attempt never reached its channel"
    return gate, future


def attempt(db: Database, notification_id: int, answer: Receipt | Exception, at: datetime = NOW) -> str:
    return delivery.send(db, {"sms": Gate(answer)}, notification_id, "sms", at)


def test_late_attempt_cannot_overwrite_later_status(db):
    """R6 in the fault run ended ``queued``: the dead letter was overwritten by the failure of
    an attempt Temporal had given up on. Neither a late failure nor a late acceptance moves a
    dead letter, nor a message another attempt sent."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        # Attempt 1 is out; attempt 2 fails; the workflow gives up; attempt 1's channel then fails.
        dead = queued_message(db, 1)
        stale, first = attempt_out(pool, db, dead)
        with pytest.raises(TemporaryFailure):
            attempt(db, dead, busy())
        assert delivery.dead_letter(db, dead, "sms: HTTP 503") is True
        stale.answer(timed_out())
        with pytest.raises(TemporaryFailure):
            first.result(10)
        row = outbox_row(db, dead)
        assert (row.status, row.attempts, row.last_error) == ("dead", 2, "sms: HTTP 503: busy")

        # The same, but attempt 1 is accepted late: the dead letter stays one (a supervisor's
        # retry is what sends it again, with the same key).
        given_up = queued_message(db, 2)
        stale, first = attempt_out(pool, db, given_up)
        with pytest.raises(TemporaryFailure):
            attempt(db, given_up, busy())
        delivery.dead_letter(db, given_up, "sms: HTTP 503")
        stale.answer(accepted("m-late"))
        assert first.result(10) == "dead"
        row = outbox_row(db, given_up)
        assert (row.status, row.attempts, row.sent_at, row.provider_id) == ("dead", 2, None, None)
        with pytest.raises(delivery.GivenUp):  # and no delivery run again sends it
            attempt(db, given_up, accepted("m-again"))

        # Attempts 1 and 2 are out; attempt 3 is accepted; 1 then fails and 2 is accepted, late.
        sent = queued_message(db, 3)
        stale_1, first = attempt_out(pool, db, sent)
        stale_2, second = attempt_out(pool, db, sent)
        assert attempt(db, sent, accepted("m-3"), NOW + timedelta(seconds=5)) == "sent"
        stale_1.answer(timed_out())
        stale_2.answer(accepted("m-2"))
        with pytest.raises(TemporaryFailure):
            first.result(10)
        assert second.result(10) == "already sent"
        row = outbox_row(db, sent)
        assert (row.status, row.attempts, row.provider_id, row.sent_at, row.last_error) == (
            "sent", 3, "m-3", NOW + timedelta(seconds=5), None)
        assert delivery.dead_letter(db, sent, "too late") is False
        assert outbox_row(db, sent).status == "sent"
        assert attempt(db, sent, accepted("m-4")) == "already sent"


def test_a_late_acceptance_sends_a_message_a_later_attempt_still_holds(db):
    """An acceptance is final whichever attempt hears it: attempt 2, still out, cannot then
    record a failure over it, and a supervisor's retry of a dead letter goes back to the queue."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        message = queued_message(db, 4)
        stale_1, first = attempt_out(pool, db, message)
        stale_2, second = attempt_out(pool, db, message)
        stale_1.answer(accepted("m-1"))
        assert first.result(10) == "sent"
        stale_2.answer(busy())
        with pytest.raises(TemporaryFailure):
            second.result(10)
    row = outbox_row(db, message)
    assert (row.status, row.attempts, row.provider_id, row.last_error) == ("sent", 2, "m-1", None)

    retried = queued_message(db, 5)
    with pytest.raises(TemporaryFailure):
        attempt(db, retried, busy())
    delivery.dead_letter(db, retried, "sms: HTTP 503")
    with db.session() as session:
        delivery.reopen(session, retried, "supervisor")
    assert attempt(db, retried, accepted("m-retried")) == "sent"
    row = outbox_row(db, retried)
    assert (row.status, row.attempts, row.retried_by) == ("sent", 2, "supervisor")


# -- queue_notification: what a failed write tells Temporal ------------------------------------

SHANGHAI = ZoneInfo("Asia/Shanghai")


def customer_case(db: Database) -> str:
    with db.session() as session:
        case = case_file.open_case(session, intake=sample_intake(description="卫生间漏水"), severity=Severity.emergency,
                                   received_at=NOW, now=NOW, prefix="AS", zone=SHANGHAI)
        return case.case_no


def queue_activity(pg_url: str, db: Database):
    return worker.notification_activities(make_settings(pg_url, DEMO_POLICY, sms_url="http://127.0.0.1:9/sms"), db)


def acknowledgement(case_no: str, key: str) -> NotificationRequest:
    return NotificationRequest(case_no=case_no, key=key, template="acknowledgement", recipient="customer",
                               context={"reply_by": (NOW + timedelta(hours=1)).isoformat()}, at=NOW)


def test_a_permanent_outbox_write_error_is_not_retried_and_names_nobody(pg_url, db):
    """P1: the outbox's INSERT that the database refuses (a key longer than its column) carried
    the rendered body and the phone into the activity's failure, and so into Temporal's history
    and the worker's log, and was retried forever."""
    case_no = customer_case(db)
    activities = queue_activity(pg_url, db)
    with pytest.raises(ApplicationError) as refused:
        ActivityEnvironment().run(activities.queue_notification, acknowledgement(case_no, "k" * 250))
    error = refused.value
    assert (error.type, error.non_retryable) == (PERMANENT, True)
    assert "StringDataRightTruncation" in error.message and "SQLSTATE 22001" in error.message
    for personal in (PHONE, "王女士", "锦绣路", "卫生间漏水"):
        assert personal not in str(error) and personal not in repr(error.details)
    assert error.__cause__ is None and error.__suppress_context__  # no chained database error either

    # The database away is transient: retried, and it names nobody either.
    away = Database(f"postgresql+psycopg2://postgres@127.0.0.1:{free_port()}/nowhere")
    try:
        with pytest.raises(ApplicationError) as unreachable:
            ActivityEnvironment().run(queue_activity(pg_url, away).queue_notification, acknowledgement(case_no, "k-1"))
    finally:
        away.dispose()
    assert (unreachable.value.type, unreachable.value.non_retryable) == (TRANSIENT, False)
    assert "OperationalError" in unreachable.value.message and PHONE not in str(unreachable.value)

    # What still works: a case that is not there, a template that does not render.
    with pytest.raises(ApplicationError) as missing:
        ActivityEnvironment().run(activities.queue_notification, acknowledgement("AS20990101-0001", "k-2"))
    assert (missing.value.type, missing.value.non_retryable) == ("CaseNotFound", True)
    broken = NotificationRequest(case_no=case_no, key="k-3", template="acknowledgement", recipient="customer", at=NOW)
    with pytest.raises(ApplicationError) as unrendered:
        ActivityEnvironment().run(activities.queue_notification, broken)  # no reply_by to render
    assert (unrendered.value.type, unrendered.value.non_retryable) == ("TemplateError", True)
    assert PHONE not in str(unrendered.value) and "王女士" not in str(unrendered.value)


# -- deliver_notification: the database away is waited for, not an attempt spent ---------------


class Flaky:
    """The worker's database, away for the sessions numbered in ``away`` (1 is the first)."""

    def __init__(self, db: Database, away: set[int]):
        self.db, self.away, self.opened = db, away, 0

    def session(self):
        self.opened += 1
        if self.opened in self.away:
            raise OperationalError("SELECT notifications …", {}, psycopg2.OperationalError("the database is away"))
        return self.db.session()


def test_a_database_away_around_the_send_is_waited_for_not_an_attempt_spent(pg_url, db):
    """The fault run's §2: a database error failed the attempt, so an outage spent the
    channel's attempts and a message the provider had accepted ended a dead letter. Within one
    attempt now: the claim waits for the database, the send goes once, ``sent`` waits too."""
    message = queued_message(db, 6)
    with HttpPeer() as sms:
        activities = queue_activity(pg_url, db)
        activities.channels = {"sms": HttpSmsProvider(url=f"{sms.url}/sms")}
        activities.db = Flaky(db, away={1, 2, 4, 5})  # twice before the claim, twice before "sent"
        beats: list = []
        environment = ActivityEnvironment()
        environment.on_heartbeat = lambda *details: beats.append(details)
        result = environment.run(activities.deliver_notification, DeliveryAttempt(notification_id=message, channel="sms"))
    row = outbox_row(db, message)
    assert (result, row.status, row.attempts, row.last_error) == ("sent", "sent", 1, None)
    assert [r.headers["idempotency-key"] for r in sms.requests] == [row.key]
    assert activities.db.opened == 6 and beats  # it heartbeat while it waited
