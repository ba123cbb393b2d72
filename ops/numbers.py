"""Case numbers and project ids: which ones a store knows, and the numbering floor a restore
leaves so that no number is ever given twice (security review R7).

How numbers are given (adapters/storage): a case number is the local day and that day's
counter, ``AS20261130-0002`` (``case_counters``: day → last); a project id is ``PJ`` and the
``project`` counter (``number_counters``, migration 0012). A restore brings both stores back
to the backup's instant, but the numbers given after it live on in customers' SMS. So the
restore raises the counters:

- every day from the backup's day to the restore's day, taken as wide as any time zone makes
  them (dates of backup - 12 h … restore + 14 h in UTC, so no time-zone setting can miss the
  day a new case is numbered in), resumes at (the highest number known for that day) + GAP;
- projects resume at (the highest project number known) + GAP;

where "known" is everything the restore can read: the restored case file and Temporal's
restored workflow ids, the case file and Temporal's store as they were just before the
restore (when they are still there), and the manifests of every set in the backups folder.
When the old stores were readable the known numbers are exact and GAP only marks the restore
in the numbering; when they were lost, GAP (default 1000, ``--gap``) is the room left for the
numbers given between the backup and the loss.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from ops.stores import Conn

GAP = 1000
CASE_NO = re.compile(r"^[A-Z]*(\d{8})-(\d+)$")
PROJECT_ID = re.compile(r"^PJ(\d+)$")
# Workflow ids (domain/case.py, domain/project.py): case-<case number>, project-<project id>.
CASE_WORKFLOW = re.compile(r"^case-([A-Z]*\d{8}-\d+)$")
PROJECT_WORKFLOW = re.compile(r"^project-(PJ\d+)$")
TEMPORAL_ID_TABLES = ("current_executions", "executions_visibility")


@dataclass
class Known:
    """The highest case number per day and the highest project number a source knows."""

    days: dict[str, int] = field(default_factory=dict)
    project: int = 0
    max_case_no: str | None = None

    def case(self, case_no: str) -> None:
        match = CASE_NO.match(case_no)
        if match:
            day, n = match.group(1), int(match.group(2))
            self.day(day, n)
            if self.max_case_no is None or (day, n) > _key(self.max_case_no):
                self.max_case_no = case_no

    def day(self, day: str, last: int) -> None:
        if last > self.days.get(day, 0):
            self.days[day] = last

    def project_id(self, project_id: str) -> None:
        match = PROJECT_ID.match(project_id)
        if match:
            self.project = max(self.project, int(match.group(1)))

    def merge(self, other: Known) -> Known:
        for day, last in other.days.items():
            self.day(day, last)
        self.project = max(self.project, other.project)
        if other.max_case_no:
            self.case(other.max_case_no)
        return self

    @property
    def max_project_id(self) -> str | None:
        return f"PJ{self.project:06d}" if self.project else None

    def to_json(self) -> dict[str, Any]:
        return {"max_case_no": self.max_case_no, "max_project_id": self.max_project_id,
                "days": dict(sorted(self.days.items())), "project": self.project}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Known:
        known = cls(days={str(d): int(n) for d, n in (data.get("days") or {}).items()},
                    project=int(data.get("project") or 0))
        if data.get("max_case_no"):
            known.case(data["max_case_no"])
        return known


def _key(case_no: str) -> tuple[str, int]:
    match = CASE_NO.match(case_no)
    return (match.group(1), int(match.group(2))) if match else ("", 0)


def of_case_file(conn: Conn) -> Known:
    known = Known()
    tables = set(conn.tables())
    if "case_counters" in tables:  # the counter is written with its case, in one transaction
        for day, last in conn.rows("SELECT day, last FROM case_counters"):
            known.day(str(day), int(last))
    if "cases" in tables and known.days:
        latest = max(known.days)
        for (case_no,) in conn.rows("SELECT case_no FROM cases WHERE case_no LIKE ?", f"%{latest}-%"):
            known.case(case_no)
    if "projects" in tables:
        for (project_id,) in conn.rows("SELECT project_id FROM projects WHERE project_id IS NOT NULL"):
            known.project_id(project_id)
        known.project = max(known.project, conn.rows("SELECT coalesce(max(id), 0) FROM projects")[0][0])
    if "number_counters" in tables:
        for (last,) in conn.rows("SELECT last FROM number_counters WHERE name = 'project'"):
            known.project = max(known.project, int(last))
    return known


def workflow_ids(conn: Conn) -> set[str] | None:
    """Our workflows' ids in a Temporal store (its own tables: the server is down while a
    restore runs); None when the store has none of the tables we know."""
    tables = set(conn.tables())
    present = [t for t in TEMPORAL_ID_TABLES if t in tables]
    if not present:
        return None
    ids: set[str] = set()
    for table in present:
        sql = f"SELECT DISTINCT workflow_id FROM {table} WHERE workflow_id LIKE 'case-%' OR workflow_id LIKE 'project-%'"
        ids.update(workflow_id for (workflow_id,) in conn.rows(sql))
    return ids


def of_workflows(ids: set[str]) -> Known:
    known = Known()
    for workflow_id in ids:
        if match := CASE_WORKFLOW.match(workflow_id):
            known.case(match.group(1))
        elif match := PROJECT_WORKFLOW.match(workflow_id):
            known.project_id(match.group(1))
    return known


def floor_days(taken_at: datetime, now: datetime, known: Known) -> list[str]:
    """Every day a number may have been given on between the backup and now, in any zone."""
    first, last = (taken_at - timedelta(hours=12)).astimezone(UTC).date(), (now + timedelta(hours=14)).astimezone(UTC).date()
    days = {(first + timedelta(days=i)).strftime("%Y%m%d") for i in range((last - first).days + 1)}
    days |= {day for day in known.days if day >= first.strftime("%Y%m%d")}  # a clock ahead
    return sorted(days)


def floors(known: Known, taken_at: datetime, now: datetime, gap: int = GAP) -> tuple[dict[str, int], int]:
    """The case counters' floors per day and the project counter's floor after a restore."""
    return ({day: known.days.get(day, 0) + gap for day in floor_days(taken_at, now, known)},
            known.project + gap)


_KEEP_GREATER = "CASE WHEN excluded.last > {t}.last THEN excluded.last ELSE {t}.last END"


def ensure_tables(conn: Conn) -> None:
    """The counters and the restore marker, for a set taken before migration 0012 (the
    migration then finds them and keeps their values)."""
    serial = "SERIAL PRIMARY KEY" if conn.kind == "postgresql" else "INTEGER PRIMARY KEY"
    stamp = "TIMESTAMP WITH TIME ZONE" if conn.kind == "postgresql" else "DATETIME"
    conn.rows("CREATE TABLE IF NOT EXISTS number_counters (name VARCHAR(20) PRIMARY KEY, last INTEGER NOT NULL)")
    conn.rows(f"CREATE TABLE IF NOT EXISTS restores (id {serial}, restored_at {stamp} NOT NULL, "
              f"set_name VARCHAR(200) NOT NULL, taken_at {stamp} NOT NULL, gap INTEGER NOT NULL, floors TEXT NOT NULL)")


def raise_counters(conn: Conn, days: dict[str, int], project: int, *, set_name: str, taken_at: datetime,
                   now: datetime, gap: int) -> None:
    """Write the floors into the restored case file, and a restore marker saying so."""
    ensure_tables(conn)
    for day, last in days.items():
        conn.rows("INSERT INTO case_counters (day, last) VALUES (?, ?) ON CONFLICT (day) DO UPDATE SET last = "
                  + _KEEP_GREATER.format(t="case_counters"), day, last)
    conn.rows("INSERT INTO number_counters (name, last) VALUES ('project', ?) ON CONFLICT (name) DO UPDATE SET last = "
              + _KEEP_GREATER.format(t="number_counters"), project)
    conn.rows("INSERT INTO restores (restored_at, set_name, taken_at, gap, floors) VALUES (?, ?, ?, ?, ?)",
              now, set_name, taken_at, gap, json.dumps({"case_counters": days, "project": project}))
    conn.commit()


def restart_unrecorded(conn: Conn, ids: set[str], since: datetime) -> list[str]:
    """Cases and projects the case file has recorded but whose workflow the restored Temporal
    store does not have: opened in the instant between the two snapshots. Marked as not yet
    started (``last_seq = 0``), so the API's repair pass starts their workflows; their events
    so far are the opening ones, which the new workflow records identically. Only those
    opened after ``since`` (shortly before Temporal's snapshot): an older case without a
    workflow was removed by Temporal's retention and must stay closed."""
    tables = set(conn.tables())
    marked = []
    for table, number, workflow in (("cases", "case_no", "case-"), ("projects", "project_id", "project-")):
        if table not in tables:
            continue
        rows = conn.rows(f"SELECT id, {number} FROM {table} WHERE last_seq > 0 AND created_at >= ?", since)
        missing = [(pk, no) for pk, no in rows if no and f"{workflow}{no}" not in ids]
        for pk, no in missing:
            conn.rows(f"UPDATE {table} SET last_seq = 0 WHERE id = ?", pk)
            marked.append(no)
    conn.commit()
    return marked
