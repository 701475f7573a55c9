"""Camera pictures in the fleet worker: written to disk and recorded, one at a time.

Pictures do not go through the batcher: each is a file plus a row, and a
live one replaces the device's previous live picture. They are few (a
device sends one every couple of seconds while someone watches, and one per
job event), so a single consumer saves them in order, off the event loop,
and acknowledges each once it is stored. The edge has already checked the
image (fleet/edge.py): what arrives here is a JPEG or PNG within the limit.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from storage import Accepted, BackendUnavailable
from storage.camera_images import CameraImages, Picture

logger = logging.getLogger(__name__)

RETRY_DELAYS_S = (0.1, 0.5, 1.0, 2.0, 5.0)

# done(token): the picture is stored; refuse(item, reason, detail, token):
# it cannot be, record why (and acknowledge it once that record is kept).
Done = Callable[[Any], None]
Refuse = Callable[[Accepted, str, str, Any], None]


class CameraIngest:
    """Saves accepted camera pictures through CameraImages and reports each outcome."""

    def __init__(self, images: CameraImages, done: Done, refuse: Refuse) -> None:
        self._images = images
        self._done = done
        self._refuse = refuse
        self._queue: asyncio.Queue[tuple[Accepted, Any] | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.stored = 0

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="camera-ingest")

    async def stop(self) -> None:
        """Save what is queued, then stop; while storage is away, leave the rest unacknowledged."""
        self._stopping = True
        if self._task is not None:
            self._queue.put_nowait(None)
            await self._task
            self._task = None

    def add(self, item: Accepted, token: Any) -> None:
        """Queue one picture; done or refuse gets its token."""
        self._queue.put_nowait((item, token))

    async def _run(self) -> None:
        while (entry := await self._queue.get()) is not None:
            item, token = entry
            try:
                await self._save(item, token)
            except Exception:  # a bug must not stop the pictures behind this one
                logger.exception("storing a camera picture from %s failed", item.device_id)

    async def _save(self, item: Accepted, token: Any) -> None:
        picture = picture_of(item)
        attempt = 0
        while True:
            try:
                await asyncio.to_thread(self._images.save, picture)
                break
            except BackendUnavailable as error:
                # Transient: keep the picture unacknowledged and try again.
                if self._stopping:
                    logger.warning("stopping with a camera picture from %s not stored (%s); "
                                   "the broker delivers it again", item.device_id, error)
                    return
                delay = RETRY_DELAYS_S[min(attempt, len(RETRY_DELAYS_S) - 1)]
                if attempt == 0:
                    logger.warning("database unavailable for a camera picture (%s); retrying",
                                   error)
                attempt += 1
                await asyncio.sleep(delay)
            except (OSError, ValueError) as error:
                logger.error("camera picture %s/%d not stored: %s", item.device_id,
                             item.message.seq, error)
                self._refuse(item, "not_stored", f"{type(error).__name__}: {error}", token)
                return
        self.stored += 1
        self._done(token)


def picture_of(item: Accepted) -> Picture:
    """The storable picture an accepted camera message carries."""
    m = item.message
    return Picture(item.device_id, m.seq, m.ts, item.received_at, m.reason, m.job_id, m.image)
