"""How an activity's failure reaches Temporal: permanent or transient, and never with
personal data in its text.

A permanent error (a constraint, a value the column cannot hold, a date past the calendar,
a template that does not render, a row that is not there) fails the same way on every
attempt: it is raised non-retryable, so the workflow hears of it at once, records it and
goes on with its clocks. A transient one (the database unreachable, a connection dropped, a
deadlock or serialization failure) is retried with backoff by the activity's retry policy.

Either way the failure carries only a code and the exception's class: SQL errors print their
statement and bind values (names, phones, addresses), and what an activity raises is kept
in the workflow's history and in the worker's log.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from temporalio.exceptions import ApplicationError, CancelledError

from activities.contracts import PERMANENT, TRANSIENT

# SQLSTATE classes a retry can mend: 08 connection, 40 rollback (serialization, deadlock),
# 53 insufficient resources, 57 operator intervention (shutdown, cancelled), 58 system error.
_TRANSIENT_SQLSTATE = ("08", "40", "53", "57", "58")


def is_transient(exc: BaseException) -> bool:
    """Whether another attempt may succeed where this one failed."""
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        code = getattr(exc.orig, "pgcode", None) or ""
        if code:
            return code.startswith(_TRANSIENT_SQLSTATE)
        # No SQLSTATE (SQLite, or the driver never reached the server): an operational or
        # interface error is the database being away or locked.
        return isinstance(exc, (OperationalError, InterfaceError))
    if isinstance(exc, (PoolTimeout, DisconnectionError)):
        return True  # the pool was busy, or a pooled connection was found dead: not broken
    if isinstance(exc, SQLAlchemyError):
        return False  # a statement that cannot be built or bound fails again
    return isinstance(exc, (ConnectionError, TimeoutError))


def describe(exc: BaseException) -> str:
    """The exception's class and, for a database error, its SQLSTATE: never its text."""
    orig = getattr(exc, "orig", None)
    code = getattr(orig, "pgcode", None)
    inner = type(orig).__name__ if orig is not None else None
    if inner and code:
        return f"{type(exc).__name__} ({inner}, SQLSTATE {code})"
    if inner:
        return f"{type(exc).__name__} ({inner})"
    return type(exc).__name__


@contextmanager
def classified(what: str) -> Iterator[None]:
    """Run a write; turn what escapes into an ``ApplicationError`` that says whether to
    retry and carries no personal data. ``ApplicationError``s and the storage's plain
    ``LookupError`` ("not in the file", which the caller turns into its own type) pass."""
    try:
        yield
    except (ApplicationError, CancelledError):
        raise  # already classified; a cancelled attempt (worker shutdown, timeout) is no failure
    except Exception as exc:
        if type(exc) is LookupError:
            raise  # "not in the file": the caller names what is missing (no personal data)
        transient = is_transient(exc)
        raise ApplicationError(
            f"{what} failed: {describe(exc)}",
            type=TRANSIENT if transient else PERMANENT,
            non_retryable=not transient,
        ) from None
