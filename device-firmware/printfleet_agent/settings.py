"""The agent's one typed settings object (see agent.sample.toml).

One agent process can serve several printers (farms wire two to four to one
Pi); each `[[printers]]` entry has its own device identity, credentials and
outbox.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import msgspec

from printfleet_protocol.settings import load_settings

ENV_PREFIX = "PRINTFLEET_AGENT"

Positive = Annotated[float, msgspec.Meta(gt=0)]
NonNegative = Annotated[float, msgspec.Meta(ge=0)]


class _Section(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")


class BrokerSettings(_Section):
    host: str = "127.0.0.1"
    port: Annotated[int, msgspec.Meta(ge=1, le=65535)] = 1884
    topic_prefix: str = "printfleet"
    keepalive_s: Annotated[int, msgspec.Meta(ge=5)] = 30
    # MQTT over TLS, with the broker's certificate checked. Printfleet's
    # device listener speaks nothing else. false is accepted only for a broker
    # on this machine: anywhere else the password and pictures would travel in clear.
    tls: bool = True
    # The CA certificate to trust for the broker's certificate. Empty: the one
    # pairing stored (<data_dir>/<device_id>/broker-ca.pem), else the system's CAs.
    tls_ca_file: str = ""
    # Check the broker's certificate for this name instead of `host` (e.g.
    # when `host` is an IP address the certificate does not list).
    tls_server_name: str = ""

    def __post_init__(self) -> None:
        if not self.tls and self.host not in LOOPBACK_HOSTS:
            raise ValueError(f"tls = false is only allowed for a broker on this machine "
                             f"({', '.join(LOOPBACK_HOSTS)}), not {self.host!r}: the "
                             "device's password and camera pictures would cross the "
                             "network unencrypted")


class ServerSettings(_Section):
    # The Printfleet web address, for pairing and print-file downloads.
    url: str = "http://127.0.0.1:8080"


class SimulatedPrinterConfig(_Section):
    job_duration_s: Positive = 180.0
    fail_probability: Annotated[float, msgspec.Meta(ge=0, le=1)] = 0.1
    auto_start_after_s: NonNegative = 20.0
    heater_time_constant_s: Positive = 12.0
    seed: int | None = None


class OctoPrintConfig(_Section):
    url: str = "http://127.0.0.1:5000"
    # Secret by reference: a file holding OctoPrint's API key.
    api_key_file: str = ""
    request_timeout_s: Positive = 5.0
    upload_timeout_s: Positive = 300.0
    # Ask OctoPrint to connect to the printer when it is not connected.
    connect_printer: bool = True
    # The serial port and rate OctoPrint should use ("" / 0: OctoPrint's own choice).
    printer_port: str = ""
    printer_baudrate: Annotated[int, msgspec.Meta(ge=0)] = 0


class SerialConfig(_Section):
    port: str = "/dev/ttyACM0"
    baudrate: Annotated[int, msgspec.Meta(gt=0)] = 115200
    # Lines sent ahead of the printer's "ok" while streaming.
    inflight_lines: Annotated[int, msgspec.Meta(ge=1, le=16)] = 1
    bed_size_mm: tuple[float, float] = (220.0, 220.0)


class CameraConfig(_Section):
    # Privacy: no picture is ever taken unless this is true.
    enabled: bool = False
    # An HTTP snapshot URL (mjpg-streamer's ?action=snapshot, OctoPrint's webcam)...
    snapshot_url: str = ""
    # ...or a command printing one JPEG on stdout, e.g. ["libcamera-still", "-o", "-"].
    command: list[str] = []
    max_bytes: Annotated[int, msgspec.Meta(gt=0, le=188 * 1024)] = 180 * 1024
    live_interval_s: Annotated[float, msgspec.Meta(ge=0.5)] = 2.0


class PrinterConfig(_Section):
    # This printer's device id (its MQTT username). Empty: pair with the
    # server first (`printfleet-agent pair`).
    device_id: str = ""
    name: str = "Printer"
    # Secret by reference. Empty: <data_dir>/<device_id>/password (written by pairing).
    password_file: str = ""
    # Log downtime intervals; the server's per-printer switch overrides this.
    downtime_logging: bool = False
    backend: Literal["simulated", "octoprint", "serial"] = "simulated"
    simulated: SimulatedPrinterConfig = msgspec.field(default_factory=SimulatedPrinterConfig)
    octoprint: OctoPrintConfig = msgspec.field(default_factory=OctoPrintConfig)
    serial: SerialConfig = msgspec.field(default_factory=SerialConfig)
    camera: CameraConfig = msgspec.field(default_factory=CameraConfig)


class AgentSettings(_Section):
    data_dir: str = "/var/lib/printfleet-agent"
    telemetry_interval_s: Positive = 1.0
    heartbeat_interval_s: Positive = 30.0
    # Largest print file the agent downloads from the server.
    max_file_bytes: Annotated[int, msgspec.Meta(gt=0)] = 512 * 1024 * 1024
    # Telemetry kept at full rate in the outbox while offline, before thinning.
    offline_telemetry_backlog: Annotated[int, msgspec.Meta(ge=10)] = 600
    # Beyond that backlog, keep one telemetry sample per this many seconds.
    offline_telemetry_interval_s: Annotated[float, msgspec.Meta(ge=1)] = 60.0
    # Send a message again if the server has not confirmed storing it after
    # this long (each further resend waits twice as long).
    unconfirmed_resend_s: Annotated[float, msgspec.Meta(ge=1)] = 30.0
    broker: BrokerSettings = msgspec.field(default_factory=BrokerSettings)
    server: ServerSettings = msgspec.field(default_factory=ServerSettings)
    printers: list[PrinterConfig] = msgspec.field(default_factory=lambda: [PrinterConfig()])

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir)

    def device_dir(self, device_id: str) -> Path:
        return self.data_path / device_id

    def paired_ca_path(self, device_id: str) -> Path:
        """Where pairing keeps the CA certificate the server handed this device."""
        return self.device_dir(device_id) / "broker-ca.pem"

    def password_path(self, printer: PrinterConfig) -> Path:
        if printer.password_file:
            return Path(printer.password_file)
        return self.device_dir(printer.device_id) / "password"


def load(path: Path | None = None, environ: dict[str, str] | None = None) -> AgentSettings:
    """Load agent settings from TOML plus PRINTFLEET_AGENT_* variables."""
    return load_settings(AgentSettings, path, ENV_PREFIX, environ)
