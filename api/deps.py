"""What every request needs: the app's context, the caller's role, a Temporal client."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Query, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from temporalio.client import Client

from adapters.storage.db import Database
from adapters.temporal_client import connect
from domain import process
from domain.calendar import WorkingCalendar
from domain.policy import Policy
from settings import Caller, Settings


class TemporalGateway:
    """Connects on first use, so the API starts (and reports) even while Temporal is down."""

    def __init__(self, settings: Settings, client: Client | None = None):
        self._settings = settings
        self._client = client
        self._lock = asyncio.Lock()

    async def client(self) -> Client:
        if self._client is None:
            async with self._lock:
                if self._client is None:
                    try:
                        self._client = await connect(self._settings.temporal_address, self._settings.temporal_namespace)
                    except Exception as exc:
                        raise HTTPException(
                            status.HTTP_503_SERVICE_UNAVAILABLE,
                            f"Temporal at {self._settings.temporal_address} is not reachable: {exc}",
                        ) from None
        return self._client


async def _wall_clock() -> datetime:
    return datetime.now(UTC)


@dataclass
class AppContext:
    settings: Settings
    db: Database
    policy: Policy
    calendar: WorkingCalendar
    temporal: TemporalGateway
    tokens: dict[str, Caller] = field(default_factory=dict)
    # When a case is received. The wall clock; tests use the time-skipping server's clock.
    clock: Callable[[], Awaitable[datetime]] = _wall_clock
    # What the last repair pass of this process could not repair (api.repair), for /healthz.
    repair: Any = None


def get_context(request: Request) -> AppContext:
    return request.app.state.ctx


Context = Annotated[AppContext, Depends(get_context)]

_bearer = HTTPBearer(auto_error=False, description="A token from AFTERSALES_API_TOKENS")


def current_caller(
    ctx: Context, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Caller:
    if credentials is None or credentials.credentials not in ctx.tokens:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing or unknown bearer token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return ctx.tokens[credentials.credentials]


def caller_role(caller: Annotated[Caller, Depends(current_caller)]) -> str:
    return caller.role


def allow_caller(*roles: str):
    """A dependency that lets only ``roles`` through, and returns the caller."""

    def check(caller: Annotated[Caller, Depends(current_caller)]) -> Caller:
        if caller.role not in roles:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, f"role '{caller.role}' may not do this; allowed: {', '.join(roles)}"
            )
        return caller

    return check


def allow(*roles: str):
    """A dependency that lets only ``roles`` through, and returns the caller's role."""
    only = allow_caller(*roles)

    def check(caller: Caller = Depends(only)) -> str:  # a default: a closure's name is no annotation
        return caller.role

    return check


# The days a request may name: far enough from date.min and date.max that each day's
# instants exist in every time zone (9999-12-31 has no next day, 0001-01-01 no UTC midnight).
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2100, 12, 31)


def check_day(name: str, day: date | None) -> None:
    """422 naming the parameter when ``day`` is outside the days a request may name."""
    if day is not None and not FIRST_DAY <= day <= LAST_DAY:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"'{name}' ({day}) must be a day from {FIRST_DAY} to {LAST_DAY}")


# A page number: bounded, so an absurd one is a 422 rather than an overflow in the database.
Page = Annotated[int, Query(ge=1, le=100_000)]

DESK = tuple(sorted(process.DESK))
SUPERVISORS = tuple(sorted(process.SUPERVISORS))

DeskRole = Annotated[str, Depends(allow(*DESK))]
SupervisorRole = Annotated[str, Depends(allow(*SUPERVISORS))]
SupervisorCaller = Annotated[Caller, Depends(allow_caller(*SUPERVISORS))]
