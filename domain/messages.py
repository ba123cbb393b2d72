"""Every message the process sends, who it is for, and whether it is about a breach.

One template per message and locale (``adapters/notify/templates/<locale>/<name>.j2``); a test
checks that the templates and this table agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class MessageType:
    audience: Literal["customer", "staff"]
    about: str
    # A breach or an escalation reaches staff on call at any hour (see domain.delivery).
    breach: bool = False
    # About one case (its number in the text), or about no single case (a daily review).
    per_case: bool = True


MESSAGES: dict[str, MessageType] = {
    # the customer
    "acknowledgement": MessageType("customer", "the case is registered, with the promised reply time"),
    "survey_booked": MessageType("customer", "the on-site survey's appointment"),
    "plan_to_confirm": MessageType("customer", "the plan and its price, to confirm"),
    "appointment": MessageType("customer", "a visit's appointment window, booked or moved"),
    "amendment_to_confirm": MessageType("customer", "a change of plan found on site, to confirm"),
    "handed_over": MessageType("customer", "a consultation passed on, with the expected reply time"),
    "work_completed": MessageType("customer", "the work is done: please inspect it and sign the service order"),
    "revisit": MessageType("customer", "the revisit by SMS (seed 002's text): how was it, and whom to call"),
    # staff
    "sla_warning": MessageType("staff", "a clock is near its deadline"),
    "sla_breach": MessageType("staff", "a clock has run out; the case is escalated", breach=True),
    "escalation": MessageType("staff", "a further escalation level, or a supervisor's escalation", breach=True),
    "low_score": MessageType("staff", "a low revisit score to follow up"),
    "major_complaint": MessageType("staff", "a major complaint for the general manager"),
    "revisit_due": MessageType("staff", "a revisit is due"),
    "technician_suspended": MessageType("staff", "a technician's complaint rate went over the limit: suspended"),
    "technician_suspended_on_review": MessageType("staff", "the daily review found a technician's rate over the limit",
                                                  per_case=False),
    # sent at once, like a breach: the case's file is missing a record until someone looks
    "needs_attention": MessageType("staff", "a record of the case could not be written; its clocks run on",
                                   breach=True),
}


def message_type(name: str) -> MessageType:
    try:
        return MESSAGES[name]
    except KeyError:
        raise ValueError(f"unknown message {name!r}") from None
