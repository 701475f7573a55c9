"""Pairing: a new agent registers, shows a short code, and its owner claims it.

The agent never types anything: it registers from the printer's network,
shows the code, and polls with a secret token until a user claims it; then
it picks up its MQTT credentials exactly once. Codes expire, guessing is
rate limited per user, registrations per public IP.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from dataclasses import dataclass

from printfleet_protocol.topics import validate_device_id
from storage import PendingDevice, SyncStore

from .provisioning import DeviceProvisioner

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I lookalikes
CODE_LENGTH = 6
CODE_TTL_S = 30 * 60
REGISTRATIONS_PER_IP = 20
CLAIM_FAILURES_ALLOWED = 10
RATE_WINDOW_S = 10 * 60
POLL_INTERVAL_S = 3.0


class PairingError(RuntimeError):
    """A pairing request refused; `status` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Registration:
    device_id: str
    code: str
    poll_token: str
    expires_at: float


@dataclass(frozen=True)
class BrokerAddress:
    host: str
    port: int
    topic_prefix: str
    # The CA certificate (PEM) the device must trust for the broker's TLS
    # certificate; '' when the broker's certificate is from a public CA.
    ca_pem: str = ""


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def normalise_code(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


class PairingService:
    def __init__(self, store: SyncStore, provisioner: DeviceProvisioner, broker: BrokerAddress,
                 clock=time.time) -> None:
        self._store = store
        self._provisioner = provisioner
        self._broker = broker
        self._clock = clock

    def register(self, public_ip: str, hostname: str, agent_version: str) -> Registration:
        """Record a waiting device; return its id, code and secret poll token."""
        now = self._clock()
        if self._store.count_pending_from_ip(public_ip, now - RATE_WINDOW_S) >= \
                REGISTRATIONS_PER_IP:
            raise PairingError("too many pairing registrations from this network; "
                               "try again in a few minutes", 429)
        self._store.delete_expired_pending(now)
        device_id = "pf-" + secrets.token_hex(5)
        validate_device_id(device_id)
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        token = secrets.token_urlsafe(32)
        expires_at = now + CODE_TTL_S
        self._store.add_pending_device(device_id, _hash(code), _hash(token), public_ip,
                                       hostname[:64], agent_version[:32], now, expires_at)
        return Registration(device_id, code, token, expires_at)

    def poll(self, poll_token: str) -> dict:
        """What a waiting device learns: still waiting, expired, or its credentials (once)."""
        pending = self._store.pending_by_token(_hash(poll_token))
        if pending is None:
            raise PairingError("unknown pairing token", 404)
        if pending.collected_at is not None:
            raise PairingError("the credentials were already collected; pair again", 410)
        if pending.claimed_by is None and pending.expires_at < self._clock():
            raise PairingError("the pairing code expired; register again", 410)
        credentials = self._store.take_pending_credentials(pending.id, self._clock())
        if credentials is None:  # not claimed yet, or being provisioned right now
            return {"status": "waiting", "poll_interval_s": POLL_INTERVAL_S}
        return {"status": "claimed", **json.loads(credentials)}

    def claim(self, user_id: int, code: str, name: str) -> PendingDevice:
        """Claim the device showing `code` for a user and provision its credentials."""
        now = self._clock()
        if self._store.count_pairing_failures(user_id, now - RATE_WINDOW_S) >= \
                CLAIM_FAILURES_ALLOWED:
            raise PairingError("too many wrong codes; wait a few minutes", 429)
        pending = self._store.pending_by_code(_hash(normalise_code(code)), now)
        if pending is None:
            self._store.record_pairing_failure(user_id, now)
            raise PairingError("no printer is waiting with that code (codes expire after "
                               "30 minutes)", 404)
        if not self._store.claim_pending(pending.id, user_id, now):
            raise PairingError("that printer was just claimed by someone else", 409)
        credentials = self._provisioner.provision(pending.device_id, name or pending.hostname,
                                                  user_id)
        self._store.park_pending_credentials(pending.id, json.dumps({
            "device_id": credentials.device_id, "username": credentials.username,
            "password": credentials.password, "broker_host": self._broker.host,
            "broker_port": self._broker.port, "topic_prefix": self._broker.topic_prefix,
            "broker_ca_pem": self._broker.ca_pem}))
        return pending

    def waiting_on_network(self, public_ip: str) -> list[PendingDevice]:
        """Devices waiting from the same public IP as the user (their own network)."""
        return self._store.pending_from_ip(public_ip, self._clock())

    def rotate(self, device_id: str, current_password: str) -> dict:
        """A device trades its current password for a new one."""
        from broker_config.credentials import verify_password

        validate_device_id(device_id)
        hashed = self._store.device_password_hash(device_id)
        if hashed is None or not verify_password(current_password, hashed):
            raise PairingError("unknown device or wrong password", 401)
        credentials = self._provisioner.rotate(device_id)
        return {"device_id": device_id, "username": credentials.username,
                "password": credentials.password}
