"""Settings of a printer on a bare serial line."""

from __future__ import annotations

from dataclasses import dataclass

MAX_IN_FLIGHT_LINES = 8


@dataclass(frozen=True)
class SerialPrinterSettings:
    """Where the printer is and how patiently to talk to it; times in seconds."""

    port: str = "/dev/ttyUSB0"
    baudrate: int = 115200
    # Tried in this order after `baudrate` until one gives a valid reply.
    fallback_baudrates: tuple[int, ...] = (115200, 250000, 230400, 57600)
    # Unacknowledged lines allowed at once; each "ok" frees one. Marlin's
    # command buffer holds 4, so more than that only fills its serial buffer.
    in_flight_lines: int = 1
    # Sent lines kept for resend requests; must exceed in_flight_lines.
    resend_history_lines: int = 64
    # Boards that reset when the port opens print "start" once booted.
    boot_wait_s: float = 2.0
    # How long each baud rate gets to answer M110 with "ok".
    handshake_timeout_s: float = 2.0
    # Silence from the printer this long while a line waits for its "ok"
    # means the link is dead; busy/wait/temperature lines restart the clock.
    response_timeout_s: float = 30.0
    # How long send_gcode and connect wait for their replies.
    command_timeout_s: float = 10.0
    reconnect_initial_s: float = 1.0
    reconnect_max_s: float = 30.0
    # M155 interval when the firmware reports temperatures by itself.
    temperature_autoreport_s: int = 1
    # Used for the mesh's extent when the firmware's report does not give it.
    bed_width_mm: float = 220.0
    bed_depth_mm: float = 220.0
    cancel_gcode: tuple[str, ...] = ("M108", "M104 S0", "M140 S0")

    def __post_init__(self) -> None:
        if not 1 <= self.in_flight_lines <= MAX_IN_FLIGHT_LINES:
            raise ValueError(f"in_flight_lines must be 1..{MAX_IN_FLIGHT_LINES}, "
                             f"not {self.in_flight_lines}")
        if self.resend_history_lines <= self.in_flight_lines:
            raise ValueError("resend_history_lines must exceed in_flight_lines")
        if self.response_timeout_s <= 0 or self.handshake_timeout_s <= 0:
            raise ValueError("timeouts must be positive")

    def baudrates(self) -> list[int]:
        """Return the rates to try, the configured one first, without repeats."""
        return list(dict.fromkeys((self.baudrate, *self.fallback_baudrates)))
