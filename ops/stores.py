"""The stores a backup set holds, and what can be done with each: take a consistent copy, check a
copy, count its rows, restore it, and tell who still uses it.

A store is a PostgreSQL database, copied with ``pg_dump -Fc`` from an exported snapshot, or an
SQLite file, copied with SQLite's online backup API. Both copies are taken while the product
runs. Names: ``casefile``, and ``temporal`` plus ``temporal_visibility`` in production, or
``temporal`` alone for the dev server's single file.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

CASE_FILE = "casefile"
MAINTENANCE_DB = os.environ.get("BACKUP_MAINTENANCE_DB", "postgres")  # pg_restore --create connects here


class StoreError(Exception):
    """A store cannot be copied, checked or restored; the message says why."""


@dataclass(frozen=True)
class Store:
    name: str
    url: str  # postgresql://user[:password]@host[:port]/database[?…] or sqlite:////absolute/path

    @classmethod
    def of(cls, name: str, url: str) -> Store:
        """A store from a SQLAlchemy or libpq URL, or from a plain path to an SQLite file."""
        if "://" not in url:
            return cls(name, f"sqlite:///{Path(url).resolve()}")
        scheme, rest = url.split("://", 1)
        base = scheme.split("+", 1)[0]
        if base == "sqlite":
            path = rest[1:] if rest.startswith("/") else rest  # sqlite:///relative, sqlite:////absolute
            if not path or path == ":memory:":
                raise StoreError(f"{name}: an in-memory SQLite database cannot be backed up")
            return cls(name, f"sqlite:///{Path(path).resolve()}")
        if base in ("postgresql", "postgres"):
            return cls(name, f"postgresql://{rest}")
        raise StoreError(f"{name}: unsupported database URL scheme {scheme!r} (PostgreSQL or SQLite)")

    def sibling(self, name: str, database: str) -> Store:
        """Another database on the same PostgreSQL server, with the same account."""
        parts = urlsplit(self.url)
        return Store(name, urlunsplit((parts.scheme, parts.netloc, "/" + quote(database), parts.query, "")))

    @property
    def kind(self) -> str:
        return "sqlite" if self.url.startswith("sqlite:") else "postgresql"

    @property
    def filename(self) -> str:
        return f"{self.name}.dump" if self.kind == "postgresql" else f"{self.name}.sqlite"

    @property
    def path(self) -> Path:
        return Path(self.url.removeprefix("sqlite:///"))

    @property
    def database(self) -> str:
        return self.path.name if self.kind == "sqlite" else unquote(urlsplit(self.url).path.lstrip("/"))

    def libpq(self, database: str | None = None) -> str:
        """The URL without its password (passed in PGPASSWORD, never on a command line)."""
        parts = urlsplit(self.url)
        user = quote(unquote(parts.username), safe="") + "@" if parts.username else ""
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        netloc = user + host + (f":{parts.port}" if parts.port else "")
        path = "/" + quote(database) if database is not None else parts.path
        return urlunsplit(("postgresql", netloc, path, parts.query, ""))

    @property
    def password(self) -> str | None:
        password = urlsplit(self.url).password
        return unquote(password) if password else None

    @property
    def public(self) -> str:
        """Where the store is, fit for a manifest or a log: no password."""
        return self.url if self.kind == "sqlite" else self.libpq()

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.password:
            env["PGPASSWORD"] = self.password
        return env


class Conn:
    """A DB-API connection that takes ``?`` parameters and aware datetimes on both databases."""

    def __init__(self, raw: Any, kind: str):
        self.raw, self.kind = raw, kind

    def rows(self, sql: str, *params: Any) -> list[tuple]:
        cursor = self.raw.cursor()
        try:
            if self.kind == "postgresql" and params:
                sql = sql.replace("?", "%s")
            cursor.execute(sql, tuple(self._param(p) for p in params)) if params else cursor.execute(sql)
            return list(cursor.fetchall()) if cursor.description else []
        finally:
            cursor.close()

    def _param(self, value: Any) -> Any:
        if self.kind == "sqlite" and isinstance(value, datetime):
            # As the application writes them on SQLite (adapters.storage.db.UTCDateTime).
            return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")
        return value

    def tables(self) -> list[str]:
        if self.kind == "sqlite":
            sql = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
            return [name for (name,) in self.rows(sql)]
        sql = ("SELECT schemaname, tablename FROM pg_tables "
               "WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2")
        return [name if schema == "public" else f"{schema}.{name}" for schema, name in self.rows(sql)]

    def row_counts(self) -> dict[str, int]:
        counts = {}
        for table in self.tables():
            quoted = ".".join(f'"{part}"' for part in table.split("."))
            counts[table] = self.rows(f"SELECT count(*) FROM {quoted}")[0][0]
        return counts

    def commit(self) -> None:
        self.raw.commit()

    def close(self) -> None:
        self.raw.close()


def _pg_connect(store: Store, database: str | None = None) -> Any:
    import psycopg2  # only where PostgreSQL is used: `make run`'s SQLite needs no driver

    return psycopg2.connect(store.libpq(database), password=store.password, connect_timeout=10,
                            application_name="aftersales-backup")


def _sqlite_readonly(path: Path) -> sqlite3.Connection:
    """A copy in a set: read as it is, without locks or side files (copies are kept in
    rollback-journal mode for this)."""
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True)


@contextlib.contextmanager
def connect(store: Store) -> Iterator[Conn | None]:
    """The live store, or None when it is not there (a lost server, a deleted file). Nothing
    is written unless the caller writes and commits."""
    if store.kind == "sqlite":
        if not store.path.exists():
            yield None
            return
        raw = sqlite3.connect(str(store.path), timeout=30)
    else:
        try:
            raw = _pg_connect(store)
        except Exception:  # psycopg2.OperationalError: no server, no database, no access
            yield None
            return
    conn = Conn(raw, store.kind)
    try:
        yield conn
    finally:
        conn.close()


@contextlib.contextmanager
def open_copy(path: Path) -> Iterator[Conn]:
    """An SQLite copy in a set, read-only."""
    conn = Conn(_sqlite_readonly(path), "sqlite")
    try:
        yield conn
    finally:
        conn.close()


class Snapshot:
    """One store as of one instant: ``dump()`` writes it to the set, ``conn`` reads it."""

    def __init__(self, store: Store, dest: Path):
        self.store, self.dest = store, dest
        self.taken_at = datetime.now(UTC)
        self._snapshot_id: str | None = None
        if store.kind == "postgresql":
            raw = _pg_connect(store)
            # The snapshot pg_dump will read, exported from a transaction we keep open: the
            # manifest's counts and numbers come from the very same instant.
            raw.set_session(isolation_level="REPEATABLE READ", readonly=True)
            self.conn = Conn(raw, "postgresql")
            self._snapshot_id, self.taken_at = self.conn.rows("SELECT pg_export_snapshot(), now()")[0]
            self.server_version = self.conn.rows("SHOW server_version")[0][0]
        else:
            if not store.path.exists():
                raise StoreError(f"{store.name}: {store.path} does not exist")
            source = sqlite3.connect(str(store.path), timeout=30)
            target = sqlite3.connect(str(dest))
            try:
                source.backup(target)  # one step: a consistent copy even while the product writes
                target.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
                target.commit()
            finally:
                target.close()
                source.close()
            self.server_version = sqlite3.sqlite_version
            self.conn = Conn(_sqlite_readonly(dest), "sqlite")

    def dump(self) -> None:
        if self.store.kind == "postgresql":
            _run(["pg_dump", "--format=custom", f"--snapshot={self._snapshot_id}", "--file", str(self.dest),
                  "--dbname", self.store.libpq()], self.store, f"pg_dump of {self.store.name}")

    def close(self) -> None:
        self.conn.close()


def check_copy(kind: str, path: Path) -> str | None:
    """None when the copy can be read back; else what is wrong with it."""
    if kind == "postgresql":
        out = subprocess.run(["pg_restore", "--list", str(path)], capture_output=True, text=True)
        if out.returncode != 0:
            return f"pg_restore --list fails: {out.stderr.strip()[:300]}"
        return None
    try:
        with open_copy(path) as conn:
            result = conn.rows("PRAGMA quick_check")[0][0]
    except sqlite3.Error as exc:
        return f"sqlite3 cannot open it: {exc}"
    return None if result == "ok" else f"sqlite3 quick_check: {result}"


def copy_row_counts(kind: str, path: Path) -> dict[str, int] | None:
    """The rows in an SQLite copy (a PostgreSQL dump is counted once restored)."""
    if kind != "sqlite":
        return None
    with open_copy(path) as conn:
        return conn.row_counts()


def users(store: Store) -> list[str]:
    """Who else has the store open: a running product (or a backup) must not see a restore."""
    if store.kind == "sqlite":
        return _file_holders(store.path)
    raw = _pg_connect(store, MAINTENANCE_DB)
    try:
        conn = Conn(raw, "postgresql")
        rows = conn.rows(
            "SELECT pid, usename, application_name, client_addr FROM pg_stat_activity "
            "WHERE datname = ? AND pid <> pg_backend_pid()", store.database)
    finally:
        raw.close()
    return [f"pid {pid} ({user}, {app or 'no application name'}, {addr or 'local'})" for pid, user, app, addr in rows]


def _file_holders(path: Path) -> list[str]:
    names = {str(path.resolve()) + suffix for suffix in ("", "-wal", "-shm", "-journal")}
    holders = []
    proc = Path("/proc")
    if not proc.is_dir():
        return holders  # not Linux: the operator's word that the product is stopped
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if any(os.readlink(fd) in names for fd in (entry / "fd").iterdir()):
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
                holders.append(f"pid {entry.name} ({command[:120]})")
        except OSError:  # gone meanwhile, or not ours to look at
            continue
    return holders


def restore(store: Store, copy: Path, database_in_copy: str) -> None:
    """Replace the store with the copy. The product must be stopped (``users`` says)."""
    if store.kind == "postgresql":
        if store.database != database_in_copy:
            raise StoreError(f"{store.name}: the set holds database {database_in_copy!r}, the target is "
                             f"{store.database!r}; restore into a database of the set's name")
        # --create with --clean drops and re-creates the database with its owner, grants and
        # settings (connected to the maintenance database): nothing of the old one survives,
        # and a database still in use is refused by PostgreSQL itself.
        _run(["pg_restore", "--clean", "--if-exists", "--create", "--exit-on-error",
              "--dbname", store.libpq(MAINTENANCE_DB), str(copy)], store, f"pg_restore of {store.name}")
        return
    target = store.path
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".restoring")
    partial.unlink(missing_ok=True)
    source, dest = _sqlite_readonly(copy), sqlite3.connect(str(partial))
    try:
        source.backup(dest)
    finally:
        dest.close()
        source.close()
    with open(partial, "rb+") as f:
        os.fsync(f.fileno())
    # A journal or WAL left by the old file would be played into the new one: remove them.
    for suffix in ("-journal", "-wal", "-shm"):
        target.with_name(target.name + suffix).unlink(missing_ok=True)
    os.replace(partial, target)


def _run(command: Sequence[str], store: Store, what: str) -> None:
    out = subprocess.run(list(command), env=store.env(), capture_output=True, text=True)
    if out.returncode != 0:
        raise StoreError(f"{what} failed ({out.returncode}): {out.stderr.strip()[:1000]}")
