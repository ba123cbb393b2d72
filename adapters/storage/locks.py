"""One holder at a time across processes: PostgreSQL's advisory locks.

Several API replicas run the same background passes; each pass takes its lock without
waiting, so exactly one replica does it and the others skip that round.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import func, select

from adapters.storage.db import Database


@contextmanager
def exclusive(db: Database, name: str) -> Iterator[bool]:
    """Yield True when this process holds ``name`` for the block, False when another does.
    SQLite (the single-process development setup) always holds it."""
    if db.engine.dialect.name != "postgresql":
        yield True
        return
    key = zlib.crc32(f"aftersales:{name}".encode())
    with db.engine.connect() as conn:
        held = bool(conn.execute(select(func.pg_try_advisory_lock(key))).scalar())
        conn.commit()
        try:
            yield held
        finally:
            if held:
                conn.execute(select(func.pg_advisory_unlock(key)))
                conn.commit()
