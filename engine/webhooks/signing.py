"""Signing of our v1 (JSON) webhooks, and its check for receivers (sans-IO).

The signature covers the timestamp as well as the body, so a captured call
cannot be replayed later: a receiver refuses timestamps older than its
tolerance. It is ``HMAC-SHA256(secret, f"{timestamp}." + body)`` in hex; with
the secret ``whsec_test`` and the body ``{"message_id":"m1","state":"DELIVERED"}``:

    Smsgw-Timestamp: 1718000000
    Smsgw-Signature: v1=9acc9b6c0db1126a505c050cb747b882d38f099ce77cb25df8ee268020d835be

The ``v1=`` prefix names the scheme so that a later one can be sent beside it.
Each retry is signed afresh with its own timestamp.
"""

from __future__ import annotations

import hmac

TIMESTAMP_HEADER = "Smsgw-Timestamp"
SIGNATURE_HEADER = "Smsgw-Signature"
SCHEME = "v1"
DEFAULT_TOLERANCE = 300
"""Seconds a receiver accepts between our timestamp and its clock, either way."""


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``f"{timestamp}." + body`` under the account's secret."""
    message = f"{timestamp}.".encode() + body
    return hmac.digest(secret.encode(), message, "sha256").hex()


def signature_headers(secret: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The two headers a signed webhook carries."""
    return {
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: f"{SCHEME}={signature(secret, timestamp, body)}",
    }


def verify_signature(
    secret: str,
    timestamp: str,
    body: bytes,
    header: str,
    now: float,
    tolerance: float = DEFAULT_TOLERANCE,
) -> bool:
    """Whether a received webhook is ours and fresh.

    ``timestamp`` and ``header`` are the raw values of Smsgw-Timestamp and
    Smsgw-Signature, ``body`` the raw request body (before any JSON parsing),
    ``now`` the receiver's unix time. Signatures are compared in constant time.
    """
    if not timestamp.isascii() or not timestamp.isdigit():
        return False
    sent_at = int(timestamp)
    if abs(now - sent_at) > tolerance:
        return False
    scheme, _, received = header.strip().partition("=")
    if scheme != SCHEME or not received:
        return False
    expected = signature(secret, sent_at, body)
    return hmac.compare_digest(expected.encode(), received.strip().encode())
