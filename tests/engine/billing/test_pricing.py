"""Pricing at accept: the router's list price, less the account's discount, in
the account's currency at the rate valid then, rounded half to even once."""

from __future__ import annotations

from datetime import UTC, datetime
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from engine.billing.pricing import NO_RATES, Pricer
from engine.billing.rate_store import ExchangeRates, MemoryRateStore
from engine.billing.rates import ExchangeRate
from router import MtRouted

JAN = datetime(2026, 1, 1, tzinfo=UTC)
FEB = datetime(2026, 2, 1, tzinfo=UTC)


def routed(price: int, currency: str = "EUR") -> MtRouted:
    return MtRouted(
        route_id="fr",
        connectors=("op-a",),
        destination="33612345678",
        network="20801",
        sell_per_part=price,
        cost_per_part=30_000,
        currency=currency,
        plan_id="",
        cost_currency="USD",
        country="FR",
    )


async def rates(*records: tuple[str, str, str, datetime]) -> ExchangeRates:
    book = ExchangeRates(MemoryRateStore())
    await book.add(
        [ExchangeRate(base=b, quote=q, rate=r, valid_from=at) for b, q, r, at in records]
    )
    return book


def test_same_currency_without_discount_is_the_list_price_with_rate_one() -> None:
    price, pricing = Pricer(NO_RATES).price(routed(45_000), "EUR", 0, JAN.timestamp())  # type: ignore[misc]
    assert price == 45_000
    assert (pricing.currency, pricing.list_price, pricing.exchange_rate) == ("EUR", 45_000, "1")
    assert (pricing.cost_per_part, pricing.cost_currency, pricing.country) == (30_000, "USD", "FR")


async def test_the_rate_valid_at_the_accept_converts_and_a_later_one_takes_over() -> None:
    book = await rates(("EUR", "UZS", "12850.5", JAN), ("EUR", "UZS", "13000", FEB))
    pricer = Pricer(book)
    january = pricer.price(routed(45_000), "UZS", 0, JAN.timestamp() + 60)
    february = pricer.price(routed(45_000), "UZS", 0, FEB.timestamp())
    assert not isinstance(january, str) and not isinstance(february, str)
    assert january[0] == 578_272_500 and january[1].exchange_rate == "12850.5"
    assert february[0] == 585_000_000 and february[1].exchange_rate == "13000"


async def test_no_rate_valid_then_is_a_reason_naming_the_pair_and_instant() -> None:
    book = await rates(("EUR", "UZS", "12850.5", FEB))
    refused = Pricer(book).price(routed(45_000), "UZS", 0, JAN.timestamp())
    assert refused == "no exchange rate EUR->UZS valid at 2026-01-01T00:00:00+00:00"


@given(
    price=st.integers(0, 10**12),
    discount=st.integers(0, 10_000),
    numerator=st.integers(1, 10**9),
    denominator=st.sampled_from([1, 10, 100, 10_000, 1_000_000]),
)
def test_discount_and_rate_round_once_half_to_even(
    price: int, discount: int, numerator: int, denominator: int
) -> None:
    rate = Fraction(numerator, denominator)

    class OneRate:
        def rate_at(self, base: str, quote: str, at: float) -> tuple[Fraction, str]:
            return rate, str(rate)

    priced = Pricer(OneRate()).price(routed(price), "UZS", discount, JAN.timestamp())
    assert not isinstance(priced, str)
    exact = Fraction(price * (10_000 - discount), 10_000) * rate
    assert isinstance(priced[0], int) and abs(priced[0] - exact) <= Fraction(1, 2)
    assert priced[0] == round(exact)
