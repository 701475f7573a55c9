"""Pairing over HTTP: device endpoints (no cookies) and the user's claim."""

from __future__ import annotations

import base64
import logging
import time

from flask import Blueprint, Response, jsonify, request
from flask_login import current_user, login_required

from broker_config import BrokerPaths
from broker_config.credentials import read_or_create_secret
from printfleet.broker_tls import device_ca_pem
from printfleet.pairing import BrokerAddress, PairingError, PairingService
from printfleet.provisioning import DeviceProvisioner

from .actions import record_action
from .context import store, web_state
from .csrf import csrf_exempt
from .device_ip import remember_device_ip

logger = logging.getLogger(__name__)

bp = Blueprint("pairing", __name__, url_prefix="/api/v1")


def device_provisioner() -> DeviceProvisioner:
    """Return the provisioner that keeps the broker's credentials in step with the store."""
    settings = web_state().settings
    return DeviceProvisioner(
        store(), BrokerPaths.in_data_dir(settings.data_path), settings.broker.fleet_username,
        read_or_create_secret(settings.fleet_password_path))


def pairing_service() -> PairingService:
    settings = web_state().settings
    return PairingService(store(), device_provisioner(), BrokerAddress(
        settings.broker.host, settings.broker.port, settings.broker.topic_prefix,
        device_ca_pem(settings)))


def client_ip() -> str:
    """The requester's address (behind web.trusted_proxy_count proxies: the client's)."""
    return request.remote_addr or "unknown"


def _error(error: PairingError) -> tuple[Response, int]:
    return jsonify({"error": str(error)}), error.status


@bp.post("/pairing/register")
@csrf_exempt
def register() -> tuple[Response, int]:
    """A new agent asks to be paired; it gets a code to show and a token to poll with."""
    body = request.get_json(silent=True) or {}
    hostname, version = str(body.get("hostname", "")), str(body.get("agent_version", ""))
    if not hostname or not version:
        return jsonify({"error": "hostname and agent_version are required"}), 400
    try:
        registration = pairing_service().register(client_ip(), hostname, version)
    except PairingError as error:
        return _error(error)
    logger.info("device %s registered for pairing from %s", registration.device_id, client_ip())
    return jsonify({"device_id": registration.device_id, "code": registration.code,
                    "poll_token": registration.poll_token,
                    "expires_at": registration.expires_at}), 201


@bp.get("/pairing/status")
def status() -> tuple[Response, int]:
    """A waiting agent polls with its token; once claimed it gets its credentials, once."""
    token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not token:
        return jsonify({"error": "send the poll token as 'Authorization: Bearer <token>'"}), 401
    try:
        answer = pairing_service().poll(token)
    except PairingError as error:
        return _error(error)
    if answer["status"] == "claimed":
        remember_device_ip(answer["device_id"])
    return jsonify(answer), 200


@bp.post("/devices/rotate-credentials")
@csrf_exempt
def rotate_credentials() -> tuple[Response, int]:
    """A device trades its password (HTTP Basic) for a new one."""
    device_id, password = _basic_auth()
    if not device_id:
        return jsonify({"error": "authenticate with the device id and its password"}), 401
    try:
        answer = pairing_service().rotate(device_id, password)
    except (PairingError, ValueError) as error:
        return jsonify({"error": str(error)}), getattr(error, "status", 401)
    remember_device_ip(device_id)
    return jsonify(answer), 200


@bp.get("/pairing/waiting")
@login_required
def waiting() -> Response:
    """Printers waiting to be claimed from the user's own network (same public IP)."""
    now = time.time()
    return jsonify([{"device_id": p.device_id, "hostname": p.hostname,
                     "waiting_s": round(now - p.created_at), "expires_at": p.expires_at}
                    for p in pairing_service().waiting_on_network(client_ip())])


@bp.post("/pairing/claim")
@login_required
def claim() -> tuple[Response, int]:
    """Claim the printer showing a code (JSON {"code", "name"}, CSRF header required)."""
    body = request.get_json(silent=True) or request.form
    code, name = str(body.get("code", "")), str(body.get("name", "")).strip()[:64]
    try:
        pending = pairing_service().claim(current_user.id, code, name)
    except PairingError as error:
        return _error(error)
    logger.info("user %s claimed device %s", current_user.id, pending.device_id)
    record_action("printer.add", "printer", pending.device_id,
                  f"Added printer “{name or pending.hostname}” ({pending.device_id})")
    return jsonify({"device_id": pending.device_id, "name": name or pending.hostname}), 201


def _basic_auth() -> tuple[str, str]:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Basic "):
        return "", ""
    try:
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return "", ""
    return user, password
