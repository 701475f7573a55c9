"""A local HTTP receiver for webhook tests: answers from a script, keeps every request."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """Answers the n-th request as script[n] says (an HTTP status, or "slow"); then 204."""

    script: list[int | str]
    slow_s: float = 0.0
    requests: list[Received] = field(default_factory=list)
    url: str = ""

    def answer(self, request: Received) -> int | str:
        self.requests.append(request)
        index = len(self.requests) - 1
        return self.script[index] if index < len(self.script) else 204


@contextmanager
def http_receiver(script: list[int | str], slow_s: float = 0.0) -> Iterator[Receiver]:
    """Run the receiver on a free port of 127.0.0.1 in a thread."""
    receiver = Receiver(script, slow_s)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            answer = receiver.answer(Received(self.path, dict(self.headers), body))
            if answer == "slow":
                time.sleep(receiver.slow_s)
                answer = 200
            self.send_response(int(answer))
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args) -> None:  # keep test output quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, name="webhook-receiver", daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
