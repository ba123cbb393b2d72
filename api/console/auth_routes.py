"""Signing in and out of the console, and choosing its language."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from api.console import session as sessions
from api.console.pages import render
from api.deps import get_context
from domain.process import TECHNICIAN

router = APIRouter()


def home_of(role: str) -> str:
    return "/console/me" if role == TECHNICIAN else "/console/cases"


@router.get("/console", include_in_schema=False)
@router.get("/console/", include_in_schema=False)
async def home(request: Request) -> Response:
    s = sessions.current(request)
    return RedirectResponse(home_of(s.caller.role) if s else "/console/sign-in", status_code=303)


def _sign_in_page(request: Request, error: str | None = None, status_code: int = 200) -> Response:
    token = sessions.sign_in_token(request)
    page = render(request, "sign_in.html", status_code=status_code, error=error, form_token=token)
    sessions.keep_sign_in_token(request, page, token)
    return page


@router.get("/console/sign-in", include_in_schema=False)
async def sign_in_page(request: Request) -> Response:
    return _sign_in_page(request)


@router.post("/console/sign-in", include_in_schema=False)
async def sign_in(request: Request) -> Response:
    form = await sessions.read_form(request)
    expected = request.cookies.get(sessions.SIGN_IN_COOKIE, "")
    given = form.get("form_token")
    if not expected or not isinstance(given, str) or not hmac.compare_digest(given, expected):
        return _sign_in_page(request, "sign_in.stale", status_code=403)
    token = form.get("token")
    response = RedirectResponse("/console", status_code=303)
    if not isinstance(token, str) or sessions.sign_in(get_context(request), request, response, token.strip()) is None:
        return _sign_in_page(request, "sign_in.unknown", status_code=401)
    return response


@router.post("/console/sign-out", include_in_schema=False)
async def sign_out(request: Request) -> Response:
    s = sessions.require(request)
    sessions.check_csrf(await sessions.read_form(request), s.csrf)
    response = RedirectResponse("/console/sign-in", status_code=303)
    sessions.sign_out(response)
    return response


@router.get("/console/lang/{locale}", include_in_schema=False)
async def language(locale: str, request: Request) -> Response:
    """Switch the language; back to the page the switch was pressed on (same site only)."""
    if locale not in sessions.LOCALES:
        locale = sessions.DEFAULT_LOCALE
    back = request.headers.get("referer", "")
    origin = f"{request.url.scheme}://{request.url.netloc}/console"
    response = RedirectResponse(back if back.startswith(origin) else "/console", status_code=303)
    response.set_cookie(sessions.LANG_COOKIE, locale, max_age=365 * 86400, path="/", samesite="lax")
    return response
