"""Response headers that keep pages on our own origin."""

from __future__ import annotations

from flask import Flask, Response, request
from flask.sessions import SecureCookieSessionInterface

# Everything the UI loads comes from this server: no CDNs, fonts or
# third-party scripts, and no inline script or style for an injection to use.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)


def add_security_headers(response: Response) -> Response:
    """Add the security headers to a response that does not set its own."""
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    return response


class HttpsAwareSessionInterface(SecureCookieSessionInterface):
    """Mark the session cookie Secure whenever the request came over HTTPS.

    Behind a trusted proxy ProxyFix has already set the scheme from its
    header, so the same server answers plain HTTP on a LAN and HTTPS behind
    a proxy, and the cookie never leaks over HTTP once HTTPS is in use.
    """

    def get_cookie_secure(self, app: Flask) -> bool:  # type: ignore[override]
        return bool(app.config["SESSION_COOKIE_SECURE"]) or request.is_secure


def init_security(app: Flask) -> None:
    """Send the security headers on every response; Secure cookies over HTTPS."""
    app.after_request(add_security_headers)
    app.session_interface = HttpsAwareSessionInterface()
