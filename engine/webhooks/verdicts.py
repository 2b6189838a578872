"""When a webhook attempt is retried, and after how long (sans-IO, by `ledger.retry`).

A 2xx answer delivers. A network error, a timeout, 429 (Too Many Requests)
or a 5xx is the receiver's passing trouble and is tried again after the next
delay of a fixed table; other answers (3xx, since redirects are not followed,
and 4xx) say the call itself is wrong, and repeating it would not help.
Delays are spread by +/-20% so that the receipts of one campaign that failed
together do not all come back in the same second.
"""

from __future__ import annotations

import random
from enum import Enum

from ledger.retry import RetryPolicy, ScheduledBackoff

JITTER = 0.2


class Verdict(Enum):
    DELIVERED = "delivered"
    RETRY = "retry"
    FAILED = "failed"


def verdict_of_status(status: int) -> Verdict:
    if 200 <= status < 300:
        return Verdict.DELIVERED
    if status == 429 or status >= 500:
        return Verdict.RETRY
    return Verdict.FAILED


def webhook_retry_policy(
    delays: tuple[float, ...], rng: random.Random | None = None
) -> RetryPolicy:
    """One try, then one more after each delay of the table, spread by +/-20%."""
    return RetryPolicy(ScheduledBackoff(delays or (0.0,), JITTER, rng), len(delays) + 1)
