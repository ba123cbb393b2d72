"""The desk as schemathesis fuzzes it (tests/test_schemathesis.py): the real API in-process,
with a real worker on the time-skipping server and the session's PostgreSQL, and the record of
every failing check, for the test's verdict and for the findings list."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shlex
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from anyio.from_thread import start_blocking_portal
from conftest import (
    BIN,
    DEFAULT_POLICY,
    make_settings,
    new_worker,
    register_search_attributes,
    register_technician,
    task_queue,
)
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from api.app import create_app

# The roles of tests/conftest.py TOKENS, and a caller without a token.
CALLERS: dict[str, str | None] = {
    "admin": "t-admin",
    "agent": "t-agent",
    "supervisor": "t-supervisor",
    "manager": "t-manager",
    "technician": "t-technician",  # tech-017, the seeded technician
    "none": None,
}

# The seeded records' intakes.
CASE_INTAKE = {
    "kind": "repair", "channel": "hotline", "customer_name": "王女士", "phone": "13812345678",
    "address": "上海市浦东新区锦绣路100弄5号1201", "description": "卫生间墙面瓷砖空鼓开裂",
}
PROJECT_INTAKE = {
    "customer_name": "李先生", "phone": "13912345678", "address": "上海市徐汇区漕溪北路200号3号楼801",
    "house_type": "三室两厅", "package": "full", "channel": "store",
}


def openapi() -> dict:
    """The API's OpenAPI, from an app that is never started (its database is never reached):
    pytest collects the operations before any fixture runs."""
    app = create_app(make_settings("postgresql+psycopg2://openapi@127.0.0.1:1/unused"))
    try:
        return app.openapi()
    finally:
        app.state.ctx.db.dispose()


def operations_open_to(role: str, spec: dict) -> list[str]:
    """The operations whose OpenAPI description's "Roles:" names ``role``, as "METHOD path"."""
    names = []
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            roles = re.search(r"Roles: ([^.]*)\.", operation.get("description") or "")
            if roles and role in {r.strip() for r in roles.group(1).split(",")}:
                names.append(f"{method.upper()} {path}")
    return names


