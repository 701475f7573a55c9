"""Tell a printer someone is watching its camera: one `watch` per device per renewal period.

Every open page renews its watch (web/static/camera.js); the device takes
live pictures until the last watch runs out. Pages watching the same
printer share the messages: a device hears at most one `watch` per third of
watch_s, which still keeps it going with time to spare.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from printfleet_protocol import Family, device_topic, encode
from printfleet_protocol.payloads import SCHEMA_VERSION, CameraWatch

from .device_commands import Publisher

logger = logging.getLogger(__name__)

RENEWALS_PER_WATCH = 3


class CameraWatches:
    """Sends camera watches for the web (thread-safe: one per web process)."""

    def __init__(self, publisher: Publisher, prefix: str, watch_s: float, interval_s: float,
                 clock: Callable[[], float] = time.time) -> None:
        self._publisher = publisher
        self._prefix = prefix
        self.watch_s = watch_s
        self.interval_s = interval_s
        self._clock = clock
        self._sent: dict[str, float] = {}
        self._lock = threading.Lock()

    @property
    def renew_every_s(self) -> float:
        """How often a page renews its watch."""
        return self.watch_s / RENEWALS_PER_WATCH

    def watch(self, device_id: str) -> bool:
        """Keep the device's live pictures going; False if a recent watch already does.

        Raises CommandError (printfleet.device_commands) when the broker is
        out of reach or refuses the message.
        """
        now = self._clock()
        with self._lock:
            last = self._sent.get(device_id)
            if last is not None and now - last < self.renew_every_s:
                return False
            self._sent[device_id] = now
        message = CameraWatch(v=SCHEMA_VERSION, ts=now, watch_s=self.watch_s,
                              interval_s=self.interval_s)
        try:
            self._publisher.publish(device_topic(self._prefix, device_id, Family.WATCH),
                                    encode(message))
        except Exception:
            with self._lock:  # not sent: the next page's renewal must try again
                if self._sent.get(device_id) == now:
                    del self._sent[device_id]
            raise
        logger.debug("camera watch sent to %s for %.0f s", device_id, self.watch_s)
        return True
