"""What the API does for production at the HTTP level (security review D1, P1, C1, A3): bodies
refused before they are read, SQL errors answered without their text, the security headers,
and the console's cookie Secure in production."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import socket
from datetime import UTC, datetime

import httpx
import pytest
import uvicorn
from conftest import ADMIN_URL, DEFAULT_POLICY, make_settings, sample_intake
from sqlalchemy import Column, Integer, MetaData, String, Table, insert
from sqlalchemy.exc import DataError, IntegrityError, StatementError

from adapters.storage import cases as case_file
from adapters.storage.db import Database, UTCDateTime
from adapters.storage.tables import Customer
from api.app import create_app
from api.middleware import DOCUMENT_CSP
from domain.models import Severity
from settings import Settings

LIMIT = 1024 * 1024
BIG = 100 * 1024 * 1024
CHUNK = 64 * 1024
NAME, PHONE, ADDRESS = "王女士", "13812345678", "上海市浦东新区锦绣路100弄5号"
AGENT = {"Authorization": "Bearer t-agent"}


def app_for(url: str = ADMIN_URL, **overrides):
    """The real app; nothing here starts its lifespan (no repair pass, no Temporal)."""
    return create_app(make_settings(url, **overrides))


def client(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://desk")


# -- D1: the body limit ---------------------------------------------------------------------

async def drive(app, headers: list[tuple[bytes, bytes]], body_size: int) -> tuple[int, int]:
    """Send a POST /api/v1/cases of ``body_size`` bytes to the ASGI app, produced only as the
    app asks for it, 64 KiB at a time. (status answered, bytes the app pulled)."""
    pulled = 0
    answered: list[int] = []

    async def receive():
        nonlocal pulled
        if pulled >= body_size:
            await asyncio.Event().wait()  # the client has sent it all and waits for the answer
        size = min(CHUNK, body_size - pulled)
        pulled += size
        return {"type": "http.request", "body": b"a" * size, "more_body": pulled < body_size}

    async def send(message):
        if message["type"] == "http.response.start":
            answered.append(message["status"])

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": "/api/v1/cases", "raw_path": b"/api/v1/cases", "root_path": "", "query_string": b"",
             "headers": [(b"host", b"desk"), (b"content-type", b"application/json"), *headers],
             "client": ("127.0.0.1", 50000), "server": ("desk", 80)}
    await asyncio.wait_for(app(scope, receive, send), timeout=30)
    return answered[0], pulled


async def test_D1_body_limit_before_reading():
    app = app_for()
    # A declared 100 MB body without a token: 413 before a byte of it is read.
    status, pulled = await drive(app, [(b"content-length", str(BIG).encode())], BIG)
    assert (status, pulled) == (413, 0)
    # The same streamed without a length (chunked): counted, refused once past the limit.
    status, pulled = await drive(app, [(b"transfer-encoding", b"chunked")], BIG)
    assert status == 413 and pulled <= LIMIT + CHUNK, pulled
    # A token changes nothing, and a body within the limit still reaches the route (a 422 here).
    status, pulled = await drive(app, [(b"authorization", b"Bearer t-agent")], BIG)
    assert status == 413 and pulled <= LIMIT + CHUNK
    status, pulled = await drive(app, [(b"authorization", b"Bearer t-agent"), (b"content-length", b"10")], 10)
    assert (status, pulled) == (422, 10)


async def test_D1_a_real_server_answers_413_before_the_client_has_sent_the_body():
    app = app_for(max_body_bytes=LIMIT)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning", access_log=False))
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            await asyncio.sleep(0.05)
        for framing, first in ((f"Content-Length: {BIG}", b"a" * CHUNK),
                               ("Transfer-Encoding: chunked", b"".join(b"%x\r\n%s\r\n" % (CHUNK, b"a" * CHUNK)
                                                                       for _ in range(2 * LIMIT // CHUNK)))):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(f"POST /api/v1/cases HTTP/1.1\r\nHost: desk\r\nContent-Type: application/json\r\n"
                         f"{framing}\r\n\r\n".encode() + first)
            await writer.drain()
            # The client has sent at most 2 MiB of its 100 MB, and sends no more: the answer
            # comes anyway, and the server closes the connection after it (with a reset, as
            # the body it never read is discarded: the TLS proxy in front closes gracefully).
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=10)
            assert head.startswith(b"HTTP/1.1 413 "), head
            with contextlib.suppress(ConnectionResetError):
                await asyncio.wait_for(reader.read(), timeout=10)
            assert reader.at_eof() or reader.exception() is not None
            writer.close()
    finally:
        server.should_exit = True
        await asyncio.wait_for(serving, timeout=10)


def test_the_body_limit_is_a_setting_that_cannot_starve_the_console():
    from pydantic import ValidationError

    assert Settings().max_body_bytes == LIMIT
    assert Settings(max_body_bytes=256 * 1024).max_body_bytes == 256 * 1024
    with pytest.raises(ValidationError):
        Settings(max_body_bytes=1024)  # under the console's own 64 KB forms


# -- P1: SQL errors carry no bind values -----------------------------------------------------

def _probe(metadata: MetaData) -> Table:
    return Table("p1_probe", metadata, Column("id", Integer, primary_key=True), Column("name", String(10)),
                 Column("phone", String(32)), Column("address", String(200)), Column("at", UTCDateTime()),
                 prefixes=["TEMPORARY"])


def test_P1_sql_errors_carry_no_bind_values():
    db = Database(ADMIN_URL)
    probe = _probe(MetaData())
    row = {"id": 1, "name": "王", "phone": PHONE, "address": ADDRESS, "at": datetime.now(UTC)}
    failures: list[Exception] = []
    for statement, values in (
        (insert(probe), {**row, "name": NAME * 10}),  # DataError: too long for varchar(10)
        (insert(probe), row),  # IntegrityError: the same id twice (see below)
        # StatementError: year 1 at +01:00 overflows when bound (the review's 500)
        (insert(probe), {**row, "id": 2, "at": datetime.fromisoformat("0001-01-01T00:00:00+01:00")}),
    ):
        try:
            with db.session() as session:
                probe.create(session.connection())
                if values is row:
                    session.execute(insert(probe), row)
                session.execute(statement, values)
        except Exception as exc:  # noqa: BLE001 - each is checked below
            failures.append(exc)
    db.dispose()
    assert [type(e) for e in failures] == [DataError, IntegrityError, StatementError]
    for exc in failures:
        text = str(exc)
        assert "[SQL:" in text  # the statement is still named, for whoever debugs it
        for value in (PHONE, ADDRESS, NAME):
            assert value not in text, (type(exc).__name__, text)
        assert "parameters hidden" in text


async def test_P1_the_api_answers_a_sql_error_without_its_text(caplog, pg_url):
    app = app_for(pg_url)

    async def fail() -> None:  # a route whose write breaks a constraint, with a customer's data
        with app.state.ctx.db.session() as session:
            session.execute(insert(Customer), {"name": NAME, "phone": None, "created_at": datetime.now(UTC)})

    app.add_api_route("/api/v1/p1-probe", fail, methods=["POST"])
    with caplog.at_level(logging.INFO):
        async with client(app) as http:
            answer = await http.post("/api/v1/p1-probe", headers=AGENT)
    assert answer.status_code == 500
    assert NAME not in answer.text and "Failing row" not in answer.text
    assert answer.json() == {"detail": "internal error: the case file refused the request"}
    logged = "\n".join(r.getMessage() + (str(r.exc_info[1]) if r.exc_info else "") for r in caplog.records)
    # PostgreSQL's own DETAIL ("Failing row contains (…, 王女士, …)") is in the exception's
    # text; the log has the class and the SQLSTATE only.
    assert "IntegrityError (NotNullViolation, SQLSTATE 23502)" in logged
    assert NAME not in logged and "Failing row" not in logged


# -- C1: the security headers ----------------------------------------------------------------

async def test_C1_security_headers_on_documents_and_no_store_on_json(db):
    with db.session() as session:
        now = datetime.now(UTC)
        case_no = case_file.open_case(session, intake=sample_intake(), severity=Severity.normal, received_at=now,
                                      now=now, prefix="AS", zone=make_settings(ADMIN_URL).zone).case_no
    app = create_app(make_settings(str(db.engine.url.render_as_string(hide_password=False))))
    async with client(app) as http:
        page = await http.get(f"/api/v1/cases/{case_no}/service-file.html", headers=AGENT)
        document = await http.get(f"/api/v1/cases/{case_no}/service-file", headers=AGENT)
        refused = await http.get("/api/v1/cases", headers={"Authorization": "Bearer nobody"})
        console = await http.get("/console/sign-in")
        docs = await http.get("/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert page.headers["content-security-policy"] == DOCUMENT_CSP
    assert "frame-ancestors 'none'" in DOCUMENT_CSP and "script-src" not in DOCUMENT_CSP  # default-src 'none'
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["cache-control"] == "no-store"
    for answer in (document, refused):  # JSON, a success and a refusal alike
        assert answer.headers["content-type"] == "application/json"
        assert answer.headers["cache-control"] == "no-store"
        assert answer.headers["x-content-type-options"] == "nosniff"
    # The console's own, stricter CSP stands (it allows its own scripts and forms).
    assert "script-src 'self'" in console.headers["content-security-policy"]
    assert console.headers["content-security-policy"] != DOCUMENT_CSP
    # /docs loads Swagger UI from its CDN: no document CSP there (README, "Production").
    assert docs.status_code == 200 and "content-security-policy" not in docs.headers


# -- A3: the console's cookie ----------------------------------------------------------------

STRONG = {"api_tokens": "a-production-token-0001=agent", "quality_sample_seed": "our-own-secret-seed"}


async def _sign_in(app, token: str, **headers) -> str:
    """Sign in through the form; the Set-Cookie of the session."""
    async with client(app) as http:
        page = await http.get("/console/sign-in", headers=headers)
        form_token = re.search(r'name="form_token" value="([^"]+)"', page.text).group(1)
        sign_in_cookie = page.cookies.get("aftersales_sign_in") or re.search(
            r"aftersales_sign_in=([^;]+)", page.headers["set-cookie"]).group(1)
        answer = await http.post("/console/sign-in", data={"form_token": form_token, "token": token},
                                 headers={"Cookie": f"aftersales_sign_in={sign_in_cookie}", **headers})
    assert answer.status_code == 303, answer.text
    return next(v for v in answer.headers.get_list("set-cookie") if v.startswith("aftersales_session="))


async def test_A3_the_session_cookie_is_secure_in_production_even_if_the_proxy_is_not_trusted():
    production = create_app(Settings(database_url=ADMIN_URL, policy=DEFAULT_POLICY, environment="production", **STRONG))
    cookie = await _sign_in(production, "a-production-token-0001")  # plain http, no forwarded header
    assert "; secure" in cookie.lower() and "httponly" in cookie.lower() and "samesite=strict" in cookie.lower()
    # In development the scheme decides: http here, so no Secure (the proxy test covers https).
    development = create_app(make_settings(ADMIN_URL))
    assert "; secure" not in (await _sign_in(development, "t-agent")).lower()
