"""Fault benchmark: kill -9 the worker, the API and the Temporal dev server during a burst of
intakes, then check from the case file, the peers and Temporal that nothing was lost, doubled
or missed, and how late the clocks ran.

    .venv/bin/python bench/fault_run.py                 # 200 intakes, three kills
    .venv/bin/python bench/fault_run.py --no-faults     # the control run
    .venv/bin/python bench/fault_run.py --intakes 50 --keep

See bench/README.md. Exit status: 0 when every invariant holds, 1 when one fails, 2 when the
stack could not be brought up, 130 when interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import asdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import httpx  # noqa: E402

from bench import checks, load, stack  # noqa: E402
from bench.report import Fault, report  # noqa: E402
from bench.snapshot import take  # noqa: E402
from bench.peers import LoggingPeer, read_log  # noqa: E402

WORKER_READY = "worker polling task queue"
POLICY = "policies/demo-seconds.toml"


class Bench:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.run_id = uuid.uuid4().hex[:8]
        self.work = Path(tempfile.mkdtemp(prefix=f"aftersales-bench-{self.run_id}-"))
        self.src = self.work / "src"
        self.db_name: str | None = None
        self.procs: list[stack.Proc] = []
        self.peers: list[LoggingPeer] = []
        self.monitor_stop = threading.Event()
        self.samples: list[tuple[float, int]] = []  # (time, case events in the file)
        self.first_seen: dict[tuple[int, int], float] = {}  # (case id, seq) -> when the monitor first saw it
        self.seen_lock = threading.Lock()
        self.loadavg: list[tuple[float, float]] = []  # (time, 1-minute load average): others' work on the machine
        self.t0 = 0.0  # when the load started
        self.clocks_done: float | None = None

    # -- bringing the stack up ----------------------------------------------------------------

    async def up(self) -> None:
        a = self.args
        source = stack.snapshot_source(self.src, a.ref)
        sys.path.insert(0, str(self.src))  # the product's modules from the snapshot, not the checkout
        from domain.policy import load_policy
        from domain.search_attributes import cli_flags

        self.policy = load_policy(self.src / POLICY)
        self.zone = a.timezone or stack.daytime_zone()
        self.db_name, self.db_url = stack.create_database()
        self.ports = dict(zip(("temporal", "ui", "http", "metrics", "api"), stack.free_ports(5)))
        logs = self.work / "logs"
        logs.mkdir()
        self.peers = [LoggingPeer("sms", logs / "peer-sms.jsonl").start(), LoggingPeer("wecom", logs / "peer-wecom.jsonl").start()]
        env = stack.product_env(
            src=self.src, data_dir=self.work / "data", database_url=self.db_url, temporal_port=self.ports["temporal"],
            ui_port=self.ports["ui"], api_port=self.ports["api"], timezone=self.zone, sms_url=self.peers[0].url,
            wecom_url=self.peers[1].url, policy=POLICY,
        )
        self.temporal_address = f"127.0.0.1:{self.ports['temporal']}"
        self.api_url = f"http://127.0.0.1:{self.ports['api']}"
        print(f"bench {self.run_id}: {source}; database {self.db_name}; work dir {self.work}", flush=True)
        print(f"  ports: Temporal {self.ports['temporal']} (UI {self.ports['ui']}), API {self.ports['api']}; "
              f"peers {self.peers[0].url} {self.peers[1].url}; AFTERSALES_TIMEZONE={self.zone}", flush=True)
        stack.migrate(self.src, env)
        self.temporal = stack.temporal_proc(src=self.src, work=self.work, port=self.ports["temporal"], ui_port=self.ports["ui"],
                                            http_port=self.ports["http"], metrics_port=self.ports["metrics"],
                                            search_attribute_flags=cli_flags(), env=env)
        self.worker = stack.worker_proc(self.src, self.work, env)
        self.api = stack.api_proc(self.src, self.work, env, self.ports["api"])
        self.procs = [self.temporal, self.worker, self.api]
        self.temporal.start()
        await self.wait_temporal(60)
        offset = self.worker.start()
        await self.wait_worker(offset, 60)
        self.api.start()
        await self.wait_api(60)
        self.conn = stack.connect(self.db_url)
        self.conn.autocommit = True
        threading.Thread(target=self.monitor, name="monitor", daemon=True).start()

    async def wait_temporal(self, timeout: float) -> float:
        from temporalio.client import Client

        deadline = time.monotonic() + timeout
        while True:
            self._alive(self.temporal)
            try:
                client = await Client.connect(self.temporal_address)
                await client.service_client.check_health()
                return time.time()
            except Exception:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"Temporal did not come up within {timeout:.0f} s (see {self.temporal.log_path})")
                await asyncio.sleep(0.2)

    async def wait_worker(self, offset: int, timeout: float) -> float:
        deadline = time.monotonic() + timeout
        while WORKER_READY not in self.worker.log_since(offset):
            self._alive(self.worker)
            if time.monotonic() > deadline:
                raise RuntimeError(f"the worker did not start polling within {timeout:.0f} s (see {self.worker.log_path})")
            await asyncio.sleep(0.1)
        return time.time()

    async def wait_api(self, timeout: float) -> float:
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient() as client:
            while True:
                self._alive(self.api)
                try:
                    if (await client.get(f"{self.api_url}/api/v1/healthz", timeout=2)).status_code == 200:
                        return time.time()
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the API was not healthy within {timeout:.0f} s (see {self.api.log_path})")
                await asyncio.sleep(0.1)

    @staticmethod
    def _alive(proc: stack.Proc) -> None:
        if not proc.alive:
            raise RuntimeError(f"{proc.name} exited with {proc.popen.returncode} (see {proc.log_path})")

    def monitor(self) -> None:
        """Case events in the file, four times a second: when each (case, seq) was first seen
        (when the desk could read it), and when work stops and starts again."""
        conn = stack.connect(self.db_url)
        conn.autocommit = True
        top = 0
        try:
            with conn.cursor() as cur:
                while not self.monitor_stop.wait(0.25):
                    try:
                        # Ids are taken at insert and committed a moment later: look back a little.
                        cur.execute("select id, case_id, seq from case_events where id > %s", (top - 500,))
                        now = time.time()
                        with self.seen_lock:
                            for id_, case_id, seq in cur.fetchall():
                                top = max(top, id_)
                                self.first_seen.setdefault((case_id, seq), now)
                            self.samples.append((now, len(self.first_seen)))
                        if len(self.samples) % 20 == 0:
                            self.loadavg.append((time.time(), os.getloadavg()[0]))
                    except Exception:
                        pass
        finally:
            conn.close()

    # -- the faults ---------------------------------------------------------------------------

    async def inject(self, duration: float) -> list[Fault]:
        faults = []

        async def at(share: float) -> None:
            await asyncio.sleep(max(0.0, self.t0 + share * duration - time.time()))

        rel = lambda t: t - self.t0  # noqa: E731
        await at(1 / 6)
        fault = Fault("worker", rel(time.time()))
        faults.append(fault)
        self.worker.kill9()
        print(f"  {fault.kill_at:6.1f} s  kill -9 worker", flush=True)
        await asyncio.sleep(5)
        offset = self.worker.start()
        fault.restart_at = rel(time.time())
        fault.ready_at = rel(await self.wait_worker(offset, 120))
        print(f"  {fault.restart_at:6.1f} s  worker restarted, polling at {fault.ready_at:.1f} s", flush=True)

        await at(5 / 12)
        fault = Fault("api", rel(time.time()))
        faults.append(fault)
        self.api.kill9()
        self.api.start()
        fault.restart_at = rel(time.time())
        print(f"  {fault.kill_at:6.1f} s  kill -9 API, restarted at once", flush=True)
        fault.ready_at = rel(await self.wait_api(120))
        print(f"  {fault.ready_at:6.1f} s  API healthy", flush=True)

        await at(2 / 3)
        fault = Fault("temporal", rel(time.time()))
        faults.append(fault)
        self.temporal.kill9()
        print(f"  {fault.kill_at:6.1f} s  kill -9 Temporal dev server", flush=True)
        await asyncio.sleep(5)
        self.temporal.start()
        fault.restart_at = rel(time.time())
        await self.wait_temporal(120)
        fault.ready_at = rel(await self.wait_api(120))
        print(f"  {fault.restart_at:6.1f} s  Temporal restarted on the same file; API healthy at {fault.ready_at:.1f} s", flush=True)
        return faults

    def recovery(self, faults: list[Fault], items: list[load.Intake]) -> None:
        attempts = sorted((a for item in items for a in item.attempts), key=lambda a: a.ended)
        for fault in faults:
            kill, restart = self.t0 + fault.kill_at, self.t0 + (fault.restart_at or fault.kill_at)
            before = [n for t, n in self.samples if t <= restart]
            base = before[-1] if before else 0
            after = next((t for t, n in self.samples if t > restart and n > base), None)
            fault.events_at = after - self.t0 if after else None
            first = next((a for a in attempts if a.ended > kill and a.status and 200 <= a.status < 300), None)
            fault.first_2xx_at = first.ended - self.t0 if first else None
            until = first.ended if first else float("inf")
            fault.client_errors = sum(1 for a in attempts if kill <= a.ended <= until and not (a.status and a.status < 500))

    # -- the run ------------------------------------------------------------------------------

    async def run(self) -> int:
        task = asyncio.current_task()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
        a = self.args
        try:
            await self.up()
        except Exception as exc:
            print(f"bench: the stack did not come up: {exc}", file=sys.stderr)
            return 2
        duration = a.intakes / a.rate
        print(f"load: {a.intakes} intakes at {a.rate}/s (about {duration:.0f} s), concurrency {a.concurrency}"
              + ("" if a.no_faults else "; faults at 1/6, 5/12 and 2/3 of it"), flush=True)
        self.t0 = time.time()
        driving = asyncio.create_task(load.drive(self.api_url, stack.TOKEN, self.run_id, a.intakes, a.rate, a.concurrency))
        faults: list[Fault] = []
        if not a.no_faults:
            try:
                faults = await self.inject(duration)
            except RuntimeError as exc:  # a process did not come back: that is the finding
                driving.cancel()
                print(f"bench: FAIL: after a kill, {exc}", file=sys.stderr)
                return 1
        items = await driving
        load_time = time.time() - self.t0
        print(f"load done in {load_time:.1f} s; waiting (at most {a.drain_timeout:.0f} s) for every clock and message", flush=True)
        drained_after = await self.drain(items, a.drain_timeout)
        await asyncio.sleep(5)  # a late double would show now
        snap = take(self.conn)
        workflows = await self.workflows()
        peer = sorted((r for p in self.peers for r in read_log(p.log_path)), key=lambda r: r.t)
        kills = [self.t0 + f.kill_at for f in faults if f.what == "worker"]
        with self.seen_lock:
            seen = dict(self.first_seen)
        result = checks.evaluate(snap, items, self.policy, peer=peer, workflows=workflows, worker_kills=kills, final=True,
                                 first_seen=seen)
        self.recovery(faults, items)
        result.figures["load s"] = round(load_time, 1)
        result.figures["drained after load s"] = None if drained_after is None else round(drained_after, 1)
        result.figures["clocks done after load s"] = None if self.clocks_done is None else round(self.clocks_done, 1)
        loads = [x for _, x in self.loadavg]
        result.figures["load average (1 min) mean / max"] = (round(sum(loads) / len(loads), 2), max(loads)) if loads else None
        report(result, faults, self.run_id, a.no_faults)
        if a.json:
            Path(a.json).write_text(json.dumps({
                "run": self.run_id, "args": vars(a), "zone": self.zone, "figures": result.figures,
                "faults": [asdict(f) for f in faults],
                "invariants": {n: {"failures": i.failures, "evidence": i.evidence} for n, i in result.invariants.items()},
            }, indent=2, default=str))
        failed = result.failed or drained_after is None
        return 1 if failed else 0

    async def drain(self, items: list[load.Intake], timeout: float) -> float | None:
        """Until every due clock has breached and every message is settled; None on timeout.
        Also notes when the clocks alone were done (``self.clocks_done``)."""
        start = time.time()
        shown = 0.0
        self.clocks_done: float | None = None
        while True:
            snap = await asyncio.to_thread(take, self.conn)
            pending = checks.evaluate(snap, items, self.policy).pending
            waited = time.time() - start
            if self.clocks_done is None and not any(v for k, v in pending.items() if not k.startswith("messages")):
                self.clocks_done = waited
                print(f"  every clock breached and escalated {waited:.0f} s after the load", flush=True)
            if not any(pending.values()):
                print(f"  drained {waited:.0f} s after the load", flush=True)
                return waited
            if waited > timeout:
                print(f"  NOT drained after {waited:.0f} s: {pending}", flush=True)
                return None
            if waited - shown >= 30:
                shown = waited
                print(f"  {waited:4.0f} s: {pending}", flush=True)
            await asyncio.sleep(3)

    async def workflows(self) -> list[dict]:
        from temporalio.client import Client

        client = await Client.connect(self.temporal_address)
        found = []
        async for wf in client.list_workflows(""):
            found.append({"id": wf.id, "run_id": wf.run_id, "type": wf.workflow_type,
                          "status": wf.status.name if wf.status else "UNKNOWN"})
        return found

    # -- stopping everything ------------------------------------------------------------------

    def cleanup(self) -> None:
        self.monitor_stop.set()
        for proc in reversed(self.procs):
            try:
                proc.stop()
            except Exception as exc:  # keep going: everything else must stop too
                print(f"bench: stopping {proc.name}: {exc}", file=sys.stderr)
        for peer in self.peers:
            peer.stop()
        if getattr(self, "conn", None) is not None:
            self.conn.close()
        if self.args.keep:
            print(f"kept: work dir {self.work} (logs/, temporal.db, src/), database {self.db_name} ({getattr(self, 'db_url', '')})")
            return
        if self.db_name:
            try:
                stack.drop_database(self.db_name)
            except Exception as exc:
                print(f"bench: could not drop {self.db_name}: {exc}", file=sys.stderr)
        shutil.rmtree(self.work, ignore_errors=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--intakes", type=int, default=200, help="POST /cases intakes (default 200)")
    p.add_argument("--no-faults", action="store_true", help="the control run: the same load, nothing killed")
    p.add_argument("--keep", action="store_true", help="keep the work dir (logs, temporal.db, source) and the database")
    p.add_argument("--rate", type=float, default=1.7, help="intakes started per second (default 1.7, as the review's run)")
    p.add_argument("--concurrency", type=int, default=5, help="intakes in flight at most (default 5)")
    p.add_argument("--drain-timeout", type=float, default=600, help="seconds to wait after the load for every clock and message (default 600)")
    p.add_argument("--ref", help="run this commit (git archive) instead of a copy of the working tree")
    p.add_argument("--timezone", help="AFTERSALES_TIMEZONE (default: a zone where it is about 13:00 now)")
    p.add_argument("--json", help="also write the figures and invariants to this file")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    bench = Bench(args)
    try:
        return asyncio.run(bench.run())
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("bench: interrupted; stopping everything", file=sys.stderr)
        return 130
    finally:
        bench.cleanup()


if __name__ == "__main__":
    sys.exit(main())
