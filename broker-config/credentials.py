"""Mosquitto password hashes and the password file, written without shelling out."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from collections.abc import Iterable
from pathlib import Path

# Mosquitto 2.0's "$7$" format: PBKDF2-HMAC-SHA512, 12-byte salt, 64-byte key.
# Mosquitto checks the hash on every CONNECT; 101 iterations is what
# mosquitto_passwd writes and keeps 10,000 reconnecting devices cheap.
# The secrets are 32 random bytes, so brute force is not the threat here.
ITERATIONS = 101
_SALT_BYTES = 12


def new_secret() -> str:
    """Return a random password for a device or service account."""
    return secrets.token_urlsafe(32)


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """Return the Mosquitto $7$ hash of a password."""
    salt = salt if salt is not None else os.urandom(_SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, ITERATIONS, 64)
    return f"$7${ITERATIONS}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def verify_password(password: str, hashed: str) -> bool:
    """Check a password against a $7$ hash (used by tests and diagnostics)."""
    _, kind, iterations, salt, digest = hashed.split("$")
    if kind != "7":
        return False
    computed = hashlib.pbkdf2_hmac(
        "sha512", password.encode(), base64.b64decode(salt), int(iterations), 64
    )
    return hmac.compare_digest(base64.b64encode(computed).decode(), digest)


def render_password_file(path: Path, entries: Iterable[tuple[str, str]]) -> int:
    """Atomically write username:hash lines readable only by the owner; return the count."""
    lines = []
    for username, hashed in entries:
        if ":" in username or "\n" in username or not hashed.startswith("$7$"):
            raise ValueError(f"refusing to write credentials for {username!r}")
        lines.append(f"{username}:{hashed}\n")
    write_private(path, "".join(lines))
    return len(lines)


def write_private(path: Path, text: str) -> None:
    """Write a file atomically with mode 0600."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def read_or_create_secret(path: Path) -> str:
    """Return the secret kept in a file, creating a random one on first use."""
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    secret = new_secret()
    write_private(path, secret + "\n")
    return secret
