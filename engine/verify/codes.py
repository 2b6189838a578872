"""One-time codes: drawn with `secrets`, kept only as an HMAC, compared in constant time.

A code has few digits, so its hash alone would fall to a search of every code
in a fraction of a second. Each verification gets a random salt, so no table
of precomputed hashes helps, and the HMAC key is a server secret that is not
in Redis (``SMSGW_VERIFY_SECRET``, shared by every shard): someone reading
Redis has nothing to search with. The verification id is hashed too, so a
digest copied onto another verification does not match there.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

DIGITS = "0123456789"
SALT_BYTES = 16


def new_code(length: int) -> str:
    """``length`` digits, each uniform and independent (leading zeros included):
    one of 10**length codes, every one equally likely."""
    return "".join(secrets.choice(DIGITS) for _ in range(length))


def new_salt() -> bytes:
    return secrets.token_bytes(SALT_BYTES)


class CodeHasher:
    """HMAC-SHA256 of (salt, verification id, code) under the server's secret."""

    def __init__(self, secret: bytes = b"") -> None:
        """``secret``: the same on every shard, or a code made on one cannot
        be checked on another; empty: salted hashes only (for `smsgw dev`)."""
        self._secret = secret

    def digest(self, salt: bytes, verification_id: str, code: str) -> bytes:
        message = b"%b\x00%b\x00%b" % (salt, verification_id.encode(), code.encode())
        return hmac.new(self._secret, message, hashlib.sha256).digest()

    def matches(self, salt: bytes, verification_id: str, code: str, digest: bytes) -> bool:
        """Constant time: how long the comparison takes says nothing of how much matched."""
        return hmac.compare_digest(self.digest(salt, verification_id, code), digest)
