"""Webhooks: JSON POSTs signed with HMAC-SHA256 over "timestamp.body", and their checks.

A receiver verifies with `verify_signature`: the signature header is
``sha256=<hex of HMAC-SHA256(secret, f"{timestamp}.{body}")>`` and the
timestamp header the Unix time it was signed at, so a replayed request
can be refused once it is old.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
import socket
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import urlsplit

TIMESTAMP_HEADER = "X-Printfleet-Timestamp"
SIGNATURE_HEADER = "X-Printfleet-Signature"
EVENT_HEADER = "X-Printfleet-Event"
DELIVERY_HEADER = "X-Printfleet-Delivery"
MAX_URL_LENGTH = 2000
# How much of a receiver's answer the delivery log keeps.
_EXCERPT_BYTES = 200


class WebhookUrlError(ValueError):
    """A webhook address Printfleet will not post to; the message says why."""


@dataclass(frozen=True, slots=True)
class PostResult:
    ok: bool
    status_code: int | None
    detail: str


def new_secret() -> str:
    """Return a fresh signing secret for a webhook."""
    return "whsec_" + secrets.token_urlsafe(32)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """Return the signature header value for a body sent at `timestamp`."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify_signature(secret: str, timestamp: str, body: bytes, signature: str,
                     now: float | None = None, tolerance_s: float = 300.0) -> bool:
    """Tell whether a request was signed with `secret` within `tolerance_s` of now."""
    try:
        signed_at = int(timestamp)
    except ValueError:
        return False
    now = time.time() if now is None else now
    if abs(now - signed_at) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, signed_at, body), signature)


def check_url(url: str, allow_private: bool) -> str:
    """Return the URL if it may be posted to, else raise WebhookUrlError saying why."""
    url = url.strip()
    if len(url) > MAX_URL_LENGTH:
        raise WebhookUrlError(f"the address is longer than {MAX_URL_LENGTH} characters")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WebhookUrlError("the address must start with http:// or https:// and name a host")
    if parts.username or parts.password:
        raise WebhookUrlError("the address must not carry a user name or password")
    if not allow_private:
        _refuse_private(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
    return url


def _refuse_private(host: str, port: int) -> None:
    # Keeps users from making the server probe its own network (SSRF).
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except OSError as error:
        raise WebhookUrlError(f"the host {host!r} cannot be resolved") from error
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            raise WebhookUrlError(f"the host {host!r} is a private or local address")


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # A redirect could lead a POST to an address check_url refused.
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def post(url: str, secret: str, body: bytes, event: str, delivery_id: int,
         timeout_s: float, allow_private: bool, now: float | None = None) -> PostResult:
    """POST a signed body; a 2xx answer is success, anything else (or none) a failure."""
    try:
        check_url(url, allow_private)
    except WebhookUrlError as error:
        return PostResult(False, None, f"refused: {error}")
    timestamp = int(time.time() if now is None else now)
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json", "User-Agent": "Printfleet-Webhook/1",
        TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: sign(secret, timestamp, body),
        EVENT_HEADER: event, DELIVERY_HEADER: str(delivery_id)})
    try:
        with _opener.open(request, timeout=timeout_s) as response:
            excerpt = response.read(_EXCERPT_BYTES)
            return PostResult(True, response.status, f"HTTP {response.status} "
                              f"{excerpt.decode('utf-8', 'replace')}".strip())
    except urllib.error.HTTPError as error:
        excerpt = error.read(_EXCERPT_BYTES).decode("utf-8", "replace")
        return PostResult(False, error.code, f"HTTP {error.code} {excerpt}".strip())
    except TimeoutError:
        return PostResult(False, None, f"no answer within {timeout_s:g} s")
    except urllib.error.URLError as error:
        reason = error.reason
        if isinstance(reason, TimeoutError):
            return PostResult(False, None, f"no answer within {timeout_s:g} s")
        return PostResult(False, None, f"cannot connect: {reason}")
    except OSError as error:
        return PostResult(False, None, f"connection failed: {error}")
