"""The invariants a fault run must satisfy, over what it left behind: the case file (a
``Snapshot``), the peers' logs and Temporal's workflow list.

Nobody acts on the bench's cases, so every clock runs out: each SLA clock (response, plan,
resolution) must be breached exactly once (a ``clock_breached`` event with ``data.clock``)
and escalated exactly once at each further level of its kind's chain (``escalated`` events
with ``data.source == "clock"`` and ``data.level``), at ``deadline + limit × after``. Every
event owes the messages the policy's chain names, keyed ``case-<no>:<seq>:<template>:<recipient>``;
each must end ``sent`` and reach a peer once.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from bench.load import Intake
from bench.peers import PeerRequest
from bench.snapshot import Snapshot

SLA_CLOCKS = ("response", "plan", "resolution")
EVIDENCE = 12  # evidence lines kept per failed invariant
INVARIANTS = (
    "no case lost", "no case doubled", "one workflow per case", "each clock breached exactly once",
    "each escalation exactly once", "at most one warning per clock", "deadlines as planned",
    "no duplicate or missing (case, seq)", "no case needs attention", "every message queued exactly once",
    "every message sent", "each key at the peer exactly once",
)


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
    pending: dict[str, int]  # what is not there yet (the drain waits until all are 0)

    @property
    def failed(self) -> list[Invariant]:
        return [inv for inv in self.invariants.values() if inv.failures]


def lateness(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"n": 0, "p50": None, "p95": None, "max": None, "mean": None}
    ordered = sorted(values)
    pick = lambda q: ordered[round(q * (len(ordered) - 1))]  # noqa: E731
    return {"n": len(values), "p50": pick(0.5), "p95": pick(0.95), "max": ordered[-1], "mean": statistics.fmean(values)}


def evaluate(snap: Snapshot, items: list[Intake], policy, *, peer: list[PeerRequest] | None = None,
             workflows: list[dict] | None = None, worker_kills: list[float] = (), final: bool = False,
             first_seen: dict[tuple[int, int], float] | None = None) -> Result:
    """Every invariant over one snapshot. ``final``: what is due and not there is missed (while
    draining it is only pending). ``peer`` and ``workflows`` are checked when given;
    ``first_seen`` (when each (case id, seq) was first read from the file) gives the lateness
    of the breaches as the desk sees them."""
    check = _Check(snap, policy, final, first_seen or {})
    check.intakes(items)
    check.events()
    check.clocks()
    check.outbox()
    if peer is not None:
        check.peers(peer, worker_kills)
    if workflows is not None:
        check.temporal(workflows)
    return Result(check.fig, check.inv, dict(check.pending))


class _Check:
    def __init__(self, snap: Snapshot, policy, final: bool, first_seen: dict[tuple[int, int], float]):
        self.snap, self.policy, self.final, self.first_seen = snap, policy, final, first_seen
        self.inv = {name: Invariant(name) for name in INVARIANTS}
        self.fig: dict[str, Any] = {}
        self.pending: Counter = Counter()
        self.events_of = defaultdict(list)
        for ev in snap.events:
            self.events_of[ev["case_id"]].append(ev)
        self.rows_by_key = defaultdict(list)  # the cases' outbox rows
        for row in snap.notifications:
            if row["case_id"] is not None:
                self.rows_by_key[row["key"]].append(row)

    def missing(self, invariant: str, pending: str, line: str) -> None:
        """Due and not there: missed in the final check, pending while draining."""
        if self.final:
            self.inv[invariant].fail(line)
        else:
            self.pending[pending] += 1

    # -- intakes: lost, doubled --------------------------------------------------------------

    def intakes(self, items: list[Intake]) -> None:
        by_key = defaultdict(list)
        for case in self.snap.cases:
            by_key[case["idempotency_key"]].append(case)
        lost, doubled = self.inv["no case lost"], self.inv["no case doubled"]
        for item in items:
            cases = by_key.get(item.key, [])
            if not cases:
                lost.fail(f"key {item.key}: no case in the file (client: {item.final_status}, {len(item.attempts)} tries)")
            elif not item.case_no:
                lost.fail(f"key {item.key}: case {cases[0]['case_no']} in the file, but the client never got a 2xx "
                          f"({len(item.attempts)} tries, last {item.attempts[-1].status or item.attempts[-1].error})")
            if len(cases) > 1:
                doubled.fail(f"key {item.key}: {len(cases)} cases {[c['case_no'] for c in cases]}")
            if len(item.case_nos) > 1:
                doubled.fail(f"key {item.key}: the client was answered {sorted(item.case_nos)}")
            if item.case_no and cases and cases[0]["case_no"] != item.case_no:
                doubled.fail(f"key {item.key}: client got {item.case_no}, the file has {cases[0]['case_no']}")
        ours = {item.key for item in items}
        for case in self.snap.cases:
            if case["idempotency_key"] not in ours:
                doubled.fail(f"case {case['case_no']}: key {case['idempotency_key']!r} was never sent")
        attempts = [a for item in items for a in item.attempts]
        self.fig.update({
            "intakes": len(items),
            "tries": len(attempts),
            "statuses": dict(sorted(Counter(str(a.status) if a.status else f"conn:{a.error}" for a in attempts).items())),
            "accepted": sum(1 for item in items if item.case_no),
            "replayed": sum(1 for a in attempts if a.replayed),
            "retried intakes": sum(1 for item in items if len(item.attempts) > 1),
            "lost": lost.failures,
            "duplicated": doubled.failures,
            "severity not as intended (info)": sum(
                1 for item in items for c in by_key.get(item.key, []) if c["severity"] != item.expected_severity),
        })

    # -- events: (case, seq), attention --------------------------------------------------------

    def events(self) -> None:
        seqs_inv, attention = self.inv["no duplicate or missing (case, seq)"], self.inv["no case needs attention"]
        for case in self.snap.cases:
            evs = self.events_of[case["id"]]
            seqs = [ev["seq"] for ev in evs]
            if dup := [s for s, n in Counter(seqs).items() if n > 1]:
                seqs_inv.fail(f"case {case['case_no']}: seq {dup} recorded more than once")
            top = max(seqs, default=0)
            if gap := sorted(set(range(1, top + 1)) - set(seqs)):
                self.missing("no duplicate or missing (case, seq)", "events not yet written",
                             f"case {case['case_no']}: seq {gap} missing of 1..{top}")
            if seqs and case["last_seq"] != top:
                self.missing("no duplicate or missing (case, seq)", "last_seq behind",
                             f"case {case['case_no']}: last_seq {case['last_seq']} but events up to {top}")
            opened = [ev for ev in evs if ev["type"] == "opened"]
            if len(opened) > 1:
                seqs_inv.fail(f"case {case['case_no']}: opened {len(opened)} times")
            if not opened:
                self.pending["cases not yet opened by their workflow"] += 1
            for ev in evs:
                if ev["type"] == "needs_attention":
                    attention.fail(f"case {case['case_no']} seq {ev['seq']}: {ev['data']}")
        delays = [(self.first_seen[(ev["case_id"], ev["seq"])] - ev["at"].timestamp(), ev) for ev in self.snap.events
                  if (ev["case_id"], ev["seq"]) in self.first_seen]
        self.fig["event write delay s"] = lateness([d for d, _ in delays])
        if delays:
            d, ev = max(delays, key=lambda x: x[0])
            case_no = next(c["case_no"] for c in self.snap.cases if c["id"] == ev["case_id"])
            self.fig["slowest write"] = f"{case_no} seq {ev['seq']} {ev['type']} {ev['data'].get('clock', '')}: decided {ev['at']:%H:%M:%S}, readable {d:.1f} s later"
        self.fig["events"] = len(self.snap.events)
        self.fig["event types"] = dict(sorted(Counter(ev["type"] for ev in self.snap.events).items()))

    # -- clocks: breaches, escalations, warnings, lateness -------------------------------------

    def clocks(self) -> None:
        policy, now = self.policy, self.snap.taken_at
        sla = {(c["case_id"], c["name"]): c for c in self.snap.clocks}
        rows = Counter((e["case_id"], e["clock"], e["level"]) for e in self.snap.escalations if e["source"] == "clock")
        breach_late: list[float] = []
        esc_late: list[float] = []
        recorded_late: list[float] = []  # the breach's row readable in the case file − the deadline
        n = Counter()
        for case in self.snap.cases:
            chain = policy.chain(case["kind"])
            evs = self.events_of[case["id"]]
            for name in SLA_CLOCKS:
                seconds = policy.clock(case["kind"], case["severity"], name).seconds(policy.working_time.day_seconds)
                planned = case["received_at"] + timedelta(seconds=seconds)
                row = sla.get((case["id"], name))
                if row is not None and abs((row["deadline"] - planned).total_seconds()) > 0.001:
                    self.inv["deadlines as planned"].fail(
                        f"case {case['case_no']} {name}: deadline {row['deadline']} but received {case['received_at']} + {seconds} s")
                deadline = row["deadline"] if row is not None else planned
                warned = [ev for ev in evs if ev["type"] == "clock_warned" and ev["data"].get("clock") == name]
                n["warned"] += bool(warned)
                if len(warned) > 1:
                    self.inv["at most one warning per clock"].fail(
                        f"case {case['case_no']} {name}: warned at seq {[e['seq'] for e in warned]}")
                breaches = [ev for ev in evs if ev["type"] == "clock_breached" and ev["data"].get("clock") == name]
                if row is not None and row["met_at"] is not None and not breaches:
                    n["met"] += 1
                    continue
                for level in range(1, chain.top_level + 1):
                    after = 0.0 if level == 1 else chain.levels[level - 2].after
                    due = deadline + timedelta(seconds=seconds * after)
                    found = breaches if level == 1 else [
                        ev for ev in evs if ev["type"] == "escalated" and ev["data"].get("source") == "clock"
                        and ev["data"].get("clock") == name and ev["data"].get("level") == level]
                    if found:
                        (breach_late if level == 1 else esc_late).append((found[0]["at"] - due).total_seconds())
                        seen = self.first_seen.get((case["id"], found[0]["seq"]))
                        if level == 1 and seen is not None:
                            recorded_late.append(seen - due.timestamp())
                    elif due > now:
                        self.pending["not yet due"] += 1
                        continue
                    kind = "clock" if level == 1 else "escalation"
                    n[f"{kind} due"] += 1
                    where = f"case {case['case_no']} {name}" + ("" if level == 1 else f" level {level}")
                    listed = ", ".join(f"seq {e['seq']} at {e['at']:%H:%M:%S.%f}" for e in found)
                    if len(found) > 1:
                        n[f"{kind} double"] += 1
                        self.inv["each clock breached exactly once" if level == 1 else "each escalation exactly once"].fail(
                            f"{where}: {len(found)} events: {listed}")
                    elif not found:
                        if self.final:
                            n[f"{kind} missed"] += 1
                        self.missing("each clock breached exactly once" if level == 1 else "each escalation exactly once",
                                     "breaches due" if level == 1 else "escalations due",
                                     f"{where}: due {due:%H:%M:%S.%f}, no event (case events: {[(e['seq'], e['type']) for e in evs]})")
                    else:
                        n[f"{kind} once"] += 1
                    count = rows.get((case["id"], name, level), 0)
                    if found and count != 1:
                        if count > 1:
                            self.inv["each escalation exactly once"].fail(f"{where}: {count} escalations rows ({listed})")
                        else:
                            self.missing("each escalation exactly once", "escalation rows", f"{where}: event {listed} but no escalations row")
        self.fig.update({
            "clocks": 3 * len(self.snap.cases), "clocks due": n["clock due"], "breached once": n["clock once"],
            "missed": n["clock missed"], "double": n["clock double"], "met": n["met"], "warnings recorded": n["warned"],
            "escalations expected": n["clock due"] + n["escalation due"],
            "escalations once": n["clock once"] + n["escalation once"],
            "escalations missed": n["clock missed"] + n["escalation missed"],
            "escalations double": n["clock double"] + n["escalation double"],
            "breach lateness s": lateness(breach_late), "escalation lateness s": lateness(esc_late),
            "breach recorded lateness s": lateness(recorded_late),
        })

    # -- the outbox: exactly the messages the events owe, all sent ------------------------------

    def owed(self, case: dict, ev: dict) -> list[tuple[str, str]]:
        chain, data = self.policy.chain(case["kind"]), ev["data"] or {}
        match ev["type"]:
            case "opened":
                return [("acknowledgement", "customer")]
            case "clock_warned":
                return [("sla_warning", r) for r in chain.warning]
            case "clock_breached":
                return [("sla_breach", r) for r in chain.breach]
            case "escalated":
                return [("escalation", r) for r in (chain.recipients(data["level"]) if data.get("source") == "clock" else data.get("notify", []))]
            case "needs_attention":
                return [("needs_attention", "supervisor")]
        return []

    def outbox(self) -> None:
        queued, sent = self.inv["every message queued exactly once"], self.inv["every message sent"]
        expected = set()
        for case in self.snap.cases:
            for ev in self.events_of[case["id"]]:
                for template, recipient in self.owed(case, ev):
                    expected.add(f"case-{case['case_no']}:{ev['seq']}:{template}:{recipient}")
        for key in sorted(expected):
            rows = self.rows_by_key.get(key, [])
            if not rows:
                self.missing("every message queued exactly once", "messages not queued", f"{key}: owed by its event, not in the outbox")
            elif len(rows) > 1:
                queued.fail(f"{key}: {len(rows)} outbox rows")
        for key, rows in sorted(self.rows_by_key.items()):
            row = rows[0]
            if key not in expected:
                queued.fail(f"{key}: outbox row {row['id']} ({row['status']}) owed by no event")
            if row["status"] == "dead":
                sent.fail(f"notification {row['id']} {key}: dead after {row['attempts']} attempts: {(row['last_error'] or '')[:200]}")
            elif row["status"] != "sent":
                self.missing("every message sent", "messages unsettled", f"notification {row['id']} {key}: still {row['status']} ({row['attempts']} attempts)")
        self.fig.update({
            "messages expected": len(expected),
            "outbox rows": sum(len(r) for r in self.rows_by_key.values()),
            "outbox status": dict(sorted(Counter(r["status"] for rs in self.rows_by_key.values() for r in rs).items())),
            "other outbox rows (no case)": sum(1 for row in self.snap.notifications if row["case_id"] is None),
        })

    # -- the peers: each key once ------------------------------------------------------------

    def peers(self, peer: list[PeerRequest], worker_kills: list[float]) -> None:
        inv = self.inv["each key at the peer exactly once"]
        limit = self.policy.notify.retry.attempt_timeout + 2
        at_peer = defaultdict(list)
        for request in peer:
            at_peer[request.key].append(request)
        all_keys = {row["key"] for row in self.snap.notifications}
        explained = unexplained = 0
        for key, requests in at_peer.items():
            if key not in all_keys:
                inv.fail(f"{key}: {len(requests)} request(s) at the {requests[0].peer} peer, no outbox row")
            if len(requests) > 1:
                first, second = requests[0].t, requests[1].t
                # README "Exactly once": a worker that dies between the peer's acceptance and the
                # `sent` write sends again with the same key (a provider deduplicates it).
                if any(first <= k <= second and k - first <= limit for k in worker_kills):
                    explained += 1
                else:
                    unexplained += 1
                    inv.fail(f"{key}: {len(requests)} requests at the {requests[0].peer} peer, {second - first:.1f} s apart, no worker kill in between")
        for key, rows in self.rows_by_key.items():
            if rows[0]["status"] == "sent" and key not in at_peer:
                inv.fail(f"{key}: sent (notification {rows[0]['id']}) but never reached a peer")
        self.fig.update({
            "peer requests": len(peer), "peer distinct keys": len(at_peer),
            "peer repeats explained by a worker kill": explained, "peer repeats unexplained": unexplained,
        })

    # -- Temporal: one workflow per case ---------------------------------------------------------

    def temporal(self, workflows: list[dict]) -> None:
        inv = self.inv["one workflow per case"]
        runs = defaultdict(list)
        for wf in workflows:
            if wf["type"] == "AfterSalesCase":
                runs[wf["id"]].append(wf)
        wanted = {f"case-{case['case_no']}" for case in self.snap.cases}
        for wid in sorted(wanted - set(runs)):
            inv.fail(f"{wid}: no workflow")
        for wid in sorted(set(runs) - wanted):
            inv.fail(f"{wid}: a workflow with no case in the file ({runs[wid][0]['status']})")
        for wid, found in sorted(runs.items()):
            if len(found) > 1:
                inv.fail(f"{wid}: {len(found)} runs {[w['status'] for w in found]}")
            for wf in found:
                if wf["status"] not in ("RUNNING", "COMPLETED"):
                    inv.fail(f"{wid} run {wf['run_id']}: {wf['status']}")
        deliveries = Counter(wf["id"] for wf in workflows if wf["type"] == "DeliverNotification")
        self.fig.update({
            "case workflows": sum(len(r) for r in runs.values()),
            "case workflow status": dict(Counter(w["status"] for r in runs.values() for w in r)),
            "delivery workflows": sum(deliveries.values()),
            "deliveries run more than once (info)": sum(1 for n in deliveries.values() if n > 1),
            "deliveries run more than once, ids": sorted(w for w, n in deliveries.items() if n > 1)[:EVIDENCE],
            "other workflow types": dict(Counter(wf["type"] for wf in workflows if wf["type"] not in ("AfterSalesCase", "DeliverNotification"))),
        })
