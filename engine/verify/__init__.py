"""Verify: one-time codes that banks ask us to make, send and check (docs/verify.md).

- `settings`: the ``[verify]`` section;
- `codes`: codes drawn with `secrets`, kept only as a salted HMAC;
- `model`: a verification's record and states, the rule of a check, what callers get;
- `store`: where verifications live (Redis with a TTL, or memory), checked atomically;
- `send_limits`: how many codes one account may send one number;
- `observer`: who hears about codes sent and approved (the fraud guard);
- `stats`: how an account's verifications end, day by day (the portal);
- `service`: `VerifyService`, which sends through the facade.

This face leaves `service` out: the facade holds a `Verifier` (from
`model`, which never imports the facade) while the service sends through the
facade, so importing the face must not import the facade. The composition
root imports `engine.verify.service.VerifyService` itself.
"""

from engine.verify.codes import CodeHasher
from engine.verify.model import (
    Checked,
    InvalidVerification,
    Limited,
    NewVerification,
    Refused,
    Snapshot,
    Status,
    Verdict,
    Verifier,
)
from engine.verify.observer import NoObserver, VerifyObserver
from engine.verify.send_limits import MemorySendLimiter, RedisSendLimiter, SendLimits
from engine.verify.settings import CODE_LENGTH, EXPIRY, VerifySettings
from engine.verify.stats import KEEP_DAYS, MemoryVerifyCounts, RedisVerifyCounts, VerifyDay
from engine.verify.store import MemoryVerificationStore, RedisVerificationStore

__all__ = [
    "CODE_LENGTH",
    "EXPIRY",
    "KEEP_DAYS",
    "Checked",
    "CodeHasher",
    "InvalidVerification",
    "Limited",
    "MemorySendLimiter",
    "MemoryVerificationStore",
    "MemoryVerifyCounts",
    "NewVerification",
    "NoObserver",
    "RedisSendLimiter",
    "RedisVerificationStore",
    "RedisVerifyCounts",
    "Refused",
    "SendLimits",
    "Snapshot",
    "Status",
    "Verdict",
    "Verifier",
    "VerifyDay",
    "VerifyObserver",
    "VerifySettings",
]
