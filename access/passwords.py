"""Password and token hashes: argon2id with the library's current parameters (RFC 9106)."""

from __future__ import annotations

import hashlib
import hmac

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_HASHER = PasswordHasher()  # argon2id, 64 MiB, t=3, p=4: about 50 ms per check here
MIN_LENGTH = 10
# A hash to verify against when the user does not exist, so that an unknown name
# takes as long as a wrong password (no user-name oracle by timing).
_DUMMY = _HASHER.hash("kein-benutzer-vorhanden")


class WeakPassword(ValueError):
    pass


def check_strength(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"Das Passwort muss mindestens {MIN_LENGTH} Zeichen lang sein.")
    if len(password) > 500:
        raise WeakPassword("Das Passwort darf höchstens 500 Zeichen lang sein.")


def hash_password(password: str) -> str:
    check_strength(password)
    return _HASHER.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    try:
        return _HASHER.verify(stored or _DUMMY, password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    return _HASHER.check_needs_rehash(stored)


def token_hash(secret: str) -> str:
    """Machine tokens are 256 random bits: a fast hash suffices (no guessing to slow down),
    and every API call checks one."""
    return hashlib.sha256(secret.encode("utf-8", "replace")).hexdigest()


def token_matches(stored: str, secret: str) -> bool:
    return hmac.compare_digest(stored, token_hash(secret))
