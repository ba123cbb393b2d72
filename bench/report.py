"""What a fault run prints: the figures, the recovery after each kill, the invariants."""

from __future__ import annotations

import os
from dataclasses import dataclass

from bench import checks


@dataclass
class Fault:
    what: str
    kill_at: float  # seconds after the load started
    restart_at: float | None = None
    ready_at: float | None = None  # worker: its "polling" line; API and Temporal: /healthz 200
    events_at: float | None = None  # first case event written after the restart
    first_2xx_at: float | None = None  # first intake answered 2xx after the kill
    client_errors: int = 0  # tries that failed between the kill and that first 2xx


def _s(value) -> str:
    return "-" if value is None else f"{value:.1f}"


def _late(x: dict) -> str:
    return f"{_s(x['p50'])} / {_s(x['p95'])} / {_s(x['max'])} (n={x['n']})"


def report(result: checks.Result, faults: list[Fault], run_id: str, no_faults: bool) -> None:
    f = result.figures
    b, e = f["breach lateness s"], f["escalation lateness s"]
    rows = [
        ("Load", f"{f['intakes']} intakes in {f['load s']} s, {f['tries']} tries {f['statuses']}; "
                 f"{f['retried intakes']} retried, {f['replayed']} answered as replays"),
        ("Cases accepted / lost / duplicated", f"{f['accepted']} / {f['lost']} / {f['duplicated']}"),
        ("Case workflows", f"{f.get('case workflows')} {f.get('case workflow status')}; other: {f.get('other workflow types')}"),
        ("Clocks due / breached once / missed / double", f"{f['clocks due']} / {f['breached once']} / {f['missed']} / {f['double']}"
                                                          f" (of {f['clocks']}; met {f['met']})"),
        ("Escalations expected / once / missed / double", f"{f['escalations expected']} / {f['escalations once']} / "
                                                           f"{f['escalations missed']} / {f['escalations double']}"),
        ("Warnings recorded (of clocks)", f"{f['warnings recorded']} of {f['clocks']}"),
        ("Events", f"{f['events']} {f['event types']}"),
        ("Messages expected / outbox rows / status", f"{f['messages expected']} / {f['outbox rows']} / {f['outbox status']}"),
        ("At the peers: requests / distinct keys", f"{f.get('peer requests')} / {f.get('peer distinct keys')}"),
        ("  repeated keys: after a worker kill / unexplained", f"{f.get('peer repeats explained by a worker kill')} / {f.get('peer repeats unexplained')}"),
        ("Delivery workflows (run more than once)", f"{f.get('delivery workflows')} ({f.get('deliveries run more than once (info)')}"
                                                    f"{': ' + ', '.join(f['deliveries run more than once, ids']) if f.get('deliveries run more than once, ids') else ''})"),
        ("Breach lateness p50 / p95 / max (s)", _late(b)),
        ("  the breach readable in the case file (s)", _late(f["breach recorded lateness s"])),
        ("Event written after decided p50 / p95 / max (s)", _late(f["event write delay s"]) + (f"; slowest {f['slowest write']}" if f.get("slowest write") else "")),
        ("Escalation lateness p50 / p95 / max (s)", _late(e)),
        ("Clocks all done / drained, after the load (s)",
         f"{_s(f['clocks done after load s'])} / {_s(f['drained after load s']) if f['drained after load s'] is not None else 'NOT DRAINED'}"),
        ("Machine: load average (1 min) mean / max", f"{f['load average (1 min) mean / max']} on {os.cpu_count()} cores"),
    ]
    width = max(len(r[0]) for r in rows)
    print("\n" + "=" * 100)
    print(f"aftersales fault run {run_id}  ({'no faults' if no_faults else 'kill -9 worker, API, Temporal'})")
    print("=" * 100)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    if faults:
        print("\nRecovery (seconds after the load started; durations after the restart / the kill)")
        print(f"{'fault':<9} {'kill':>6} {'restart':>8} {'ready':>6} {'events':>7} {'1st 2xx':>8}  {'ready+':>6} {'events+':>7} {'2xx after kill':>14} {'client errors':>13}")
        for x in faults:
            since = lambda t: None if t is None or x.restart_at is None else t - x.restart_at  # noqa: E731
            print(f"{x.what:<9} {x.kill_at:6.1f} {_s(x.restart_at):>8} {_s(x.ready_at):>6} {_s(x.events_at):>7} {_s(x.first_2xx_at):>8}"
                  f"  {_s(since(x.ready_at)):>6} {_s(since(x.events_at)):>7} "
                  f"{_s(None if x.first_2xx_at is None else x.first_2xx_at - x.kill_at):>14} {x.client_errors:>13}")
    print("\nInvariants")
    for inv in result.invariants.values():
        print(f"  [{'FAIL' if inv.failures else ' ok '}] {inv.name}" + (f": {inv.failures}" if inv.failures else ""))
        for line in inv.evidence:
            print(f"           {line}")
    if f.get("severity not as intended (info)"):
        print(f"  (info) {f['severity not as intended (info)']} cases got another severity than the intake meant")
    print("=" * 100, flush=True)
