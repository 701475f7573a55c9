"""What a firmware says about itself after each connect: M115, then auto-reports and the mesh."""

from __future__ import annotations

from collections.abc import Callable

from printfleet_protocol.payloads import BedMesh

from ..base import PrinterFacts
from .bedmesh import parse_bed_mesh
from .firmware import Capability, FirmwareInfo
from .protocol import Pending
from .replies import Reply
from .settings import SerialPrinterSettings


class FirmwareSurvey:
    """Asks M115, turns on M155 if the firmware can, reads the bed mesh; then calls `on_done`."""

    def __init__(self, settings: SerialPrinterSettings, submit: Callable[[Pending], None],
                 on_done: Callable[[], None]) -> None:
        self._settings = settings
        self._submit = submit
        self._on_done = on_done
        self.firmware: FirmwareInfo | None = None
        self.capabilities: dict[str, bool] = {}
        self.mesh: BedMesh | None = None

    @property
    def autoreport(self) -> bool:
        """Tell whether the firmware reports temperatures by itself (M155)."""
        return self.capabilities.get("AUTOREPORT_TEMP", False)

    def start(self) -> None:
        """Begin asking; answers arrive through `observe` and the commands' callbacks."""
        self.firmware, self.capabilities = None, {}
        self._submit(Pending("M115", on_done=self._described))

    def observe(self, reply: Reply) -> None:
        """Take in the M115 lines, whenever they come."""
        if isinstance(reply, FirmwareInfo):
            self.firmware = reply
        elif isinstance(reply, Capability):
            self.capabilities[reply.name] = reply.enabled

    def facts(self) -> PrinterFacts:
        """Return what is known so far."""
        firmware = self.firmware
        return PrinterFacts(firmware.name if firmware else "unknown",
                            firmware.version if firmware else None, self.mesh,
                            capabilities=dict(self.capabilities))

    def _described(self, pending: Pending) -> None:
        if pending.error is not None:
            return  # the line dropped; the next connect starts over
        if self.autoreport:
            self._submit(Pending(f"M155 S{self._settings.temperature_autoreport_s}"))
        prusa = self.firmware is not None and self.firmware.name.startswith("Prusa")
        # Prusa-Firmware reports its mesh with G81; Marlin with M420 V.
        self._submit(Pending("G81" if prusa else "M420 V", on_done=self._mesh_reported))

    def _mesh_reported(self, pending: Pending) -> None:
        if pending.error is not None:
            return
        mesh = parse_bed_mesh(pending.replies, self._settings.bed_size_mm)
        ubl_without_map = any("Unified Bed Leveling" in reply for reply in pending.replies)
        if mesh is None and ubl_without_map and pending.command != "G29 T":
            # Only UBL's G29 T is a report; elsewhere G29 probes the bed and moves the head.
            self._submit(Pending("G29 T", on_done=self._mesh_reported))
            return
        self.mesh = mesh
        self._on_done()
