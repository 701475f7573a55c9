"""Mosquitto configuration for Printfleet: templates plus the code that renders them.

Why password and ACL files plus a reload, not the dynamic-security plugin:
one ``pattern`` ACL line confines every device to its own subtree (the
plugin needs a role per device), the files are rendered from Printfleet's
own device registry so the database stays the single source of truth, and
on SIGHUP Mosquitto re-reads both files and disconnects clients whose
credentials are gone. See docs/broker.md.
"""

from .credentials import hash_password, new_secret, render_password_file
from .render import BrokerPaths, ListenerTls, reload_broker, render_config

__all__ = [
    "BrokerPaths",
    "ListenerTls",
    "hash_password",
    "new_secret",
    "reload_broker",
    "render_config",
    "render_password_file",
]
