"""Volume rebates and tax, exactly: ints and fractions, half to even once per line.

docs/billing.md, "Tariff plans": parts of the month beyond a tier's
`after_parts` cost its `discount` less, counted in accept order over the
whole month, so the price falls after N parts whatever the number of shards.
The tier reached is the one that applies (tiers are not cumulative): with
tiers after 1000 (5%) and after 5000 (10%), part 3000 gets 5% off, part 6000 10%.

PostgreSQL numbers the parts (invoice_store); a message straddling two tiers
has its charge shared by its parts in each (`charged * k / parts`), kept as a
fraction until the line is rounded.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

from engine.billing.currencies import round_half_even
from engine.billing.invoice_model import BASIS_POINTS, RebateLine, VolumeTier

LAST_PART = 2**62
"""Where the top tier ends: beyond any month's parts."""

Split = Sequence[Sequence[int]]
"""(charged, parts in the tier, parts) of each message straddling a tier's ends."""


def half_even(value: Fraction) -> int:
    return round_half_even(value.numerator, value.denominator)


def tax_of(subtotal: int, tax_rate: int) -> int:
    """`tax_rate` basis points of the subtotal, half to even."""
    return round_half_even(subtotal * tax_rate, BASIS_POINTS)


def ordered(tiers: Sequence[VolumeTier]) -> list[VolumeTier]:
    return sorted(tiers, key=lambda tier: tier.after_parts)


def tier_bounds(tiers: Sequence[VolumeTier]) -> tuple[list[int], list[int]]:
    """(lows, highs) of the tiers in `ordered` order: tier i covers the parts
    numbered lows[i] + 1 .. highs[i] of the month."""
    lows = [tier.after_parts for tier in ordered(tiers)]
    return lows, [*lows[1:], LAST_PART]


def rebate_line(tier: VolumeTier, parts: int, whole: int, split: Split) -> RebateLine:
    """The tier's line: `whole` is the sum of the charges of messages entirely
    in it, `split` the messages only partly in it."""
    charged = Fraction(whole) + sum(
        (Fraction(amount * inside, of) for amount, inside, of in split), Fraction(0)
    )
    return RebateLine(
        after_parts=tier.after_parts,
        discount=tier.discount,
        parts=parts,
        charged=half_even(charged),
        amount=half_even(charged * tier.discount / BASIS_POINTS),
    )
