"""The product as ``make run`` starts it, but all of its own: a snapshot of the source, a
PostgreSQL database, ports, a Temporal dev server on its own SQLite file, the worker and the
API, each in its own process group so that it can be killed with -9 and started again.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import io
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psycopg2
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
TEMPORAL = Path(sys.executable).with_name("temporal")
ADMIN_URL = os.environ.get("AFTERSALES_BENCH_ADMIN_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
RESERVED_PORTS = {7233, 8000, 8233}  # a developer's `make run` may hold these
TOKEN = "bench-agent"
TOKENS = f"{TOKEN}=agent,bench-supervisor=supervisor"


# -- the source ---------------------------------------------------------------------------------

def snapshot_source(dest: Path, ref: str | None) -> str:
    """Copy the product into ``dest`` so that every start and restart runs the same code while
    others edit the checkout: the working tree as it is now (tracked and untracked files that
    git does not ignore), or the commit ``ref``. Returns a description of what was copied."""
    dest.mkdir(parents=True)
    if ref:
        commit = subprocess.run(["git", "rev-parse", ref], cwd=REPO, check=True, capture_output=True, text=True).stdout.strip()
        archive = subprocess.run(["git", "archive", "--format=tar", commit], cwd=REPO, check=True, capture_output=True).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(dest, filter="data")
        return f"commit {commit[:12]}"
    head = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout.strip()
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO, check=True, capture_output=True
    ).stdout.decode().split("\0")
    for name in filter(None, listed):
        if name.startswith("bench/"):
            continue
        source = REPO / name
        if source.is_file():  # a tracked file deleted in the working tree is skipped
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO, capture_output=True, text=True).stdout
    return f"working tree at {head}" + (f" with {len(dirty.splitlines())} uncommitted change(s)" if dirty.strip() else "")


# -- ports and the time zone --------------------------------------------------------------------

def _free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_ports(count: int) -> list[int]:
    """Ports below the kernel's ephemeral range (so that no outgoing connection takes one while
    its server is down), free now, never the developer's 7233/8000/8233."""
    chosen: list[int] = []
    while len(chosen) < count:
        port = random.randint(20000, 30999)
        if port not in RESERVED_PORTS and port not in chosen and _free(port):
            chosen.append(port)
    return chosen


def daytime_zone(now: datetime | None = None, local_hour: int = 13) -> str:
    """An IANA zone without daylight saving in which it is about ``local_hour`` now, so that
    customers' quiet hours (21:00–08:00 by default) hold no message during the run."""
    now = now or datetime.now(UTC)
    offset = (local_hour - now.hour + 12) % 24 - 12  # -12 .. +11
    if offset == 0:
        return "Etc/UTC"
    # Etc/GMT's sign is POSIX's: Etc/GMT+5 is UTC-5.
    return f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"


# -- the database --------------------------------------------------------------------------------

def _admin():
    url = make_url(ADMIN_URL)
    conn = psycopg2.connect(host=url.host, port=url.port or 5432, user=url.username, password=url.password, dbname=url.database)
    conn.autocommit = True
    return conn


def create_database() -> tuple[str, str]:
    name = f"aftersales_bench_{uuid.uuid4().hex[:10]}"
    conn = _admin()  # not `with conn`: psycopg2 would open a transaction, where CREATE DATABASE cannot run
    try:
        with conn.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
    finally:
        conn.close()
    url = make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    return name, url


def drop_database(name: str) -> None:
    conn = _admin()
    try:
        with conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        conn.close()


def connect(url: str):
    u = make_url(url)
    return psycopg2.connect(host=u.host, port=u.port or 5432, user=u.username, password=u.password, dbname=u.database)


# -- the processes ------------------------------------------------------------------------------

