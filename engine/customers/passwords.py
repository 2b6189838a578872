"""Bind passwords are stored as scrypt hashes, never in clear (stdlib only).

Format: ``scrypt$<log2 n>$<r>$<p>$<salt b64>$<hash b64>``. SMPP passwords are
at most 8 characters (§4.1.1), so a slow hash is what protects them at rest;
binds are rare enough to pay for it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

_LOG2_N, _R, _P = 14, 8, 1


def hash_password(password: str, *, log2_n: int = _LOG2_N) -> str:
    salt = os.urandom(16)
    digest = _scrypt(password, salt, log2_n, _R, _P)
    return "$".join(("scrypt", str(log2_n), str(_R), str(_P), _b64(salt), _b64(digest)))


def verify_password(password: str, stored: str) -> bool:
    """Constant-time check; a malformed stored hash never matches."""
    try:
        scheme, log2_n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = _scrypt(password, base64.b64decode(salt), int(log2_n), int(r), int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def _scrypt(password: str, salt: bytes, log2_n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=1 << log2_n, r=r, p=p, maxmem=64 << 20, dklen=32
    )


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
