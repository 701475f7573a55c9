"""The live picture's expiry: a timer in the scheduler process keyed on the next expiry time.

The privacy policy keeps the live picture for seconds, so this cannot wait
for a minutely job: the timer sleeps until the oldest live picture's time
is up (received_at + camera_live_s), removes it from database and disk,
and looks again. Pictures arrive through the fleet workers (another
process), so it also looks at least every `poll_s`: a picture arriving at
t is then removed by t + camera_live_s, a few milliseconds late at most.
Removals are summed and recorded as one retention run per `record_every_s`.
"""

from __future__ import annotations

import logging
import threading
import time

from storage import SyncStore
from storage.retention_classes import data_class
from storage.retention_runs import RetentionRun

from .retention import Outcome, Retention
from .settings import Settings

logger = logging.getLogger(__name__)

LIVE = data_class("camera_live")
# received_at < now - ttl removes it: wake just after the exact moment.
WAKE_MARGIN_S = 0.005


class LiveImageExpiry:
    """Removes each live picture camera_live_s after it arrived; start() / stop()."""

    def __init__(self, settings: Settings, store: SyncStore, poll_s: float = 0.5,
                 record_every_s: float = 60.0) -> None:
        self._retention = Retention(settings, store)
        self._store = store
        self._ttl_s = settings.retention.camera_live_s
        self._poll_s = poll_s
        self._record_every_s = record_every_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pending: list[Outcome] = []
        self._window_started = time.time()

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="live-image-expiry",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self._flush(time.time())

    def expire_once(self, now: float) -> float:
        """Remove the live pictures whose time is up; return seconds until the next one's is."""
        outcome = self._retention.run_class(LIVE, now)
        if outcome.rows or outcome.files or outcome.error:
            self._pending.append(outcome)
        if now - self._window_started >= self._record_every_s:
            self._flush(now)
        oldest = self._store.oldest_live_frame_at()
        if oldest is None:
            return self._poll_s
        return min(self._poll_s, max(0.0, oldest + self._ttl_s - now) + WAKE_MARGIN_S)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                wait = self.expire_once(time.time())
            except Exception:  # the database may be away for a while: try again
                logger.exception("live picture expiry failed; trying again")
                wait = self._poll_s
            self._stop.wait(wait)

    def _flush(self, now: float) -> None:
        """Record what was removed since the last record as one run."""
        pending, self._pending = self._pending, []
        started, self._window_started = self._window_started, now
        if not pending:
            return
        oldest = [o.oldest for o in pending if o.oldest is not None]
        newest = [o.newest for o in pending if o.newest is not None]
        errors = [o.error for o in pending if o.error]
        summary = Outcome(LIVE.name, pending[-1].cutoff, sum(o.rows for o in pending),
                          sum(o.files for o in pending), min(oldest, default=None),
                          max(newest, default=None), sum(o.seconds for o in pending),
                          error=errors[-1] if errors else None)
        try:
            self._store.record_retention_run(_as_run(summary, started, now))
        except Exception:
            logger.exception("could not record the live picture expiry run")


def _as_run(outcome: Outcome, started: float, ended: float) -> RetentionRun:
    return RetentionRun(outcome.data_class, False, "expiry", outcome.cutoff, started, ended,
                        outcome.seconds, outcome.rows, outcome.files, outcome.oldest,
                        outcome.newest, outcome.error)
