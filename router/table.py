"""The routing table: MT and MO decisions from message facts.

A table is built once from a checked ``RoutingConfig`` and never changes after
(round-robin counters aside). Hot reload is the engine building a new table and
assigning it to the one reference it reads; a decision in flight keeps the table
it started with, and no decision ever waits on a lock.
"""

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from router.decisions import NO_ROUTE, MoDecision, MoRouted, MtDecision, MtRouted, Rejected
from router.destinations import UNKNOWN_DESTINATION, destination_map
from router.facts import MessageFacts
from router.filters import PrefixFilter, PreparedMessage
from router.index import RouteIndex
from router.numbers import CountryRule, without_plus
from router.routes import Route, compile_mo_route, compile_mt_route
from router.schema import RoutingConfig, TariffConfig
from router.targets import LeastCostTarget, Target, Usable
from router.tariffs import OPEN_START, Rate, Tariff, price_in


@dataclass(frozen=True, slots=True)
class AccountRouting:
    """What the table knows of an account: how its numbers are written, its own tariff.

    ``international`` is its country's ``to_international`` (or ``without_plus``),
    bound once so a decision does not branch on the country.
    """

    international: Callable[[str], str]
    sell_tariff: Tariff | None


_NO_ACCOUNT = AccountRouting(without_plus, None)
"""An account the table does not know: numbers are already international, no own tariff."""