class FuzzedDesk:
    """An ASGI app: the product's API (``api.app:create_app``) with the time-skipping Temporal
    server and a worker on a fresh task queue, on an event loop of its own, and a seeded file.

    schemathesis calls an ASGI app on a loop thread of its own and ends the app's lifespan
    after every test. The desk must outlive a test (one Temporal server for the whole run) and
    its Temporal client and worker must stay on the loop that made them: so ``start`` and
    ``stop`` run it, and each request is handed over to its loop. The product's own lifespan
    (the 30 s repair pass) is not run, as in the other API tests.
    """

    def __init__(self, policy: Path = DEFAULT_POLICY):
        self.policy = policy
        self.app = None
        self.seeds: dict[str, dict[str, str]] = {}  # caller -> path parameter -> a live record's id
        self._portal = self._portal_cm = None
        self._stack: AsyncExitStack | None = None
        self.last_error: str | None = None  # the exception behind the last request's 500

    def start(self, pg_url: str, executor: ThreadPoolExecutor) -> None:
        self._portal_cm = start_blocking_portal()
        self._portal = self._portal_cm.__enter__()
        try:
            self._portal.call(self._start, pg_url, executor)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        try:
            if self._stack is not None:
                self._portal.call(self._stack.aclose)
        finally:
            self.app = self._stack = None
            if self._portal_cm is not None:
                self._portal_cm.__exit__(None, None, None)
            self._portal = self._portal_cm = None

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":  # schemathesis's, once per test: nothing to start
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        if self.app is None:
            raise RuntimeError("FuzzedDesk: a request before start()")
        callers_loop = asyncio.get_running_loop()
        started = False

        async def on_callers_loop(coroutine):
            return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coroutine, callers_loop))

        async def desk_receive():
            return await on_callers_loop(receive())

        async def desk_send(message):
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await on_callers_loop(send(message))

        self.last_error = None
        try:
            await asyncio.wrap_future(self._portal.start_task_soon(self.app, scope, desk_receive, desk_send))
        except Exception as exc:  # noqa: BLE001 - the 500's cause, as a server logs it
            # As a server would: the client gets the 500 (Starlette sent it before re-raising),
            # the error goes to the log, here the finding's.
            self.last_error = f"{type(exc).__module__}.{type(exc).__qualname__}: {exc}".splitlines()[0][:300]
            if not started:
                await send({"type": "http.response.start", "status": 500, "headers": [(b"content-type", b"text/plain")]})
                await send({"type": "http.response.body", "body": b"Internal Server Error"})

    async def _start(self, pg_url: str, executor: ThreadPoolExecutor) -> None:
        self._stack = stack = AsyncExitStack()
        env = await WorkflowEnvironment.start_time_skipping(
            data_converter=pydantic_data_converter,
            test_server_existing_path=str(BIN / "temporal-test-server"),
        )
        stack.push_async_callback(env.shutdown)
        await register_search_attributes(env.client)
        settings = make_settings(pg_url, self.policy, temporal_task_queue=task_queue())
        app = create_app(settings, client=env.client)
        ctx = app.state.ctx
        ctx.clock = env.get_current_time  # cases are received on the test server's clock
        stack.callback(ctx.db.dispose)
        await stack.enter_async_context(new_worker(env.client, settings, ctx.db, executor))
        register_technician(ctx.db)  # tech-017: the technician token's own id
        self.seeds = await self._seed(app)
        self.app = app

    async def _seed(self, app) -> dict[str, dict[str, str]]:
        """A case and a project for each caller's run (one run's steps, e.g. a cancel, would
        leave the next run nothing live to act on), and the technician tech-017."""
        transport = httpx.ASGITransport(app=app)
        admin = {"Authorization": "Bearer t-admin"}
        seeds = {}
        async with httpx.AsyncClient(transport=transport, base_url="http://desk/api/v1", headers=admin) as http:
            async def created(path: str, body: dict) -> dict:
                answer = await http.post(path, json=body)
                assert answer.status_code == 201, f"seeding {path}: {answer.status_code} {answer.text}"
                return answer.json()

            for caller in CALLERS:
                case = await created("/cases", CASE_INTAKE)
                project = await created("/projects", PROJECT_INTAKE)
                seeds[caller] = {"case_no": case["case_no"], "project_id": project["project_id"], "technician_id": "tech-017"}
        return seeds

    def address_seeds(self, case, caller: str) -> None:
        """Point an example's path at the caller's seeded records, so its body reaches a live
        workflow."""
        for name in case.path_parameters or {}:
            if name in self.seeds[caller]:
                case.path_parameters[name] = self.seeds[caller][name]


# --- The findings ---------------------------------------------------------------------------

BASE = "http://127.0.0.1:8000"  # where a reproduction is sent: the API of `make run`
ROLE_OF_TOKEN = {f"Bearer {token}": role for role, token in CALLERS.items() if token}
UNSENT_HEADERS = {"user-agent", "accept", "accept-encoding", "connection", "content-length", "x-schemathesis-testcaseid"}


@dataclass(frozen=True)
class Finding:
    run: str  # the caller whose run found it
    sent_as: str  # the caller the request was sent as (a coverage case may drop the token)
    operation: str
    check: str
    code: str
    title: str
    message: str
    status: int
    request: str
    response: str
    server_error: str | None = None  # the exception behind a 500, from the desk's log

    @property
    def key(self) -> tuple:
        # The same failure on another input is the same finding.
        return (self.operation, self.sent_as, self.check, self.status, self.title)


FINDINGS: list[Finding] = []  # the whole run's, for the Markdown list
PENDING: list[Finding] = []  # the running test's, for its verdict


def curl(request) -> str:
    """The request exactly as it was sent, as a curl command against ``BASE``."""
    url = urlsplit(request.url)
    parts = ["curl", "-X", request.method]
    for name, value in request.headers.items():
        if name.lower() not in UNSENT_HEADERS:
            parts += ["-H", f"{name}: {value}"]
    body = request.body
    if body:
        parts += ["--data-binary", body.decode("utf-8", "backslashreplace") if isinstance(body, bytes) else body]
    parts.append(f"{BASE}{url.path}" + (f"?{url.query}" if url.query else ""))
    return " ".join(shlex.quote(p) for p in parts)


