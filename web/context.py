"""What the views share: the store, the settings and the live-stream state."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from flask import current_app

from printfleet.device_commands import Publisher
from printfleet.settings import Settings
from storage import SyncStore

from .live import LiveStreams

EXTENSION_KEY = "printfleet"


@dataclass
class WebState:
    """Everything create_app builds once and the views read per request."""

    settings: Settings
    store: SyncStore
    live_streams: LiveStreams = field(default_factory=LiveStreams)
    # Set when the server shuts down, so open live streams end at once.
    stopping: threading.Event = field(default_factory=threading.Event)
    # Sends device commands as the fleet's service account; built on first use
    # (web/printer_commands.py), closed with the server.
    publisher: Publisher | None = None
    publisher_lock: threading.Lock = field(default_factory=threading.Lock)


def web_state() -> WebState:
    """Return the state of the app handling the current request."""
    return current_app.extensions[EXTENSION_KEY]


def store() -> SyncStore:
    """Return the storage handle for the current request."""
    return web_state().store