class RoutingTable:
    """Ordered MT and MO routes with their tariffs, numbering plan and indexes.

    ``sizes`` counts what the table holds, for logs and the benchmark.
    """

    def __init__(self, config: RoutingConfig, source: random.Random | None = None) -> None:
        """Compile ``config`` as returned by the ``router.config`` loaders, which checked it.

        ``source`` drives weighted targets; pass a seeded one in tests.
        """
        source = source if source is not None else random.Random()
        self.currency = config.currency
        tariffs = {name: _compile_tariff(name, tariff) for name, tariff in config.tariffs.items()}
        countries = {
            code: CountryRule(
                calling_code=country.calling_code,
                trunk_prefix=country.trunk_prefix,
                international_prefix=country.international_prefix,
                national_lengths=frozenset(country.national_lengths),
            )
            for code, country in config.countries.items()
        }
        self._accounts = {
            name: AccountRouting(
                international=countries[account.default_country].to_international
                if account.default_country
                else without_plus,
                sell_tariff=tariffs[account.sell_tariff] if account.sell_tariff else None,
            )
            for name, account in config.accounts.items()
        }
        cost_tariffs = {
            name: tariffs[connector.cost_tariff]
            for name, connector in config.connectors.items()
            if connector.cost_tariff
        }
        self.mt_routes = tuple(
            compile_mt_route(route, tariffs, source) for route in config.mt_routes
        )
        self.mo_routes = tuple(compile_mo_route(route, source) for route in config.mo_routes)
        sell_tariffs = {route.sell_tariff for route in self.mt_routes if route.sell_tariff}
        sell_tariffs.update(
            account.sell_tariff for account in self._accounts.values() if account.sell_tariff
        )
        self._mt_index = RouteIndex([route.index_view for route in self.mt_routes])
        self._mo_index = RouteIndex([route.index_view for route in self.mo_routes])
        self._destinations = destination_map(
            config.networks,
            self._mt_index.prefix_masks,
            self._mo_index.prefix_masks,
            {name: tariff.chains() for name, tariff in cost_tariffs.items()},
            {tariff.tariff_id: tariff.chains() for tariff in sell_tariffs},
        )
        self.sizes: dict[str, int] = {
            "mt_routes": len(self.mt_routes),
            "mo_routes": len(self.mo_routes),
            "route_prefixes": _route_prefix_count(self.mt_routes + self.mo_routes),
            "tariffs": len(tariffs),
            "tariff_prefixes": sum(len(tariff) for tariff in tariffs.values()),
            "networks": len(config.networks),
            "destination_prefixes": len(self._destinations),
        }

    def decide_mt(self, facts: MessageFacts, usable: Usable = None) -> MtDecision:
        """Where an MT message goes and at what price, or why it does not go."""
        message = self.prepare(facts)
        routes = self.mt_routes
        apply = self.apply_mt
        candidates = self._mt_index.candidates(message, message.info.mt_masks)
        while candidates:
            lowest = candidates & -candidates
            candidates ^= lowest
            route = routes[lowest.bit_length() - 1]
            if route.tests_itself and not route.passes_unindexed(message):
                continue
            outcome = apply(route, message, usable)
            if not isinstance(outcome, str):
                return outcome
        return NO_ROUTE

    def decide_mo(self, facts: MessageFacts, usable: Usable = None) -> MoDecision:
        """Which account an MO message goes to, or why it does not go."""
        message = self.prepare(facts)
        routes = self.mo_routes
        candidates = self._mo_index.candidates(message, message.info.mo_masks)
        while candidates:
            lowest = candidates & -candidates
            candidates ^= lowest
            route = routes[lowest.bit_length() - 1]
            if route.tests_itself and not route.passes_unindexed(message):
                continue
            outcome = self.apply_mo(route, message, usable)
            if not isinstance(outcome, str):
                return outcome
        return NO_ROUTE

    def cost_per_part(self, connector: str, destination: str, now: datetime) -> int | None:
        """What ``connector`` charges for international ``destination`` at ``now``, if known.

        The engine asks this when it fails over to a connector other than the first.
        """
        info = self._destinations.longest(destination) or UNKNOWN_DESTINATION
        windows = info.costs.get(connector)
        return price_in(windows, now.timestamp()) if windows else None

    def prepare(self, facts: MessageFacts) -> PreparedMessage:
        """The facts with the destination in international form and its network."""
        account = self._accounts.get(facts.account, _NO_ACCOUNT)
        destination = account.international(facts.destination)
        info = self._destinations.longest(destination) or UNKNOWN_DESTINATION
        return PreparedMessage(facts, destination, info, facts.now.timestamp(), account.sell_tariff)

    def apply_mt(self, route: Route, message: PreparedMessage, usable: Usable) -> MtDecision | str:
        """The decision of a route whose filters matched, or why it cannot deliver."""
        target = route.target
        if isinstance(target, Rejected):
            return target
        info, now = message.info, message.now
        price = None
        if message.account_tariff is not None:
            windows = info.prices.get(message.account_tariff.tariff_id)
            price = price_in(windows, now) if windows else None
        if price is None and route.sell_tariff is not None:
            windows = info.prices.get(route.sell_tariff.tariff_id)
            price = price_in(windows, now) if windows else None
        if price is None:
            return f"no sell price for {message.destination!r}"
        if isinstance(target, LeastCostTarget):
            connectors, cost = target.choose_priced(usable, info.costs, now)
        else:
            connectors = target.choose(usable)
            windows = info.costs.get(connectors[0]) if connectors else None
            cost = price_in(windows, now) if windows else None
        if not connectors:
            return _unusable(target, message.destination)
        return MtRouted(
            route_id=route.route_id,
            connectors=connectors,
            destination=message.destination,
            network=info.network,
            sell_per_part=price,
            cost_per_part=cost,
            currency=self.currency,
        )

    def apply_mo(self, route: Route, message: PreparedMessage, usable: Usable) -> MoDecision | str:
        """The decision of an MO route whose filters matched, or why it cannot deliver."""
        target = route.target
        if isinstance(target, Rejected):
            return target
        assert not isinstance(target, LeastCostTarget), "MO routes have no least_cost target"
        accounts = target.choose(usable)
        if not accounts:
            return f"none of its accounts is usable: {', '.join(target.endpoints)}"
        return MoRouted(route_id=route.route_id, accounts=accounts)


def _unusable(target: Target, destination: str) -> str:
    """Why a target whose route matched yields no connector."""
    if isinstance(target, LeastCostTarget):
        return f"no usable connector among {', '.join(target.endpoints)} carries {destination!r}"
    return f"none of its connectors is usable: {', '.join(target.endpoints)}"


def _compile_tariff(name: str, config: TariffConfig) -> Tariff:
    rates = [
        Rate(
            prefix=rate.prefix,
            price=rate.price,
            valid_from=rate.valid_from.timestamp() if rate.valid_from else OPEN_START,
            valid_until=rate.valid_until.timestamp() if rate.valid_until else math.inf,
        )
        for rate in config.rates
    ]
    return Tariff(name, rates)


def _route_prefix_count(routes: tuple[Route, ...]) -> int:
    prefixes: set[str] = set()
    for route in routes:
        for item in route.filters + route.unless:
            if isinstance(item, PrefixFilter):
                prefixes.update(item.prefixes)
    return len(prefixes)
