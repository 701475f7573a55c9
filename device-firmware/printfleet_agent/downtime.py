"""Downtime: when the agent lost the broker (or was not running), recorded durably.

An interval opens when the link drops and closes when it is back; it is
reported only if the user enabled downtime logging for the printer. An
agent that died without a clean shutdown (a power cut) reports the gap
between its last sign of life and its restart.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable

import msgspec

from printfleet_protocol.payloads import SCHEMA_VERSION, Downtime, DowntimeCause

from .outbox import Outbox

Enqueue = Callable[[Callable[[int], msgspec.Struct]], Awaitable[None]]

_OPEN = "downtime_open"
_ENABLED = "downtime_logging"
_ALIVE = "last_alive_at"
_RUNNING = "running"


class DowntimeRecorder:
    def __init__(self, outbox: Outbox, enabled_by_default: bool,
                 clock: Callable[[], float] = time.time) -> None:
        self._outbox = outbox
        self._default = enabled_by_default
        self._clock = clock

    async def enabled(self) -> bool:
        stored = await self._outbox.get_state(_ENABLED)
        return self._default if stored is None else stored == "1"

    async def set_enabled(self, enabled: bool) -> None:
        """The server's per-printer switch; kept across restarts."""
        await self._outbox.set_state(_ENABLED, "1" if enabled else "0")

    async def is_open(self) -> bool:
        return await self._outbox.get_state(_OPEN) is not None

    async def open(self, cause: DowntimeCause | None) -> None:
        """Start an interval now, unless one is open."""
        if await self.is_open():
            return
        record = {"started_at": self._clock(), "cause": str(cause or DowntimeCause.UNKNOWN)}
        await self._outbox.set_state(_OPEN, json.dumps(record))

    async def close(self, enqueue: Enqueue) -> None:
        """End the open interval (if any) and report it when logging is on."""
        raw = await self._outbox.get_state(_OPEN)
        if raw is None:
            return
        record = json.loads(raw)
        ended_at = self._clock()
        if await self.enabled():
            await enqueue(lambda seq: Downtime(
                v=SCHEMA_VERSION, ts=ended_at, seq=seq, started_at=record["started_at"],
                ended_at=ended_at, cause=DowntimeCause(record["cause"])))
        await self._outbox.set_state(_OPEN, None)

    async def note_alive(self) -> None:
        await self._outbox.set_state(_ALIVE, repr(self._clock()))

    async def recover_after_restart(self) -> None:
        """After an unclean stop, open an interval from the last sign of life."""
        was_running = await self._outbox.get_state(_RUNNING) == "1"
        last_alive = await self._outbox.get_state(_ALIVE)
        await self._outbox.set_state(_RUNNING, "1")
        if was_running and last_alive is not None and not await self.is_open():
            record = {"started_at": float(last_alive), "cause": str(DowntimeCause.POWER)}
            await self._outbox.set_state(_OPEN, json.dumps(record))

    async def mark_clean_shutdown(self) -> None:
        await self._outbox.set_state(_RUNNING, "0")
