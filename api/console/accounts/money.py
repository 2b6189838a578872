"""Numbers as people type them in console and portal forms: amounts in
currency units, percents."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from engine import MAX_AMOUNT


def decimal_of(given: str, example: str, what: str = "an amount") -> Decimal:
    """``given`` as a finite Decimal ("," or "." as the decimal mark);
    ValueError asking for ``what`` otherwise."""
    try:
        value = Decimal(given.strip().replace(",", "."))
    except InvalidOperation:
        raise ValueError(f"Enter {what}, e.g. {example}.") from None
    if not value.is_finite():
        raise ValueError(f"Enter {what}, e.g. {example}.")
    if value.adjusted() > 20:  # far beyond any amount: no arithmetic overflows on it
        raise ValueError("Enter a smaller amount.")
    return value


def micro_units(value: Decimal) -> int:
    """Currency units in the ledger's micro-units; ValueError past 6
    decimals or the ledger's range."""
    micro = value * 1_000_000
    if micro != micro.to_integral_value() or abs(micro) > MAX_AMOUNT:
        raise ValueError("Enter an amount with at most 6 decimals.")
    return int(micro)


def amount_of(given: str) -> int:
    """Currency units as typed ("10", "10.50") in the ledger's micro-units;
    ValueError when it is not such an amount."""
    return micro_units(decimal_of(given, "10.50"))


def basis_points_of(given: str) -> int:
    """A percent as typed ("12.5") in basis points (1250); ValueError unless
    it is 0 to 100 with at most 2 decimals."""
    points = decimal_of(given, "12.5") * 100
    if points != points.to_integral_value() or not 0 <= points <= 10_000:
        raise ValueError("Enter a percent from 0 to 100, at most 2 decimals.")
    return int(points)
