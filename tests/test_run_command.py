"""`make run`'s launcher from the outside, as a person would use it: the embedded Temporal
dev server, migrations, worker and API come up; a case posted with curl breaches on time
and shows as breached in the API, in Temporal's visibility and in the outbox; Ctrl-C stops all."""

import json
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

from conftest import ROOT

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def curl(*args: str) -> dict:
    out = subprocess.run(["curl", "-sS", "--fail-with-body", *args], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stdout + out.stderr
    return json.loads(out.stdout)


def wait_for(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.5)
    raise AssertionError(f"{what} not seen within {timeout} s")


def test_run_command_end_to_end(tmp_path):
    temporal_port, ui_port, api_port = free_port(), free_port(), free_port()
    env = {
        "PATH": f"{BIN}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "AFTERSALES_POLICY": "policies/demo-seconds.toml",
        "AFTERSALES_DATA_DIR": str(tmp_path / "data"),
        "AFTERSALES_TEMPORAL_ADDRESS": f"127.0.0.1:{temporal_port}",
        "AFTERSALES_TEMPORAL_UI_PORT": str(ui_port),
        "AFTERSALES_API_PORT": str(api_port),
    }
    proc = subprocess.Popen(
        [sys.executable, "run.py"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")), daemon=True).start()
    try:
        wait_for(lambda: any("aftersales is running" in line for line in lines), 120, "the start-up banner")
        banner = "".join(lines)
        assert f"http://127.0.0.1:{api_port}/docs" in banner and f":{ui_port}" in banner
        assert f"http://127.0.0.1:{api_port}/console" in banner
        sign_in = subprocess.run(["curl", "-sS", "--fail", f"http://127.0.0.1:{api_port}/console/sign-in"],
                                 capture_output=True, text=True, timeout=30)
        assert 'name="token"' in sign_in.stdout, sign_in.stderr  # the console is served too
        api = f"http://127.0.0.1:{api_port}/api/v1"
        auth = ["-H", "Authorization: Bearer dev-agent"]
        intake = {
            "kind": "repair", "channel": "hotline", "customer_name": "赵女士", "phone": "13700001234",
            "address": "北京市朝阳区建国路8号", "description": "卫生间天花板漏水",
        }
        case = curl("-X", "POST", f"{api}/cases", *auth, "-H", "Content-Type: application/json", "-d", json.dumps(intake))
        case_no, opened = case["case_no"], time.monotonic()
        assert case["severity"] == "emergency"  # demo emergency response clock: 3 s

        breached = wait_for(
            lambda: (c := curl(f"{api}/cases/{case_no}", *auth))["sla_breached"] and c, 30, "the breach in the API"
        )
        assert breached["live"] and breached["clocks"][0]["status"] == "breached"
        assert time.monotonic() - opened >= 2.5  # not before its time

        def listed(query: str) -> bool:
            out = subprocess.run(
                [str(BIN / "temporal"), "workflow", "list", "--address", f"127.0.0.1:{temporal_port}",
                 "--query", query, "--output", "json"],
                capture_output=True, text=True, timeout=30,
            )
            return f"case-{case_no}" in out.stdout
        wait_for(lambda: listed("SlaBreached=true"), 30, "the case in `temporal workflow list --query SlaBreached=true`")
        # the README's ready-made queries for managers
        assert listed("SlaBreached = true AND ExecutionStatus = 'Running'")
        assert listed("CaseSeverity = 'emergency' AND CaseStage = 'new'")

        # a supervisor escalates from the CLI, as from the Temporal UI
        subprocess.run(
            [str(BIN / "temporal"), "workflow", "signal", "--address", f"127.0.0.1:{temporal_port}",
             "--workflow-id", f"case-{case_no}", "--name", "escalate",
             "--input", json.dumps({"level": 2, "reason": "客户再次来电", "by": "sup-li"})],
            check=True, capture_output=True, timeout=30,
        )
        by_hand = wait_for(
            lambda: [e for e in curl(f"{api}/cases/{case_no}", *auth)["escalations"] if e["source"] == "supervisor"],
            30, "the supervisor's escalation",
        )
        assert (by_hand[0]["level"], by_hand[0]["by"]) == (2, "sup-li")

        def supervisor_notice() -> bool:
            with sqlite3.connect(tmp_path / "data" / "aftersales.db") as conn:
                rows = conn.execute(
                    "SELECT n.subject FROM notifications n JOIN cases c ON c.id = n.case_id "
                    "WHERE c.case_no = ? AND n.template = 'sla_breach' AND n.recipient = 'supervisor'",
                    (case_no,),
                ).fetchall()
            return len(rows) == 1
        wait_for(supervisor_notice, 30, "the supervisor's notice in the outbox")
        found = curl(f"{api}/cases?text=13700001234", *auth)  # a search by phone …
        assert [c["case_no"] for c in found["items"]] == [case_no]
        time.sleep(0.5)
        assert "13700001234" not in "".join(lines) and "赵女士" not in "".join(lines)  # … leaves no trace in the logs
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=45)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert proc.returncode == 0, "".join(lines[-30:])
    assert "aftersales: stopped" in "".join(lines)
    for port in (temporal_port, api_port):
        with socket.socket() as sock:
            assert sock.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still open after Ctrl-C"


def test_a_malformed_policy_stops_the_run_command_naming_the_key(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text((ROOT / "policies" / "default.toml").read_text(encoding="utf-8").replace('limit = "15m"', 'limit = "soon"', 1), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "run.py"], cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={"PATH": f"{BIN}:/usr/bin:/bin", "AFTERSALES_POLICY": str(bad), "AFTERSALES_DATA_DIR": str(tmp_path)},
    )
    assert done.returncode == 2
    assert "clocks.repair.emergency.response.limit" in done.stderr and "invalid duration 'soon'" in done.stderr
