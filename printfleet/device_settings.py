"""Deliver printers' server-owned settings (the downtime logging switch) until they apply them.

The web UI stores a setting and sends it at once when the printer is
online. A printer that was offline, or a command lost on the way, is
caught up here: the scheduler sends a `configure` command to each online
printer whose current settings it has not confirmed, at most once per
`web.settings_resend_s`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from storage import SyncStore

from .device_commands import CommandError, Publisher, issue_command

logger = logging.getLogger(__name__)

# Long enough for an agent busy with a download to get to it.
CONFIGURE_TTL_S = 3600.0


def configure_args(downtime_logging: bool) -> dict[str, bool]:
    """The `configure` arguments that carry a printer's settings."""
    return {"downtime_logging": downtime_logging}


def deliver_settings(store: SyncStore, publisher: Publisher, prefix: str, resend_s: float,
                     clock: Callable[[], float] = time.time) -> list[str]:
    """Send unconfirmed settings to the online printers that need them; return their ids."""
    now = clock()
    sent = []
    for setting in store.settings_to_deliver(resend_before=now - resend_s):
        try:
            command = issue_command(store, publisher, prefix, setting.device_id, "configure",
                                    configure_args(setting.downtime_logging),
                                    user_id=setting.changed_by, ttl_s=CONFIGURE_TTL_S,
                                    clock=clock)
        except CommandError as error:
            logger.warning("settings for %s not sent: %s", setting.device_id, error)
            continue
        store.mark_settings_sent(setting.device_id, command.transaction_id, now)
        logger.info("sent settings to %s as %s", setting.device_id, command.transaction_id)
        sent.append(setting.device_id)
    return sent
