"""Versioned payload schemas, one per topic family, shared by agent and fleet.

Every device-originated payload carries ``v`` (schema version), ``ts`` (the
device's UTC clock, seconds since the epoch) and ``seq`` (a per-device
sequence number that survives restarts). Server-originated payloads carry
``v`` and ``ts`` but no ``seq``; a command adds a ``transaction`` id. ``v`` is
required on the wire: a payload without a version is refused, never guessed.

msgspec decodes and validates in one pass, several times faster than
pydantic on these payloads (see docs/protocol.md), which matters on the
fleet's hot ingest path.
"""

from __future__ import annotations

import enum
from typing import Annotated, Any

import msgspec

from .topics import Family

SCHEMA_VERSION = 1
SUPPORTED_VERSIONS = frozenset({1})
MAX_PAYLOAD_BYTES = 256 * 1024
# base64 inflates by 4/3: 188 KiB of image is 250.7 KiB of JSON, which leaves
# room for the rest of a camera payload (even with every text field at its
# limit) under MAX_PAYLOAD_BYTES.
MAX_IMAGE_BYTES = 188 * 1024
# The longest one camera watch may keep a device taking live pictures.
MAX_WATCH_S = 600.0

Percent = Annotated[float, msgspec.Meta(ge=0, le=100)]
NonNegative = Annotated[float, msgspec.Meta(ge=0)]
# Fits every backend's BIGINT: a larger seq would fail (and retry) a whole batch.
Seq = Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]
Text = Annotated[str, msgspec.Meta(max_length=256)]


class PrinterState(enum.StrEnum):
    DISCONNECTED = "disconnected"
    CONNECTING = "connecting"
    IDLE = "idle"
    PRINTING = "printing"
    PAUSED = "paused"
    ERROR = "error"


class PresenceStatus(enum.StrEnum):
    ONLINE = "online"
    STOPPED = "stopped"
    OFFLINE = "offline"


class JobEventKind(enum.StrEnum):
    STARTED = "started"
    PAUSED = "paused"
    RESUMED = "resumed"
    FINISHED = "finished"
    FAILED = "failed"
    CANCELLED = "cancelled"


class JobOrigin(enum.StrEnum):
    PRINTFLEET = "printfleet"
    OCTOPRINT_UI = "octoprint_ui"
    SD_CARD = "sd_card"
    PRINTER_PANEL = "printer_panel"
    SIMULATOR = "simulator"


class DowntimeCause(enum.StrEnum):
    NETWORK = "network"
    BROKER = "broker"
    AUTH = "auth"
    POWER = "power"
    UNKNOWN = "unknown"