@dataclass
class Proc:
    """One of the product's processes: started in a process group of its own, logging to a file."""

    name: str
    command: list[str]
    cwd: Path
    env: dict[str, str]
    log_path: Path
    popen: subprocess.Popen | None = None
    starts: list[float] = field(default_factory=list)

    def start(self) -> int:
        """Start it; returns the log's size before the start, to look for its ready line."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        log = self.log_path.open("ab")
        log.write(f"\n===== bench: starting {self.name} at {datetime.now(UTC).isoformat()} =====\n".encode())
        log.flush()
        self.popen = subprocess.Popen(
            self.command, cwd=self.cwd, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        self.starts.append(time.time())
        return offset

    @property
    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill9(self) -> None:
        """kill -9 the whole process group, and reap it."""
        if self.popen is None:
            return
        try:
            os.killpg(self.popen.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.popen.wait()

    def stop(self, timeout: float = 15) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        try:
            os.killpg(self.popen.pid, signal.SIGTERM)
            self.popen.wait(timeout=timeout)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            self.kill9()

    def log_since(self, offset: int) -> str:
        with self.log_path.open("rb") as f:
            f.seek(offset)
            return f.read().decode(errors="replace")


def product_env(*, src: Path, data_dir: Path, database_url: str, temporal_port: int, ui_port: int, api_port: int,
                timezone: str, sms_url: str, wecom_url: str, policy: str) -> dict[str, str]:
    """The environment of the worker and the API: every AFTERSALES_ setting the caller's shell
    may hold is dropped, then ours are set."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AFTERSALES_")}
    env.update(
        AFTERSALES_ENVIRONMENT="dev",
        AFTERSALES_DATA_DIR=str(data_dir),
        AFTERSALES_DATABASE_URL=database_url,
        AFTERSALES_TEMPORAL_ADDRESS=f"127.0.0.1:{temporal_port}",
        AFTERSALES_TEMPORAL_UI_PORT=str(ui_port),
        AFTERSALES_API_HOST="127.0.0.1",
        AFTERSALES_API_PORT=str(api_port),
        AFTERSALES_POLICY=str(src / policy),
        AFTERSALES_API_TOKENS=TOKENS,
        AFTERSALES_TIMEZONE=timezone,
        AFTERSALES_SMS_URL=sms_url,
        AFTERSALES_SMS_TOKEN="bench-sms-token",
        AFTERSALES_WECOM_WEBHOOK_URL=wecom_url,
        PYTHONUNBUFFERED="1",
    )
    return env


def migrate(src: Path, env: dict[str, str]) -> None:
    """alembic upgrade head, as tests/conftest.py and run.py do (the URL from the settings)."""
    subprocess.run([PYTHON, "-m", "alembic", "-c", str(src / "alembic.ini"), "upgrade", "head"], cwd=src, env=env,
                   check=True, capture_output=True)


def temporal_proc(*, src: Path, work: Path, port: int, ui_port: int, http_port: int, metrics_port: int,
                  search_attribute_flags: list[str], env: dict[str, str]) -> Proc:
    command = [
        str(TEMPORAL), "server", "start-dev",
        "--ip", "127.0.0.1", "--port", str(port), "--ui-port", str(ui_port),
        "--http-port", str(http_port), "--metrics-port", str(metrics_port),
        "--db-filename", str(work / "temporal.db"),
        "--log-level", "error",
    ]
    for flag in search_attribute_flags:
        command += ["--search-attribute", flag]
    return Proc("temporal", command, src, env, work / "logs" / "temporal.log")


def worker_proc(src: Path, work: Path, env: dict[str, str]) -> Proc:
    return Proc("worker", [PYTHON, "worker.py"], src, env, work / "logs" / "worker.log")


def api_proc(src: Path, work: Path, env: dict[str, str], port: int) -> Proc:
    command = [PYTHON, "-m", "uvicorn", "--factory", "api.app:create_app", "--host", "127.0.0.1", "--port", str(port),
               "--log-level", "warning", "--no-access-log"]
    return Proc("api", command, src, env, work / "logs" / "api.log")
