"""Engine, sessions and the two small SQL helpers both dialects need."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Engine, create_engine, event, or_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator


class Base(DeclarativeBase):
    pass


class UTCDateTime(TypeDecorator):
    """Aware datetimes in, aware UTC datetimes out, on PostgreSQL and on SQLite alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the case file; pass an aware datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Database:
    """One engine per process; sessions are short and used from activity threads too."""

    def __init__(self, url: str, **engine_args: Any):
        if url.startswith("sqlite"):
            engine_args.setdefault("connect_args", {"check_same_thread": False, "timeout": 30})
        else:
            engine_args.setdefault("pool_pre_ping", True)  # survive a restarted database
            # An unreachable host fails in seconds (a transient error, retried), not after the
            # system's two minutes with an activity thread held and no heartbeat.
            engine_args.setdefault("connect_args", {"connect_timeout": 10})
        # No bind values in an error's text: they are names, phones and addresses, and an
        # error's text reaches logs and Temporal histories. (PostgreSQL's own DETAIL can still
        # name a key's value: the API logs only the class, activities only the SQLSTATE.)
        engine_args.setdefault("hide_parameters", True)
        self.engine: Engine = create_engine(url, **engine_args)
        if url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in a transaction: committed on success, rolled back on error."""
        with self._sessions() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")  # the worker and the API write at once
    cursor.close()


def insert(session: Session, table: Any) -> Any:
    """An INSERT that knows ON CONFLICT, for PostgreSQL and SQLite."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"unsupported database {dialect!r}: use PostgreSQL or SQLite")


def contains_text(text: str, *columns: Any) -> Any:
    """Any of ``columns`` contains ``text`` as typed, case-insensitively: ``%`` and ``_`` match
    themselves, not as LIKE's wildcards."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return or_(*(column.ilike(f"%{escaped}%", escape="\\") for column in columns))
