"""How long to wait before retrying after the n-th failure in a row."""

from __future__ import annotations

import random


class Backoff:
    """Exponential backoff with jitter, capped: `base * 2**(failures - 1)`, then 50-100 % of it.

    The jitter keeps many persisters that lost PostgreSQL at the same moment
    from reconnecting in lockstep.
    """

    def __init__(self, base: float, cap: float) -> None:
        if not 0 < base <= cap:
            raise ValueError(f"need 0 < base <= cap, got base={base!r} cap={cap!r}")
        self.base = base
        self.cap = cap

    def compute(self, failures: int) -> float:
        ceiling = min(self.cap, self.base * 2 ** min(max(failures - 1, 0), 32))
        return ceiling * random.uniform(0.5, 1.0)
