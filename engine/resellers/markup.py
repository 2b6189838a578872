"""A sub-account's price from its reseller's: the markup on top, rounded once.

Basis points as everywhere in billing (10_000 is 100%); the markup is never
negative, so the result is never below the reseller's price, which is what
the platform keeps (docs/resellers.md).
"""

from __future__ import annotations

from engine.billing.currencies import round_half_even

BASIS_POINTS = 10_000


def marked_up(price: int, markup: int) -> int:
    """``price * (10_000 + markup) / 10_000``, half to even."""
    if not markup:
        return price
    return round_half_even(price * (BASIS_POINTS + markup), BASIS_POINTS)
