"""Which rows of which table are about a user, and which columns never leave: pure policy, no I/O.

Every table the migrations create is decided here: either a rule saying
which of its rows are about the user (by their user id, the printers they
own, their email) and which columns are withheld (secrets), or a reason it
holds nothing about anyone. The data export reads through these rules, and
tests/storage/test_data_export.py checks that every table is decided.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Why each withheld column stays behind; they are secrets or derived from one.
_HASH = "a one-way hash of a secret; useless to you and a risk to others if leaked"
_WEBHOOK_SECRET = "the webhook's signing secret; shown once when it was made"
_CREDENTIALS = "the printer's MQTT credentials while pairing; a secret"


@dataclass(frozen=True)
class Scope:
    """The identifiers a user's data is found by."""

    user_id: int
    email: str
    device_ids: tuple[str, ...]  # the printers they own
    export_id: int = 0  # the export being built (left out of its own data_exports)


@dataclass(frozen=True)
class TableRule:
    """The rows of one table that are about the user, and the columns withheld."""

    table: str
    # SQL with placeholders: {devices} becomes "device_id IN (?, ...)";
    # every other `?` is filled from `params` in order.
    condition: str
    params: tuple[str, ...]  # each "user", "email" or "export"
    withheld: dict[str, str] = field(default_factory=dict)
    description: str = ""

    def where(self, scope: Scope) -> tuple[str, tuple]:
        """The WHERE clause and its parameters for one user."""
        values = {"user": scope.user_id, "email": scope.email, "export": scope.export_id}
        devices = (f"device_id IN ({', '.join('?' * len(scope.device_ids))})"
                   if scope.device_ids else "1 = 0")
        # The device ids come first wherever {devices} comes first: keep it at the start.
        sql = self.condition.replace("{devices}", devices)
        leading = scope.device_ids if self.condition.startswith("{devices}") else ()
        return sql, (*leading, *(values[name] for name in self.params))


def _devices(table: str, description: str, extra: str = "",
             params: tuple[str, ...] = ()) -> TableRule:
    return TableRule(table, "{devices}" + (f" OR {extra}" if extra else ""), params,
                     description=description)


_SESSIONS = "(SELECT id FROM web_sessions WHERE user_id = ?)"
_DELIVERIES = "(SELECT id FROM notification_deliveries WHERE user_id = ?)"

RULES: tuple[TableRule, ...] = (
    TableRule("users", "id = ?", ("user",), {"password_hash": _HASH}, "your account"),
    TableRule("devices", "owner_user_id = ?", ("user",), {"mqtt_password_hash": _HASH},
              "the printers you own"),
    _devices("device_state", "your printers' latest state"),
    _devices("device_settings", "your printers' settings (and those you changed)",
             "changed_by = ?", ("user",)),
    _devices("device_facts", "what your printers reported about their machines"),
    _devices("telemetry", "raw telemetry of your printers"),
    _devices("telemetry_1m", "1-minute telemetry rollups of your printers"),
    _devices("telemetry_1h", "1-hour telemetry rollups of your printers"),
    _devices("job_events", "print job events of your printers"),
    _devices("print_jobs", "prints on your printers and prints you started, with the "
             "blurred location", "started_by_user_id = ?", ("user",)),
    _devices("presence_events", "your printers going online and offline"),
    _devices("heartbeats", "your printers' heartbeats"),
    _devices("downtime_reports", "downtime your printers reported"),
    _devices("device_commands", "commands to your printers and commands you sent",
             "user_id = ?", ("user",)),
    _devices("command_acks", "your printers' answers to commands"),
    _devices("camera_frames", "pictures from your printers' cameras (files under pictures/)"),
    _devices("rejected_messages", "messages from your printers the server refused"),
    TableRule("pending_devices", "claimed_by = ?", ("user",),
              {"code_hash": _HASH, "poll_token_hash": _HASH, "credentials_json": _CREDENTIALS},
              "printers you paired"),
    TableRule("pairing_failures", "user_id = ?", ("user",), {}, "failed pairing attempts"),
    TableRule("web_sessions", "user_id = ?", ("user",), {"token_hash": _HASH},
              "your sign-in sessions"),
    TableRule("page_views", f"session_id IN {_SESSIONS}", ("user",), {},
              "the pages you visited, per session"),
    TableRule("login_failures", "lower(email) = lower(?)", ("email",), {},
              "failed sign-ins with your email"),
    TableRule("password_reset_tokens", "user_id = ?", ("user",), {"token_hash": _HASH},
              "password reset links sent to you"),
    TableRule("password_reset_requests", "lower(email) = lower(?)", ("email",), {},
              "password resets asked for your email"),
    TableRule("api_tokens", "user_id = ?", ("user",), {"token_hash": _HASH}, "your API tokens"),
    TableRule("file_entries", "owner_user_id = ?", ("user",), {},
              "your files and folders (contents under files/)"),
    TableRule("notification_settings", "user_id = ?", ("user",), {},
              "your notification settings"),
    TableRule("webhooks", "user_id = ?", ("user",), {"secret": _WEBHOOK_SECRET},
              "your webhooks"),
    TableRule("notification_events", "{devices} OR id IN (SELECT event_id FROM "
              "notification_deliveries WHERE user_id = ?)", ("user",), {},
              "events of your printers and events notified to you"),
    TableRule("notification_deliveries", "user_id = ?", ("user",), {},
              "notifications sent to you"),
    TableRule("notification_attempts", f"delivery_id IN {_DELIVERIES}", ("user",), {},
              "each attempt to deliver them"),
    TableRule("actions", "user_id = ?", ("user",), {}, "the action log of what you did"),
    TableRule("organisations", "id IN (SELECT org_id FROM org_members WHERE user_id = ?)",
              ("user",), {}, "the organisations you belong to (as context)"),
    TableRule("org_members", "user_id = ?", ("user",), {}, "your memberships and roles"),
    TableRule("org_invitations", "lower(email) = lower(?) OR invited_by = ? OR accepted_by = ?",
              ("email", "user", "user"), {"token_hash": _HASH},
              "invitations to you and invitations you sent"),
    TableRule("data_exports", "user_id = ? AND id <> ?", ("user", "export"), {},
              "your earlier data exports"),
)

# Tables with no rows about any one person, and why.
NOT_PERSONAL: dict[str, str] = {
    "erasure_receipts": "receipts of accounts already erased: an erased id and keyed hashes "
                        "that only someone who knows the email can check; no live user's data",
    "notification_scans": "the notification scanner's bookmark: a name and a time, no person",
    "retention_runs": "server-wide retention runs (triggered by the schedule or an operator's "
                      "command); they name no user",
    "schema_migrations": "the database's migration ledger",
}

BY_TABLE = {rule.table: rule for rule in RULES}

# What the rules leave out on purpose, said in every export's manifest.
NOTES = ("An action another member of your organisation took and you undid is that "
         "member's record (their IP and place); it names you only as undone_by and is "
         "not exported.",
         "Rows are read table by table; a printer still sending data may add rows while "
         "the export runs.")
