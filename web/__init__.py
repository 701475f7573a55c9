"""The Printfleet web UI: a sync Flask app built by create_app(settings)."""

from __future__ import annotations

import logging

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from broker_config.credentials import read_or_create_secret
from printfleet.settings import Settings
from storage import SyncStore, open_sync_store

from .account import bp as account_bp
from .account_delete import bp as account_delete_bp
from .actions import bp as actions_bp
from .activity import init_activity
from .admin_retention import bp as admin_retention_bp
from .api_account import bp as api_account_bp
from .api_tokens import bp as api_tokens_bp
from .auth import init_auth
from .camera import bp as camera_bp
from .context import EXTENSION_KEY, WebState
from .csrf import init_csrf
from .data_export import bp as data_export_bp
from .device_files import bp as device_files_bp
from .errors import init_errors
from .files import MULTIPART_OVERHEAD_BYTES
from .files import bp as files_bp
from .jobs import bp as jobs_bp
from .notifications import bp as notifications_bp
from .openapi import bp as openapi_bp
from .org_files import bp as org_files_bp
from .org_invitations import bp as org_invitations_bp
from .org_log import bp as org_log_bp
from .orgs import bp as orgs_bp
from .pairing import bp as pairing_bp
from .password_reset import init_password_reset
from .presenters import TEMPLATE_FILTERS
from .printer_commands import bp as printer_commands_bp
from .printer_page import bp as printer_page_bp
from .printer_settings import bp as printer_settings_bp
from .printers import bp as printers_bp
from .privacy import bp as privacy_bp
from .security import init_security
from .signup import bp as signup_bp
from .token_auth import init_token_auth

logger = logging.getLogger(__name__)

__all__ = ["create_app"]


def create_app(settings: Settings, store: SyncStore | None = None) -> Flask:
    """Build the web app; open and start a store from settings unless one is given."""
    if store is None:
        # Migrations are `printfleet migrate` / `up`'s job, never a web worker's.
        store = open_sync_store(settings)
        store.start()
    app = Flask(__name__)
    proxies = settings.web.trusted_proxy_count
    if proxies:
        # Only headers the configured proxies set are believed: the client
        # address and scheme come from the last `proxies` hops.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=proxies, x_proto=proxies)
    app.config.update(
        SECRET_KEY=read_or_create_secret(settings.web_secret_key_path),
        SESSION_COOKIE_NAME="printfleet_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        # Werkzeug refuses a larger request body while reading it.
        MAX_CONTENT_LENGTH=settings.files.max_upload_bytes + MULTIPART_OVERHEAD_BYTES,
    )
    app.extensions[EXTENSION_KEY] = WebState(settings=settings, store=store)
    app.jinja_env.filters.update(TEMPLATE_FILTERS)
    init_security(app)
    init_csrf(app)
    init_auth(app)
    init_token_auth(app)
    init_errors(app)
    init_activity(app)
    app.register_blueprint(signup_bp)
    app.register_blueprint(account_bp)
    app.register_blueprint(printers_bp)
    app.register_blueprint(pairing_bp)
    app.register_blueprint(files_bp)
    app.register_blueprint(api_tokens_bp)
    app.register_blueprint(api_account_bp)
    app.register_blueprint(printer_settings_bp)
    app.register_blueprint(openapi_bp)
    app.register_blueprint(notifications_bp)
    init_password_reset(app)
    app.register_blueprint(actions_bp)
    app.register_blueprint(orgs_bp)
    app.register_blueprint(org_invitations_bp)
    app.register_blueprint(org_files_bp)
    app.register_blueprint(org_log_bp)
    app.register_blueprint(printer_page_bp)
    app.register_blueprint(printer_commands_bp)
    app.register_blueprint(device_files_bp)
    app.register_blueprint(camera_bp)
    app.register_blueprint(jobs_bp)
    app.register_blueprint(admin_retention_bp)
    app.register_blueprint(data_export_bp)
    app.register_blueprint(privacy_bp)
    app.register_blueprint(account_delete_bp)
    return app
