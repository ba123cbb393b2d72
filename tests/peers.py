"""Real peers on loopback for the channels' tests: an HTTP endpoint standing in for an SMS
provider, a chat robot or a company's system, and an SMTP server (aiosmtpd).

The HTTP peer deduplicates by ``Idempotency-Key`` as a real provider does: a repeated key is
answered like the first time and not delivered again, so ``delivered`` is what the person
would have received.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from aiosmtpd.controller import Controller


@dataclass
class Received:
    path: str
    headers: dict[str, str]  # lower-cased names
    body: bytes

    @property
    def json(self):
        return json.loads(self.body)


class HttpPeer:
    def __init__(self, secret: str | None = None):
        self.secret = secret
        self.requests: list[Received] = []
        self.delivered: dict[str, Received] = {}
        self.accepted = threading.Event()
        self._answers: dict[str, tuple[int, bytes]] = {}
        self._failures: list[tuple[int, bytes]] = []
        self._hold: threading.Event | None = None
        self._lock = threading.Lock()
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length", 0))
                received = Received(self.path, {k.lower(): v for k, v in self.headers.items()}, self.rfile.read(length))
                status, body, hold = peer._handle(received)
                if hold is not None:
                    hold.wait(30)
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the sender died while we held its request

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def _handle(self, received: Received) -> tuple[int, bytes, threading.Event | None]:
        with self._lock:
            self.requests.append(received)
            if self.secret is not None:
                expected = "sha256=" + hmac.new(self.secret.encode(), received.body, hashlib.sha256).hexdigest()
                if not hmac.compare_digest(received.headers.get("x-aftersales-signature", ""), expected):
                    return 401, b'{"error": "bad signature"}', None
            if self._failures:
                status, body = self._failures.pop(0)
                return status, body, None
            key = received.headers.get("idempotency-key", f"no-key-{len(self.requests)}")
            if key in self._answers:  # a repeat: answered as the first time, not delivered again
                return *self._answers[key], None
            self.delivered[key] = received
            answer = (200, json.dumps({"errcode": 0, "errmsg": "ok", "message_id": f"m-{len(self.delivered)}"}).encode())
            self._answers[key] = answer
            hold, self._hold = self._hold, None
            if hold is not None:
                self.accepted.set()
            return *answer, hold

    def fail_next(self, status: int, times: int = 1, body: str = '{"error": "failing on purpose"}') -> None:
        with self._lock:
            self._failures.extend([(status, body.encode())] * times)

    def hold_next(self) -> None:
        """The next delivery is recorded as accepted, then answered only at ``release()``."""
        self._hold = threading.Event()
        self._held = self._hold

    def release(self) -> None:
        held = getattr(self, "_held", None)
        if held is not None:
            held.set()

    def __enter__(self) -> HttpPeer:
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.release()
        self._server.shutdown()
        self._server.server_close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpPeer:
    """aiosmtpd on loopback; with ``starttls=True`` it requires STARTTLS with a self-signed
    certificate for 127.0.0.1 and localhost, whose file is ``ca_file``."""

    def __init__(self, starttls: bool = False, refuse: set[str] = frozenset()):
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.port = free_port()
        self.ca_file: str | None = None
        peer = self

        class Handler:
            async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 - aiosmtpd's naming
                if address in refuse:
                    return "550 5.1.1 no such user"
                envelope.rcpt_tos.append(address)
                return "250 OK"

            async def handle_DATA(self, server, session, envelope):  # noqa: N802
                peer.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
                peer.messages.append(message_from_bytes(envelope.original_content or envelope.content, policy=policy.default))
                return "250 Message accepted"

        options = {}
        if starttls:
            import ssl

            self._dir = tempfile.TemporaryDirectory()
            cert, key = Path(self._dir.name) / "cert.pem", Path(self._dir.name) / "key.pem"
            subprocess.run(
                ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                 "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                check=True, capture_output=True,
            )
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(cert, key)
            options = {"tls_context": context, "require_starttls": True}
            self.ca_file = str(cert)
        self._controller = Controller(Handler(), hostname="127.0.0.1", port=self.port, **options)

    def __enter__(self) -> SmtpPeer:
        self._controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self._controller.stop()
