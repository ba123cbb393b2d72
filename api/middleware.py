"""What every HTTP request meets before the routes: a body limit, security headers, and SQL
errors answered without their text. ``install(app, settings)`` puts them on the app.

- **Body limit.** FastAPI reads and parses a whole JSON body before it checks the bearer
  token, so without a limit an anonymous client can make the API buffer any amount. A request
  whose ``Content-Length`` is over ``AFTERSALES_MAX_BODY_BYTES`` is answered 413 before a byte
  of its body is read; a chunked one is counted as it streams and answered 413 as soon as it
  passes the limit (the app never sees more than the limit). The TLS proxy holds bodies to
  the same limit (deploy/Caddyfile); this one holds wherever the app runs.
- **Headers.** The API's answers carry customers' personal data: ``Cache-Control: no-store``
  on everything under ``/api/`` (unless a route says otherwise). HTML documents (the service
  file, the warranty card, the weekly report, wherever they are served) get a CSP that allows
  their inline styles and nothing else, and may not be framed. ``nosniff`` everywhere. A
  header a response already sets is kept: the console's pages set their own CSP.
- **SQL errors.** An SQLAlchemy error's text holds the statement and, from PostgreSQL, the
  offending row or key (``DETAIL: Key (phone)=(…)``). Any one that reaches the top is answered
  500 with a fixed text, and logged by its class and SQLSTATE only. ``OperationalError`` (the
  database is away) keeps its own 503 handler in ``api/app.py``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from settings import Settings

log = logging.getLogger("aftersales.api")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

TOO_LARGE = b'{"detail":"the request body is too large"}'

# The stored HTML documents: their own inline styles, inline SVG and data: images; no script,
# no outside resource, no form, no framing.
DOCUMENT_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
                "form-action 'none'; frame-ancestors 'none'")
# FastAPI's /docs and /redoc load their scripts from a CDN and run inline code: a document CSP
# would blank them. They hold no data (app.py's create_app; README, "Production").
OPENAPI_PAGES = ("/docs", "/redoc")


class BodyTooLarge(Exception):
    """Raised into the app when a streamed body passes the limit."""


class BodyLimit:
    """Refuse request bodies over ``limit`` bytes, without reading them."""

    def __init__(self, app: ASGIApp, limit: int):
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await _refuse(send)  # nothing read; the server closes the connection after it
            return

        received = 0
        overflow = False
        started = False

        async def limited_receive() -> Message:
            nonlocal received, overflow
            if overflow:
                raise BodyTooLarge()
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    overflow = True
                    raise BodyTooLarge()
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if overflow:
                return  # whatever the app makes of the error, the answer is 413
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not overflow:
                raise
        if overflow and not started:
            await _refuse(send)


class SecurityHeaders:
    """Add the headers of the module's docstring to every HTTP response that lacks them."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                content_type = next((v for n, v in headers if n.lower() == b"content-type"), b"")

                def add(name: bytes, value: str) -> None:
                    if name not in present:
                        headers.append((name, value.encode("latin-1")))
                        present.add(name)

                add(b"x-content-type-options", "nosniff")
                if path.startswith("/api/"):
                    add(b"cache-control", "no-store")
                if content_type.startswith(b"text/html") and path not in OPENAPI_PAGES:
                    add(b"content-security-policy", DOCUMENT_CSP)
                    add(b"x-frame-options", "DENY")
                    add(b"referrer-policy", "no-referrer")
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1").strip()
    return None


async def _refuse(send: Send) -> None:
    await send({
        "type": "http.response.start",
        "status": 413,
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(TOO_LARGE)).encode()),
                    (b"connection", b"close")],
    })
    await send({"type": "http.response.body", "body": TOO_LARGE})


def describe(exc: SQLAlchemyError) -> str:
    """The error's class, its driver's class and SQLSTATE: never its text."""
    orig = getattr(exc, "orig", None)
    code = getattr(orig, "pgcode", None)
    inner = f" ({type(orig).__name__}{f', SQLSTATE {code}' if code else ''})" if orig is not None else ""
    return f"{type(exc).__name__}{inner}"


async def database_refused(request: Request, exc: SQLAlchemyError) -> JSONResponse:
    route = getattr(request.scope.get("route"), "path", "?")  # the template, never the query
    log.error("database error in %s %s: %s", request.method, route, describe(exc))
    return JSONResponse({"detail": "internal error: the case file refused the request"}, status_code=500)


def install(app: FastAPI, settings: Settings) -> None:
    """The headers wrap everything, the 413 included; inside them the body limit, before any
    route reads a byte. The SQL handler sits with the app's other exception handlers
    (``OperationalError`` keeps its own 503). The last middleware added is the outermost."""
    app.add_exception_handler(SQLAlchemyError, database_refused)  # type: ignore[arg-type]
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    app.add_middleware(SecurityHeaders)
