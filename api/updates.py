"""One desk action sent to a workflow (a case's or a project's ``act`` update), the same way
for both: accepted or refused at once, its result waited for with a bound.

The workflow's validator answers at once: a refusal is a 409 (illegal now) or a 403 (the role
may not), with the stage model's reason. An accepted action is carried out and written to the
file by an activity; when the database is down that write retries until it is back, so the
result is awaited for ``record_timeout`` at most, then the caller answers 202 ("accepted;
recorded when the database is back", ``ActionPending``). A workflow that does not even accept
the action within ``ACCEPT_TIMEOUT`` (its task failing, its worker gone) is a 503: nothing
is known to be recorded.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

from fastapi import HTTPException, status
from temporalio.client import (
    WorkflowHandle,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
    WorkflowUpdateStage,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from workflows.conventions import FORBIDDEN, ILLEGAL_ACTION

R = TypeVar("R")
# How long an action may wait for the workflow to accept (or refuse) it.
ACCEPT_TIMEOUT = timedelta(seconds=10)
# How long an action waits for the file to record it before answering "accepted".
RECORD_TIMEOUT = timedelta(seconds=10)


class ActionPending(Exception):
    """The workflow accepted the action but is still writing it to the file."""


async def send(
    handle: WorkflowHandle, update: Any, request: Any, result_type: type[R], *, what: str,
    unavailable: Callable[[RPCError], HTTPException], record_timeout: timedelta | None = None,
) -> R:
    """``update`` with ``request`` on ``handle``: its result, or ``ActionPending`` once accepted
    but not recorded within ``record_timeout``; refusals as 409/403; ``unavailable`` turns an
    RPC error (the workflow gone, Temporal down) into the caller's answer. ``what`` names the
    workflow in a 503 ("project PJ000001")."""
    record_timeout = record_timeout or RECORD_TIMEOUT
    try:
        try:
            async with asyncio.timeout(ACCEPT_TIMEOUT.total_seconds()):
                pending = await handle.start_update(
                    update, request, wait_for_stage=WorkflowUpdateStage.ACCEPTED, result_type=result_type,
                    rpc_timeout=ACCEPT_TIMEOUT,
                )
        except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
            raise HTTPException(
                status.HTTP_503_SERVICE_UNAVAILABLE,
                f"{what} did not take the action within {ACCEPT_TIMEOUT.seconds} s (its workflow is busy or "
                "failing): look at it before trying again",
            ) from None
        try:
            # A bound on the whole wait: ``rpc_timeout`` bounds each poll, and a server may
            # answer a poll early with no outcome and be polled again.
            async with asyncio.timeout(record_timeout.total_seconds()):
                return await pending.result(rpc_timeout=record_timeout)
        except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
            raise ActionPending(what) from None
    except WorkflowUpdateFailedError as exc:
        cause = exc.cause
        if isinstance(cause, ApplicationError) and cause.type == ILLEGAL_ACTION:
            raise HTTPException(status.HTTP_409_CONFLICT, cause.message) from None
        if isinstance(cause, ApplicationError) and cause.type == FORBIDDEN:
            raise HTTPException(status.HTTP_403_FORBIDDEN, cause.message) from None
        raise HTTPException(status.HTTP_500_INTERNAL_SERVER_ERROR, f"the action failed: {cause}") from None
    except RPCError as exc:
        raise unavailable(exc) from None
