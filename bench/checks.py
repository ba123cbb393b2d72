"""What the run left behind, read from the case file, the peers' logs and Temporal, and the
invariants it must satisfy.

Nobody acts on the bench's cases, so every clock runs out: each SLA clock (response, plan,
resolution) must be breached exactly once (a ``clock_breached`` event with ``data.clock``)
and escalated exactly once at each further level of its kind's chain (``escalated`` events
with ``data.source == "clock"``), at ``received_at + limit × (1 + after)``. Every event owes
the messages the policy's chain names, keyed ``case-<no>:<seq>:<template>:<recipient>``;
each must end ``sent``, and reach the peer once.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bench.load import Intake
from bench.peers import PeerRequest

SLA_CLOCKS = ("response", "plan", "resolution")
EVIDENCE = 12  # evidence lines kept per failed invariant


@dataclass
class Snapshot:
    taken_at: datetime
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
    """One consistent read (a repeatable-read transaction) of the tables the checks need."""
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
                _rows(cur, "select id, key, case_id, template, recipient, status, channel, attempts, sent_at, last_error from notifications"),
            )
        conn.rollback()
        return snap
    finally:
        conn.set_session(autocommit=True)


@dataclass
class Invariant:
    name: str
    failures: int = 0
    evidence: list[str] = field(default_factory=list)

    def fail(self, line: str) -> None:
        self.failures += 1
        if len(self.evidence) < EVIDENCE:
            self.evidence.append(line)


@dataclass
class Result:
    figures: dict[str, Any]
    invariants: dict[str, Invariant]
    pending: dict[str, int]  # what is due but not there yet (the drain waits for these to be 0)

    @property
    def failed(self) -> list[Invariant]:
        return [inv for inv in self.invariants.values() if inv.failures]


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def lateness(values: list[float]) -> dict[str, float | None]:
    return {"p50": _pct(values, 0.5), "p95": _pct(values, 0.95), "max": max(values) if values else None,
            "mean": statistics.fmean(values) if values else None}


def evaluate(snap: Snapshot, items: list[Intake], policy, *, peer: list[PeerRequest] | None = None,
             workflows: list[dict] | None = None, worker_kills: list[float] = (), final: bool = False) -> Result:
    """Every invariant over one snapshot. ``final``: what is due and not there is missed (while
    draining it is only pending). ``peer`` and ``workflows`` are checked when given."""
    inv = {name: Invariant(name) for name in (
        "no case lost", "no case doubled", "one workflow per case", "each clock breached exactly once",
        "each escalation exactly once", "at most one warning per clock", "deadlines as planned",
        "no duplicate or missing (case, seq)", "every message queued exactly once", "every message sent",
        "each key at the peer exactly once")}
    pending: Counter = Counter()
    fig: dict[str, Any] = {}
    now = snap.taken_at
    retry = policy.notify.retry

    # -- intakes ----------------------------------------------------------------------------
    by_key = defaultdict(list)
    for case in snap.cases:
        by_key[case["idempotency_key"]].append(case)
    ours = {item.key for item in items}
    accepted = [item for item in items if item.case_no]
    for item in items:
        cases = by_key.get(item.key, [])
        if not cases:
            inv["no case lost"].fail(f"key {item.key}: no case in the file (client: {item.final_status}, {len(item.attempts)} tries)")
        elif not item.case_no:
            inv["no case lost"].fail(f"key {item.key}: case {cases[0]['case_no']} in the file, but the client never got a 2xx ({len(item.attempts)} tries)")
        if len(cases) > 1:
            inv["no case doubled"].fail(f"key {item.key}: {len(cases)} cases {[c['case_no'] for c in cases]}")
        if len(item.case_nos) > 1:
            inv["no case doubled"].fail(f"key {item.key}: the client was answered {sorted(item.case_nos)}")
        if item.case_no and cases and cases[0]["case_no"] != item.case_no:
            inv["no case doubled"].fail(f"key {item.key}: client got {item.case_no}, the file has {cases[0]['case_no']}")
    for case in snap.cases:
        if case["idempotency_key"] not in ours:
            inv["no case doubled"].fail(f"case {case['case_no']}: key {case['idempotency_key']!r} was never sent")
    attempts = [a for item in items for a in item.attempts]
    statuses = Counter(str(a.status) if a.status else f"conn:{a.error}" for a in attempts)
    fig["intakes"] = len(items)
    fig["tries"] = len(attempts)
    fig["statuses"] = dict(sorted(statuses.items()))
    fig["accepted"] = len(accepted)
    fig["replayed"] = sum(1 for a in attempts if a.replayed)
    fig["retried intakes"] = sum(1 for item in items if len(item.attempts) > 1)
    fig["lost"] = inv["no case lost"].failures
    fig["duplicated"] = inv["no case doubled"].failures
    severity_off = [c["case_no"] for item in items for c in by_key.get(item.key, []) if c["severity"] != item.expected_severity]
    fig["severity not as intended (info)"] = len(severity_off)

    # -- events -----------------------------------------------------------------------------
    events = defaultdict(list)
    for ev in snap.events:
        events[ev["case_id"]].append(ev)
    for case in snap.cases:
        seqs = [ev["seq"] for ev in events[case["id"]]]
        dup = [s for s, n in Counter(seqs).items() if n > 1]
        if dup:
            inv["no duplicate or missing (case, seq)"].fail(f"case {case['case_no']}: seq {dup} recorded more than once")
        if seqs and sorted(set(seqs)) != list(range(1, max(seqs) + 1)):
            missing = sorted(set(range(1, max(seqs) + 1)) - set(seqs))
            inv["no duplicate or missing (case, seq)"].fail(f"case {case['case_no']}: seq gap, missing {missing}")
        if seqs and case["last_seq"] != max(seqs):
            inv["no duplicate or missing (case, seq)"].fail(f"case {case['case_no']}: last_seq {case['last_seq']} but events up to {max(seqs)}")
        opened = [ev for ev in events[case["id"]] if ev["type"] == "opened"]
        if len(opened) > 1:
            inv["no duplicate or missing (case, seq)"].fail(f"case {case['case_no']}: opened {len(opened)} times")
        if not opened:
            pending["cases not yet opened by their workflow"] += 1
    fig["events"] = len(snap.events)
    fig["event types"] = dict(sorted(Counter(ev["type"] for ev in snap.events).items()))

    # -- clocks, escalations, warnings --------------------------------------------------------
    sla = {(c["case_id"], c["name"]): c for c in snap.clocks}
    esc_rows = Counter((e["case_id"], e["clock"], e["level"]) for e in snap.escalations if e["source"] == "clock")
    breach_late: list[float] = []
    esc_late: list[float] = []
    clocks_due = breached_once = missed = double = met = warnings = 0
    esc_expected = esc_once = esc_missed = esc_double = 0
    for case in snap.cases:
        chain = policy.chain(case["kind"])
        evs = events[case["id"]]
        for name in SLA_CLOCKS:
            seconds = policy.clock(case["kind"], case["severity"], name).seconds(policy.working_time.day_seconds)
            planned = case["received_at"] + timedelta(seconds=seconds)
            row = sla.get((case["id"], name))
            if row is not None and abs((row["deadline"] - planned).total_seconds()) > 0.001:
                inv["deadlines as planned"].fail(f"case {case['case_no']} {name}: deadline {row['deadline']} but received {case['received_at']} + {seconds} s")
            deadline = row["deadline"] if row is not None else planned
            breaches = [ev for ev in evs if ev["type"] == "clock_breached" and ev["data"].get("clock") == name]
            warned = [ev for ev in evs if ev["type"] == "clock_warned" and ev["data"].get("clock") == name]
            warnings += bool(warned)
            if len(warned) > 1:
                inv["at most one warning per clock"].fail(f"case {case['case_no']} {name}: warned at seq {[e['seq'] for e in warned]}")
            if row is not None and row["met_at"] is not None and not breaches:
                met += 1
            elif deadline > now:
                pending["not yet due"] += 1
            else:
                clocks_due += 1
                if len(breaches) == 1:
                    breached_once += 1
                elif not breaches:
                    if final:
                        missed += 1
                        inv["each clock breached exactly once"].fail(f"case {case['case_no']} {name}: due {deadline:%H:%M:%S.%f}, never breached (events {[(e['seq'], e['type']) for e in evs]})")
                    else:
                        pending["breaches due"] += 1
                else:
                    double += 1
                    inv["each clock breached exactly once"].fail(f"case {case['case_no']} {name}: breached {len(breaches)} times: " + ", ".join(f"seq {e['seq']} at {e['at']:%H:%M:%S.%f}" for e in breaches))
            for ev in breaches[:1]:
                breach_late.append((ev["at"] - deadline).total_seconds())
            for level in range(1, chain.top_level + 1):
                after = 0.0 if level == 1 else chain.levels[level - 2].after
                due = deadline + timedelta(seconds=seconds * after)
                if level == 1:
                    found = breaches
                else:
                    found = [ev for ev in evs if ev["type"] == "escalated" and ev["data"].get("source") == "clock"
                             and ev["data"].get("clock") == name and ev["data"].get("level") == level]
                    for ev in found[:1]:
                        esc_late.append((ev["at"] - due).total_seconds())
                rows = esc_rows.get((case["id"], name, level), 0)
                if due > now and not found:
                    pending["not yet due"] += 1
                    continue
                esc_expected += 1
                if len(found) == 1 and rows == 1:
                    esc_once += 1
                elif not found:
                    if final:
                        esc_missed += 1
                        inv["each escalation exactly once"].fail(f"case {case['case_no']} {name} level {level}: due {due:%H:%M:%S.%f}, no event")
                    else:
                        pending["escalations due"] += 1
                elif len(found) > 1 or rows > 1:
                    esc_double += 1
                    inv["each escalation exactly once"].fail(f"case {case['case_no']} {name} level {level}: {len(found)} events (seq {[e['seq'] for e in found]}), {rows} escalation rows")
                elif final:  # an event without its row
                    esc_missed += 1
                    inv["each escalation exactly once"].fail(f"case {case['case_no']} {name} level {level}: event seq {found[0]['seq']} but {rows} escalation rows")
                else:
                    pending["escalation rows"] += 1
    fig["clocks"] = 3 * len(snap.cases)
    fig["clocks due"] = clocks_due
    fig["breached once"] = breached_once
    fig["missed"] = missed
    fig["double"] = double
    fig["met"] = met
    fig["warnings recorded"] = warnings
    fig["escalations expected"] = esc_expected
    fig["escalations once"] = esc_once
    fig["escalations missed"] = esc_missed
    fig["escalations double"] = esc_double
    fig["breach lateness s"] = lateness(breach_late)
    fig["escalation lateness s"] = lateness(esc_late)

    # -- the outbox ---------------------------------------------------------------------------
    expected: dict[str, tuple[str, str]] = {}  # key -> (case_no, template)
    for case in snap.cases:
        chain = policy.chain(case["kind"])
        for ev in events[case["id"]]:
            data = ev["data"] or {}
            if ev["type"] == "opened":
                owed = [("acknowledgement", "customer")]
            elif ev["type"] == "clock_warned":
                owed = [("sla_warning", r) for r in chain.warning]
            elif ev["type"] == "clock_breached":
                owed = [("sla_breach", r) for r in chain.breach]
            elif ev["type"] == "escalated":
                owed = [("escalation", r) for r in (chain.recipients(data["level"]) if data.get("source") == "clock" else data.get("notify", []))]
            else:
                owed = []
            for template, recipient in owed:
                expected[f"case-{case['case_no']}:{ev['seq']}:{template}:{recipient}"] = (case["case_no"], template)
    rows_by_key = defaultdict(list)
    for row in snap.notifications:
        if row["case_id"] is not None:
            rows_by_key[row["key"]].append(row)
    for key in expected:
        rows = rows_by_key.get(key, [])
        if not rows:
            if final:
                inv["every message queued exactly once"].fail(f"{key}: owed by its event, not in the outbox")
            else:
                pending["messages not queued"] += 1
        elif len(rows) > 1:
            inv["every message queued exactly once"].fail(f"{key}: {len(rows)} outbox rows")
    for key, rows in rows_by_key.items():
        if key not in expected:
            inv["every message queued exactly once"].fail(f"{key}: outbox row {rows[0]['id']} ({rows[0]['status']}) owed by no event")
    status = Counter(row["status"] for rows in rows_by_key.values() for row in rows)
    for rows in rows_by_key.values():
        for row in rows:
            if row["status"] == "dead":
                inv["every message sent"].fail(f"notification {row['id']} {row['key']}: dead after {row['attempts']} attempts: {(row['last_error'] or '')[:200]}")
            elif row["status"] != "sent":
                if final:
                    inv["every message sent"].fail(f"notification {row['id']} {row['key']}: still {row['status']} ({row['attempts']} attempts)")
                else:
                    pending["messages unsettled"] += 1
    fig["messages expected"] = len(expected)
    fig["outbox rows"] = sum(len(r) for r in rows_by_key.values())
    fig["outbox status"] = dict(sorted(status.items()))
    fig["other outbox rows (no case)"] = sum(1 for row in snap.notifications if row["case_id"] is None)

    # -- the peers ----------------------------------------------------------------------------
    if peer is not None:
        at_peer = defaultdict(list)
        for request in peer:
            at_peer[request.key].append(request)
        all_keys = {row["key"] for row in snap.notifications}
        explained = unexplained = 0
        for key, requests in at_peer.items():
            if key not in all_keys:
                inv["each key at the peer exactly once"].fail(f"{key}: {len(requests)} request(s) at the {requests[0].peer} peer, no outbox row")
            if len(requests) > 1:
                first, second = requests[0].t, requests[1].t
                # README "Exactly once": a worker that dies between the peer's acceptance and the
                # `sent` write sends again with the same key (a provider deduplicates it).
                if any(first <= k <= second and k - first <= retry.attempt_timeout + 2 for k in worker_kills):
                    explained += 1
                else:
                    unexplained += 1
                    inv["each key at the peer exactly once"].fail(f"{key}: {len(requests)} requests at the {requests[0].peer} peer, {second - first:.1f} s apart, no worker kill in between")
        for key, rows in rows_by_key.items():
            if rows[0]["status"] == "sent" and key not in at_peer:
                inv["each key at the peer exactly once"].fail(f"{key}: sent (notification {rows[0]['id']}) but never reached a peer")
        fig["peer requests"] = len(peer)
        fig["peer distinct keys"] = len(at_peer)
        fig["peer repeats explained by a worker kill"] = explained
        fig["peer repeats unexplained"] = unexplained

    # -- Temporal -----------------------------------------------------------------------------
    if workflows is not None:
        runs = defaultdict(list)
        for wf in workflows:
            if wf["type"] == "AfterSalesCase":
                runs[wf["id"]].append(wf)
        wanted = {f"case-{case['case_no']}" for case in snap.cases}
        for wid in sorted(wanted - set(runs)):
            inv["one workflow per case"].fail(f"{wid}: no workflow")
        for wid in sorted(set(runs) - wanted):
            inv["one workflow per case"].fail(f"{wid}: a workflow with no case in the file ({runs[wid][0]['status']})")
        for wid, found in sorted(runs.items()):
            if len(found) > 1:
                inv["one workflow per case"].fail(f"{wid}: {len(found)} runs {[w['status'] for w in found]}")
            for wf in found:
                if wf["status"] not in ("RUNNING", "COMPLETED"):
                    inv["one workflow per case"].fail(f"{wid} run {wf['run_id']}: {wf['status']}")
        deliveries = Counter(wf["id"] for wf in workflows if wf["type"] == "DeliverNotification")
        fig["case workflows"] = sum(len(r) for r in runs.values())
        fig["case workflow status"] = dict(Counter(w["status"] for r in runs.values() for w in r))
        fig["delivery workflows"] = sum(deliveries.values())
        fig["deliveries run more than once (info)"] = sum(1 for n in deliveries.values() if n > 1)
        fig["other workflow types"] = dict(Counter(wf["type"] for wf in workflows if wf["type"] not in ("AfterSalesCase", "DeliverNotification")))

    return Result(fig, inv, dict(pending))
