"""Who is reached by which channel, and when: quiet hours and staff hours (domain.delivery)."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from conftest import DEFAULT_POLICY, DEMO_POLICY

from domain.calendar import WorkingCalendar
from domain.delivery import (
    CHANNEL_CONNECT_TIMEOUT,
    CHANNEL_TIMEOUT,
    HEARTBEAT_TIMEOUT,
    MIN_ATTEMPT_TIMEOUT,
    NotifyPolicy,
    Recipient,
    Retry,
    release_at,
    route,
)
from domain.policy import PolicyError, load_policy, parse_policy

SHANGHAI = ZoneInfo("Asia/Shanghai")
POLICY = load_policy(DEFAULT_POLICY)
CALENDAR = WorkingCalendar.for_zone(POLICY.working_time, SHANGHAI, datetime(2026, 1, 1, tzinfo=SHANGHAI), years=2)
CUSTOMER = Recipient("customer")
SUPERVISOR = Recipient("supervisor")
ASSIGNEE = Recipient("assignee")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def release(recipient, when, emergency=False, breach=False):
    return release_at(POLICY.notify, CALENDAR, recipient, at(when), emergency=emergency, breach=breach)


@pytest.mark.parametrize(
    ("queued", "goes"),
    [
        ("2026-11-24 23:00", "2026-11-25 08:00"),  # held overnight until the morning hour
        ("2026-11-25 07:59", "2026-11-25 08:00"),
        ("2026-11-25 08:00", "2026-11-25 08:00"),  # the morning hour itself is not quiet
        ("2026-11-25 20:59", "2026-11-25 20:59"),
        ("2026-11-25 21:00", "2026-11-26 08:00"),
        ("2026-11-28 23:30", "2026-11-29 08:00"),  # weekends too: quiet hours are about sleep
    ],
)
def test_a_customer_is_not_messaged_at_night(queued, goes):
    assert release(CUSTOMER, queued) == at(goes)


def test_an_emergency_reaches_the_customer_at_once_even_at_night():
    assert release(CUSTOMER, "2026-11-24 23:00", emergency=True) == at("2026-11-24 23:00")


@pytest.mark.parametrize(
    ("queued", "goes"),
    [
        ("2026-11-24 10:00", "2026-11-24 10:00"),  # working time: at once
        ("2026-11-24 12:30", "2026-11-24 13:30"),  # lunch break: after it
        ("2026-11-24 22:00", "2026-11-25 09:00"),  # evening: next morning
        ("2026-11-28 10:00", "2026-11-30 09:00"),  # Saturday: Monday
        ("2026-09-30 20:00", "2026-10-08 09:00"),  # National Day, 1–7 October: the first working day after
    ],
)
def test_staff_are_told_in_their_working_hours(queued, goes):
    assert release(ASSIGNEE, queued) == at(goes)


def test_an_emergency_or_a_breach_reaches_staff_on_call_at_any_hour():
    assert release(ASSIGNEE, "2026-11-28 03:00", emergency=True) == at("2026-11-28 03:00")
    assert release(SUPERVISOR, "2026-11-28 03:00", breach=True) == at("2026-11-28 03:00")  # supervisors are on call
    assert release(ASSIGNEE, "2026-11-28 03:00", breach=True) == at("2026-11-30 09:00")  # the assignee is not
    assert release(SUPERVISOR, "2026-11-28 03:00") == at("2026-11-30 09:00")  # a warning waits


def test_the_route_puts_the_customers_preference_first_and_skips_what_cannot_reach_them():
    everything = {"sms": "13812345678", "email": "wang@example.com", "wecom": "supervisor"}
    assert route(POLICY.notify, CUSTOMER, everything) == ["sms", "email"]
    assert route(POLICY.notify, Recipient("customer", "email"), everything) == ["email", "sms"]
    assert route(POLICY.notify, CUSTOMER, {**everything, "email": None}) == ["sms"]  # no address
    assert route(POLICY.notify, CUSTOMER, {"email": "wang@example.com"}) == ["email"]  # no SMS provider configured
    assert route(POLICY.notify, SUPERVISOR, everything) == ["wecom", "email"]
    assert route(POLICY.notify, SUPERVISOR, {"sms": None, "email": None}) == []  # a dead letter, said so


def test_the_notify_section_is_checked_like_the_rest_of_the_policy():
    data = load_policy(DEFAULT_POLICY).model_dump(mode="json")
    data["notify"] = {"staff_channels": {"supervisor": ["wecom"]}}
    with pytest.raises(PolicyError, match="notify.*default"):
        parse_policy(data, "p.toml")
    data["notify"] = {"customer_channels": ["pigeon"]}
    with pytest.raises(PolicyError, match="notify.customer_channels.0"):
        parse_policy(data, "p.toml")
    data["notify"] = {"retry": {"first_interval": "30s", "max_interval": "10m", "attempt_timeout": "3m"}}
    retry = parse_policy(data, "p.toml").notify.retry
    assert (retry.first_interval, retry.max_interval, retry.attempt_timeout) == (30, 600, 180)
    assert NotifyPolicy().quiet_hours.end.hour == 8


def test_an_attempt_outlasts_the_channels_own_timeout():
    """R6: an attempt that Temporal gives up on while its request is still out is sent again by
    the next one. A policy file cannot make an attempt shorter than the channel's waits."""
    data = load_policy(DEFAULT_POLICY).model_dump(mode="json")
    for short in ("3s", "30s", "1m"):
        data["notify"] = {"retry": {"attempt_timeout": short}}
        with pytest.raises(PolicyError, match="notify.retry.attempt_timeout: .*too short for one attempt"):
            parse_policy(data, "p.toml")
    for path in (DEFAULT_POLICY, DEMO_POLICY):  # both shipped policies pass
        assert load_policy(path).notify.retry.attempt_limit > CHANNEL_TIMEOUT
    # A running workflow's input from before the rule (3 s) still reads; the attempt is given the minimum.
    legacy = Retry.model_validate_json('{"attempts": 3, "first_interval": 1, "backoff": 2.0, "max_interval": 5, "attempt_timeout": 3}')
    assert (legacy.attempt_timeout, legacy.attempt_limit) == (3, MIN_ATTEMPT_TIMEOUT)
    assert MIN_ATTEMPT_TIMEOUT > CHANNEL_CONNECT_TIMEOUT + 2 * CHANNEL_TIMEOUT  # connect, send, hear the answer
    assert HEARTBEAT_TIMEOUT < MIN_ATTEMPT_TIMEOUT  # a dead worker is noticed long before
