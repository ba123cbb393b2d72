"""What every workflow of ours does the same way: how it calls the local-write activities,
how a write that cannot be made is turned into "needs attention" instead of a stuck or failed
workflow, and how a refused action leaves it (an update failure whose type tells the API to
answer 409, illegal now, or 403, the role may not)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.contracts import PERMANENT
    from domain.casework import Refused
    from domain.records import Attention

# The case file, the outbox and the registry are local writes: a minute covers a slow
# database, and the retry policy keeps trying (with backoff) through an outage. A permanent
# error (activities.failures) is not retried: it reaches the workflow, which goes on.
LOCAL_WRITE = dict(
    start_to_close_timeout=timedelta(seconds=60),
    retry_policy=RetryPolicy(
        initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30),
        non_retryable_error_types=[PERMANENT],
    ),
)

# Workflows started before this mark awaited every write in line (a permanent error stopped
# them); from it on a write that fails for good is recorded as needing attention, and a case's
# clock watch hands its writes and messages to tasks of their own instead of waiting on them.
HARDENED_PATCH = "writes-never-hold-the-clocks"

# Set by a schedule on every workflow it starts: the time the action was due.
SCHEDULED_START = SearchAttributeKey.for_datetime("TemporalScheduledStartTime")

ILLEGAL_ACTION = "IllegalAction"
FORBIDDEN = "Forbidden"


def refusal(refused: Refused) -> ApplicationError:
    return ApplicationError(refused.reason, type=FORBIDDEN if refused.forbidden else ILLEGAL_ACTION, non_retryable=True)


def attention(what: str, err: ActivityError) -> Attention:
    """The record of a write that failed for good. The cause's message is the activity's own
    (a code and an exception class, no personal data: activities.failures)."""
    cause = err.cause
    error = cause.message if isinstance(cause, ApplicationError) else type(cause).__name__ if cause else str(err)
    return Attention(at=workflow.now(), what=what, error=error)