def _response_text(response) -> str:
    text = response.text_lossy() if hasattr(response, "text_lossy") else response.text
    try:
        text = json.dumps(json.loads(text), ensure_ascii=False)
    except ValueError:
        pass
    if len(text) > 300:
        text = text[:300] + "…"
    content_type = (response.headers.get("content-type") or [""])[0]
    return f"{response.status_code} {content_type} {text}"


def _sent_as(authorization: str | None) -> str:
    return "none" if authorization is None else ROLE_OF_TOKEN.get(authorization, "bad token")


def record(run: str, response, failures, checks, server_error: str | None = None) -> None:
    request = response.request
    ran = {check.__name__ for check in checks}
    for failure in failures:
        named = [name for name in failure.checks if name in ran] or list(failure.checks)
        _add(Finding(
            run=run, sent_as=_sent_as(request.headers.get("Authorization")), operation=failure.operation or "?",
            check=", ".join(named) or type(failure).__name__, code=failure.code,
            title=failure.title, message=failure.message, status=response.status_code,
            request=curl(request), response=_response_text(response),
            server_error=server_error if response.status_code >= 500 else None,
        ))


def record_no_answer(run: str, case, error: Exception) -> None:
    """A request that got no answer at all (a timeout): a failure of its own."""
    headers = {**case.operation.schema.config.headers_for(operation=case.operation), **(case.headers or {})}
    _add(Finding(
        run=run, sent_as=_sent_as(headers.get("Authorization")), operation=case.operation.label,
        check="no answer", code="-", title=type(error).__name__, message=str(error)[:300], status=0,
        request=case.as_curl_command().replace("http://testserver", BASE), response="(none)",
    ))


def _add(finding: Finding) -> None:
    FINDINGS.append(finding)
    PENDING.append(finding)


def distinct(findings: list[Finding]) -> list[Finding]:
    """The first finding of each key, ordered by path, method, caller, check, status."""
    order = [*CALLERS, "bad token"]
    first: dict[tuple, Finding] = {}
    for finding in findings:
        first.setdefault(finding.key, finding)

    def place(f: Finding):
        method, path = f.operation.split(" ", 1) if " " in f.operation else ("", f.operation)
        return (path, method, order.index(f.sent_as), f.check, f.status, f.title)

    return sorted(first.values(), key=place)


class Verdict:
    """A pytest plugin for the run: an operation's test fails once all its cases have run, if
    any of them failed a check (the test itself records failures and never raises, so one
    failing case does not stop the others, nor the fuzzing phase)."""

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item):
        PENDING.clear()
        try:
            result = yield
        finally:
            found = distinct(PENDING)
            PENDING.clear()
        if found:
            lines = [f"{len(found)} distinct failure(s):"]
            for f in found:
                lines += [f"- {f.check} ({f.code} {f.title}) as {f.sent_as}: {f.response}", f"    {f.request}"]
                if f.server_error:
                    lines.append(f"    server: {f.server_error}")
            raise AssertionError("\n".join(lines))
        return result


def write_markdown(findings: list[Finding], path: str | os.PathLike, header: str) -> None:
    rows = distinct(findings)
    out = [header.rstrip(), "", f"{len(rows)} distinct findings (operation × caller × check × status).", ""]
    tally: dict[tuple, int] = {}
    for f in rows:
        tally[(f.check, f.status)] = tally.get((f.check, f.status), 0) + 1
    out += [f"- `{check}`, status {status}: {n}" for (check, status), n in sorted(tally.items())] + [""]
    operation = None
    for f in rows:
        if f.operation != operation:
            operation = f.operation
            out += [f"## {operation}", ""]
        seen_in = "" if f.sent_as == f.run else f" (in the {f.run} run)"
        out += [
            f"- **{f.sent_as}**{seen_in} · `{f.check}` ({f.code} {f.title}) · **{f.status}**",
            "  ```sh",
            f"  {f.request}",
            "  ```",
            f"  response: `{f.response}`",
        ]
        if f.server_error:
            out.append(f"  server error: `{f.server_error}`")
        message = " ".join(f.message.split())
        if message:
            out.append(f"  schemathesis: {message[:400]}")
        out.append("")
    Path(path).write_text("\n".join(out), encoding="utf-8")
