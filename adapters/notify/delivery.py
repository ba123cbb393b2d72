"""Sending one queued message over one channel, and what the outbox records of it.

``send`` is what the delivery activity runs for each attempt: claim the row (``sending``,
attempt n), call the channel, record the answer. It is safe to run again at any point: a
message already sent is not sent twice, and one whose sending was cut off (the worker died
after the peer accepted it but before ``sent`` was written) is sent again with the same key,
which a peer that deduplicates sees.

Every status write is a compare-and-set, so that a late writer (the thread of an attempt
Temporal gave up on, a delivery run twice) never moves a row backwards: ``sent`` and ``dead``
are final (only a supervisor's ``reopen`` takes a dead letter back to ``queued``), an
attempt's failure is recorded only while the row is still that attempt's (``sending`` with
its number), and an acceptance makes any row not yet final ``sent``.

The database writes around the channel call go through ``bookkeep``, which the activity
gives the patience of the bookkeeping: a database that is away is waited for, it is not a
failed channel attempt, and an acceptance is recorded however long that takes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol, TypeVar

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from adapters.notify.channels import (
    Channel,
    DeliveryFailure,
    DingTalkRobot,
    HttpSmsProvider,
    Message,
    PermanentFailure,
    Receipt,
    SignedWebhook,
    SmtpChannel,
    TemporaryFailure,
    WeComRobot,
)
from adapters.storage.db import Database
from adapters.storage.tables import Case, Notification

if TYPE_CHECKING:
    from settings import Settings

MAX_ERROR = 1000
# The column's length: a provider's id is the peer's to choose, and a write of "sent" that the
# database refuses for its length would turn a message that went out into a failed attempt.
MAX_PROVIDER_ID = Notification.provider_id.type.length
OPEN = ("queued", "sending")  # the statuses a delivery may still move; "sent" and "dead" are final
log = logging.getLogger("aftersales.notify")
T = TypeVar("T")


class GivenUp(Exception):
    """The message was given up on; only a supervisor's retry (``reopen``) sends it again."""


class Bookkeeping(Protocol):
    def __call__(self, step: str, write: Callable[[], T], *, patient: bool) -> T:
        """Run one write of the outbox. ``patient``: the delivery cannot go on without it, so a
        database that is away is waited for; otherwise it may be given up on."""
        ...


def _at_once(step: str, write: Callable[[], T], *, patient: bool) -> T:
    return write()


def configured_channels(settings: Settings) -> dict[str, Channel]:
    """The channels this deployment has: each is on when its address is set."""
    channels: dict[str, Channel] = {}
    if settings.smtp_host:
        channels["email"] = SmtpChannel(
            host=settings.smtp_host,
            port=settings.smtp_port,
            security=settings.smtp_security,
            username=settings.smtp_username,
            password=settings.smtp_password,
            sender=settings.smtp_sender,
            sender_name=settings.smtp_sender_name or settings.company_name,
            ca_file=str(settings.smtp_ca_file) if settings.smtp_ca_file else None,
        )
    if settings.sms_url:
        channels["sms"] = HttpSmsProvider(
            url=settings.sms_url,
            token=settings.sms_token,
            auth_header=settings.sms_auth_header,
            auth_prefix=settings.sms_auth_prefix,
            sign=settings.sms_sign or settings.company_name,
            body_template=settings.sms_body_template,
            id_field=settings.sms_id_field,
        )
    if settings.wecom_webhook_url:
        channels["wecom"] = WeComRobot(url=settings.wecom_webhook_url)
    if settings.dingtalk_webhook_url:
        channels["dingtalk"] = DingTalkRobot(url=settings.dingtalk_webhook_url, secret=settings.dingtalk_secret)
    if settings.webhook_url:
        channels["webhook"] = SignedWebhook(url=settings.webhook_url, secret=settings.webhook_secret)
    return channels


def _message(session: Session, row: Notification, address: str) -> Message:
    case = session.get(Case, row.case_id) if row.case_id is not None else None  # None: the weekly report
    return Message(
        key=row.key,
        address=address,
        subject=row.subject,
        short_text=row.short_text,
        long_text=row.body,
        # For a company's own systems: what it is about, never who (no personal data).
        data={
            "case_no": case.case_no if case else None,
            "message": row.template,
            "recipient": row.recipient,
            "urgent": row.urgent,
            "locale": row.locale,
        },
    )


def _row(session: Session, notification_id: int) -> Notification:
    row = session.scalars(select(Notification).where(Notification.id == notification_id).with_for_update()).one_or_none()
    if row is None:
        raise LookupError(f"notification {notification_id} is not in the outbox")
    return row


@dataclass(frozen=True)
class Claim:
    """One attempt's hold on a message: the row's attempt number it wrote, and what to send."""

    notification_id: int
    attempt: int
    channel_name: str
    channel: Channel
    address: str
    message: Message