class AckStatus(enum.StrEnum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    FINISHED = "finished"
    FAILED = "failed"


class CommandKind(enum.StrEnum):
    START_PRINT = "start_print"
    PAUSE = "pause"
    RESUME = "resume"
    CANCEL = "cancel"
    SEND_GCODE = "send_gcode"
    CONNECT = "connect"
    DISCONNECT = "disconnect"
    CAMERA_LIVE = "camera_live"
    CONFIGURE = "configure"


class _DevicePayload(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    v: int
    ts: float
    seq: Seq


class Heater(msgspec.Struct, forbid_unknown_fields=True):
    actual: float
    target: float | None = None


class Presence(_DevicePayload):
    status: PresenceStatus


class Telemetry(_DevicePayload):
    state: PrinterState
    heaters: dict[Text, Heater] = {}
    fans_pct: dict[Text, Percent] = {}
    z_mm: float | None = None
    progress_pct: Percent | None = None
    time_left_s: NonNegative | None = None
    job_id: Text | None = None


class JobEvent(_DevicePayload, omit_defaults=True):
    """A print's start, pause, resume or end.

    Unset optional fields are left out on the wire, so a server that predates
    a field still accepts events that do not use it.
    """

    job_id: Text
    event: JobEventKind
    file_name: Text
    origin: JobOrigin
    progress_pct: Percent | None = None
    time_left_s: NonNegative | None = None
    reason: Text | None = None
    # Filament the print has used so far: as the printer or OctoPrint reports
    # it, or as the agent computes it from the file (see printfleet_gcode).
    filament_used_mm: NonNegative | None = None
    command_transaction: Text | None = None
    filament_used_g: NonNegative | None = None  # where the slicer states the weight
    slicer: Text | None = None  # e.g. "PrusaSlicer", from the file's comments
    slicer_version: Text | None = None


class Heartbeat(_DevicePayload):
    interval_s: Annotated[float, msgspec.Meta(gt=0)]
    uptime_s: NonNegative
    # The offline outbox: messages waiting for the fleet's `stored` ack, and
    # totals since the device was set up of telemetry samples thinned while
    # offline and of messages given up after too many failed deliveries.
    outbox_depth: Annotated[int, msgspec.Meta(ge=0)] = 0
    telemetry_thinned_total: Annotated[int, msgspec.Meta(ge=0)] = 0
    undeliverable_total: Annotated[int, msgspec.Meta(ge=0)] = 0


class Downtime(_DevicePayload):
    started_at: float
    ended_at: float
    cause: DowntimeCause = DowntimeCause.UNKNOWN


class Firmware(msgspec.Struct, forbid_unknown_fields=True):
    name: Text
    version: Text | None = None


class OctoPrintPlugin(msgspec.Struct, forbid_unknown_fields=True):
    key: Text
    name: Text
    version: Text | None = None


class OctoPrintFacts(msgspec.Struct, forbid_unknown_fields=True):
    version: Text
    plugins: list[OctoPrintPlugin] = []


class BedMesh(msgspec.Struct, forbid_unknown_fields=True):
    """Z offsets in mm, rows from the front (min y) to the back."""

    rows: list[list[float]]
    min_x: float
    max_x: float
    min_y: float
    max_y: float


class Facts(_DevicePayload):
    hostname: Text
    agent_version: Text
    local_ip: Text | None = None
    wifi_ssid: Text | None = None
    pi_model: Text | None = None  # None: not a Raspberry Pi
    os: Text | None = None
    firmware: Firmware | None = None
    octoprint: OctoPrintFacts | None = None
    bed_mesh: BedMesh | None = None


class CameraSnapshot(_DevicePayload):
    """A picture: a live one (reason "live") or one taken at a job event ("job_<event>")."""

    reason: Text  # "live", or the job event that triggered it
    image: Annotated[bytes, msgspec.Meta(max_length=MAX_IMAGE_BYTES)]  # base64 in JSON
    content_type: Text = "image/jpeg"
    job_id: Text | None = None


class CommandAck(_DevicePayload):
    transaction: Text
    status: AckStatus
    data: dict[str, Any] | None = None
    error: Text | None = None


class Command(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Server to device; the device answers with CommandAck echoing transaction."""

    v: int
    ts: float
    transaction: Text
    kind: CommandKind
    expires_at: float
    args: dict[str, Any] = {}


SeqRange = tuple[Seq, Seq]


class StoredAck(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Server to device: these seqs (inclusive ranges) are committed to storage.

    Ranges, not a high-water mark: with several workers sharing the load,
    one device's messages commit in different batches in any order.
    """

    v: int
    ts: float
    ranges: Annotated[list[SeqRange], msgspec.Meta(max_length=10_000)]


class CameraWatch(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Server to device: someone is watching; take live pictures for watch_s from ts.

    Not a command: no transaction, no ack, no record. The web renews it while
    a page shows the camera; the device stops by itself once it runs out.
    """

    v: int
    ts: float
    watch_s: Annotated[float, msgspec.Meta(gt=0, le=MAX_WATCH_S)]
    interval_s: Annotated[float, msgspec.Meta(gt=0)] | None = None


PAYLOAD_TYPES: dict[Family, type[msgspec.Struct]] = {
    Family.PRESENCE: Presence,
    Family.TELEMETRY: Telemetry,
    Family.JOB: JobEvent,
    Family.HEARTBEAT: Heartbeat,
    Family.DOWNTIME: Downtime,
    Family.FACTS: Facts,
    Family.CAMERA: CameraSnapshot,
    Family.ACK: CommandAck,
    Family.COMMAND: Command,
    Family.STORED: StoredAck,
    Family.WATCH: CameraWatch,
}


class PayloadError(ValueError):
    """A payload that cannot be accepted; reason is a short code for counting."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


# msgspec raises these outside DecodeError: invalid UTF-8 inside a string
# (msgspec issue #714) and nesting deeper than its recursion limit.
_UNPARSABLE = (UnicodeDecodeError, RecursionError)

_decoders = {family: msgspec.json.Decoder(kind) for family, kind in PAYLOAD_TYPES.items()}
_peek_decoder = msgspec.json.Decoder()
_encoder = msgspec.json.Encoder()


def decode(family: Family, payload: bytes, max_bytes: int = MAX_PAYLOAD_BYTES) -> Any:
    """Decode and validate one payload, raising PayloadError with a reason."""
    if len(payload) > max_bytes:
        raise PayloadError("oversize", f"{len(payload)} bytes exceeds {max_bytes}")
    try:
        message: Any = _decoders[family].decode(payload)
    except msgspec.DecodeError as error:
        raise _classify(payload, error) from None
    except _UNPARSABLE as error:
        raise _unparsable(error) from None
    if message.v not in SUPPORTED_VERSIONS:
        raise PayloadError("unsupported_version", f"schema version {message.v!r} is not supported")
    return message


def _classify(payload: bytes, error: msgspec.DecodeError) -> PayloadError:
    """Tell a malformed document from a valid one of another version or shape."""
    try:
        document = _peek_decoder.decode(payload)
    except msgspec.DecodeError as syntax_error:
        return PayloadError("malformed", str(syntax_error))
    except _UNPARSABLE as syntax_error:
        return _unparsable(syntax_error)
    if not isinstance(document, dict) or "v" not in document:
        return PayloadError("invalid", str(error))
    version = document["v"]
    # Compare by type first: v may be any JSON value, including unhashable ones.
    if type(version) is not int or version not in SUPPORTED_VERSIONS:
        return PayloadError("unsupported_version", f"schema version {version!r} is not supported")
    return PayloadError("invalid", str(error))


def _unparsable(error: Exception) -> PayloadError:
    return PayloadError("malformed", f"{type(error).__name__}: {error}")


def encode(message: msgspec.Struct) -> bytes:
    """Encode a payload as compact JSON."""
    return _encoder.encode(message)


def family_of(message: msgspec.Struct) -> Family:
    """Return the family a payload object belongs to."""
    for family, kind in PAYLOAD_TYPES.items():
        if type(message) is kind:
            return family
    raise TypeError(f"{type(message).__name__} is not a protocol payload")
