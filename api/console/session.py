"""The console's session: who is signed in, in which language, and the form token.

A signed, httponly, SameSite=Strict cookie holds a digest of the API token (never the
token itself), the form (CSRF) token and an expiry. The key is derived from the token
configuration, so changing ``AFTERSALES_API_TOKENS`` signs everyone out, and a session whose
token was removed no longer resolves to a caller. No secret beyond the tokens is needed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from urllib.parse import parse_qsl

from fastapi import Request, Response

from api.deps import AppContext, get_context
from settings import Caller

SESSION_COOKIE = "aftersales_session"
SIGN_IN_COOKIE = "aftersales_sign_in"  # the sign-in form's own token, before any session
LANG_COOKIE = "aftersales_lang"
SESSION_SECONDS = 12 * 3600  # one working day and a bit: a desk signs in once a shift
LOCALES = ("zh-CN", "en")
DEFAULT_LOCALE = "zh-CN"
MAX_FORM_BYTES = 64 * 1024  # no console form is anywhere near this


class SignInRequired(Exception):
    """No valid session: the console answers with the sign-in page (a redirect)."""


class FormRefused(Exception):
    """A POST without the session's form token: a cross-site request, or a stale page."""


@dataclass(frozen=True)
class Session:
    caller: Caller
    csrf: str
    locale: str


def _key(ctx: AppContext) -> bytes:
    return hashlib.sha256(b"aftersales-console-session\0" + ctx.settings.api_tokens.encode()).digest()


def _token_digest(ctx: AppContext, token: str) -> str:
    return hmac.new(_key(ctx), b"token\0" + token.encode(), hashlib.sha256).hexdigest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(ctx: AppContext, payload: dict) -> str:
    body = _b64(json.dumps(payload, separators=(",", ":")).encode())
    mac = hmac.new(_key(ctx), body.encode(), hashlib.sha256).digest()
    return f"{body}.{_b64(mac)}"


def _verify(ctx: AppContext, cookie: str) -> dict | None:
    body, _, mac = cookie.partition(".")
    try:
        expected = hmac.new(_key(ctx), body.encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(expected, _unb64(mac)):
            return None
        payload = json.loads(_unb64(body))
    except (ValueError, TypeError):
        return None
    return payload if isinstance(payload, dict) else None


def locale_of(request: Request) -> str:
    lang = request.cookies.get(LANG_COOKIE, DEFAULT_LOCALE)
    return lang if lang in LOCALES else DEFAULT_LOCALE


def _secure(request: Request) -> bool:
    # https as the proxy reports it (X-Forwarded-Proto, trusted from the proxy's address
    # only); and in production always, even if uvicorn was not told to trust the proxy: a
    # browser never sends the cookie in clear (and over plain http it keeps none at all).
    return request.url.scheme == "https" or get_context(request).settings.environment == "production"


def sign_in(ctx: AppContext, request: Request, response: Response, token: str) -> Caller | None:
    """Open a session for a known token; None (and no cookie) for an unknown one."""
    caller = ctx.tokens.get(token)
    if caller is None:
        return None
    payload = {"k": _token_digest(ctx, token), "c": secrets.token_urlsafe(24), "e": int(time.time()) + SESSION_SECONDS}
    response.set_cookie(
        SESSION_COOKIE, _sign(ctx, payload), max_age=SESSION_SECONDS, path="/", httponly=True,
        samesite="strict", secure=_secure(request),
    )
    response.delete_cookie(SIGN_IN_COOKIE, path="/")
    return caller


def sign_out(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")


def current(request: Request) -> Session | None:
    ctx = get_context(request)
    payload = _verify(ctx, request.cookies.get(SESSION_COOKIE, ""))
    if payload is None or not isinstance(payload.get("e"), int) or payload["e"] < time.time():
        return None
    # Resolved against today's tokens: a removed token's session is gone at once.
    for token, caller in ctx.tokens.items():
        if hmac.compare_digest(_token_digest(ctx, token), str(payload.get("k", ""))):
            return Session(caller=caller, csrf=str(payload["c"]), locale=locale_of(request))
    return None


def require(request: Request) -> Session:
    """A FastAPI dependency: the signed-in session, or the sign-in page."""
    session = current(request)
    if session is None:
        raise SignInRequired()
    return session


def sign_in_token(request: Request) -> str:
    """The sign-in form's token (double-submit: the cookie and the hidden field must agree)."""
    return request.cookies.get(SIGN_IN_COOKIE) or secrets.token_urlsafe(24)


def keep_sign_in_token(request: Request, response: Response, token: str) -> None:
    response.set_cookie(SIGN_IN_COOKIE, token, max_age=3600, path="/", httponly=True, samesite="strict",
                        secure=_secure(request))


async def read_form(request: Request) -> dict[str, str | list[str]]:
    """An urlencoded form body; a repeated name gives a list. Bounded, never a 500."""
    raw = await request.body()
    if len(raw) > MAX_FORM_BYTES:
        raise FormRefused("error.form_too_large")
    try:
        pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except (UnicodeDecodeError, ValueError):
        raise FormRefused("error.form_unreadable") from None
    form: dict[str, str | list[str]] = {}
    for name, value in pairs:
        if name in form:
            prior = form[name]
            form[name] = [*prior, value] if isinstance(prior, list) else [prior, value]
        else:
            form[name] = value
    return form


def check_csrf(form: dict, expected: str | None) -> None:
    given = form.get("csrf")
    if not expected or not isinstance(given, str) or not hmac.compare_digest(given, expected):
        raise FormRefused("error.csrf")