def claim(db: Database, channels: dict[str, Channel], notification_id: int, channel_name: str) -> Claim | str:
    """Mark the message ``sending`` by a new attempt over ``channel_name``: the claim, or
    "already sent". Raises ``LookupError`` (no such row), ``GivenUp`` (a dead letter) or
    ``PermanentFailure`` (the channel is not on its route or not configured here)."""
    with db.session() as session:
        row = _row(session, notification_id)
        if row.status == "sent":
            return "already sent"
        if row.status == "dead":
            raise GivenUp(f"notification {notification_id} is a dead letter: only a supervisor's retry sends it")
        step = next((s for s in row.route if s["channel"] == channel_name), None)
        channel = channels.get(channel_name)
        if step is None or channel is None:
            refused = f"channel {channel_name} is " + ("not configured here" if step else "not on this message's route")
            row.last_error = refused
        else:
            refused = None
            row.status, row.channel, row.address = "sending", channel_name, step["address"]
            row.attempts += 1
            claimed = Claim(notification_id, row.attempts, channel_name, channel, step["address"],
                            _message(session, row, step["address"]))
    if refused:
        raise PermanentFailure(refused, refused)
    return claimed


def record_sent(db: Database, claimed: Claim, receipt: Receipt, now: datetime) -> str:
    """The peer accepted: the message is ``sent``, whichever attempt holds it now (it has gone
    out). "sent"; "already sent" when another attempt recorded it first; "dead" when it was
    given up on meanwhile, which stays (a supervisor's retry sends it again, with the same key)."""
    with db.session() as session:
        moved = session.execute(
            update(Notification)
            .where(Notification.id == claimed.notification_id, Notification.status.in_(OPEN))
            .values(status="sent", sent_at=now, channel=claimed.channel_name, address=claimed.address,
                    provider_id=receipt.provider_id[:MAX_PROVIDER_ID] if receipt.provider_id else None,
                    provider_response=receipt.response, last_error=None)
            .execution_options(synchronize_session=False)
        ).rowcount
        if moved:
            return "sent"
        status = session.scalar(select(Notification.status).where(Notification.id == claimed.notification_id))
    if status != "sent":
        log.warning("notification #%d: accepted by %s on attempt %d after it became %s; left so",
                    claimed.notification_id, claimed.channel_name, claimed.attempt, status)
    return "already sent" if status == "sent" else str(status)


def record_failure(db: Database, claimed: Claim, failure: Exception) -> bool:
    """The attempt failed: back to ``queued`` with the error, if the row is still this
    attempt's. False when a later attempt, an acceptance or a dead letter got there first."""
    with db.session() as session:
        return bool(session.execute(
            update(Notification)
            .where(Notification.id == claimed.notification_id, Notification.status == "sending",
                   Notification.attempts == claimed.attempt)
            .values(status="queued", last_error=f"{claimed.channel_name}: {failure}"[:MAX_ERROR])
            .execution_options(synchronize_session=False)
        ).rowcount)


def send(
    db: Database,
    channels: dict[str, Channel],
    notification_id: int,
    channel_name: str,
    now: datetime,
    *,
    bookkeep: Bookkeeping = _at_once,
) -> str:
    """One attempt over one channel. Returns "sent" or "already sent"; raises the channel's
    ``TemporaryFailure`` (retry) or ``PermanentFailure`` (try the next channel), ``GivenUp``
    or ``LookupError``. A failure of the bookkeeping after the channel answered never
    replaces the channel's answer: an acceptance is recorded (patiently), a failure's record
    may be lost (the row stays ``sending``; the next attempt claims it all the same)."""
    claimed = bookkeep("marking it sending", lambda: claim(db, channels, notification_id, channel_name), patient=True)
    if isinstance(claimed, str):
        return claimed
    try:
        receipt: Receipt = claimed.channel.send(claimed.message)
    except Exception as exc:
        failure = exc if isinstance(exc, DeliveryFailure) else TemporaryFailure(f"{type(exc).__name__}: {exc}", type(exc).__name__)
        try:
            bookkeep("recording its failure", lambda: record_failure(db, claimed, failure), patient=False)
        except Exception as lost:  # noqa: BLE001 - the channel's failure is what the workflow must hear
            log.warning("notification #%d: the failure of attempt %d by %s was not recorded (%s)",
                        notification_id, claimed.attempt, channel_name, type(lost).__name__)
        if failure is exc:
            raise
        raise failure from None
    return bookkeep("recording its acceptance", lambda: record_sent(db, claimed, receipt, now), patient=True)


def dead_letter(db: Database, notification_id: int, reason: str) -> bool:
    """Every channel failed: the message waits for a supervisor. False if it was sent after
    all; a message already dead stays as it is."""
    with db.session() as session:
        row = _row(session, notification_id)
        if row.status == "sent":
            return False
        if row.status in OPEN:
            row.status = "dead"
            row.last_error = (row.last_error or reason)[:MAX_ERROR]
        return True


def reopen(session: Session, notification_id: int, by: str) -> Notification:
    """A supervisor sends a dead letter again: it goes back to the queue, once."""
    row = _row(session, notification_id)
    if row.status != "dead":
        raise ValueError(f"notification {notification_id} is {row.status}, not a dead letter")
    row.status, row.retried_by = "queued", by
    return row
