"""How far a date or an instant a request gives may lie: each bound once, read by the API (a
422 naming the field) and by the workflows' validators (a refusal) alike.

Two kinds of bound:

* **Absolute**, checked by the models themselves (``Instant``, ``Day``): every instant and
  every day a request names lies from ``FIRST_DAY`` to ``LAST_DAY``. Far from
  ``datetime.min`` and ``datetime.max``, so no clock, slot, calendar, time-zone or database
  computation on it can overflow whatever offset it is written with (0001-01-01T00:00+14:00
  has no UTC instant, 9999-12-31 has no next day: a year-1 intake was a 500 after its row was
  written, a window on 9999-12-31 wedged a case, a reply due in year 8000 failed the workflow's
  task). No clock is read, so pydantic checks them at the API's edge and, unchanged and
  deterministically, when the workflow's validator parses a step's payload.
* **Relative to now**: how far back or ahead a step's date may lie, judged with the
  workflow's ``now`` in the guards (``domain.guards``, a refusal naming the field) and with
  the API's clock for the intake (``domain.models.reported_at_refusal``).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime

# The days a request may name.
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2100, 12, 31)

# A moment "now" as another machine or a person's watch reads it: an instant this far ahead of
# our clock still counts as the present.
SKEW = timedelta(minutes=5)
# How far ahead a step may plan: an appointment, a visit's window, a promised reply. A year is
# more than any visit is booked ahead; further is a typo (a wrong year).
AHEAD = timedelta(days=366)
# How long ago a booked appointment may lie (a survey recorded just after it was booked for,
# or a watch in another time zone).
BOOKED_BACK = timedelta(days=1)


def day_refusal(day: date) -> str | None:
    if not FIRST_DAY <= day <= LAST_DAY:
        return f"{day} is not a day from {FIRST_DAY} to {LAST_DAY}"
    return None


def instant_refusal(at: datetime) -> str | None:
    """Judged by the day as written (its own offset), which never overflows; every instant of
    the days allowed exists in UTC and in every zone."""
    if at.tzinfo is None or at.utcoffset() is None:
        return f"{at.isoformat()} has no time zone: give its offset, e.g. +08:00"
    if not FIRST_DAY <= at.date() <= LAST_DAY:
        return f"{at.isoformat()} is not between {FIRST_DAY} and {LAST_DAY}"
    return None


def _day(day: date) -> date:
    if reason := day_refusal(day):
        raise ValueError(reason)
    return day


def _instant(at: datetime) -> datetime:
    if reason := instant_refusal(at):
        raise ValueError(reason)
    return at


def _local_time(moment: time) -> time:
    if moment.tzinfo is not None:
        raise ValueError(f"{moment.isoformat()} has an offset: give the company's local time of day, e.g. 18:00")
    return moment


# An aware instant from FIRST_DAY to LAST_DAY (a naive one is refused: its moment is unknown).
Instant = Annotated[AwareDatetime, AfterValidator(_instant)]
# A day from FIRST_DAY to LAST_DAY.
Day = Annotated[date, AfterValidator(_day)]
# A time of day in the company's zone, written without an offset (working hours).
LocalTime = Annotated[time, AfterValidator(_local_time)]


def ahead_refusal(what: str, at: datetime, now: datetime, *, back: timedelta | None = None) -> str | None:
    """Why ``at`` (a planned moment) is out of bounds: more than ``AHEAD`` after now, or, with
    ``back``, longer ago than that. (Whether it must be in the future is the step's guard.)"""
    if at > now + AHEAD:
        return f"{what} {at.isoformat()} is more than {AHEAD.days} days ahead"
    if back is not None and at < now - back:
        return f"{what} {at.isoformat()} is in the past (more than {_span(back)} ago)"
    return None


def _span(span: timedelta) -> str:
    return f"{span.days} day{'s' if span.days != 1 else ''}" if span.days else f"{span.seconds // 60} minutes"


def past_refusal(what: str, at: datetime, now: datetime, since: datetime) -> str | None:
    """Why ``at`` (a recorded event: a signature, a consent) is out of bounds: after now (more
    than ``SKEW``), or before ``since`` (the case's reception)."""
    if at > now + SKEW:
        return f"{what} {at.isoformat()} is in the future"
    if at < since - SKEW:
        return f"{what} {at.isoformat()} is before the case was received ({since.isoformat()})"
    return None
