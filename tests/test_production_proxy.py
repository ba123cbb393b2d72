"""deploy/Caddyfile for real: Caddy (Debian's package) on loopback with its internal CA, in
front of the app under uvicorn as the image runs it (--proxy-headers, FORWARDED_ALLOW_IPS).
Only the upstream's address and the ports differ from production (security review A3)."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import ssl
import subprocess
from pathlib import Path

import httpx
import pytest
import uvicorn
from conftest import ADMIN_URL, ROOT, make_settings

from api.app import create_app

CADDY = shutil.which("caddy")


@pytest.fixture(autouse=True)
def _caddy() -> None:
    # Part of what the suite covers: without Caddy the run fails, it never skips quietly.
    if CADDY is None:
        pytest.fail("caddy is not installed (make test installs Debian's caddy)", pytrace=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def caddyfile(tmp: Path, upstream: int, http_port: int, https_port: int) -> Path:
    """The production Caddyfile, its upstream on loopback, behind global options that keep
    this Caddy to itself: its own ports and storage, no admin endpoint, and its CA's root
    not installed into the machine's trust store."""
    site = (ROOT / "deploy" / "Caddyfile").read_text(encoding="utf-8")
    assert site.count("reverse_proxy api:8000") == 1
    site = site.replace("reverse_proxy api:8000", f"reverse_proxy 127.0.0.1:{upstream}")
    options = (f"{{\n\tadmin off\n\thttp_port {http_port}\n\thttps_port {https_port}\n\tskip_install_trust\n"
               f"\tstorage file_system {{\n\t\troot {tmp / 'data'}\n\t}}\n}}\n\n")
    path = tmp / "Caddyfile"
    path.write_text(options + site, encoding="utf-8")
    return path


async def sign_in(http: httpx.AsyncClient, token: str) -> str:
    page = await http.get("/console/sign-in")
    form_token = re.search(r'name="form_token" value="([^"]+)"', page.text).group(1)
    cookies = "; ".join(f"{k}={v}" for k, v in page.cookies.items())
    answer = await http.post("/console/sign-in", data={"form_token": form_token, "token": token},
                             headers={"Cookie": cookies})
    assert answer.status_code == 303, answer.text
    return next(v for v in answer.headers.get_list("set-cookie") if v.startswith("aftersales_session="))


async def test_A3_behind_caddy_the_cookie_is_secure_and_forwarded_headers_count_only_from_it(tmp_path):
    # Development settings on purpose: there the cookie is Secure only if uvicorn believes the
    # request came over https, so the cookie says whose X-Forwarded-Proto was believed.
    app = create_app(make_settings(ADMIN_URL))
    upstream, http_port, https_port = free_port(), free_port(), free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=upstream, lifespan="off", log_level="warning",
                                           access_log=False, proxy_headers=True, forwarded_allow_ips="127.0.0.1"))
    serving = asyncio.create_task(server.serve())
    config = caddyfile(tmp_path, upstream, http_port, https_port)
    env = {**os.environ, "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "data"),
           "XDG_CONFIG_HOME": str(tmp_path / "config"), "AFTERSALES_DOMAIN": "localhost"}
    env.pop("AFTERSALES_TLS", None)  # the default: tls internal
    caddy = subprocess.Popen([CADDY, "run", "--config", str(config), "--adapter", "caddyfile"], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        root = tmp_path / "data" / "pki" / "authorities" / "local" / "root.crt"
        for _ in range(200):
            if caddy.poll() is not None:
                pytest.fail(f"caddy stopped: {caddy.stderr.read().decode()[-2000:]}")
            if root.exists() and server.started:
                try:
                    with socket.create_connection(("127.0.0.1", https_port), timeout=1):
                        break
                except OSError:
                    pass
            await asyncio.sleep(0.1)
        tls = ssl.create_default_context(cafile=str(root))  # the internal CA, as the desk trusts it

        async with httpx.AsyncClient(base_url=f"https://localhost:{https_port}", verify=tls) as proxied:
            for _ in range(50):  # the certificate is issued just after the port opens
                try:
                    health = await proxied.get("/api/v1/healthz")
                    break
                except (httpx.ConnectError, httpx.ReadError):
                    await asyncio.sleep(0.1)
            assert health.headers["strict-transport-security"].startswith("max-age=")
            assert "server" not in health.headers and health.headers["cache-control"] == "no-store"
            assert "; secure" in (await sign_in(proxied, "t-agent")).lower()
            # Over the limit, declared or streamed: 413 (not the 502 of a dropped upstream).
            async def streamed():
                for _ in range(32):
                    yield b"a" * (64 * 1024)

            for body in (b"a" * (2 * 1024 * 1024), streamed()):
                too_big = await proxied.post("/api/v1/cases", content=body, headers={"Content-Type": "application/json"})
                assert too_big.status_code == 413

        async with httpx.AsyncClient(base_url=f"http://localhost:{http_port}") as plain:
            redirect = await plain.get("/console/sign-in")
            assert redirect.status_code in (301, 308)
            assert redirect.headers["location"].startswith("https://localhost")

        # Straight to uvicorn from another address, claiming https: not believed.
        spoofing = httpx.AsyncHTTPTransport(local_address="127.0.0.2")
        async with httpx.AsyncClient(transport=spoofing, base_url=f"http://127.0.0.1:{upstream}",
                                     headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "10.9.8.7"}) as direct:
            assert "; secure" not in (await sign_in(direct, "t-agent")).lower()
    finally:
        caddy.terminate()
        try:
            caddy.wait(timeout=10)
        except subprocess.TimeoutExpired:
            caddy.kill()
        server.should_exit = True
        await asyncio.wait_for(serving, timeout=10)
