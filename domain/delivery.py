"""How messages reach people: the channels each audience is reached by, quiet hours, retries.

The ``[notify]`` section of the policy file. The rules here are pure: the outbox asks
``route`` which channels to try and ``release_at`` when a message may go out; the delivery
workflow reads ``Retry`` for its backoff.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

if TYPE_CHECKING:  # domain.policy imports this module; the calendar imports the policy
    from domain.calendar import WorkingCalendar

ChannelName = Literal["sms", "email", "wecom", "dingtalk", "webhook"]
Locale = Literal["zh-CN", "en"]
LOCALES: tuple[str, ...] = ("zh-CN", "en")
# Channels that need a person's address; the others post to a group or a system.
PERSONAL_CHANNELS = frozenset({"sms", "email"})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _seconds(value: object) -> object:
    # "10s", "1h30m" like every duration of the policy.
    if isinstance(value, str):
        from domain.policy import parse_duration  # see the import note above

        return parse_duration(value)
    return value


class QuietHours(_Strict):
    """Customers are not messaged between ``start`` and ``end`` (local time) unless the case is
    an emergency; what is held goes out at ``end``, the morning hour."""

    start: time = time(21, 0)
    end: time = time(8, 0)

    def contains(self, moment: time) -> bool:
        if self.start <= self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end


# How long a channel waits on its peer (adapters/notify/channels.py reads these): to connect,
# and then at each step of sending the request and hearing the answer. Nothing has been sent
# before the connection stands, so that wait is short; a request the peer may already have is
# sent again (with the same key) when its answer is given up on, so that wait is long.
CHANNEL_CONNECT_TIMEOUT = 10
CHANNEL_TIMEOUT = 30
# Temporal gives one attempt at least this long (its start-to-close timeout): a connection, a
# request and a slow answer each within their timeout, and the bookkeeping around them. An
# attempt cut off while its request is out would be sent again by the next one.
MIN_ATTEMPT_TIMEOUT = 4 * CHANNEL_TIMEOUT
# An attempt heartbeats every few seconds while it sends or waits for the database: a worker
# silent this long is taken for dead, and the attempt is tried again on another.
HEARTBEAT_TIMEOUT = 20


class Retry(_Strict):
    """Per channel: the attempts, the wait before the second one, its growth, and the cap.
    After the last attempt on the last channel the message is a dead letter.

    ``attempt_timeout`` is how long one attempt may take, waits for the database included
    (the outbox is written before and after the channel is called, and a database that is
    away is waited for, not counted as a failed attempt). A policy file's value below
    ``MIN_ATTEMPT_TIMEOUT`` is refused; a smaller number read back from a running workflow's
    input (3 s or 30 s, before this rule) is taken as it is, and ``attempt_limit`` raises it."""

    attempts: int = Field(default=5, ge=1, le=100)
    first_interval: int = Field(default=10, description="seconds")
    backoff: float = Field(default=2.0, ge=1.0)
    max_interval: int = Field(default=600, description="seconds")
    attempt_timeout: int = Field(default=600, description="seconds one attempt may take, waits for the database included")

    _durations = field_validator("first_interval", "max_interval", mode="before")(_seconds)

    @field_validator("attempt_timeout", mode="before")
    @classmethod
    def _above_the_channels_timeout(cls, value: object) -> object:
        if not isinstance(value, str):
            return value  # a number: a workflow's input, or a file's bare seconds (see attempt_limit)
        seconds = _seconds(value)
        if isinstance(seconds, int) and seconds < MIN_ATTEMPT_TIMEOUT:
            raise ValueError(
                f"{value} is too short for one attempt: a channel may wait {CHANNEL_TIMEOUT} s for its peer at "
                f"each step, so an attempt needs at least {MIN_ATTEMPT_TIMEOUT} s"
            )
        return seconds

    @property
    def attempt_limit(self) -> int:
        """The attempt's start-to-close timeout: never below ``MIN_ATTEMPT_TIMEOUT``."""
        return max(self.attempt_timeout, MIN_ATTEMPT_TIMEOUT)


class NotifyPolicy(_Strict):
    # Customers: their preferred channel first, then these in order.
    customer_channels: list[ChannelName] = Field(default=["sms", "email"], min_length=1)
    # Staff roles: channels in order; ``default`` for a role not listed.
    staff_channels: dict[str, list[ChannelName]] = Field(default_factory=lambda: {"default": ["wecom", "email"]})
    staff_locale: Locale = "zh-CN"
    quiet_hours: QuietHours = QuietHours()
    # Staff are told outside their working hours only of an emergency, or of a breach or an
    # escalation when their role is on call.
    hold_staff_outside_working_time: bool = True
    on_call: list[str] = Field(default_factory=lambda: ["supervisor"])
    retry: Retry = Retry()

    @model_validator(mode="after")
    def _has_default(self) -> NotifyPolicy:
        if "default" not in self.staff_channels:
            raise ValueError("staff_channels needs a 'default' entry for roles not listed")
        return self

    def staff_route(self, role: str) -> list[str]:
        return list(self.staff_channels.get(role, self.staff_channels["default"]))

    def customer_route(self, preferred: str | None) -> list[str]:
        ordered = ([preferred] if preferred else []) + list(self.customer_channels)
        return list(dict.fromkeys(ordered))


@dataclass(frozen=True)
class Recipient:
    """Who a message is for, as far as the rules care."""

    role: str  # "customer" or a staff role
    preferred_channel: str | None = None

    @property
    def is_customer(self) -> bool:
        return self.role == "customer"


def route(policy: NotifyPolicy, recipient: Recipient, available: dict[str, str | None]) -> list[str]:
    """The channels to try, in order: the recipient's route, keeping those that are configured
    and, for SMS and email, for which the recipient has an address (``available`` maps each
    configured channel to the address it would use, ``None`` when there is none)."""
    wanted = policy.customer_route(recipient.preferred_channel) if recipient.is_customer else policy.staff_route(recipient.role)
    return [c for c in wanted if c in available and (c not in PERSONAL_CHANNELS or available[c])]


def release_at(
    policy: NotifyPolicy,
    calendar: WorkingCalendar,
    recipient: Recipient,
    now: datetime,
    *,
    emergency: bool,
    breach: bool,
) -> datetime:
    """When a message queued at ``now`` may go out.

    Customers: at once, unless it is quiet hours and the case is not an emergency; then at the
    morning hour. Staff: at once during working time; outside it, at once for an emergency or
    for a breach or escalation to a role on call, otherwise at the next working moment.
    """
    if emergency:
        return now
    if recipient.is_customer:
        local = now.astimezone(calendar.zone)
        quiet = policy.quiet_hours
        if not quiet.contains(local.timetz().replace(tzinfo=None)):
            return now
        morning = datetime.combine(local.date(), quiet.end, calendar.zone)
        if morning <= local:
            morning += timedelta(days=1)
        return morning.astimezone(now.tzinfo)
    if not policy.hold_staff_outside_working_time or (breach and recipient.role in policy.on_call):
        return now
    # Zero working seconds from now: now itself in working time, else the next working moment.
    return calendar.add(now, 0)


class DeliveryPlan(BaseModel):
    """The delivery workflow's input: which outbox row, when, by which channels, how hard."""

    notification_id: int
    not_before: datetime
    channels: list[str]
    retry: Retry = Retry()
    summary: str = ""  # for the Temporal UI: the message and the case, never a person


class DeliveryAttempt(BaseModel):
    notification_id: int
    channel: str


class DeadLetter(BaseModel):
    notification_id: int
    reason: str


def delivery_workflow_id(notification_id: int) -> str:
    return f"notification-{notification_id}"
