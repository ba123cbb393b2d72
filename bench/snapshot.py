"""One consistent read of the case file: the rows the checks need, as dicts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass
class Snapshot:
    taken_at: datetime  # the database's now(), in the same transaction
    cases: list[dict]
    events: list[dict]
    clocks: list[dict]
    escalations: list[dict]
    notifications: list[dict]


def _rows(cur, sql: str) -> list[dict]:
    cur.execute(sql)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]


def take(conn) -> Snapshot:
    """Every table in one repeatable-read transaction (``conn`` is left in autocommit)."""
    conn.set_session(isolation_level="REPEATABLE READ", readonly=True, autocommit=False)
    try:
        with conn.cursor() as cur:
            cur.execute("select now()")
            taken_at = cur.fetchone()[0]
            snap = Snapshot(
                taken_at,
                _rows(cur, "select id, case_no, kind, severity, idempotency_key, received_at, last_seq from cases"),
                _rows(cur, "select case_id, seq, type, at, data from case_events order by case_id, seq"),
                _rows(cur, "select case_id, name, deadline, met_at, warned_at, breached_at, level from sla_clocks"),
                _rows(cur, "select case_id, seq, level, source, clock, at from escalations"),
                _rows(cur, "select id, key, case_id, template, recipient, status, channel, attempts, sent_at, last_error "
                           "from notifications"),
            )
        conn.rollback()
        return snap
    finally:
        conn.set_session(autocommit=True)
