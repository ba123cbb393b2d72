"""Sending one queued message over one channel, and what the outbox records of it.

``send`` is what the delivery activity runs for each attempt. It is safe to run again at any
point: a message already sent is not sent twice, and one whose sending was cut off (the
worker died after the peer accepted it but before ``sent`` was written) is sent again with
the same key, which the peer sees and deduplicates.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from adapters.notify.channels import (
    Channel,
    DingTalkRobot,
    HttpSmsProvider,
    Message,
    PermanentFailure,
    Receipt,
    SignedWebhook,
    SmtpChannel,
    WeComRobot,
)
from adapters.storage.db import Database
from adapters.storage.tables import Case, Notification

if TYPE_CHECKING:
    from settings import Settings

MAX_ERROR = 1000


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


def send(db: Database, channels: dict[str, Channel], notification_id: int, channel_name: str, now: datetime) -> str:
    """One attempt over one channel. Returns "sent" or "already sent"; raises the channel's
    ``TemporaryFailure`` (retry) or ``PermanentFailure`` (try the next channel)."""
    with db.session() as session:
        row = _row(session, notification_id)
        if row.status == "sent":
            return "already sent"
        step = next((s for s in row.route if s["channel"] == channel_name), None)
        channel = channels.get(channel_name)
        if step is None or channel is None:
            refused = f"channel {channel_name} is " + ("not configured here" if step else "not on this message's route")
            row.last_error = refused
        else:
            refused = None
            row.status, row.channel, row.address = "sending", channel_name, step["address"]
            row.attempts += 1
            message = _message(session, row, step["address"])
    if refused:
        raise PermanentFailure(refused, refused)
    try:
        receipt: Receipt = channel.send(message)
    except Exception as exc:
        with db.session() as session:
            row = _row(session, notification_id)
            if row.status != "sent":
                row.status = "queued"
                row.last_error = f"{channel_name}: {exc}"[:MAX_ERROR]
        raise
    with db.session() as session:
        row = _row(session, notification_id)
        row.status, row.sent_at = "sent", now
        row.provider_id, row.provider_response, row.last_error = receipt.provider_id, receipt.response, None
    return "sent"


def dead_letter(db: Database, notification_id: int, reason: str) -> bool:
    """Every channel failed: the message waits for a supervisor. False if it was sent after all."""
    with db.session() as session:
        row = _row(session, notification_id)
        if row.status == "sent":
            return False
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
