"""Listen to OctoPrint's push socket in a thread of its own, reconnecting until stopped.

OctoPrint serves SockJS at /sockjs; its raw WebSocket endpoint
/sockjs/websocket carries one JSON object per message ({"event": ...},
{"current": ...}, {"history": ...}). The socket is authenticated by
sending {"auth": "<user>:<session>"}, the session coming from a passive
login (/api/login with the API key). After that the client asks for what
it wants ("subscribe"); OctoPrint then sends a "history" message, which
marks the link as live: events from then on reach us.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from .rest import OctoPrintAuthError, OctoPrintError, OctoPrintRest
from .websocket import WebSocket, WebSocketError

logger = logging.getLogger(__name__)

EVENTS = ["PrintStarted", "PrintPaused", "PrintResumed", "PrintDone", "PrintCancelling",
          "PrintCancelled", "PrintFailed", "Error", "PrinterStateChanged"]
# "current" messages come every 500 ms times this factor; we only take Z from them.
THROTTLE_FACTOR = 2
MAX_RETRY_DELAY_S = 30.0

OnMessage = Callable[[str, Any, float], None]


def websocket_url(base_url: str) -> str:
    """OctoPrint's raw WebSocket address under its base URL (path prefixes kept)."""
    parts = urlsplit(base_url)
    scheme = "wss" if parts.scheme == "https" else "ws"
    return urlunsplit((scheme, parts.netloc, parts.path.rstrip("/") + "/sockjs/websocket", "", ""))


class PushListener:
    """Delivers push messages to `on_message(kind, body, received_at)` from its own thread.

    `on_linked` runs in that thread each time a (re)connected socket is live,
    before any message that follows, so the owner can reconcile what it
    missed while the link was down.
    """

    def __init__(self, rest: OctoPrintRest, on_message: OnMessage, on_linked: Callable[[], None],
                 timeout_s: float, retry_delay_s: float, idle_timeout_s: float,
                 clock: Callable[[], float] = time.time) -> None:
        self._rest = rest
        self._url = websocket_url(rest.base_url)
        self._on_message = on_message
        self._on_linked = on_linked
        self._timeout_s = timeout_s
        self._retry_delay_s = retry_delay_s
        self._idle_timeout_s = idle_timeout_s
        self._clock = clock
        self._stopping = threading.Event()
        self._linked = threading.Event()
        self._lock = threading.Lock()
        self._socket: WebSocket | None = None
        self._thread: threading.Thread | None = None
        self._delay = retry_delay_s
        self.last_error: str | None = None

    @property
    def linked(self) -> bool:
        return self._linked.is_set()

    def start(self) -> None:
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="octoprint-push", daemon=True)
        self._thread.start()

    def wait_linked(self, timeout_s: float) -> bool:
        """Wait until the socket is live; False if it is not within the timeout."""
        return self._linked.wait(timeout_s)

    def stop(self) -> None:
        self._stopping.set()
        with self._lock:
            if self._socket is not None:
                self._socket.close()
        if self._thread is not None:
            self._thread.join(self._timeout_s + 5)
            self._thread = None
        self._linked.clear()

    def _run(self) -> None:
        self._delay = self._retry_delay_s
        while not self._stopping.is_set():
            try:
                self._session()
            except OctoPrintAuthError as error:
                self._lost(f"OctoPrint refused the agent's push link: {error}")
                self._delay = MAX_RETRY_DELAY_S
            except (OctoPrintError, WebSocketError, OSError, ValueError) as error:
                self._lost(f"push link to OctoPrint lost: {error}")
            except Exception as error:  # keep listening whatever a handler did
                logger.exception("push link to OctoPrint failed")
                self._lost(f"push link to OctoPrint failed: {error}")
            if self._stopping.wait(self._delay):
                break
            self._delay = min(MAX_RETRY_DELAY_S, self._delay * 2)

    def _lost(self, message: str) -> None:
        self._linked.clear()
        if not self._stopping.is_set():
            if message != self.last_error:
                logger.warning("%s", message)
            self.last_error = message

    def _session(self) -> None:
        login = self._rest.post("/api/login", {"passive": True})
        if not isinstance(login, dict) or not login.get("name") or not login.get("session"):
            raise OctoPrintAuthError("the passive login gave no user session")
        socket = WebSocket.connect(self._url, self._timeout_s)
        with self._lock:
            self._socket = socket
        if self._stopping.is_set():
            socket.close()
            return
        try:
            socket.send_text(json.dumps({"auth": f"{login['name']}:{login['session']}"}))
            socket.send_text(json.dumps({"subscribe": {
                "state": {"logs": False, "messages": False}, "events": EVENTS,
                "plugins": False}}))
            socket.send_text(json.dumps({"throttle": THROTTLE_FACTOR}))
            self._listen(socket)
        finally:
            with self._lock:
                self._socket = None
            socket.close()

    def _listen(self, socket: WebSocket) -> None:
        socket.settimeout(self._idle_timeout_s)
        while not self._stopping.is_set():
            try:
                raw = socket.receive()
            except TimeoutError:
                # Quiet for a while (an idle OctoPrint may say nothing): ping it,
                # and give up once a ping went unanswered for as long again.
                if time.monotonic() - socket.last_frame_at >= 2 * self._idle_timeout_s:
                    raise WebSocketError("OctoPrint stopped answering") from None
                socket.ping()
                continue
            self._dispatch(json.loads(raw))

    def _dispatch(self, message: Any) -> None:
        if not isinstance(message, dict):
            return
        for kind, body in message.items():
            if kind == "reauthRequired":
                raise WebSocketError(f"OctoPrint asks to log in again ({body})")
            if kind == "history" and not self._linked.is_set():
                self._on_linked()
                self._linked.set()
                self._delay = self._retry_delay_s  # a link that worked retries soon when lost
                self.last_error = None
                logger.info("push link to OctoPrint at %s is live", self._rest.base_url)
            self._on_message(kind, body, self._clock())
