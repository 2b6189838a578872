"""When a limited caller may come back: ``Retry-After`` and the RateLimit headers.

The ledger counts an account's parts in two fixed windows (`ledger/lua/accept.lua`):
a throughput per UTC second and a quota per UTC day or month. A refusal by
either is answered with the real window: how many parts it allows
(``RateLimit-Limit``), none left (``RateLimit-Remaining: 0``) and the seconds
until it opens again (``RateLimit-Reset``, and ``Retry-After``, RFC 9110
§10.2.3), as in the IETF draft "RateLimit header fields for HTTP" (-07).
The limits are read from the ledger, which every shard shares, and only on
a refusal: an accepted message costs no extra round trip.
"""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime, timedelta

import structlog

from engine import AccountConfig, Engine

log = structlog.get_logger("smsgw.api")

_LIMITED = frozenset({"throttled", "quota_exceeded"})
_RETRY_SOON = frozenset({"overloaded", "ledger_unavailable"})
"""Refusals with no window: shed at saturation, or the ledger not answering
(a Redis Cluster slot moving to a replica answers again within seconds)."""


async def limit_headers(
    engine: Engine, account: AccountConfig, refusal: str, now: float | None = None
) -> dict[str, str] | None:
    """The headers of a ``throttled`` or ``quota_exceeded`` answer; None for another refusal.
    An ``overloaded`` one (shed at saturation, `engine.customers.admission`)
    or a ``ledger_unavailable`` one gets a plain Retry-After: it has no
    window, and it must not cost a ledger read."""
    if refusal in _RETRY_SOON:
        return {"Retry-After": "1"}
    if refusal not in _LIMITED:
        return None
    now = time.time() if now is None else now
    try:
        state = await engine.gateway.ledger.get_account(account.id)
    except Exception:  # the refusal stands without its window; 1 s is a safe guess
        log.warning("rate limit not read", account=account.id, exc_info=True)
        state = None
    if state is None:
        return {"Retry-After": "1"}
    limits = state.limits
    if refusal == "throttled":
        allowed, reset = limits.throughput, math.floor(now) + 1 - now
    else:
        allowed, reset = limits.quota, _next_period(now, limits.quota_period) - now
    seconds = str(max(1, math.ceil(reset)))
    return {
        "Retry-After": seconds,
        "RateLimit-Limit": str(allowed),
        "RateLimit-Remaining": "0",
        "RateLimit-Reset": seconds,
    }


def _next_period(now: float, period: str) -> float:
    """Unix time at which the quota's UTC day (or month) ends."""
    moment = datetime.fromtimestamp(now, UTC)
    start = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "month":
        start = (start.replace(day=1) + timedelta(days=32)).replace(day=1)
    else:
        start += timedelta(days=1)
    return start.timestamp()
