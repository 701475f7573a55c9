"""Argon2id password hashing for web accounts."""

from __future__ import annotations

import functools

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# PasswordHasher defaults to argon2id with the RFC 9106 low-memory profile.
_hasher = PasswordHasher()


def hash_password(plain: str) -> str:
    """Return the argon2id hash of a password."""
    return _hasher.hash(plain)


def verify_password(password_hash: str, plain: str) -> bool:
    """Tell whether a password matches its argon2 hash; never raise on a bad hash."""
    try:
        return _hasher.verify(password_hash, plain)
    except (VerificationError, InvalidHashError):
        return False


@functools.cache
def dummy_hash() -> str:
    """Return a fixed hash to verify against when the account does not exist."""
    # Verifying against something makes an unknown email take as long as a
    # wrong password, so response times do not reveal which emails exist.
    return _hasher.hash("printfleet-no-such-account")
