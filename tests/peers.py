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
import ssl
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
    path: str  # with the query string
    headers: dict[str, str]  # lower-cased names
    body: bytes

    @property
    def json(self):
        return json.loads(self.body)


@dataclass(frozen=True)
class _Answer:
    status: int
    body: bytes
    request_id: str | None = None  # sent as X-Request-Id, as webhook receivers often do


class HttpPeer:
    """``with HttpPeer(secret=None) as peer``: POSTs to ``peer.url`` are recorded in ``requests``;
    the first one per ``Idempotency-Key`` is also in ``delivered`` and answered 200 with
    ``{"errcode": 0, "errmsg": "ok", "message_id": "m-<n>"}``. With a ``secret``, a request
    without the right ``X-Aftersales-Signature`` is answered 401 and not delivered."""

    def __init__(self, secret: str | None = None):
        self.secret = secret
        self.requests: list[Received] = []
        self.delivered: dict[str, Received] = {}
        self.accepted = threading.Event()  # set once a held request has been delivered
        self._answers: dict[str, _Answer] = {}
        self._failures: list[_Answer] = []
        self._hold: threading.Event | None = None  # armed by hold_next, taken by the next delivery
        self._held: list[threading.Event] = []  # every hold taken, so that release() frees them all
        self._lock = threading.Lock()
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length", 0))
                received = Received(self.path, {k.lower(): v for k, v in self.headers.items()}, self.rfile.read(length))
                answer, hold = peer._handle(received)
                if hold is not None:
                    hold.wait(60)  # released by the test, or by __exit__ at the latest
                try:
                    self.send_response(answer.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(answer.body)))
                    if answer.request_id:
                        self.send_header("X-Request-Id", answer.request_id)
                    self.end_headers()
                    self.wfile.write(answer.body)
                except OSError:
                    pass  # the sender died while we held its request

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def _handle(self, received: Received) -> tuple[_Answer, threading.Event | None]:
        with self._lock:
            self.requests.append(received)
            if self.secret is not None:
                expected = "sha256=" + hmac.new(self.secret.encode(), received.body, hashlib.sha256).hexdigest()
                if not hmac.compare_digest(received.headers.get("x-aftersales-signature", "").encode(), expected.encode()):
                    return _Answer(401, b'{"error": "bad signature"}'), None
            if self._failures:
                return self._failures.pop(0), None
            key = received.headers.get("idempotency-key", f"no-key-{len(self.requests)}")
            if key in self._answers:  # a repeat: answered as the first time, not delivered again
                return self._answers[key], None
            self.delivered[key] = received
            message_id = f"m-{len(self.delivered)}"
            answer = _Answer(200, json.dumps({"errcode": 0, "errmsg": "ok", "message_id": message_id}).encode(), message_id)
            self._answers[key] = answer
            hold, self._hold = self._hold, None
            if hold is not None:
                self._held.append(hold)
                self.accepted.set()
            return answer, hold

    def fail_next(self, status: int, times: int = 1, body: str = '{"error": "failing on purpose"}') -> None:
        """Answer the next ``times`` requests with ``status`` and ``body``; they are not delivered."""
        with self._lock:
            self._failures.extend([_Answer(status, body.encode())] * times)

    def hold_next(self) -> None:
        """The next delivery is recorded as accepted (``accepted`` is set), then answered only at
        ``release()``: the window in which a worker can die without hearing the answer."""
        with self._lock:
            self.accepted.clear()
            self._hold = threading.Event()

    def release(self) -> None:
        with self._lock:
            for held in self._held:
                held.set()

    def __enter__(self) -> HttpPeer:
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.release()  # a handler still held must not keep shutdown waiting
        with self._lock:
            self._hold = None
        self._server.shutdown()
        self._server.server_close()


def free_port() -> int:
    """A port nobody listens on (for a moment): the SMTP peer's, or a server that is down."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate for localhost and 127.0.0.1 (subjectAltName DNS and IP, as verification
    by name or by address needs) and its key, made by the openssl CLI."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    return cert, key


class SmtpPeer:
    """aiosmtpd on loopback, collecting ``messages`` (parsed) and ``envelopes`` ((mail_from, rcpt_tos)).

    ``starttls=True`` requires STARTTLS, ``implicit_tls=True`` speaks TLS from the start (SMTPS);
    either way with a self-signed certificate for localhost and 127.0.0.1 whose file is
    ``ca_file``. Recipients in ``refuse`` get 550 (no such user), those in ``defer`` get 450
    (greylisted: a real server's way of saying "try again later").
    """

    def __init__(self, starttls: bool = False, refuse: set[str] = frozenset(), defer: set[str] = frozenset(),
                 implicit_tls: bool = False):
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.port = free_port()
        self.ca_file: str | None = None
        self._dir: tempfile.TemporaryDirectory | None = None
        peer = self

        class Handler:
            async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 - aiosmtpd's naming
                if address in refuse:
                    return "550 5.1.1 no such user"
                if address in defer:
                    return "450 4.2.0 greylisted, try again later"
                envelope.rcpt_tos.append(address)
                return "250 OK"

            async def handle_DATA(self, server, session, envelope):  # noqa: N802
                peer.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
                peer.messages.append(message_from_bytes(envelope.original_content or envelope.content, policy=policy.default))
                return "250 Message accepted"

        options = {}
        if starttls or implicit_tls:
            self._dir = tempfile.TemporaryDirectory()
            cert, key = self_signed_certificate(Path(self._dir.name))
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(cert, key)
            options = {"ssl_context": context} if implicit_tls else {"tls_context": context, "require_starttls": True}
            self.ca_file = str(cert)
        self._controller = Controller(Handler(), hostname="127.0.0.1", port=self.port, **options)

    def __enter__(self) -> SmtpPeer:
        self._controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self._controller.stop()
        if self._dir is not None:
            self._dir.cleanup()
