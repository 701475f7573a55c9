"""Remember a device's public IP from its own HTTP calls, for its prints' blurred locations.

Fleet workers see devices only through the broker, so the web server is
where a device's public address shows: pairing, credential rotation and
print-file downloads call this. Only public addresses are kept (a private
one says nothing about where a printer is), and nothing at all while the
printer's owner restricts processing (storage/locations.py).
"""

from __future__ import annotations

import logging
import time

from flask import request

from printfleet.geolocation import public_address
from storage import BackendUnavailable

from .context import store

logger = logging.getLogger(__name__)


def remember_device_ip(device_id: str) -> bool:
    """Keep the requesting device's public IP as its last one; True if it was kept."""
    address = public_address(request.remote_addr or "")
    if address is None:
        return False
    try:
        return store().record_device_public_ip(device_id, address, time.time())
    except BackendUnavailable as error:
        # The device's call itself succeeded; only a print's location may suffer.
        logger.warning("public IP of device %s not recorded: %s", device_id, error)
        return False
