"""Loopback peers for the channels: an SMS provider and a WeCom group robot.

Each logs every request it gets (its ``Idempotency-Key``, the time, the path) to a JSON-lines
file and answers as the real one does when all is well (200 ``{"errcode": 0, "errmsg": "ok",
"message_id": …}``, which both the SMS channel and the robot accept). A repeated key is answered
like the first time: the log shows every request, so the bench can count repeats.
They run as threads of the bench itself, which is never killed.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


@dataclass(frozen=True)
class PeerRequest:
    peer: str
    key: str | None
    t: float  # time.time() when the request arrived


class LoggingPeer:
    """``LoggingPeer("sms", log_path)``: ``start()``, then ``url``; ``stop()`` at the end."""

    def __init__(self, name: str, log_path: Path):
        self.name = name
        self.log_path = log_path
        self._lock = threading.Lock()
        self._log = log_path.open("a", encoding="utf-8")
        self._count = 0
        peer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length", 0) or 0)
                if length:
                    self.rfile.read(length)
                number = peer._record(self.headers.get("Idempotency-Key"), self.path)
                body = json.dumps({"errcode": 0, "errmsg": "ok", "message_id": f"{peer.name}-{number}"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/{name}"
        self._thread = threading.Thread(target=self._server.serve_forever, name=f"peer-{name}", daemon=True)

    def _record(self, key: str | None, path: str) -> int:
        with self._lock:
            self._count += 1
            self._log.write(json.dumps({"peer": self.name, "key": key, "t": time.time(), "path": path}) + "\n")
            self._log.flush()
            return self._count

    def start(self) -> LoggingPeer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        with self._lock:
            self._log.close()


def read_log(path: Path) -> list[PeerRequest]:
    if not path.exists():
        return []
    requests = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            entry = json.loads(line)
            requests.append(PeerRequest(entry["peer"], entry.get("key"), entry["t"]))
    return requests
