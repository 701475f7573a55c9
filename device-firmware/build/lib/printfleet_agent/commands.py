"""Commands from the server: refuse expired ones, ignore duplicates, always answer."""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable

from printfleet_protocol import Family, PayloadError, decode
from printfleet_protocol.payloads import (
    SCHEMA_VERSION,
    AckStatus,
    Command,
    CommandAck,
    CommandKind,
    JobOrigin,
)

from .printers import PrinterBackend, PrinterError

logger = logging.getLogger(__name__)

REMEMBERED_TRANSACTIONS = 1000

Publish = Callable[[CommandAck], None]
NextSeq = Callable[[], int]


class CommandHandler:
    """Turns each command into acks: accepted, then finished or failed; or rejected."""

    def __init__(self, backend: PrinterBackend, publish: Publish, next_seq: NextSeq,
                 clock: Callable[[], float] = time.time) -> None:
        self._backend = backend
        self._publish = publish
        self._next_seq = next_seq
        self._clock = clock
        self._seen: OrderedDict[str, None] = OrderedDict()

    def handle(self, payload: bytes) -> None:
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
        now = self._clock()
        if command.expires_at < now:
            self._ack(command, AckStatus.REJECTED, error="command expired before it arrived")
            return
        self._ack(command, AckStatus.ACCEPTED)
        try:
            data = self._run(command, now)
        except (PrinterError, KeyError, ValueError, TypeError) as error:
            self._ack(command, AckStatus.FAILED, error=str(error))
            return
        self._ack(command, AckStatus.FINISHED, data=data)

    def _run(self, command: Command, now: float) -> dict | None:
        backend = self._backend
        match command.kind:
            case CommandKind.PAUSE:
                backend.pause(now)
            case CommandKind.RESUME:
                backend.resume(now)
            case CommandKind.CANCEL:
                backend.cancel(now)
            case CommandKind.START_PRINT:
                job_id = backend.start_print(str(command.args["file_name"]),
                                             JobOrigin.PRINTFLEET, now, command.transaction)
                return {"job_id": job_id}
            case CommandKind.SEND_GCODE:
                return {"replies": backend.send_gcode([str(x) for x in command.args["lines"]])}
            case CommandKind.CONNECT:
                backend.connect()
            case CommandKind.DISCONNECT:
                backend.disconnect()
            case _:
                raise ValueError(f"{command.kind} is not supported by this agent")
        return None

    def _ack(self, command: Command, status: AckStatus, data: dict | None = None,
             error: str | None = None) -> None:
        self._publish(CommandAck(v=SCHEMA_VERSION, ts=self._clock(), seq=self._next_seq(),
                                 transaction=command.transaction, status=status, data=data,
                                 error=error))

    def _remember(self, transaction: str) -> None:
        self._seen[transaction] = None
        while len(self._seen) > REMEMBERED_TRANSACTIONS:
            self._seen.popitem(last=False)
