"""A sub-account's price: its reseller's price for the same message, with the
markup on top, rounded half to even once, never below the reseller's price."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from engine.billing.pricing import NO_RATES, Pricer
from engine.messages.intake import Refused, ValidityLimits, prepare_mt
from engine.messages.message import MtMessage
from engine.resellers.markup import marked_up
from router import RoutingTable, load_data
from smpp import pdu as p
from tests.engine.resellers.harness import ROUTING, account


def test_the_markup_rounds_half_to_even_once() -> None:
    assert marked_up(40_000, 2500) == 50_000
    assert marked_up(1, 5000) == 2  # 1.5 -> 2
    assert marked_up(5, 1000) == 6  # 5.5 -> 6
    assert marked_up(25, 1000) == 28  # 27.5 -> 28
    assert marked_up(15, 1000) == 16  # 16.5 -> 16
    assert marked_up(3, 0) == 3


@given(st.integers(0, 2**40), st.integers(0, 1_000_000))
def test_the_marked_up_price_is_the_nearest_and_never_below_cost(price: int, markup: int) -> None:
    exact = Fraction(price * (10_000 + markup), 10_000)
    result = marked_up(price, markup)
    assert result >= price
    assert abs(result - exact) <= Fraction(1, 2)


TABLE = RoutingTable(load_data(ROUTING))
RESELLER = account("cheap", reseller=True, discount=1000)
SUB = account("shop", parent="cheap", markup=2500)
OWN_GROUPS = account("own", parent="cheap", markup=2500, groups=("vip",))
PRICER = Pricer(NO_RATES, {a.id: a for a in (RESELLER, SUB, OWN_GROUPS)})


def accepted(sender: object) -> MtMessage:
    request = p.SubmitSm(source_addr="Shop", destination_addr="+33612345678", short_message=b"hi")
    message = prepare_mt(request, sender, TABLE, PRICER, "m1", 1e9, ValidityLimits())  # type: ignore[arg-type]
    assert isinstance(message, MtMessage), message
    return message


def test_a_sub_account_pays_its_resellers_price_with_the_markup() -> None:
    reseller = accepted(RESELLER)
    assert reseller.price_per_part == 27_001  # 30_001 (its tariff) - 10%, half to even
    sub = accepted(SUB)
    assert sub.price_per_part == marked_up(27_001, 2500) == 33_751
    # Its CDR lists the reseller's price: the margin is (price - list) x parts.
    assert sub.pricing is not None and sub.pricing.list_price == 27_001


def test_a_sub_account_with_groups_of_its_own_routes_as_itself() -> None:
    own = accepted(OWN_GROUPS)  # the route's tariff, not the reseller's own, less its discount
    assert own.price_per_part == marked_up(36_000, 2500) == 45_000


def test_a_sub_account_whose_reseller_is_unknown_is_refused() -> None:
    request = p.SubmitSm(source_addr="Shop", destination_addr="+33612345678", short_message=b"hi")
    lost = account("lost", parent="gone", markup=1)
    refused = prepare_mt(request, lost, TABLE, PRICER, "m1", 1e9, ValidityLimits())
    assert isinstance(refused, Refused) and "reseller gone" in refused.reason
