"""Serve the web app with waitress, streaming server-sent events as written."""

from __future__ import annotations

import logging
import threading

from flask import Flask
from waitress import create_server, wasyncore
from waitress.trigger import trigger

from printfleet.settings import Settings

from .context import EXTENSION_KEY, WebState

logger = logging.getLogger(__name__)

# waitress 3 writes each chunk an app yields to the socket at once (its old
# send_bytes buffering is deprecated and defaults to 1 byte; passing it only
# raises a DeprecationWarning), so events need no padding. What a stream does
# need is channel_request_lookahead: by default waitress stops reading a
# connection while its request runs, so it only learns that a browser left
# when a later write fails. With lookahead it keeps reading, sees the close
# at once and reports it through environ["waitress.client_disconnected"],
# which the live stream checks to give its thread back.
CHANNEL_REQUEST_LOOKAHEAD = 1
_SHUTDOWN_TIMEOUT_S = 5.0


class WebServer:
    """A waitress server bound to its address; run() serves, close() stops it."""

    def __init__(self, settings: Settings, app: Flask) -> None:
        self._state: WebState | None = app.extensions.get(EXTENSION_KEY)
        # Our own socket map, so close() can shut every socket of this server.
        self._map: dict = {}
        self._server = create_server(
            app,
            map=self._map,
            host=settings.web.host,
            port=settings.web.port,
            threads=settings.web.threads,
            channel_request_lookahead=CHANNEL_REQUEST_LOOKAHEAD,
            ident="printfleet",
        )
        self._wakeup = trigger(self._map)
        self._running = threading.Event()
        self._loop_done = threading.Event()

    @property
    def addresses(self) -> list[tuple[str, int]]:
        """Return the (host, port) pairs actually listened on."""
        listen = getattr(self._server, "effective_listen", None)
        if listen is None:
            listen = [(self._server.effective_host, self._server.effective_port)]
        # waitress reports TCP ports as strings (from getnameinfo).
        return [(str(host), int(port)) for host, port in listen]

    @property
    def port(self) -> int:
        """Return the port listened on (useful when settings asked for port 0)."""
        return self.addresses[0][1]

    def run(self) -> None:
        """Serve until close() is called or the process is interrupted."""
        for host, port in self.addresses:
            logger.info("web UI listening on http://%s:%d/", _url_host(host), port)
        self._running.set()
        adj = self._server.adj
        try:
            # The loop waitress's own run() wraps, minus its catching of
            # KeyboardInterrupt: the caller should see it, and serve() closes
            # live streams before waiting for threads instead of after.
            wasyncore.loop(timeout=adj.asyncore_loop_timeout, map=self._map,
                           use_poll=adj.asyncore_use_poll)
        finally:
            self._loop_done.set()

    def close(self) -> None:
        """End live streams, let running requests finish, then close every socket."""
        if self._state is not None:
            self._state.stopping.set()
        self._server.task_dispatcher.shutdown(timeout=_SHUTDOWN_TIMEOUT_S)
        if self._state is not None and self._state.publisher is not None:
            self._state.publisher.close()
        if self._running.is_set() and not self._loop_done.is_set():
            # Sockets must be closed by the thread that polls them, or it may
            # select() on a closed descriptor; the trigger runs this there.
            self._wakeup.pull_trigger(lambda: wasyncore.close_all(self._map))
            if not self._loop_done.wait(_SHUTDOWN_TIMEOUT_S):
                logger.warning("web server loop did not stop within %.0f s",
                               _SHUTDOWN_TIMEOUT_S)
        else:
            wasyncore.close_all(self._map)


def make_server(settings: Settings, app: Flask) -> WebServer:
    """Bind the web server to settings.web.host/port without serving yet."""
    return WebServer(settings, app)


def serve(settings: Settings, app: Flask | None = None) -> None:
    """Serve the web UI (built from settings unless given) until interrupted."""
    if app is None:
        from . import create_app

        app = create_app(settings)
    server = make_server(settings, app)
    try:
        server.run()
    finally:
        server.close()


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
