"""Time-based one-time codes (RFC 6238) as phone authenticator apps make
them: SHA-1, six digits, 30-second steps; one step of clock drift either way
is accepted (RFC 6238, 5.2)."""

from __future__ import annotations

import hmac

import pyotp

ISSUER = "smsgw"
STEP_SECONDS = 30
DRIFT_STEPS = 1
CODE_MEMORY_SECONDS = STEP_SECONDS * (2 * DRIFT_STEPS + 2)
"""How long a used step is remembered: past the last moment it is accepted."""


def new_secret() -> str:
    """160 random bits in base32, the length RFC 4226 recommends."""
    return pyotp.random_base32(32)


def provisioning_uri(secret: str, name: str) -> str:
    """The ``otpauth://`` URI an authenticator app reads (from a QR code or typed)."""
    return pyotp.TOTP(secret).provisioning_uri(name=name, issuer_name=ISSUER)


def matching_step(secret: str, code: str, now: float) -> int | None:
    """The time step whose code ``code`` is, within the drift; None when no step's is."""
    code = code.strip().replace(" ", "")
    if not (len(code) == 6 and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret)
    current = int(now // STEP_SECONDS)
    found = None
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            found = step
    return found
