"""deploy/postgres-init/10-accounts.sh for real (security review P2): run as the postgres image
runs it, as the superuser on a fresh cluster of its own (PostgreSQL's initdb, on a private
socket), then each account tried for what it may and may not do."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path

import psycopg2
import pytest
from conftest import ROOT

SCRIPT = ROOT / "deploy" / "postgres-init" / "10-accounts.sh"


def _bindir() -> Path | None:
    try:
        found = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    bindir = Path(found)
    return bindir if (bindir / "initdb").exists() and (bindir / "pg_ctl").exists() else None


BINDIR = _bindir()


@pytest.fixture(autouse=True)
def _server_binaries() -> None:
    # Part of what the suite covers: missing binaries fail the run, never skip it quietly.
    if BINDIR is None or shutil.which("psql") is None:
        pytest.fail("PostgreSQL's server binaries (initdb, pg_ctl via pg_config) and psql are needed", pytrace=False)


def _as_owner(command: list[str]) -> list[str]:
    """initdb and the server refuse to run as root: as root, run them as the postgres user."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


@pytest.fixture
def cluster():
    """A fresh cluster, reachable only through a socket of its own; its superuser postgres.
    (In the system's temporary directory: pytest's own is closed to the postgres user.)"""
    tmp_path = Path(tempfile.mkdtemp(prefix="aftersales-accounts-"))
    data, sockets = tmp_path / "data", tmp_path / "run"
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(tmp_path, "postgres")
        shutil.chown(sockets, "postgres")
    subprocess.run(_as_owner([str(BINDIR / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"]),
                   check=True, capture_output=True)
    options = f"-c listen_addresses='' -c unix_socket_directories={sockets} -c fsync=off"
    subprocess.run(_as_owner([str(BINDIR / "pg_ctl"), "-D", str(data), "-o", options, "-w", "-l", str(tmp_path / "log"),
                              "start"]), check=True, capture_output=True)
    try:
        yield sockets
    finally:
        subprocess.run(_as_owner([str(BINDIR / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]), capture_output=True)
        shutil.rmtree(tmp_path, ignore_errors=True)


def run_script(sockets: Path) -> None:
    env = {**os.environ, "PGHOST": str(sockets), "POSTGRES_USER": "postgres",
           "AFTERSALES_DB_PASSWORD": "app-secret-1", "TEMPORAL_DB_PASSWORD": "temporal-secret-2"}
    done = subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


@contextmanager
def connect(sockets: Path, user: str, database: str):
    """An autocommit connection, closed after (psycopg2's own ``with`` opens a transaction)."""
    connection = psycopg2.connect(host=str(sockets), user=user, dbname=database)
    connection.autocommit = True
    try:
        yield connection
    finally:
        connection.close()


def test_P2_the_init_script_makes_two_accounts_that_reach_only_their_own_databases(cluster):
    run_script(cluster)
    run_script(cluster)  # again, as by hand on an existing volume: nothing fails

    with connect(cluster, "postgres", "postgres") as admin, admin.cursor() as cur:
        cur.execute("SELECT rolname, rolsuper, rolcreatedb, rolcreaterole, rolpassword IS NOT NULL FROM pg_authid "
                    "WHERE rolname IN ('aftersales', 'temporal') ORDER BY rolname")
        assert cur.fetchall() == [("aftersales", False, False, False, True), ("temporal", False, False, False, True)]
        cur.execute("SELECT datname, pg_get_userbyid(datdba) FROM pg_database "
                    "WHERE datname IN ('aftersales', 'temporal', 'temporal_visibility') ORDER BY datname")
        assert cur.fetchall() == [("aftersales", "aftersales"), ("temporal", "temporal"),
                                  ("temporal_visibility", "temporal")]

    # Each account works in its own database: the product's migrations, Temporal's schema
    # (whose visibility indexes need btree_gin, made by the script).
    with connect(cluster, "aftersales", "aftersales") as app, app.cursor() as cur:
        cur.execute("CREATE TABLE probe (id int PRIMARY KEY)")
    with connect(cluster, "temporal", "temporal_visibility") as temporal, temporal.cursor() as cur:
        cur.execute("CREATE TABLE probe (namespace_id char(64), search_attributes jsonb)")
        cur.execute("CREATE INDEX ON probe USING GIN (namespace_id, search_attributes jsonb_path_ops)")
    with connect(cluster, "temporal", "temporal") as temporal, temporal.cursor() as cur:
        cur.execute("CREATE TABLE probe (id int PRIMARY KEY)")

    # … and nowhere else: neither reaches the other's databases, nor makes databases or roles.
    for user, database in (("aftersales", "temporal"), ("aftersales", "temporal_visibility"),
                           ("temporal", "aftersales")):
        with pytest.raises(psycopg2.OperationalError, match="permission denied for database"):
            psycopg2.connect(host=str(cluster), user=user, dbname=database).close()
    for user, database in (("aftersales", "aftersales"), ("temporal", "temporal")):
        with connect(cluster, user, database) as connection, connection.cursor() as cur:
            for statement in ("CREATE DATABASE sneaky", "CREATE ROLE sneaky"):
                with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                    cur.execute(statement)
