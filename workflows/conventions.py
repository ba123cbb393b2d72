"""What every workflow of ours does the same way: how it calls the local-write activities,
and how a refused action leaves it (an update failure whose type tells the API to answer
409, illegal now, or 403, the role may not)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain.casework import Refused

# The case file, the outbox and the registry are local writes: a minute covers a slow
# database, and the retry policy keeps trying (with backoff) through an outage.
LOCAL_WRITE = dict(
    start_to_close_timeout=timedelta(seconds=60),
    retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30)),
)

# Set by a schedule on every workflow it starts: the time the action was due.
SCHEDULED_START = SearchAttributeKey.for_datetime("TemporalScheduledStartTime")

ILLEGAL_ACTION = "IllegalAction"
FORBIDDEN = "Forbidden"


def refusal(refused: Refused) -> ApplicationError:
    return ApplicationError(refused.reason, type=FORBIDDEN if refused.forbidden else ILLEGAL_ACTION, non_retryable=True)
