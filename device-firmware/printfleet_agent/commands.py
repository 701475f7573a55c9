"""Commands from the server: refuse expired ones, ignore duplicates, always answer."""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from printfleet_protocol import Family, PayloadError, decode
from printfleet_protocol.payloads import AckStatus, Command, CommandKind, JobOrigin

from .downloads import DownloadError, FileFetcher
from .printers import PrinterBackend, PrinterError

logger = logging.getLogger(__name__)

REMEMBERED_TRANSACTIONS = 1000

Ack = Callable[[str, AckStatus, dict | None, str | None], Awaitable[None]]
BackendCall = Callable[..., Awaitable[Any]]


class CommandHandler:
    """Turns each command into acks: accepted, then finished or failed; or rejected."""

    def __init__(self, backend: PrinterBackend, call: BackendCall, ack: Ack,
                 fetcher: FileFetcher, settings_hooks: dict[str, Callable[[Any], Awaitable[None]]],
                 clock: Callable[[], float] = time.time) -> None:
        self._backend = backend
        self._call = call
        self._ack = ack
        self._fetcher = fetcher
        self._hooks = settings_hooks
        self._clock = clock
        self._seen: OrderedDict[str, None] = OrderedDict()

    async def handle(self, payload: bytes) -> None:
        """Handle one raw command payload."""
        try:
            command = decode(Family.COMMAND, payload)
        except PayloadError as error:
            logger.warning("ignoring unreadable command: %s", error)
            return
        if command.transaction in self._seen:
            logger.info("ignoring duplicate command %s", command.transaction)
            return
        self._remember(command.transaction)
        if command.expires_at < self._clock():
            await self._ack(command.transaction, AckStatus.REJECTED, None,
                            "command expired before it arrived")
            return
        await self._ack(command.transaction, AckStatus.ACCEPTED, None, None)
        try:
            data = await self._run(command)
        except (PrinterError, DownloadError, KeyError, ValueError, TypeError) as error:
            await self._ack(command.transaction, AckStatus.FAILED, None, _reason(error))
            return
        except Exception as error:  # a bug must still produce an answer, never silence
            logger.exception("command %s failed unexpectedly", command.transaction)
            await self._ack(command.transaction, AckStatus.FAILED, None,
                            f"internal error: {type(error).__name__}: {error}")
            return
        await self._ack(command.transaction, AckStatus.FINISHED, data, None)

    async def _run(self, command: Command) -> dict | None:
        backend, now = self._backend, self._clock()
        match command.kind:
            case CommandKind.PAUSE:
                await self._call(backend.pause, now)
            case CommandKind.RESUME:
                await self._call(backend.resume, now)
            case CommandKind.CANCEL:
                await self._call(backend.cancel, now)
            case CommandKind.START_PRINT:
                return await self._start_print(command, now)
            case CommandKind.SEND_GCODE:
                lines = [str(line) for line in command.args["lines"]]
                return {"replies": await self._call(backend.send_gcode, lines)}
            case CommandKind.CONNECT:
                await self._call(backend.connect)
            case CommandKind.DISCONNECT:
                await self._call(backend.disconnect)
            case CommandKind.CAMERA_LIVE | CommandKind.CONFIGURE:
                hook = self._hooks.get(command.kind.value)
                if hook is None:
                    raise ValueError(f"{command.kind} is not available on this device")
                await hook(command.args)
        return None

    async def _start_print(self, command: Command, now: float) -> dict:
        args = command.args
        file_name = str(args["file_name"])
        local_path = None
        if "url" in args:
            local_path = await self._fetcher.fetch(str(args["url"]), str(args["sha256"]),
                                                   int(args["size_bytes"]))
        job_id = await self._call(self._backend.start_print, file_name, JobOrigin.PRINTFLEET, now,
                                  command.transaction, local_path)
        return {"job_id": job_id}

    def _remember(self, transaction: str) -> None:
        self._seen[transaction] = None
        while len(self._seen) > REMEMBERED_TRANSACTIONS:
            self._seen.popitem(last=False)


def _reason(error: Exception) -> str:
    if isinstance(error, KeyError):
        return f"missing argument {error.args[0]!r}"
    return str(error) or type(error).__name__
