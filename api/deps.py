"""What every request needs: the app's context, the caller's role, a Temporal client."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import Depends, Header, HTTPException, Path, Query, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from temporalio.client import Client

from adapters.storage.db import Database
from adapters.temporal_client import connect
from domain import process
from domain.bounds import FIRST_DAY, LAST_DAY, day_refusal
from domain.calendar import WorkingCalendar
from domain.models import CleanText
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


class Problems(list):
    """A 422's ``detail`` as FastAPI writes a request's validation errors (the OpenAPI's
    ``HTTPValidationError``): a list of ``{loc, msg, type}``. Printed, it is its messages, which
    is what the console shows next to a form."""

    def __str__(self) -> str:
        return "; ".join(str(p["msg"]) for p in self)


def unprocessable(loc: str | tuple[str, ...], msg: str) -> HTTPException:
    """The 422 of a request judged by hand, shaped like FastAPI's own: ``loc`` names where the
    value was, e.g. ``("query", "due")`` or ``("body", "id")``. Raise it."""
    where = [loc] if isinstance(loc, str) else list(loc)
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, Problems([{"loc": where, "msg": msg, "type": "value_error"}]))


def check_day(name: str, day: date | None) -> None:
    """422 naming the query parameter when ``day`` is outside the days a request may name
    (``domain.bounds``: far from date.min and date.max, so each day's instants exist in
    every time zone)."""
    if day is not None and day_refusal(day):
        raise unprocessable(("query", name), f"'{name}' ({day}) must be a day from {FIRST_DAY} to {LAST_DAY}")


# A page number: bounded, so an absurd one is a 422 rather than an overflow in the database.
Page = Annotated[int, Query(ge=1, le=100_000)]
# A case number, project id or staff id in the path: no control character (a NUL reaches
# PostgreSQL, which refuses it: a 500), bounded; an unknown one is then simply a 404.
PathId = Annotated[str, Path(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$")]
# A row's number in the path (a notification, a report, a work order): within a bigint, so an
# absurd one is a 422 rather than an overflow in the database.
PathNumber = Annotated[int, Path(ge=1, le=2**53)]
# A list's search text or a filter's name (a staff id, a skill, a district): no NUL
# (PostgreSQL refuses it: a 500) and something visible.
SearchText = Annotated[CleanText | None, Query(min_length=1, max_length=100)]


def idempotency_key(
    key: Annotated[str | None, Header(
        alias="Idempotency-Key", max_length=200,
        description="Printable ASCII, 1 to 200 characters: the same key returns the same record",
        json_schema_extra={"minLength": 1, "pattern": "^[ -~]*[!-~][ -~]*$"},
    )] = None,
) -> str | None:
    """The request's ``Idempotency-Key``, if it sent one: 422 when it is empty (an empty key
    stored once made every later one a duplicate) or not printable ASCII."""
    if key is None:
        return None
    if not key.strip():
        raise unprocessable(("header", "Idempotency-Key"), "Idempotency-Key is empty: send a key, or no header")
    if not all(" " <= ch <= "~" for ch in key):
        raise unprocessable(("header", "Idempotency-Key"), "Idempotency-Key must be printable ASCII (e.g. a UUID)")
    return key


IdempotencyKey = Annotated[str | None, Depends(idempotency_key)]

DESK = tuple(sorted(process.DESK))
SUPERVISORS = tuple(sorted(process.SUPERVISORS))

DeskRole = Annotated[str, Depends(allow(*DESK))]
SupervisorRole = Annotated[str, Depends(allow(*SUPERVISORS))]
SupervisorCaller = Annotated[Caller, Depends(allow_caller(*SUPERVISORS))]
