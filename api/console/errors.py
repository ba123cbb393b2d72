"""How the console turns a refusal into a page instead of the API's JSON."""

from __future__ import annotations

from fastapi import HTTPException, Request

from api.console.session import Session


class Problem(Exception):
    """A page-level refusal: rendered as the error page with its status and reason."""

    def __init__(self, status_code: int, reason: str, session: Session | None = None):
        super().__init__(reason)
        self.status_code, self.reason, self.session = status_code, reason, session


def allow(session: Session, roles) -> None:
    """The same role sets the API's routes check (``api.deps.DESK`` …)."""
    if session.caller.role not in roles:
        raise Problem(403, "error.role", session)


async def call(session: Session, awaitable):
    """A service call whose HTTPException (404, 409, 503 …) becomes the console's error page."""
    try:
        return await awaitable
    except HTTPException as exc:
        raise Problem(exc.status_code, str(exc.detail), session) from None


def is_console(request: Request) -> bool:
    return request.url.path.startswith("/console")
