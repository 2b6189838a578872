"""Which prices apply to an account, read from the routing table for the
account page: its plans, its groups' plans, its own sell tariff and the
sell tariffs of the routes it can take, each with the tariff's rates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from engine import RoutingConfig


@dataclass(frozen=True)
class Rate:
    prefix: str
    price: int
    valid_from: datetime | None
    valid_until: datetime | None


@dataclass(frozen=True)
class PricedBy:
    """One source of prices: why it applies (``kind``, e.g. "Group plan",
    and the plan, group or route ``name``) and its tariff's rates."""

    kind: str
    name: str
    tariff: str
    currency: str
    rates: list[Rate]
    valid_from: datetime | None = None
    valid_until: datetime | None = None


def tariffs_of(routing: RoutingConfig, account: str, groups: list[str]) -> list[PricedBy]:
    """In pricing order: the account's plans, its groups' plans (first group
    first), its sell tariff, then the MT routes that may carry its messages."""
    found: list[PricedBy] = []
    own = routing.accounts.get(account)
    holders = [("Account plan", "", own.plans if own else [])]
    holders += [
        ("Group plan", f"{group}: ", routing.groups[group].plans)
        for group in groups
        if group in routing.groups
    ]
    for kind, holder, assignments in holders:
        for held in assignments:
            plan = routing.plans.get(held.plan)
            if plan is not None:
                name = f"{holder}{held.plan}"
                found.append(
                    _priced(routing, kind, name, plan.tariff, held.valid_from, held.valid_until)
                )
    if own is not None and own.sell_tariff:
        found.append(_priced(routing, "Account tariff", account, own.sell_tariff))
    for route in routing.mt_routes:
        named, grouped = route.filters.account, route.filters.account_group
        takes = (named is None or account in named) and (
            grouped is None or bool(set(grouped) & set(groups))
        )
        if takes and route.sell_tariff:
            found.append(_priced(routing, "Route", route.id, route.sell_tariff))
    return found


def _priced(
    routing: RoutingConfig,
    kind: str,
    name: str,
    tariff_id: str,
    valid_from: datetime | None = None,
    valid_until: datetime | None = None,
) -> PricedBy:
    tariff = routing.tariffs.get(tariff_id)
    rates = [
        Rate(rate.prefix, rate.price, rate.valid_from, rate.valid_until)
        for rate in (tariff.rates if tariff else [])
    ]
    currency = (tariff.currency if tariff else None) or str(routing.currency)
    return PricedBy(kind, name, tariff_id, currency, rates, valid_from, valid_until)
