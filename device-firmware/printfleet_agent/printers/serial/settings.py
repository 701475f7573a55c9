"""Settings of a printer on a bare serial line."""

from __future__ import annotations

from dataclasses import dataclass

MAX_INFLIGHT_LINES = 16


@dataclass(frozen=True)
class SerialPrinterSettings:
    """Where the printer is and how patiently to talk to it; times in seconds."""

    port: str = "/dev/ttyACM0"
    baudrate: int = 115200
    # Tried in this order after `baudrate` until one gives a valid reply.
    fallback_baudrates: tuple[int, ...] = (115200, 250000, 230400, 57600)
    # Unacknowledged lines allowed at once; each "ok" frees one. Marlin's
    # command buffer holds 4 by default; more only fills its serial buffer.
    inflight_lines: int = 1
    # Sent lines kept for resend requests; must exceed inflight_lines.
    resend_history_lines: int = 64
    # Boards that reset when the port opens print "start" once booted.
    boot_wait_s: float = 2.0
    # How long each baud rate gets to answer M110 with "ok".
    handshake_timeout_s: float = 2.0
    # Silence from the printer this long while a line waits for its "ok"
    # means the link is dead; busy/wait/temperature lines restart the clock.
    response_timeout_s: float = 30.0
    # After a resend request with more lines in flight, Marlin may flush its
    # buffer again for each of them; resend once it has been quiet this long.
    resend_settle_s: float = 0.1
    # How long send_gcode and connect wait for their replies.
    command_timeout_s: float = 10.0
    reconnect_initial_s: float = 1.0
    reconnect_max_s: float = 30.0
    # M155 interval when the firmware reports temperatures by itself.
    temperature_autoreport_s: int = 1
    # Width (x) and depth (y): the mesh's extent when the firmware's report lacks it.
    bed_size_mm: tuple[float, float] = (220.0, 220.0)
    cancel_gcode: tuple[str, ...] = ("M108", "M104 S0", "M140 S0")

    def __post_init__(self) -> None:
        if not 1 <= self.inflight_lines <= MAX_INFLIGHT_LINES:
            raise ValueError(f"inflight_lines must be 1..{MAX_INFLIGHT_LINES}, "
                             f"not {self.inflight_lines}")
        if self.resend_history_lines <= self.inflight_lines:
            raise ValueError("resend_history_lines must exceed inflight_lines")
        if self.response_timeout_s <= 0 or self.handshake_timeout_s <= 0:
            raise ValueError("timeouts must be positive")

    def baudrates(self) -> list[int]:
        """Return the rates to try, the configured one first, without repeats."""
        return list(dict.fromkeys((self.baudrate, *self.fallback_baudrates)))
