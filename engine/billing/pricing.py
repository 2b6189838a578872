"""The price of a message part in its account's currency, at its accept.

The router prices a part in its tariff's currency; the account's discount
comes off and the exchange rate valid at the accept converts what is left,
rounded half to even once (docs/billing.md). Same currency and no discount,
the common case, is one comparison and no arithmetic.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from fractions import Fraction
from typing import Protocol

import msgspec

from engine.customers.accounts import AccountConfig
from engine.resellers.markup import marked_up
from ledger.events import Pricing
from router import MtRouted

BASIS_POINTS = 10_000
"""A discount or tax rate of 10_000 basis points is 100%."""


KNOWN_PRICINGS = 65_536
"""Distinct pricings kept built: a destination's is checked once, not per message."""


class RateSource(Protocol):
    """Where the exchange rates valid at an instant come from (`ExchangeRates`)."""

    def rate_at(self, base: str, quote: str, at: float) -> tuple[Fraction, str] | None: ...


class _NoRates:
    def rate_at(self, base: str, quote: str, at: float) -> tuple[Fraction, str] | None:
        return None


NO_RATES: RateSource = _NoRates()
"""A shard that knows no exchange rate prices only in the tariffs' own currencies."""


class Pricer:
    def __init__(
        self, rates: RateSource, accounts: Mapping[str, AccountConfig] | None = None
    ) -> None:
        self.rates = rates
        self.accounts: Mapping[str, AccountConfig] = {} if accounts is None else accounts
        """The shard's accounts, where a sub-account finds its reseller (docs/resellers.md)."""
        self._known: dict[tuple[str, int, str, str, int, str, str, str, str], Pricing] = {}

    def reseller_of(self, account: AccountConfig) -> AccountConfig | None:
        """The account a sub-account routes as (its reseller), unless it has groups of its own."""
        if not account.parent or account.groups:
            return None
        return self.accounts.get(account.parent)

    def sell(
        self, decision: MtRouted, account: AccountConfig, currency: str, now: float
    ) -> tuple[int, Pricing] | str:
        """`price` for ``account``: a sub-account pays its reseller's price
        (with the reseller's discount) times its markup, rounded once; its
        CDR's list price is then that reseller's price (docs/resellers.md)."""
        if not account.parent:
            return self.price(decision, currency, account.discount, now)
        reseller = self.accounts.get(account.parent)
        if reseller is None:
            return f"reseller {account.parent} of {account.id} unknown on this shard"
        priced = self.price(decision, currency, reseller.discount, now)
        if isinstance(priced, str):
            return priced
        cost, pricing = priced
        listed = msgspec.structs.replace(
            pricing, list_price=cost, list_currency=currency, exchange_rate="1"
        )
        return marked_up(cost, account.markup), listed

    def price(
        self, decision: MtRouted, currency: str, discount: int, now: float
    ) -> tuple[int, Pricing] | str:
        """The price per part in ``currency`` and how it was reached, or why
        it cannot be priced (no exchange rate valid at ``now``)."""
        listed, list_currency = decision.sell_per_part, decision.currency
        if list_currency == currency:
            rate, rate_text = 1, "1"
        else:
            found = self.rates.rate_at(list_currency, currency, now)
            if found is None:
                at = datetime.fromtimestamp(now, UTC).isoformat(timespec="seconds")
                return f"no exchange rate {list_currency}->{currency} valid at {at}"
            rate, rate_text = found
        if rate == 1 and not discount:
            price = listed
        else:
            price = round(Fraction(listed * (BASIS_POINTS - discount), BASIS_POINTS) * rate)
        key = (
            currency, listed, list_currency, rate_text, decision.cost_per_part or 0,
            decision.cost_currency, decision.route_id, decision.network, decision.country,
        )  # fmt: skip
        pricing = self._known.get(key)
        if pricing is None:
            if len(self._known) >= KNOWN_PRICINGS:
                self._known.clear()
            pricing = self._known[key] = Pricing(*key)
        return price, pricing
