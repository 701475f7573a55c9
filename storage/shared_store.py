"""Every query mixin written once for both backends, gathered for the two sync stores.

Each store puts its own backend-specific mixins (and any that override a
shared one, such as TimescaleDB's retention) before this class.
"""

from __future__ import annotations

from .actions import ActionQueries
from .api_tokens import ApiTokenQueries
from .camera import CameraQueries
from .data_exports import DataExportQueries
from .devices import DeviceEditQueries
from .erasure import ErasureQueries
from .files import FileQueries
from .job_queries import JobQueries
from .locations import LocationQueries
from .notification_outbox import NotificationOutboxQueries
from .notifications import NotificationSettingsQueries
from .org_actions import OrgActionQueries
from .orgs import OrgQueries
from .password_resets import PasswordResetQueries
from .printer_page import PrinterPageQueries
from .restriction import RestrictionQueries
from .retention_runs import RetentionQueries


class SharedStoreQueries(
    FileQueries,
    ApiTokenQueries,
    DeviceEditQueries,
    NotificationSettingsQueries,
    NotificationOutboxQueries,
    PasswordResetQueries,
    ActionQueries,
    OrgQueries,
    OrgActionQueries,
    PrinterPageQueries,
    CameraQueries,
    JobQueries,
    RetentionQueries,
    LocationQueries,
    RestrictionQueries,
    DataExportQueries,
    ErasureQueries,
):
    """The shared queries; the store provides `_sql_tx()` (see shared_sql.py)."""
