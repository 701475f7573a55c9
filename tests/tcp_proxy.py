"""A loopback TCP proxy for fault tests: relay, freeze (a silent network) or cut connections.

With `record=True` it also keeps every byte it relays, in both directions
(`recorded`), so a test can check what an eavesdropper on the network saw.
"""

from __future__ import annotations

import asyncio
import contextlib


class TcpProxy:
    """Relays 127.0.0.1:<port> to a target port in the test's event loop."""

    def __init__(self, target_port: int, record: bool = False) -> None:
        self._target_port = target_port
        self._record = record
        self._server: asyncio.base_events.Server | None = None
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._recorded: list[bytes] = []
        self.port = 0
        self.connections = 0  # accepted so far

    @property
    def recorded(self) -> bytes:
        """Everything relayed so far, both directions, in arrival order."""
        return b"".join(self._recorded)

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def freeze(self) -> None:
        """Stop relaying bytes but keep every connection open, as a stalled network does."""
        self._flowing.clear()

    def thaw(self) -> None:
        self._flowing.set()

    def cut(self) -> None:
        """Close every relayed connection at once."""
        for writer in list(self._writers):
            writer.close()
        self._writers.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self._target_port)
        except OSError:
            writer.close()
            return
        self._writers.update((writer, up_writer))
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer),
                             return_exceptions=True)
        for w in (writer, up_writer):
            self._writers.discard(w)
            w.close()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while data := await reader.read(65536):
                if self._record:
                    self._recorded.append(data)
                await self._flowing.wait()
                writer.write(data)
                await writer.drain()
        writer.close()
